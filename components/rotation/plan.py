"""Day-2 names and inputs for one stack, from its layout and settings (the composition calls this, never a component).

Every name the secrets engine and the rotations share (:class:`RotationNames`), the engine roles' TTLs, the
rotation Jobs' Vault policies, and the Jobs' plain inputs (:func:`gossip_job_args`,
:func:`bootstrap_token_job_args`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..identities.documents import PolicyDocument
from ..identities.roles import workload_audience
from ..layout import KvPath, KvSecret, Layout
from ..settings import Settings, duration_seconds
from ..settings.images import Image, image_reference
from .documents import (
    ACK_SECONDS,
    BOOTSTRAP_TOKEN_ROTATOR_ACCOUNT_SUFFIX,
    GOSSIP_ROTATOR_ACCOUNT_SUFFIX,
    REPLICATION_TOKEN_ROTATOR_ACCOUNT_SUFFIX,
    ROLLOUT_SECONDS,
    EngineRole,
    RotationJobArgs,
    VaultCaSecretArgs,
    bootstrap_token_job,
    gossip_job,
    job_deadline_seconds,
    replication_roll_job,
    replication_token_job,
    rotation_job_policy_document,
)


@dataclass(frozen=True)
class RotationNames:
    """Every name the secrets engine and the rotations share, derived from the layout."""

    layout: Layout

    @property
    def engine_mount(self) -> str:
        """The Consul secrets engine's mount (``<prefix>/acl``): tokens come from ``<mount>/creds/<role>``."""
        return f"{self.layout.mount_prefix}/acl"

    def creds_path(self, role: EngineRole) -> str:
        """Where a caller reads a fresh Consul token of one role."""
        return f"{self.engine_mount}/creds/{role.value}"

    def consul_policy(self, role: EngineRole | None) -> str:
        """The Consul ACL policy of an engine role (``None``: the engine's own management token)."""
        suffix = "vault-secrets-engine" if role is None else role.value
        return f"{self.layout.name_prefix}-{self.layout.datacenter}-{suffix}"

    def next_of(self, secret: KvSecret) -> KvPath:
        """The KV-v2 secret holding a rotated secret's next value and its version (``<name>-next``)."""
        current = self.layout.kv(secret)
        return KvPath(mount=current.mount, name=f"{current.name}-next", field=current.field)

    def job_account(self, suffix: str) -> str:
        """A rotation Job's service account (and its Kubernetes-auth role): ``<fullname>-<suffix>``, at most 63."""
        return f"{self.layout.consul_fullname}-{suffix}"[:63].rstrip("-")

    def job_policy(self, suffix: str) -> str:
        """A rotation Job's Vault policy: ``<prefix>-<dc>-<suffix>``."""
        return f"{self.layout.name_prefix}-{self.layout.datacenter}-{suffix}"

    @property
    def gossip_next(self) -> KvPath:
        """The KV-v2 secret holding the next gossip key and its version, read by the rotation Job."""
        return self.next_of(KvSecret.GOSSIP)

    @property
    def gossip_rotator_account(self) -> str:
        """The gossip rotation Job's service account (and its Kubernetes-auth role)."""
        return self.job_account(GOSSIP_ROTATOR_ACCOUNT_SUFFIX)

    @property
    def gossip_rotator_policy(self) -> str:
        """The gossip rotation Job's Vault policy."""
        return self.job_policy(GOSSIP_ROTATOR_ACCOUNT_SUFFIX)

    @property
    def bootstrap_token_next(self) -> KvPath:
        """The KV-v2 secret holding the next bootstrap token SecretID and its version."""
        return self.next_of(KvSecret.BOOTSTRAP_TOKEN)

    @property
    def bootstrap_token_rotator_account(self) -> str:
        """The bootstrap token rotation Job's service account (and its Kubernetes-auth role and Role)."""
        return self.job_account(BOOTSTRAP_TOKEN_ROTATOR_ACCOUNT_SUFFIX)

    @property
    def bootstrap_token_rotator_policy(self) -> str:
        """The bootstrap token rotation Job's Vault policy."""
        return self.job_policy(BOOTSTRAP_TOKEN_ROTATOR_ACCOUNT_SUFFIX)

    @property
    def replication_token_rotator_account(self) -> str:
        """The replication token rotation Job's service account (primary and secondaries alike)."""
        return self.job_account(REPLICATION_TOKEN_ROTATOR_ACCOUNT_SUFFIX)

    @property
    def replication_token_rotator_policy(self) -> str:
        """The replication token rotation Job's Vault policy (in this datacenter's namespace of names)."""
        return self.job_policy(REPLICATION_TOKEN_ROTATOR_ACCOUNT_SUFFIX)

    def replication_ack(self, datacenter: str) -> str:
        """The KV name (in the primary's mount) where a secondary acknowledges a replication token version."""
        return f"{self.layout.kv(KvSecret.REPLICATION_TOKEN).name}-ack-{datacenter}"

    @property
    def server_statefulset(self) -> str:
        """The Consul servers' StatefulSet: the chart names it like their Service, ``<fullname>-server``
        (consul-k8s ``templates/server-statefulset.yaml`` and ``server-service.yaml``).
        """
        return self.layout.consul_server_service

    @property
    def consul_https_address(self) -> str:
        """Consul's HTTPS API inside the cluster (the server Service; HTTPS-only chart, port 8501)."""
        return f"{self.layout.consul_server_service}.{self.layout.consul_namespace}.svc:8501"

    def engine_consul_address(self, settings: Settings) -> str:
        """Consul's HTTPS API as Vault reaches it (``host:port``)."""
        return settings.rotation.consul_secrets_engine.consul_address or self.consul_https_address


