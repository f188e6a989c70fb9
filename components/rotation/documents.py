"""Layer 3 for day-2 operations, as plain data: Consul ACL rules, the rotation Job's manifest, and the version
check that refuses lowering or skipping a rotation version. No settings or layout here (the components import
this module); :mod:`.plan` names everything for a stack from its layout and settings.

Consul ACL rules (Consul docs ``security/acl/acl-rules``; consul ``acl/policy.go``): keyring operations
need ``keyring = "write"`` (``-list`` needs ``read``, which ``write`` includes; consul
``agent/operator_endpoint.go``/``agent/keyring.go`` check ``KeyringRead``/``KeyringWrite``); managing tokens
and policies needs ``acl = "write"``, which is as powerful as a management token (it can mint one).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ..identities.documents import READ, TOKEN_SELF, Capability, PolicyDocument
from ..workloads import restricted_container

GOSSIP_ROTATOR_ACCOUNT_SUFFIX = "gossip-rotator"
GOSSIP_JOB_PREFIX = "gossip-rotate-v"
BOOTSTRAP_TOKEN_ROTATOR_ACCOUNT_SUFFIX = "bootstrap-token-rotator"
BOOTSTRAP_TOKEN_JOB_PREFIX = "bootstrap-token-rotate-v"
REPLICATION_TOKEN_ROTATOR_ACCOUNT_SUFFIX = "replication-token-rotator"
REPLICATION_TOKEN_JOB_PREFIX = "replication-token-rotate-v"
ROTATION_JOB_PREFIXES = (GOSSIP_JOB_PREFIX, BOOTSTRAP_TOKEN_JOB_PREFIX, REPLICATION_TOKEN_JOB_PREFIX)
"""Every rotation Job's name prefix (the Job of version N is ``<prefix><N>``)."""
VERSION_OUTPUT = "rotationVersions"
"""The stack output that records the versions the last successful ``up`` reached (read back by the next run)."""
GOSSIP_VERSION_KEY = "gossipKeyVersion"
BOOTSTRAP_TOKEN_VERSION_KEY = "bootstrapTokenVersion"
REPLICATION_TOKEN_VERSION_KEY = "replicationTokenVersion"
ROLL_ANNOTATION = "secure-mesh/bootstrap-token-version"
"""The pod-template annotation the token rotation Job sets on the servers' StatefulSet to roll them (as
``kubectl rollout restart`` sets ``kubectl.kubernetes.io/restartedAt``): its value is the version, so a re-run
of the same version does not roll them again."""
REPLICATION_ROLL_ANNOTATION = "secure-mesh/replication-token-version"
"""The same, set by a federation secondary's replication token Job on its own servers."""
BOOTSTRAP_TOKEN_POLICY = "global-management"
"""Consul's built-in management policy: the bootstrap token's (consul ``structs.ACLPolicyGlobalManagementID``)."""
REPLICATION_TOKEN_POLICY = "acl-replication-token"
"""The policy the primary's server-acl-init creates for the replication token (consul-k8s
``server-acl-init/create_or_update.go`` createACL: ``<name>-token`` with name ``acl-replication``, no datacenter
suffix in the primary)."""


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


def check_recorded_step(key: str, record: object, requested: int) -> int:
    """:func:`check_version_step` for the version recorded under ``key`` in ``record`` (the stack's previous
    ``rotationVersions``: a mapping, or None before the first ``up`` that exported it); errors name
    ``rotation.<key>``.
    """
    deployed = record.get(key) if isinstance(record, Mapping) else record
    return check_version_step(f"rotation.{key}", deployed, requested)


def gossip_job_name(version: int) -> str:
    """The rotation Job of one version: immutable and traceable (``gossip-rotate-v2``)."""
    return f"{GOSSIP_JOB_PREFIX}{version}"


def bootstrap_token_job_name(version: int) -> str:
    """The bootstrap token rotation Job of one version (``bootstrap-token-rotate-v2``)."""
    return f"{BOOTSTRAP_TOKEN_JOB_PREFIX}{version}"


def replication_token_job_name(version: int) -> str:
    """The replication token rotation Job of one version, in the primary and in each secondary."""
    return f"{REPLICATION_TOKEN_JOB_PREFIX}{version}"


