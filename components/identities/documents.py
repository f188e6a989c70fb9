"""Layer 3, layout-free: Vault policy documents and Kubernetes-auth role specs as plain data.

What a component needs to write a policy or a role without the stack's settings or layout (issue 15): the
capabilities, one policy's grants and their JSON rendering (:class:`PolicyDocument`), the hygiene every
Kubernetes-auth role shares (:class:`AuthRoleSpec`), and a service account as a ClusterRoleBinding subject.
:mod:`.policies`, :mod:`.roles` and :mod:`.reviewers` build these from the layout for this stack; components
import only this module.

Vault accepts JSON policies (Vault docs, "Policies": "Policies are authored in HCL, but are JSON
compatible"); the policy pack parses the same JSON text :meth:`PolicyDocument.render` produces.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Capability(StrEnum):
    """The Vault capabilities Consul's identities may hold (``deny`` and ``patch`` are never granted; ``sudo`` only
    in the connect root's temporary cross-sign grant, :data:`CROSS_SIGN`).
    """

    CREATE = "create"
    READ = "read"
    UPDATE = "update"
    DELETE = "delete"
    LIST = "list"
    SUDO = "sudo"


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
OWN_MOUNT = frozenset({Capability.CREATE, Capability.READ, Capability.UPDATE, Capability.DELETE, Capability.LIST})
"""Full control (create, read, update, delete, list; no sudo) inside a mount Consul owns: its mesh intermediate."""
CROSS_SIGN = frozenset({Capability.SUDO, Capability.UPDATE})
"""What ``<old root>/root/sign-self-issued`` takes (a root-protected endpoint): Consul's Vault provider cross-signs
the new root with the old one there when ``RootPKIPath`` changes (consul ``agent/connect/ca/provider_vault.go``
``CrossSignCA``; Consul docs, Vault CA, "Additional Vault ACL policies for sensitive operations")."""


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
        return render_policy(self.paths)

    def allows(self, path: str, capability: Capability | str) -> bool:
        """Whether a request for ``capability`` on ``path`` would be allowed by this document alone."""
        wanted = Capability(capability)
        return any(grant.matches(path) and wanted in grant.capabilities for grant in self.grants)


def render_policy(paths: Mapping[str, Sequence[str]]) -> str:
    """Vault's JSON policy text for path → capabilities: paths and capabilities sorted, stable byte for byte."""
    document = {"path": {path: {"capabilities": sorted(caps)} for path, caps in paths.items()}}
    return json.dumps(document, indent=2, sort_keys=True)


TOKEN_TTL_SECONDS = 3600
"""1 h: a Vault agent renews well within it; a stolen token is short-lived."""
TOKEN_MAX_TTL_SECONDS = 14400
"""4 h: after this the agent (or Consul's CA provider) logs in again with a fresh service-account token."""
ALIAS_NAME_SOURCE = "serviceaccount_uid"
"""Identity aliases by service-account UID: a deleted and re-created account with the same name is a new identity."""


@dataclass(frozen=True, kw_only=True)
class AuthRoleSpec:
    """One Kubernetes-auth role exactly as it is written to Vault (inputs of ``AuthBackendRole``).

    Consul's identities and onboarded apps share it, so every role of the stack has the same hygiene.
    """

    role_name: str
    bound_service_account_names: tuple[str, ...]
    bound_service_account_namespaces: tuple[str, ...]
    audience: str
    token_policies: tuple[str, ...]
    alias_name_source: str = ALIAS_NAME_SOURCE
    token_ttl: int = TOKEN_TTL_SECONDS
    token_max_ttl: int = TOKEN_MAX_TTL_SECONDS
    token_no_default_policy: bool = True
    """Never attach Vault's ``default`` policy: the role's own policies are all its tokens get."""

    def resource_args(self, backend: Any) -> dict[str, Any]:
        """The keyword arguments of ``vault.kubernetes.AuthBackendRole`` for this role on an auth mount.

        ``backend`` is the mount's path, plain or as the auth mount's ``pulumi.Output`` (then the role waits for it).
        """
        return {
            "backend": backend,
            "role_name": self.role_name,
            "bound_service_account_names": list(self.bound_service_account_names),
            "bound_service_account_namespaces": list(self.bound_service_account_namespaces),
            "audience": self.audience,
            "alias_name_source": self.alias_name_source,
            "token_ttl": self.token_ttl,
            "token_max_ttl": self.token_max_ttl,
            "token_policies": list(self.token_policies),
            "token_no_default_policy": self.token_no_default_policy,
        }


AUTH_DELEGATOR_CLUSTER_ROLE = "system:auth-delegator"
"""Kubernetes' built-in ClusterRole with ``tokenreviews`` and ``subjectaccessreviews`` create."""


@dataclass(frozen=True, order=True)
class ServiceAccountRef:
    """One Kubernetes service account, as a ClusterRoleBinding subject names it."""

    namespace: str
    name: str
