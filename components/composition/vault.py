"""Settings and layout → the Args of the Vault-side components other than the PKI.

:func:`audit_args` (VaultAudit), :func:`secrets_args` (ConsulSecrets), :func:`identities_args`
(VaultIdentities), :func:`secrets_engine_args` (ConsulSecretsEngine), :func:`gossip_rotation_args`
(GossipKeyRotation), :func:`bootstrap_token_rotation_args` (BootstrapTokenRotation) and
:func:`replication_token_rotation_args` (ReplicationTokenRotation). Every name comes from
the layout; every document from the pure modules next to each component (:mod:`..identities.policies`,
:mod:`..identities.roles`, :mod:`..identities.reviewers`, :mod:`..secrets.documents`, :mod:`..rotation.plan`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

from ..audit import VaultAuditArgs
from ..identities.component import (
    ClientJwtReviewArgs,
    KubernetesAuthRoleArgs,
    ReviewerSecretArgs,
    ServiceAccountArgs,
    VaultIdentitiesArgs,
    VaultPolicyArgs,
)
from ..identities.policies import (
    PolicyDocument,
    connect_root_cross_sign_grants,
    identity_policies,
    mesh_ca_policy,
)
from ..identities.reviewers import vault_login_service_accounts
from ..identities.roles import RoleSpec, role_specs
from ..layout import Layout
from ..pki.component import generation_key
from ..rotation.component import (
    BootstrapTokenRotationArgs,
    ConsulSecretsEngineArgs,
    EngineRoleArgs,
    GossipKeyRotationArgs,
    ReplicationTokenRotationArgs,
)
from ..rotation.documents import ROLE_RULES, EngineRole
from ..rotation.plan import (
    RotationNames,
    bootstrap_token_job_args,
    gossip_job_args,
    replication_token_job_args,
    role_ttls,
)
from ..secrets.component import ConsulSecretsArgs, KvSecretArgs, SnapshotAgentArgs
from ..settings import ChainName, Settings, VaultPlacement
from ..vocabulary import KvSecret, TokenReviewer

MESH_CA_POLICY_KEY = "mesh-ca"
"""The key of the mesh CA provider's policy among the identities' policies (the others are keyed by identity)."""


def audit_enabled(settings: Settings) -> bool:
    """Whether the stack enables an audit device: ``vault.audit.enabled``, else on in prod only."""
    enabled = settings.vault.audit.enabled
    return settings.is_production if enabled is None else enabled


def audit_args(settings: Settings, layout: Layout) -> VaultAuditArgs:
    """The stack's audit device (``vault.audit``), protected in production."""
    audit = settings.vault.audit
    return VaultAuditArgs(
        path=layout.audit_device_path,
        description=f"secure-mesh audit trail (Consul datacenter {layout.datacenter})",
        enabled=audit_enabled(settings),
        type=audit.type,
        file_path=audit.file_path,
        address=audit.address,
        socket_type=audit.socket_type,
        facility=audit.facility,
        tag=audit.tag,
        protect=settings.is_production,
    )


def secrets_args(
    settings: Settings,
    layout: Layout,
    license: pulumi.Input[str] | None = None,
) -> ConsulSecretsArgs:
    """Consul's KV secrets for this stack: the layout's set and names; the license as given.

    An Enterprise stack without ``consulLicense`` is refused here, naming the secret config key, before anything is
    registered. A federation primary generates the replication token's SecretID; a secondary stores neither it nor
    the gossip key (it reads the primary's).
    """
    secrets = layout.kv_secrets
    if KvSecret.LICENSE in secrets and license is None:
        raise ValueError("Consul Enterprise needs the consulLicense secret")
    generate = KvSecret.REPLICATION_TOKEN in secrets and layout.is_federation_primary
    agent = settings.consul.snapshot_agent
    return ConsulSecretsArgs(
        kv_mount=layout.kv_mount,
        secrets=tuple(KvSecretArgs(secret, layout.kv(secret).name, layout.kv(secret).field) for secret in secrets),
        acl_bootstrap=settings.consul.acl_bootstrap,
        gossip_key_rotated=settings.rotation.gossip_key_version > 1,
        bootstrap_token_rotated=settings.rotation.bootstrap_token_version > 1,
        replication_token_rotated=settings.rotation.replication_token_version > 1,
        generate_replication_token=generate,
        snapshot_agent=SnapshotAgentArgs(agent.interval, agent.retain) if KvSecret.SNAPSHOT_AGENT in secrets else None,
        license=license if KvSecret.LICENSE in secrets else None,
        protect=settings.is_production,
        federation_secondary=layout.is_federation_secondary,
    )