def gossip_rotator_policy(names: RotationNames) -> PolicyDocument:
    """The gossip rotation Job's Vault policy for this stack (:func:`.documents.rotation_job_policy_document`)."""
    return rotation_job_policy_document(names.gossip_rotator_policy, gossip_job_args(names))


def bootstrap_token_rotator_policy(names: RotationNames) -> PolicyDocument:
    """The bootstrap token rotation Job's Vault policy for this stack."""
    return rotation_job_policy_document(names.bootstrap_token_rotator_policy, bootstrap_token_job_args(names))


def role_ttls(settings: Settings, role: EngineRole) -> tuple[int, int]:
    """(ttl, max_ttl) in seconds of one engine role."""
    engine = settings.rotation.consul_secrets_engine
    prefix = {EngineRole.OPERATOR: "operator", EngineRole.PULUMI: "provider"}.get(role, "job")
    return duration_seconds(getattr(engine, f"{prefix}_ttl")), duration_seconds(getattr(engine, f"{prefix}_max_ttl"))


def gossip_job_deadline_seconds(settings: Settings) -> int:
    """The rotation Job's ``activeDeadlineSeconds`` for this stack (within the gossip-rotator role's max TTL)."""
    return job_deadline_seconds(role_ttls(settings, EngineRole.GOSSIP_ROTATOR)[1])


def bootstrap_token_job_deadline_seconds(settings: Settings) -> int:
    """The token rotation Job's deadline: the servers' rolling restart, within the acl-rotator role's max TTL."""
    return job_deadline_seconds(role_ttls(settings, EngineRole.ACL_ROTATOR)[1], ROLLOUT_SECONDS)


