"""Day-2 names and inputs for one stack, from its layout and settings (the composition calls this, never a component).

Every name the secrets engine and the rotations share (:class:`RotationNames`), the engine roles' TTLs, the
rotation Job's Vault policy, and the Job's plain inputs (:func:`gossip_job_args`).
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
    GOSSIP_ROTATOR_ACCOUNT_SUFFIX,
    EngineRole,
    GossipJobArgs,
    VaultCaSecretArgs,
    gossip_job,
    gossip_rotator_policy_document,
    job_deadline_seconds,
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

    @property
    def gossip_next(self) -> KvPath:
        """The KV-v2 secret holding the next gossip key and its version, read by the rotation Job."""
        current = self.layout.kv(KvSecret.GOSSIP)
        return KvPath(mount=current.mount, name=f"{current.name}-next", field=current.field)

    @property
    def gossip_rotator_account(self) -> str:
        """The rotation Job's service account (and its Kubernetes-auth role)."""
        return f"{self.layout.consul_fullname}-{GOSSIP_ROTATOR_ACCOUNT_SUFFIX}"[:63].rstrip("-")

    @property
    def gossip_rotator_policy(self) -> str:
        """The rotation Job's Vault policy."""
        return f"{self.layout.name_prefix}-{self.layout.datacenter}-{GOSSIP_ROTATOR_ACCOUNT_SUFFIX}"

    @property
    def consul_https_address(self) -> str:
        """Consul's HTTPS API inside the cluster (the server Service; HTTPS-only chart, port 8501)."""
        return f"{self.layout.consul_server_service}.{self.layout.consul_namespace}.svc:8501"

    def engine_consul_address(self, settings: Settings) -> str:
        """Consul's HTTPS API as Vault reaches it (``host:port``)."""
        return settings.rotation.consul_secrets_engine.consul_address or self.consul_https_address


def gossip_rotator_policy(names: RotationNames) -> PolicyDocument:
    """The rotation Job's Vault policy for this stack (:func:`.documents.gossip_rotator_policy_document`)."""
    return gossip_rotator_policy_document(names.gossip_rotator_policy, gossip_job_args(names))


def role_ttls(settings: Settings, role: EngineRole) -> tuple[int, int]:
    """(ttl, max_ttl) in seconds of one engine role."""
    engine = settings.rotation.consul_secrets_engine
    prefix = {EngineRole.OPERATOR: "operator", EngineRole.PULUMI: "provider"}.get(role, "job")
    return duration_seconds(getattr(engine, f"{prefix}_ttl")), duration_seconds(getattr(engine, f"{prefix}_max_ttl"))


def gossip_job_deadline_seconds(settings: Settings) -> int:
    """The rotation Job's ``activeDeadlineSeconds`` for this stack (within the gossip-rotator role's max TTL)."""
    return job_deadline_seconds(role_ttls(settings, EngineRole.GOSSIP_ROTATOR)[1])


def gossip_job_args(names: RotationNames) -> GossipJobArgs:
    """The rotation Job's plain inputs for this stack."""
    layout = names.layout
    settings = layout.settings
    current = layout.kv(KvSecret.GOSSIP)
    return GossipJobArgs(
        namespace=layout.consul_namespace,
        service_account=names.gossip_rotator_account,
        vault_address=settings.vault.address,
        vault_auth_path=layout.kubernetes_auth_path,
        audience=workload_audience(settings),
        creds_path=names.creds_path(EngineRole.GOSSIP_ROTATOR),
        kv_mount=layout.kv_mount,
        kv_current=current.name,
        kv_next=names.gossip_next.name,
        kv_field=names.gossip_next.field,
        consul_https_address=names.consul_https_address,
        consul_image=image_reference(settings, Image.CONSUL),
        vault_image=image_reference(settings, Image.VAULT_AGENT),
        active_deadline_seconds=gossip_job_deadline_seconds(settings),
        vault_namespace=settings.vault.namespace,
        vault_ca=(
            VaultCaSecretArgs(layout.vault_ca_secret_name, layout.vault_ca_secret_key)
            if settings.vault.tls.ca_cert_pem is not None
            else None
        ),
    )


def stack_gossip_job(names: RotationNames, version: int) -> dict[str, Any]:
    """The rotation Job of one version for this stack (what the component registers from the same inputs)."""
    return gossip_job(gossip_job_args(names), version)