def policy_args(key: str, document: PolicyDocument) -> VaultPolicyArgs:
    """A policy document as the component takes it."""
    return VaultPolicyArgs(key=key, name=document.name, paths={p: tuple(c) for p, c in document.paths.items()})


def role_args(spec: RoleSpec) -> KubernetesAuthRoleArgs:
    """A Consul identity's role as the component takes it."""
    return KubernetesAuthRoleArgs(
        key=spec.identity.value,
        role_name=spec.role_name,
        service_account_names=spec.bound_service_account_names,
        service_account_namespaces=spec.bound_service_account_namespaces,
        audience=spec.audience,
        policies=spec.token_policies,
        token_ttl=spec.token_ttl,
        token_max_ttl=spec.token_max_ttl,
    )


def cross_sign_grant(
    layout: Layout, deployed: pulumi.Input[Mapping[str, int]] | None
) -> pulumi.Input[Mapping[str, Sequence[str]]] | None:
    """The mesh CA policy's temporary grant on the connect root's previous generation: held until this stack's
    record (``deployed``, its previous ``rotationVersions``) shows Consul switched to the declared generation, so
    the ``up`` that raises ``rotation.connectRootGeneration`` grants it and the next ``up`` takes it away. None at
    generation 1 (nothing to cross-sign).
    """
    grants = connect_root_cross_sign_grants(layout)
    if not grants:
        return None
    paths = {path: tuple(sorted(capabilities)) for path, capabilities in grants.items()}
    if deployed is None:
        return paths
    key, requested = generation_key(ChainName.CONNECT), layout.connect_root_generation
    return pulumi.Output.from_input(deployed).apply(
        lambda record: {} if (record or {}).get(key) == requested else paths
    )


def identities_args(
    settings: Settings, layout: Layout, deployed: pulumi.Input[Mapping[str, int]] | None = None
) -> VaultIdentitiesArgs:
    """The Kubernetes auth mount of this datacenter, its reviewer, and a policy and role per Consul identity (the
    mesh CA policy with the connect root's cross-sign grant while ``deployed`` does not yet record the declared
    generation).
    """
    vault_settings = settings.vault
    client_jwt: ClientJwtReviewArgs | None = None
    reviewer: ReviewerSecretArgs | None = None
    if vault_settings.placement is VaultPlacement.EXTERNAL:
        if vault_settings.token_reviewer is TokenReviewer.CLIENT_JWT:
            client_jwt = ClientJwtReviewArgs(
                binding_name=layout.vault_clients_binding_name,
                service_accounts=tuple(
                    ServiceAccountArgs(account.namespace, account.name)
                    for account in vault_login_service_accounts(layout)
                ),
            )
        else:
            reviewer = ReviewerSecretArgs(
                namespace=layout.token_reviewer_namespace,
                service_account=layout.token_reviewer_service_account,
                binding_name=layout.token_reviewer_binding_name,
                secret_name=layout.token_reviewer_secret_name,
            )
    policies = [policy_args(identity.value, document) for identity, document in identity_policies(layout).items()]
    mesh_ca = policy_args(MESH_CA_POLICY_KEY, mesh_ca_policy(layout))
    policies.append(dataclasses.replace(mesh_ca, temporary_paths=cross_sign_grant(layout, deployed)))
    return VaultIdentitiesArgs(
        auth_path=layout.kubernetes_auth_path,
        auth_description=f"Kubernetes auth for Consul datacenter {layout.datacenter}",
        kubernetes_host=vault_settings.kubernetes_host,
        kubernetes_ca_cert=vault_settings.kubernetes_ca_cert_pem,
        client_jwt_review=client_jwt,
        reviewer_secret=reviewer,
        policies=tuple(policies),
        roles=tuple(role_args(spec) for spec in role_specs(layout)),
        protect=settings.is_production,
    )


