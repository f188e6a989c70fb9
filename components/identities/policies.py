"""Layer 3: the Vault policy of every Consul identity, as plain Python data rendered to Vault's JSON syntax.

Each document grants exactly the paths and capabilities of the chart contract (§3 of
``consul-k8s-vault-contract.md``), built from the layout so the paths cannot drift from the Helm
values: KV-v2 paths always with ``/data/``, PKI issue endpoints ``create``+``update``, CA endpoints
``read``. Nothing grants ``sudo``, ``delete`` on KV, ``root`` or a glob that spans purposes; the only
``sys/`` paths are the mesh CA provider's documented mount reads and tune, and the only glob is
Consul's own intermediate mount (which Consul creates and owns). Every document also grants the token
self-endpoints (:data:`TOKEN_SELF`), because roles no longer attach Vault's ``default`` policy.

Vault accepts JSON policies; the policy pack parses the same JSON text this module renders.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from ..layout import Identity, KvSecret, Layout


class Capability(StrEnum):
    """The Vault capabilities Consul's identities may hold (``sudo``, ``deny``, ``patch`` are never granted)."""

    CREATE = "create"
    READ = "read"
    UPDATE = "update"
    DELETE = "delete"
    LIST = "list"


READ = frozenset({Capability.READ})
ISSUE = frozenset({Capability.CREATE, Capability.UPDATE})
"""What requesting a certificate from ``<pki>/issue/<role>`` takes (the agent writes to it)."""
READ_UPDATE = frozenset({Capability.READ, Capability.UPDATE})
UPDATE = frozenset({Capability.UPDATE})
TOKEN_SELF: tuple[tuple[str, frozenset[Capability]], ...] = (
    ("auth/token/renew-self", frozenset({Capability.UPDATE})),
    ("auth/token/lookup-self", frozenset({Capability.READ})),
)
"""What a Vault agent does with its own token (renew, look up). Roles set ``token_no_default_policy``, so these
two come from the identity's own policy instead of Vault's ``default`` policy. Nothing else of ``default`` is
granted: without ``sys/leases/renew`` the Vault API client treats a lease as non-renewable on "permission
denied" and the agent fetches a fresh secret before the lease ends (vault ``api/lifetime_watcher.go``)."""
OWN_MOUNT = frozenset(Capability)
"""Full control (create, read, update, delete, list) inside a mount Consul owns: its mesh intermediate."""


@dataclass(frozen=True)
class Grant:
    """Capabilities on one Vault path (exact, or a trailing ``*`` / ``+`` segment glob as Vault reads them)."""

    path: str
    capabilities: frozenset[Capability]

    def matches(self, path: str) -> bool:
        """Whether this grant's path pattern covers a request path, with Vault's glob rules."""
        pattern, request = self.path.lstrip("/"), path.lstrip("/")
        request_parts = request.split("/")
        if pattern.endswith("*"):
            # Segments before the last must match exactly (or via '+'); the rest of the path is a prefix match.
            stem_parts = pattern[:-1].split("/")
            if len(request_parts) < len(stem_parts):
                return False
            head = request_parts[: len(stem_parts) - 1]
            tail = "/".join(request_parts[len(stem_parts) - 1 :])
            return _segments_match(stem_parts[:-1], head) and tail.startswith(stem_parts[-1])
        pattern_parts = pattern.split("/")
        return len(pattern_parts) == len(request_parts) and _segments_match(pattern_parts, request_parts)


def _segments_match(pattern: list[str], request: list[str]) -> bool:
    return all(p == "+" or p == r for p, r in zip(pattern, request, strict=True))


@dataclass(frozen=True)
class PolicyDocument:
    """One Vault policy: its name and path → capabilities, frozen and in a stable order."""

    name: str
    grants: tuple[Grant, ...]

    @classmethod
    def build(cls, name: str, grants: Iterable[tuple[str, frozenset[Capability]]]) -> PolicyDocument:
        """A document from (path, capabilities) pairs; a path given twice gets the union of its capabilities."""
        merged: dict[str, set[Capability]] = {}
        for path, capabilities in grants:
            merged.setdefault(path, set()).update(capabilities)
        return cls(name=name, grants=tuple(Grant(p, frozenset(c)) for p, c in sorted(merged.items())))

    @classmethod
    def parse(cls, name: str, text: str) -> PolicyDocument:
        """A document from the JSON policy text :meth:`render` produces (for checks on registered policies)."""
        document = json.loads(text)
        return cls.build(
            name,
            [(path, frozenset(Capability(c) for c in rule["capabilities"])) for path, rule in document["path"].items()],
        )

    @property
    def paths(self) -> dict[str, list[str]]:
        """Path → sorted capability names: the whole document as plain data (what tests and the pack compare)."""
        return {grant.path: sorted(c.value for c in grant.capabilities) for grant in self.grants}

    def render(self) -> str:
        """The policy text Vault accepts (JSON policy syntax), stable byte for byte."""
        document = {"path": {path: {"capabilities": caps} for path, caps in self.paths.items()}}
        return json.dumps(document, indent=2, sort_keys=True)

    def allows(self, path: str, capability: Capability | str) -> bool:
        """Whether a request for ``capability`` on ``path`` would be allowed by this document alone."""
        wanted = Capability(capability)
        return any(grant.matches(path) and wanted in grant.capabilities for grant in self.grants)


