"""Layer 3 for day-2 operations, as plain data: names, Consul ACL rules, the rotation Job's Vault policy,
and the version check that refuses lowering or skipping a rotation version.

Consul ACL rules (Consul docs ``security/acl/acl-rules``; consul ``acl/policy.go``): keyring operations
need ``keyring = "write"`` (``-list`` needs ``read``, which ``write`` includes; consul
``agent/operator_endpoint.go``/``agent/keyring.go`` check ``KeyringRead``/``KeyringWrite``); managing tokens
and policies needs ``acl = "write"``, which is as powerful as a management token (it can mint one).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ..identities.policies import READ, TOKEN_SELF, Capability, PolicyDocument
from ..identities.roles import workload_audience
from ..layout import KvPath, KvSecret, Layout
from ..settings import Settings, duration_seconds
from ..settings.images import Image, image_reference

GOSSIP_ROTATOR_ACCOUNT_SUFFIX = "gossip-rotator"
GOSSIP_JOB_PREFIX = "gossip-rotate-v"
VERSION_OUTPUT = "rotationVersions"
"""The stack output that records the versions the last successful ``up`` reached (read back by the next run)."""
GOSSIP_VERSION_KEY = "gossipKeyVersion"


class EngineRole(StrEnum):
    """The roles of Vault's Consul secrets engine, one per kind of caller."""

    OPERATOR = "operator"
    PULUMI = "pulumi"
    GOSSIP_ROTATOR = "gossip-rotator"
    ACL_ROTATOR = "acl-rotator"


ENGINE_TOKEN_RULES = 'acl = "write"\n'
"""The engine's own management token: ``acl = "write"`` is all Vault needs to create and revoke tokens."""

ROLE_RULES: dict[EngineRole, str] = {
    EngineRole.OPERATOR: (
        'acl = "read"\nkeyring = "read"\nmesh = "write"\noperator = "write"\npeering = "read"\n'
        'node_prefix "" {\n  policy = "read"\n}\nservice_prefix "" {\n  policy = "read"\n}\n'
    ),
    EngineRole.PULUMI: (
        'acl = "write"\nmesh = "write"\noperator = "write"\n'
        'node_prefix "" {\n  policy = "read"\n}\nservice_prefix "" {\n  policy = "read"\n  intentions = "write"\n}\n'
    ),
    EngineRole.GOSSIP_ROTATOR: 'keyring = "write"\n',
    EngineRole.ACL_ROTATOR: 'acl = "write"\n',
}
"""Consul ACL rules of each engine role. Operators: read the cluster, run ``consul operator``, manage mesh
config; the Pulumi Consul provider: config entries and intentions (``mesh``/``intentions`` write), the
connect CA configuration (``operator = "write"``), and ACL policies and tokens (``acl = "write"``); the gossip
rotation Job: the keyring only; the token rotation step: ACL write only."""


class RotationVersionError(ValueError):
    """A rotation version that lowers or skips the version the last successful ``up`` reached.

    Pulumi re-raises an error from inside an ``apply`` as a plain ``ValueError`` carrying only the text, so
    the text itself starts with this class's name: that is what operators and CI logs can match.
    """

    def __init__(self, message: str) -> None:
        super().__init__(f"{type(self).__name__}: {message}")


def check_version_step(key: str, deployed: object, requested: int) -> int:
    """Return ``requested`` if it equals the deployed version or is exactly one above it; raise otherwise.

    ``deployed`` is what the stack's own ``rotationVersions`` output held after the last successful ``up``
    (``None`` on a stack that never exported it: then any version starts the record).
    """
    if deployed is None:
        return requested
    if not isinstance(deployed, int | float) or isinstance(deployed, bool) or int(deployed) != deployed:
        raise RotationVersionError(f"secure-mesh:{key}: the deployed version {deployed!r} is not an integer")
    previous = int(deployed)
    if requested < previous:
        raise RotationVersionError(
            f"secure-mesh:{key}: {requested} is lower than the deployed version {previous}; a rotation cannot be "
            f"undone by lowering its version (allowed: {previous} or {previous + 1})"
        )
    if requested > previous + 1:
        raise RotationVersionError(
            f"secure-mesh:{key}: {requested} skips version(s) {previous + 1}..{requested - 1} after the deployed "
            f"version {previous}; raise it by one per `pulumi up` (allowed: {previous} or {previous + 1})"
        )
    return requested


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