SCRIPT_FILE = "gossip-rotate.sh"
TOKEN_SCRIPT_FILE = "token-rotate.sh"
"""The primary side of both token rotations (create, KV, wait, delete)."""
REPLICATION_ROLL_SCRIPT_FILE = "replication-token-roll.sh"
"""A federation secondary's side of the replication token rotation (wait for KV, check, restart, acknowledge)."""
SCRIPT_LIB_FILE = "rotation-lib.sh"
"""What the token scripts share; shipped next to them in the Job's ConfigMap."""
ACK_SECONDS = 900
"""How long the primary's replication token Job waits for every secondary's acknowledgement."""
TOOLS_DIR = "/tools"
SCRIPT_DIR = "/rotation"
SA_TOKEN_DIR = "/var/run/secrets/rotation"
SA_TOKEN_EXPIRATION_SECONDS = 600
VAULT_CA_DIR = "/vault/tls"
WAIT_SECONDS = 300
"""How long step 2 waits for every member to hold the new key before the Job fails (the old key stays primary)."""
POLL_SECONDS = 5
CALL_SECONDS = 30
ROLLOUT_SECONDS = 900
"""How long the token rotation waits for the servers' rolling restart before the Job fails (the old token is
still valid then: it is deleted only after the roll)."""
KUBE_TOKEN_DIR = "/var/run/secrets/kubernetes-api"
KUBE_API = "https://kubernetes.default.svc"
KUBE_ROOT_CA = "kube-root-ca.crt"
"""The ConfigMap every namespace holds with the API server's CA (kube-controller-manager's root CA publisher)."""


def job_deadline_seconds(token_max_ttl: int, wait_seconds: int = WAIT_SECONDS) -> int:
    """The Job's ``activeDeadlineSeconds``: within its Consul token's max TTL, so the token outlives the Job."""
    return min(token_max_ttl, wait_seconds + 10 * CALL_SECONDS)


@dataclass(frozen=True)
class VaultCaSecretArgs:
    """A Kubernetes Secret holding the CA of Vault's listener, in the Job's namespace."""

    name: str
    """The Secret's name."""
    key: str
    """The key of the PEM inside it."""


@dataclass(frozen=True)
class RotationJobArgs:
    """What a rotation Job's manifest names, as plain strings (a Job spec is not checked against Vault or Consul)."""

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
    creds_path: str | None
    """Where the Job reads its short-lived Consul token (``<engine mount>/creds/<role>``); None for a Job that
    needs no Consul privilege (a secondary's replication token Job)."""
    kv_mount: str
    """The KV-v2 mount holding the rotated secret."""
    kv_current: str
    """The current secret's name under the mount (what the chart reads)."""
    kv_next: str | None
    """The next value's name under the mount (written by Pulumi with its version); None where the Job reads the
    already rotated current value (a secondary's replication token Job)."""
    kv_field: str
    """The field holding the value in both secrets."""
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
    server_statefulset: str | None = None
    """The Consul servers' StatefulSet, which the token rotation Job restarts (None for the gossip Job, which
    talks to Consul only, and the primary's replication token Job, which waits for the secondaries instead)."""
    acknowledgements: Sequence[str] = ()
    """KV names (under ``kv_mount``) the primary's replication token Job waits for, one per secondary, before it
    deletes the old token."""
    acknowledgement: str | None = None
    """The KV name (under ``kv_mount``) a secondary's replication token Job writes once its servers restarted."""


GossipJobArgs = RotationJobArgs
"""The name before the token rotation (kept for callers of the gossip rotation alone)."""


def gossip_job(args: RotationJobArgs, version: int) -> dict[str, Any]:
    """The Job ``gossip-rotate-v<N>`` (metadata and spec): one attempt set, bounded, non-root, no default token."""
    return _rotation_job(args, version, gossip_job_name(version), "gossip-rotate", SCRIPT_FILE)