def _job_args(
    names: RotationNames,
    secret: KvSecret,
    account: str,
    role: EngineRole | None,
    deadline: int,
    server_statefulset: str | None = None,
    acknowledgements: tuple[str, ...] = (),
    acknowledgement: str | None = None,
) -> RotationJobArgs:
    """A rotation Job's plain inputs for this stack: which secret it rotates, as whom, with which engine role
    (None: no Consul token, and no next value: a secondary reads what the primary rotated).
    """
    layout = names.layout
    settings = layout.settings
    current = layout.kv(secret)
    following = names.next_of(secret)
    return RotationJobArgs(
        namespace=layout.consul_namespace,
        service_account=account,
        vault_address=settings.vault.address,
        vault_auth_path=layout.kubernetes_auth_path,
        audience=workload_audience(settings),
        creds_path=names.creds_path(role) if role is not None else None,
        kv_mount=current.mount,
        kv_current=current.name,
        kv_next=following.name if role is not None else None,
        kv_field=following.field,
        consul_https_address=names.consul_https_address,
        consul_image=image_reference(settings, Image.CONSUL),
        vault_image=image_reference(settings, Image.VAULT_AGENT),
        active_deadline_seconds=deadline,
        vault_namespace=settings.vault.namespace,
        vault_ca=(
            VaultCaSecretArgs(layout.vault_ca_secret_name, layout.vault_ca_secret_key)
            if settings.vault.tls.ca_cert_pem is not None
            else None
        ),
        server_statefulset=server_statefulset,
        acknowledgements=acknowledgements,
        acknowledgement=acknowledgement,
    )


def gossip_job_args(names: RotationNames) -> RotationJobArgs:
    """The gossip rotation Job's plain inputs for this stack."""
    settings = names.layout.settings
    return _job_args(
        names,
        KvSecret.GOSSIP,
        names.gossip_rotator_account,
        EngineRole.GOSSIP_ROTATOR,
        gossip_job_deadline_seconds(settings),
    )


def bootstrap_token_job_args(names: RotationNames) -> RotationJobArgs:
    """The bootstrap token rotation Job's plain inputs: the acl-rotator role, and the servers' StatefulSet."""
    settings = names.layout.settings
    return _job_args(
        names,
        KvSecret.BOOTSTRAP_TOKEN,
        names.bootstrap_token_rotator_account,
        EngineRole.ACL_ROTATOR,
        bootstrap_token_job_deadline_seconds(settings),
        server_statefulset=names.server_statefulset,
    )


def replication_token_job_args(names: RotationNames) -> RotationJobArgs:
    """The replication token rotation Job's plain inputs: in the primary the acl-rotator role and one
    acknowledgement per secondary; in a secondary no Consul token, the primary's KV and its own StatefulSet.
    """
    layout = names.layout
    settings = layout.settings
    max_ttl = role_ttls(settings, EngineRole.ACL_ROTATOR)[1]
    account = names.replication_token_rotator_account
    if layout.is_federation_secondary:
        return _job_args(
            names,
            KvSecret.REPLICATION_TOKEN,
            account,
            None,
            job_deadline_seconds(max_ttl, ACK_SECONDS + ROLLOUT_SECONDS),
            server_statefulset=names.server_statefulset,
            acknowledgement=names.replication_ack(layout.datacenter),
        )
    return _job_args(
        names,
        KvSecret.REPLICATION_TOKEN,
        account,
        EngineRole.ACL_ROTATOR,
        job_deadline_seconds(max_ttl, ACK_SECONDS),
        acknowledgements=tuple(names.replication_ack(dc) for dc in settings.topology.secondaries),
    )


def stack_replication_token_job(names: RotationNames, version: int) -> dict[str, Any]:
    """The replication token rotation Job of one version for this stack (primary or secondary)."""
    args = replication_token_job_args(names)
    builder = replication_roll_job if args.acknowledgement is not None else replication_token_job
    return builder(args, version)


def replication_token_rotator_policy(names: RotationNames) -> PolicyDocument:
    """The replication token rotation Job's Vault policy for this stack."""
    return rotation_job_policy_document(names.replication_token_rotator_policy, replication_token_job_args(names))


def stack_gossip_job(names: RotationNames, version: int) -> dict[str, Any]:
    """The gossip rotation Job of one version for this stack (what the component registers from the same inputs)."""
    return gossip_job(gossip_job_args(names), version)


def stack_bootstrap_token_job(names: RotationNames, version: int) -> dict[str, Any]:
    """The bootstrap token rotation Job of one version for this stack."""
    return bootstrap_token_job(bootstrap_token_job_args(names), version)