def gossip_job_name(version: int) -> str:
    """The rotation Job of one version: immutable and traceable (``gossip-rotate-v2``)."""
    return f"{GOSSIP_JOB_PREFIX}{version}"


def gossip_rotator_policy(names: RotationNames) -> PolicyDocument:
    """The rotation Job's Vault policy: its Consul token, the next key, the current key, and its own token.

    No ``revoke-self`` (the policy pack allows only renew/lookup-self): the Vault token lives at most
    ``jobMaxTtl`` and its expiry revokes the Consul token's lease with it.
    """
    current = names.layout.kv(KvSecret.GOSSIP)
    return PolicyDocument.build(
        names.gossip_rotator_policy,
        [
            (names.creds_path(EngineRole.GOSSIP_ROTATOR), READ),
            (names.gossip_next.data_path, READ),
            (current.data_path, frozenset({Capability.READ, Capability.CREATE, Capability.UPDATE})),
            *TOKEN_SELF,
        ],
    )


def role_ttls(settings: Settings, role: EngineRole) -> tuple[int, int]:
    """(ttl, max_ttl) in seconds of one engine role."""
    engine = settings.rotation.consul_secrets_engine
    prefix = {EngineRole.OPERATOR: "operator", EngineRole.PULUMI: "provider"}.get(role, "job")
    return duration_seconds(getattr(engine, f"{prefix}_ttl")), duration_seconds(getattr(engine, f"{prefix}_max_ttl"))


SCRIPT_FILE = "gossip-rotate.sh"
TOOLS_DIR = "/tools"
SCRIPT_DIR = "/rotation"
SA_TOKEN_DIR = "/var/run/secrets/rotation"
SA_TOKEN_EXPIRATION_SECONDS = 600
VAULT_CA_DIR = "/vault/tls"
WAIT_SECONDS = 300
"""How long step 2 waits for every member to hold the new key before the Job fails (the old key stays primary)."""
POLL_SECONDS = 5
CALL_SECONDS = 30


def job_deadline_seconds(settings: Settings) -> int:
    """The Job's ``activeDeadlineSeconds``: within its Consul token's max TTL, so the token outlives the Job."""
    _, max_ttl = role_ttls(settings, EngineRole.GOSSIP_ROTATOR)
    return min(max_ttl, WAIT_SECONDS + 10 * CALL_SECONDS)