def _roll_env_and_volume(
    args: RotationJobArgs, annotation: str
) -> tuple[list[dict[str, str]], tuple[dict[str, Any], dict[str, Any]]]:
    """What restarting the servers needs: the StatefulSet, the annotation, and the Kubernetes API with a token of
    the API server's audience (its own projected volume; the Vault login token keeps Vault's audience) and the
    cluster's CA from ``kube-root-ca.crt``.
    """
    if args.server_statefulset is None:
        raise ValueError("this rotation Job needs server_statefulset (the StatefulSet it restarts)")
    env = [
        {"name": "NAMESPACE", "value": args.namespace},
        {"name": "STATEFULSET", "value": args.server_statefulset},
        {"name": "ROLL_ANNOTATION", "value": annotation},
        {"name": "ROLLOUT_SECONDS", "value": str(ROLLOUT_SECONDS)},
        {"name": "KUBE_API", "value": KUBE_API},
        {"name": "KUBE_TOKEN_FILE", "value": f"{KUBE_TOKEN_DIR}/token"},
        {"name": "KUBE_CA_FILE", "value": f"{KUBE_TOKEN_DIR}/ca.crt"},
    ]
    volume = {
        "name": "kubernetes-api",
        "projected": {
            "sources": [
                # No audience: the API server's own (Kubernetes docs, "Service account token volume projection").
                {"serviceAccountToken": {"path": "token", "expirationSeconds": SA_TOKEN_EXPIRATION_SECONDS}},
                {"configMap": {"name": KUBE_ROOT_CA, "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
            ]
        },
    }
    mount = {"name": "kubernetes-api", "mountPath": KUBE_TOKEN_DIR, "readOnly": True}
    return env, (volume, mount)


def bootstrap_token_job(args: RotationJobArgs, version: int) -> dict[str, Any]:
    """The Job ``bootstrap-token-rotate-v<N>``: the gossip Job's shape, plus what restarting the servers needs."""
    job = bootstrap_token_job_name(version)
    roll_env, volume = _roll_env_and_volume(args, ROLL_ANNOTATION)
    env = [{"name": "JOB_NAME", "value": job}, {"name": "TOKEN_POLICY", "value": BOOTSTRAP_TOKEN_POLICY}, *roll_env]
    return _rotation_job(
        args, version, job, "bootstrap-token-rotate", TOKEN_SCRIPT_FILE, extra_env=env, extra_volume=volume
    )


def replication_token_job(args: RotationJobArgs, version: int) -> dict[str, Any]:
    """The primary's Job ``replication-token-rotate-v<N>``: create, KV, wait for every secondary's
    acknowledgement (``args.acknowledgements``), delete. It restarts nothing (the primary's servers do not use
    the replication token).
    """
    if not args.acknowledgements:
        raise ValueError("the primary's replication token Job needs acknowledgements (one KV name per secondary)")
    job = replication_token_job_name(version)
    env = [
        {"name": "JOB_NAME", "value": job},
        {"name": "TOKEN_POLICY", "value": REPLICATION_TOKEN_POLICY},
        {"name": "ACK_NAMES", "value": " ".join(args.acknowledgements)},
        {"name": "ACK_SECONDS", "value": str(ACK_SECONDS)},
    ]
    return _rotation_job(args, version, job, "replication-token-rotate", TOKEN_SCRIPT_FILE, extra_env=env)


def replication_roll_job(args: RotationJobArgs, version: int) -> dict[str, Any]:
    """A secondary's Job ``replication-token-rotate-v<N>``: wait for the primary's KV, check the token here,
    restart this datacenter's servers, acknowledge (``args.acknowledgement``).
    """
    if args.acknowledgement is None:
        raise ValueError("a secondary's replication token Job needs acknowledgement (the KV name it writes)")
    job = replication_token_job_name(version)
    roll_env, volume = _roll_env_and_volume(args, REPLICATION_ROLL_ANNOTATION)
    env = [
        {"name": "JOB_NAME", "value": job},
        {"name": "ACK_NAME", "value": args.acknowledgement},
        {"name": "WAIT_SECONDS", "value": str(ACK_SECONDS)},
        *roll_env,
    ]
    return _rotation_job(
        args, version, job, "replication-token-rotate", REPLICATION_ROLL_SCRIPT_FILE, extra_env=env, extra_volume=volume
    )


def _rotation_job(
    args: RotationJobArgs,
    version: int,
    job: str,
    app: str,
    script_file: str,
    *,
    extra_env: list[dict[str, str]] | None = None,
    extra_volume: tuple[dict[str, Any], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A rotation Job's metadata and spec: one attempt set, bounded, non-root, no default token."""
    restricted = restricted_container(65534)
    env = [
        {"name": "TARGET_VERSION", "value": str(version)},
        {"name": "VAULT_ADDR", "value": args.vault_address},
        {"name": "VAULT_AUTH_PATH", "value": f"auth/{args.vault_auth_path}"},
        {"name": "VAULT_ROLE", "value": args.service_account},
        {"name": "SA_TOKEN_FILE", "value": f"{SA_TOKEN_DIR}/token"},
        *([{"name": "CREDS_PATH", "value": args.creds_path}] if args.creds_path is not None else []),
        {"name": "KV_MOUNT", "value": args.kv_mount},
        {"name": "KV_CURRENT", "value": args.kv_current},
        *([{"name": "KV_NEXT", "value": args.kv_next}] if args.kv_next is not None else []),
        {"name": "KV_FIELD", "value": args.kv_field},
        {"name": "CONSUL_HTTP_ADDR", "value": f"https://{args.consul_https_address}"},
        {"name": "CONSUL_CACERT", "value": f"{SCRIPT_DIR}/consul-ca.pem"},
        {"name": "WAIT_SECONDS", "value": str(WAIT_SECONDS)},
        {"name": "POLL_SECONDS", "value": str(POLL_SECONDS)},
        {"name": "CALL_SECONDS", "value": str(CALL_SECONDS)},
        {"name": "PATH", "value": f"{TOOLS_DIR}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
    ]
    env.extend(extra_env or [])
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
    if extra_volume is not None:
        volumes.append(extra_volume[0])
        mounts.append(extra_volume[1])
    if args.vault_ca is not None:
        env.append({"name": "VAULT_CACERT", "value": f"{VAULT_CA_DIR}/{args.vault_ca.key}"})
        mounts.append({"name": "vault-ca", "mountPath": VAULT_CA_DIR, "readOnly": True})
        volumes.append({"name": "vault-ca", "secret": {"secretName": args.vault_ca.name}})
    labels = {"app.kubernetes.io/name": app, "secure-mesh/rotation-version": str(version)}
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
                            "command": ["/bin/sh", f"{SCRIPT_DIR}/{script_file}"],
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


READ_WRITE = frozenset({Capability.READ, Capability.CREATE, Capability.UPDATE})
WRITE = frozenset({Capability.CREATE, Capability.UPDATE})


def rotation_job_policy_document(name: str, job: RotationJobArgs) -> PolicyDocument:
    """A rotation Job's Vault policy: its Consul token, the next value, the current secret (read, or written),
    the secondaries' acknowledgements (read) or its own (written), and its own token.

    No ``revoke-self`` (the policy pack allows only renew/lookup-self): the Vault token lives at most
    ``jobMaxTtl`` and its expiry revokes the Consul token's lease with it.
    """
    return PolicyDocument.build(
        name,
        [
            *([(job.creds_path, READ)] if job.creds_path is not None else []),
            *([(f"{job.kv_mount}/data/{job.kv_next}", READ)] if job.kv_next is not None else []),
            # A secondary only reads the rotated value; every other rotation Job writes it.
            (f"{job.kv_mount}/data/{job.kv_current}", READ if job.acknowledgement is not None else READ_WRITE),
            *((f"{job.kv_mount}/data/{name}", READ) for name in job.acknowledgements),
            *([(f"{job.kv_mount}/data/{job.acknowledgement}", WRITE)] if job.acknowledgement is not None else []),
            *TOKEN_SELF,
        ],
    )




def server_restart_rules(statefulset: str) -> list[dict[str, Any]]:
    """The token rotation Job's Kubernetes Role: read and patch the servers' StatefulSet, nothing else.

    ``get`` to watch the roll (kubectl's StatefulSet rollout status reads the object), ``patch`` to set the
    pod-template annotation (what ``kubectl rollout restart`` does); ``resourceNames`` pins both to one object.
    """
    return [
        {
            "apiGroups": ["apps"],
            "resources": ["statefulsets"],
            "resourceNames": [statefulset],
            "verbs": ["get", "patch"],
        }
    ]