def identity_policy(layout: Layout, identity: Identity) -> PolicyDocument:
    """The policy of one Consul identity, exactly the contract's paths for this stack's settings."""
    consul = layout.settings.consul
    kv = {secret: layout.kv(secret).data_path for secret in KvSecret}
    server_ca = (layout.server_ca_path, READ)
    grants: list[tuple[str, frozenset[Capability]]]
    if identity is Identity.SERVER:
        grants = [
            (kv[KvSecret.GOSSIP], READ),
            (layout.server_pki_issue_path, ISSUE),
            server_ca,
            (kv[KvSecret.BOOTSTRAP_TOKEN], READ),  # servers template it as acl.tokens.initial_management
        ]
        if consul.enterprise:
            grants.append((kv[KvSecret.LICENSE], READ))
        if consul.snapshot_agent.enabled:
            grants.append((kv[KvSecret.SNAPSHOT_AGENT], READ))
        if layout.is_secondary_datacenter:
            grants.append((kv[KvSecret.REPLICATION_TOKEN], READ))
    elif identity is Identity.CLIENT:
        grants = [(kv[KvSecret.GOSSIP], READ), server_ca]
        if consul.enterprise:
            grants.append((kv[KvSecret.LICENSE], READ))
    elif identity is Identity.SERVER_ACL_INIT:
        # read + update: with an empty stored token it bootstraps ACLs and writes the token back.
        grants = [(kv[KvSecret.BOOTSTRAP_TOKEN], READ_UPDATE), server_ca]
        # A secondary logs in with the replication token; the primary's job creates the token with that SecretID.
        if layout.is_secondary_datacenter or layout.is_federation_primary:
            grants.append((kv[KvSecret.REPLICATION_TOKEN], READ))
        if consul.enterprise:
            grants.append((kv[KvSecret.PARTITION_TOKEN], READ))
    elif identity is Identity.CONNECT_INJECTOR:
        grants = [(layout.webhook_pki_issue_path, ISSUE), (layout.webhook_ca_path, READ), server_ca]
    elif identity is Identity.CA_READER:
        grants = [server_ca]
    elif identity is Identity.PARTITION_INIT:
        grants = [(kv[KvSecret.PARTITION_TOKEN], READ), server_ca]
    else:  # pragma: no cover - exhaustive over Identity
        raise ValueError(f"no policy is defined for identity {identity!r}")
    return PolicyDocument.build(layout.policy_name(identity), [*grants, *TOKEN_SELF])


def mesh_ca_policy(layout: Layout) -> PolicyDocument:
    """What Consul's Vault CA provider needs on the mesh chain ("Vault-managed paths"); attached to the server role.

    It signs Consul's intermediate with the deepest Vault-held connect CA (``rootPKIPath``) and fully
    manages its own per-datacenter ``intermediatePKIPath`` mount (tune, roles, issuing).
    """
    root = layout.connect_root_pki_path
    intermediate = layout.connect_intermediate_pki_path
    return PolicyDocument.build(
        layout.mesh_ca_policy_name,
        [
            (f"sys/mounts/{root}", READ),
            (f"sys/mounts/{intermediate}", READ),
            (f"sys/mounts/{intermediate}/tune", UPDATE),  # without it CA initialisation fails after upgrades
            (f"{root}/", READ),
            (f"{root}/root/sign-intermediate", UPDATE),
            (f"{intermediate}/*", OWN_MOUNT),
            *TOKEN_SELF,  # Consul's CA provider renews its own token (it has no Vault agent)
        ],
    )


def identity_policies(layout: Layout) -> dict[Identity, PolicyDocument]:
    """The policy of every identity this stack needs (clients and partition-init only when enabled)."""
    return {identity: identity_policy(layout, identity) for identity in layout.identities}


def attached_policies(layout: Layout, identity: Identity) -> tuple[str, ...]:
    """The policy names a role carries: its own, plus the mesh CA policy for the server (Consul's CA provider)."""
    names = [layout.policy_name(identity)]
    if identity is Identity.SERVER:
        names.append(layout.mesh_ca_policy_name)
    return tuple(names)


def documents_by_name(layout: Layout) -> Mapping[str, PolicyDocument]:
    """Every policy document of the stack by its Vault name: one per identity, and the mesh CA policy."""
    documents = [*identity_policies(layout).values(), mesh_ca_policy(layout)]
    return {document.name: document for document in documents}