def secrets_engine_args(
    settings: Settings, layout: Layout, server_ca_pem: pulumi.Input[str]
) -> ConsulSecretsEngineArgs:
    """Vault's Consul secrets engine for this stack: its mount, Consul's address, one role per kind of caller."""
    names = RotationNames(layout)
    return ConsulSecretsEngineArgs(
        mount=names.engine_mount,
        consul_address=names.engine_consul_address(settings),
        server_ca_pem=server_ca_pem,
        engine_policy=names.consul_policy(None),
        roles=tuple(
            EngineRoleArgs(
                name=role.value,
                consul_policy=names.consul_policy(role),
                rules=ROLE_RULES[role],
                ttl=role_ttls(settings, role)[0],
                max_ttl=role_ttls(settings, role)[1],
            )
            for role in EngineRole
        ),
        default_lease_ttl_seconds=role_ttls(settings, EngineRole.GOSSIP_ROTATOR)[0],
        protect=settings.is_production,
    )


@dataclass(frozen=True)
class RotationWiring:
    """What every rotation component takes from the others (one value per stack, shared by all rotations)."""

    auth_mount_path: pulumi.Input[str]
    """VaultIdentities' Kubernetes auth mount: each Job's role is written on it."""
    kv_mount: pulumi.Input[str] | None
    """ConsulSecrets' KV mount (None in a federation secondary, which holds none)."""
    server_ca_pem: pulumi.Input[str]
    """The server CA the Jobs trust for Consul's HTTPS API."""
    consul_release: pulumi.Input[str]
    """An output of the Consul release: the Jobs' objects wait for it."""
    engine_roles: Mapping[EngineRole, pulumi.Input[str]]
    """The secrets engine's role names by role (empty without the engine): a Job waits for its role."""
    deployed: pulumi.Input[Mapping[str, int]] | None
    """This stack's previous ``rotationVersions`` output (one StackReference to itself)."""


def _wired(settings: Settings, wiring: RotationWiring, role: EngineRole, kv_mount: pulumi.Input[str]) -> dict[str, Any]:
    """The Args fields every rotation shares: the wiring, the Job token's TTL (its role's max TTL), protect."""
    return {
        "token_ttl": role_ttls(settings, role)[1],
        "auth_mount_path": wiring.auth_mount_path,
        "kv_mount": kv_mount,
        "server_ca_pem": wiring.server_ca_pem,
        "engine_role": wiring.engine_roles.get(role),
        "consul_release": wiring.consul_release,
        "deployed": wiring.deployed,
        "protect": settings.is_production,
    }


def _own_kv_mount(wiring: RotationWiring) -> pulumi.Input[str]:
    if wiring.kv_mount is None:
        raise ValueError("this rotation writes the stack's own KV mount, and the stack holds none")
    return wiring.kv_mount


def gossip_rotation_args(settings: Settings, layout: Layout, wiring: RotationWiring) -> GossipKeyRotationArgs:
    """The gossip key rotation of this stack (``rotation.gossipKeyVersion``), wired to the other components."""
    names = RotationNames(layout)
    return GossipKeyRotationArgs(
        version=settings.rotation.gossip_key_version,
        job=gossip_job_args(names),
        policy_name=names.gossip_rotator_policy,
        **_wired(settings, wiring, EngineRole.GOSSIP_ROTATOR, _own_kv_mount(wiring)),
    )


def bootstrap_token_rotation_args(
    settings: Settings, layout: Layout, wiring: RotationWiring
) -> BootstrapTokenRotationArgs:
    """The bootstrap token rotation of this stack (``rotation.bootstrapTokenVersion``), wired like the gossip one."""
    names = RotationNames(layout)
    return BootstrapTokenRotationArgs(
        version=settings.rotation.bootstrap_token_version,
        job=bootstrap_token_job_args(names),
        policy_name=names.bootstrap_token_rotator_policy,
        **_wired(settings, wiring, EngineRole.ACL_ROTATOR, _own_kv_mount(wiring)),
    )


def replication_token_rotation_args(
    settings: Settings, layout: Layout, wiring: RotationWiring
) -> ReplicationTokenRotationArgs:
    """The replication token rotation of a federation primary or secondary (``rotation.replicationTokenVersion``).

    The primary writes its own KV mount and uses the engine's acl-rotator role; a secondary names the primary's
    mount as the layout computes it from the primary's settings (another stack's resource) and uses no engine role.
    """
    names = RotationNames(layout)
    job = replication_token_job_args(names)
    kv_mount = job.kv_mount if layout.is_federation_secondary else _own_kv_mount(wiring)
    return ReplicationTokenRotationArgs(
        version=settings.rotation.replication_token_version,
        job=job,
        policy_name=names.replication_token_rotator_policy,
        **_wired(settings, wiring, EngineRole.ACL_ROTATOR, kv_mount),
    )
