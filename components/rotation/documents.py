"""Layer 3 for day-2 operations, as plain data: Consul ACL rules, the rotation Job's manifest, and the version
check that refuses lowering or skipping a rotation version. No settings or layout here (the components import
this module); :mod:`.plan` names everything for a stack from its layout and settings.

Consul ACL rules (Consul docs ``security/acl/acl-rules``; consul ``acl/policy.go``): keyring operations
need ``keyring = "write"`` (``-list`` needs ``read``, which ``write`` includes; consul
``agent/operator_endpoint.go``/``agent/keyring.go`` check ``KeyringRead``/``KeyringWrite``); managing tokens
and policies needs ``acl = "write"``, which is as powerful as a management token (it can mint one).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ..identities.documents import READ, TOKEN_SELF, Capability, PolicyDocument
from ..workloads import restricted_container

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


def gossip_job_name(version: int) -> str:
    """The rotation Job of one version: immutable and traceable (``gossip-rotate-v2``)."""
    return f"{GOSSIP_JOB_PREFIX}{version}"


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


def job_deadline_seconds(token_max_ttl: int) -> int:
    """The Job's ``activeDeadlineSeconds``: within its Consul token's max TTL, so the token outlives the Job."""
    return min(token_max_ttl, WAIT_SECONDS + 10 * CALL_SECONDS)


@dataclass(frozen=True)
class VaultCaSecretArgs:
    """A Kubernetes Secret holding the CA of Vault's listener, in the Job's namespace."""

    name: str
    """The Secret's name."""
    key: str
    """The key of the PEM inside it."""


@dataclass(frozen=True)
class GossipJobArgs:
    """What the rotation Job's manifest names, as plain strings (a Job spec is not checked against Vault or Consul)."""

    namespace: str
    """Consul's namespace: the Job, its ConfigMap and service account live there."""
    service_account: str
    """The Job's service account (also its Kubernetes-auth role)."""
    vault_address: str
    """Vault's address as the Job reaches it."""
    vault_auth_path: str
    """The Kubernetes auth mount's path (the Job logs in at ``auth/<path>``)."""
    audience: str
    """The audience of the projected service-account token the Job logs in with."""
    creds_path: str
    """Where the Job reads its short-lived Consul token (``<engine mount>/creds/<role>``)."""
    kv_mount: str
    """The KV-v2 mount holding the gossip key."""
    kv_current: str
    """The current gossip key's name under the mount."""
    kv_next: str
    """The next gossip key's name under the mount."""
    kv_field: str
    """The field holding a key in both secrets."""
    consul_https_address: str
    """Consul's HTTPS API inside the cluster (``host:port``)."""
    consul_image: str
    """The Consul image (the Job's container runs its CLI)."""
    vault_image: str
    """The image whose ``/bin/vault`` the init container copies next to the Consul CLI."""
    active_deadline_seconds: int
    """The Job's deadline (within its Consul token's max TTL)."""
    vault_namespace: str | None = None
    """Vault Enterprise namespace, if any."""
    vault_ca: VaultCaSecretArgs | None = None
    """The Secret with Vault's CA, when Vault's certificate is not publicly trusted."""


def gossip_job(args: GossipJobArgs, version: int) -> dict[str, Any]:
    """The Job ``gossip-rotate-v<N>`` (metadata and spec): one attempt set, bounded, non-root, no default token."""
    job = gossip_job_name(version)
    restricted = restricted_container(65534)
    env = [
        {"name": "TARGET_VERSION", "value": str(version)},
        {"name": "VAULT_ADDR", "value": args.vault_address},
        {"name": "VAULT_AUTH_PATH", "value": f"auth/{args.vault_auth_path}"},
        {"name": "VAULT_ROLE", "value": args.service_account},
        {"name": "SA_TOKEN_FILE", "value": f"{SA_TOKEN_DIR}/token"},
        {"name": "CREDS_PATH", "value": args.creds_path},
        {"name": "KV_MOUNT", "value": args.kv_mount},
        {"name": "KV_CURRENT", "value": args.kv_current},
        {"name": "KV_NEXT", "value": args.kv_next},
        {"name": "KV_FIELD", "value": args.kv_field},
        {"name": "CONSUL_HTTP_ADDR", "value": f"https://{args.consul_https_address}"},
        {"name": "CONSUL_CACERT", "value": f"{SCRIPT_DIR}/consul-ca.pem"},
        {"name": "WAIT_SECONDS", "value": str(WAIT_SECONDS)},
        {"name": "POLL_SECONDS", "value": str(POLL_SECONDS)},
        {"name": "CALL_SECONDS", "value": str(CALL_SECONDS)},
        {"name": "PATH", "value": f"{TOOLS_DIR}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
    ]
    if args.vault_namespace is not None:
        env.append({"name": "VAULT_NAMESPACE", "value": args.vault_namespace})
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
                            "audience": args.audience,
                            "expirationSeconds": SA_TOKEN_EXPIRATION_SECONDS,
                        }
                    }
                ]
            },
        },
    ]
    if args.vault_ca is not None:
        env.append({"name": "VAULT_CACERT", "value": f"{VAULT_CA_DIR}/{args.vault_ca.key}"})
        mounts.append({"name": "vault-ca", "mountPath": VAULT_CA_DIR, "readOnly": True})
        volumes.append({"name": "vault-ca", "secret": {"secretName": args.vault_ca.name}})
    labels = {"app.kubernetes.io/name": "gossip-rotate", "secure-mesh/rotation-version": str(version)}
    return {
        "metadata": {
            "name": job,
            "namespace": args.namespace,
            "labels": labels,
            # A Job that failed in an earlier `up` is replaced by the next one instead of awaited again
            # (pulumi-kubernetes batch/v1 Job docs, "pulumi.com/replaceUnready").
            "annotations": {"pulumi.com/replaceUnready": "true"},
        },
        "spec": {
            "backoffLimit": 1,
            "activeDeadlineSeconds": args.active_deadline_seconds,
            "template": {
                "metadata": {"labels": labels, "annotations": {"consul.hashicorp.com/connect-inject": "false"}},
                "spec": {
                    "serviceAccountName": args.service_account,
                    "automountServiceAccountToken": False,
                    "restartPolicy": "Never",
                    "initContainers": [
                        {
                            "name": "vault-cli",
                            # The vault binary (images.vaultAgent): copied next to the Consul CLI.
                            "image": args.vault_image,
                            "command": ["cp", "/bin/vault", f"{TOOLS_DIR}/vault"],
                            "securityContext": restricted,
                            "volumeMounts": [{"name": "tools", "mountPath": TOOLS_DIR}],
                        }
                    ],
                    "containers": [
                        {
                            "name": "rotate",
                            "image": args.consul_image,
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


def gossip_rotator_policy_document(name: str, job: GossipJobArgs) -> PolicyDocument:
    """The rotation Job's Vault policy: its Consul token, the next key, the current key, and its own token.

    No ``revoke-self`` (the policy pack allows only renew/lookup-self): the Vault token lives at most
    ``jobMaxTtl`` and its expiry revokes the Consul token's lease with it.
    """
    return PolicyDocument.build(
        name,
        [
            (job.creds_path, READ),
            (f"{job.kv_mount}/data/{job.kv_next}", READ),
            (
                f"{job.kv_mount}/data/{job.kv_current}",
                frozenset({Capability.READ, Capability.CREATE, Capability.UPDATE}),
            ),
            *TOKEN_SELF,
        ],
    )