def gossip_job(names: RotationNames, version: int) -> dict[str, Any]:
    """The Job ``gossip-rotate-v<N>`` (metadata and spec): one attempt set, bounded, non-root, no default token."""
    layout = names.layout
    settings = layout.settings
    job = gossip_job_name(version)
    restricted: dict[str, Any] = {
        "runAsNonRoot": True,
        "runAsUser": 65534,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    env = [
        {"name": "TARGET_VERSION", "value": str(version)},
        {"name": "VAULT_ADDR", "value": settings.vault.address},
        {"name": "VAULT_AUTH_PATH", "value": layout.kubernetes_auth_login_path},
        {"name": "VAULT_ROLE", "value": names.gossip_rotator_account},
        {"name": "SA_TOKEN_FILE", "value": f"{SA_TOKEN_DIR}/token"},
        {"name": "CREDS_PATH", "value": names.creds_path(EngineRole.GOSSIP_ROTATOR)},
        {"name": "KV_MOUNT", "value": layout.kv_mount},
        {"name": "KV_CURRENT", "value": layout.kv(KvSecret.GOSSIP).name},
        {"name": "KV_NEXT", "value": names.gossip_next.name},
        {"name": "KV_FIELD", "value": names.gossip_next.field},
        {"name": "CONSUL_HTTP_ADDR", "value": f"https://{names.consul_https_address}"},
        {"name": "CONSUL_CACERT", "value": f"{SCRIPT_DIR}/consul-ca.pem"},
        {"name": "WAIT_SECONDS", "value": str(WAIT_SECONDS)},
        {"name": "POLL_SECONDS", "value": str(POLL_SECONDS)},
        {"name": "CALL_SECONDS", "value": str(CALL_SECONDS)},
        {"name": "PATH", "value": f"{TOOLS_DIR}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
    ]
    if settings.vault.namespace is not None:
        env.append({"name": "VAULT_NAMESPACE", "value": settings.vault.namespace})
    mounts: list[dict[str, Any]] = [
        {"name": "tools", "mountPath": TOOLS_DIR, "readOnly": True},
        {"name": "script", "mountPath": SCRIPT_DIR, "readOnly": True},
        {"name": "token", "mountPath": SA_TOKEN_DIR, "readOnly": True},
    ]
    volumes: list[dict[str, Any]] = [
        {"name": "tools", "emptyDir": {"sizeLimit": "256Mi"}},
        {"name": "script", "configMap": {"name": job}},
        {
            "name": "token",
            "projected": {
                "sources": [
                    {
                        "serviceAccountToken": {
                            "path": "token",
                            "audience": workload_audience(settings),
                            "expirationSeconds": SA_TOKEN_EXPIRATION_SECONDS,
                        }
                    }
                ]
            },
        },
    ]
    if settings.vault.tls.ca_cert_pem is not None:
        env.append({"name": "VAULT_CACERT", "value": f"{VAULT_CA_DIR}/{layout.vault_ca_secret_key}"})
        mounts.append({"name": "vault-ca", "mountPath": VAULT_CA_DIR, "readOnly": True})
        volumes.append({"name": "vault-ca", "secret": {"secretName": layout.vault_ca_secret_name}})
    labels = {"app.kubernetes.io/name": "gossip-rotate", "secure-mesh/rotation-version": str(version)}
    return {
        "metadata": {
            "name": job,
            "namespace": layout.consul_namespace,
            "labels": labels,
            # A Job that failed in an earlier `up` is replaced by the next one instead of awaited again
            # (pulumi-kubernetes batch/v1 Job docs, "pulumi.com/replaceUnready").
            "annotations": {"pulumi.com/replaceUnready": "true"},
        },
        "spec": {
            "backoffLimit": 1,
            "activeDeadlineSeconds": job_deadline_seconds(settings),
            "template": {
                "metadata": {"labels": labels, "annotations": {"consul.hashicorp.com/connect-inject": "false"}},
                "spec": {
                    "serviceAccountName": names.gossip_rotator_account,
                    "automountServiceAccountToken": False,
                    "restartPolicy": "Never",
                    "initContainers": [
                        {
                            "name": "vault-cli",
                            # The vault binary (images.vaultAgent): copied next to the Consul CLI.
                            "image": image_reference(settings, Image.VAULT_AGENT),
                            "command": ["cp", "/bin/vault", f"{TOOLS_DIR}/vault"],
                            "securityContext": restricted,
                            "volumeMounts": [{"name": "tools", "mountPath": TOOLS_DIR}],
                        }
                    ],
                    "containers": [
                        {
                            "name": "rotate",
                            "image": image_reference(settings, Image.CONSUL),
                            "command": ["/bin/sh", f"{SCRIPT_DIR}/{SCRIPT_FILE}"],
                            "env": env,
                            "securityContext": restricted,
                            "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}},
                            "volumeMounts": mounts,
                        }
                    ],
                    "volumes": volumes,
                },
            },
        },
    }
