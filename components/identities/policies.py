"""Layer 3: the Vault policy of every Consul identity, as plain Python data rendered to Vault's JSON syntax.

Each document grants exactly the paths and capabilities of the chart contract (§3 of
``consul-k8s-vault-contract.md``), built from the layout so the paths cannot drift from the Helm
values: KV-v2 paths always with ``/data/``, PKI issue endpoints ``create``+``update``, CA endpoints
``read``. Nothing grants ``delete`` on KV, ``root`` or a glob that spans purposes, and ``sudo`` only on the
connect root's previous generation while Consul cross-signs the new one (:func:`connect_root_cross_sign_grants`);
the only ``sys/`` paths are the mesh CA provider's documented mount reads and tune, and the only glob is Consul's
own intermediate mount (which the program declares empty and Consul fills). Every document also grants the token
self-endpoints (:data:`TOKEN_SELF`), because roles no longer attach Vault's ``default`` policy.

The document classes live in the layout-free :mod:`.documents` (re-exported here).
"""

from __future__ import annotations

from collections.abc import Mapping

from ..layout import Identity, KvSecret, Layout
from .documents import CROSS_SIGN as CROSS_SIGN
from .documents import ISSUE as ISSUE
from .documents import OWN_MOUNT as OWN_MOUNT
from .documents import READ as READ
from .documents import READ_UPDATE as READ_UPDATE
from .documents import TOKEN_SELF as TOKEN_SELF
from .documents import UPDATE as UPDATE
from .documents import Capability as Capability
from .documents import Grant as Grant
from .documents import PolicyDocument as PolicyDocument


def identity_policy(layout: Layout, identity: Identity) -> PolicyDocument:
    """The policy of one Consul identity, exactly the contract's paths for this stack's settings."""
    consul = layout.settings.consul
    kv = {secret: layout.kv(secret).data_path for secret in KvSecret}
    server_ca = (layout.server_ca_path, READ)
    grants: list[tuple[str, frozenset[Capability]]]
    secondary = layout.is_secondary_datacenter
    if identity is Identity.SERVER:
        grants = [
            (kv[KvSecret.GOSSIP], READ),
            (layout.server_pki_issue_path, ISSUE),
            server_ca,
        ]
        if not secondary:
            # Servers template it as acl.tokens.initial_management; a secondary has no bootstrap token (the chart
            # renders that annotation only with global.acls.bootstrapToken, templates/server-statefulset.yaml L105).
            grants.append((kv[KvSecret.BOOTSTRAP_TOKEN], READ))
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
        # read + update: with an empty stored token it bootstraps ACLs and writes the token back. A secondary's job
        # logs in with the replication token instead (consul-k8s server-acl-init/command.go, L323-329).
        grants = [server_ca] if secondary else [(kv[KvSecret.BOOTSTRAP_TOKEN], READ_UPDATE), server_ca]
        # A secondary logs in with the replication token; the primary's job creates the token with that SecretID.
        if secondary or layout.is_federation_primary:
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
    manages its own per-datacenter ``intermediatePKIPath`` mount (tune, roles, issuing). In a WAN-federation
    secondary it never touches the root: it generates a CSR in its intermediate mount, the primary's servers sign it
    (RPC ``ConnectCA.SignIntermediate``), and it sets the result (consul agent/connect/ca/provider_vault.go:
    ``GenerateRoot`` refuses outside the primary, ``GenerateIntermediateCSR``/``SetIntermediate`` use only the
    intermediate path; agent/consul/leader_connect_ca.go ``secondaryRequestNewSigningCert``).
    """
    root = layout.connect_root_pki_path
    intermediate = layout.connect_intermediate_pki_path
    signs_with_root = not layout.is_secondary_datacenter
    root_grants = [
        (f"sys/mounts/{root}", READ),
        (f"{root}/", READ),
        (f"{root}/root/sign-intermediate", UPDATE),
    ]
    return PolicyDocument.build(
        layout.mesh_ca_policy_name,
        [
            *(root_grants if signs_with_root else []),
            (f"sys/mounts/{intermediate}", READ),
            (f"sys/mounts/{intermediate}/tune", UPDATE),  # without it CA initialisation fails after upgrades
            (f"{intermediate}/*", OWN_MOUNT),
            *TOKEN_SELF,  # Consul's CA provider renews its own token (it has no Vault agent)
        ],
    )


def connect_root_cross_sign_grants(layout: Layout) -> dict[str, frozenset[Capability]]:
    """What the servers' mesh CA policy holds on the connect root's previous generation only while Consul switches
    to the new one (``rotation.connectRootGeneration`` above what the stack recorded); empty at generation 1.

    Until the ``PUT /v1/connect/ca/configuration`` that names the new ``rootPKIPath`` returns, Consul's provider
    still signs and renews its intermediate with the old root (the same reads and ``sign-intermediate`` as
    :func:`mesh_ca_policy` grants the new one); within that request it cross-signs the new root with the old one at
    ``<old>/root/sign-self-issued``, a root-protected endpoint that needs ``sudo`` and ``update`` (consul
    ``agent/consul/leader_connect_ca.go`` ``primaryUpdateRootCA``, ``agent/connect/ca/provider_vault.go``
    ``CrossSignCA``). Consul's token keeps the policies it logged in with, so these paths are added to the mesh CA
    policy it already holds, never to another policy.
    """
    old = layout.superseded_connect_root_mount
    if old is None:
        return {}
    return {
        f"sys/mounts/{old.path}": READ,
        f"{old.path}/": READ,
        f"{old.path}/root/sign-intermediate": UPDATE,
        f"{old.path}/root/sign-self-issued": CROSS_SIGN,
    }


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
