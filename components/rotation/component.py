"""Day-2 components: Vault's Consul secrets engine and the gossip key rotation (issue 17).

:class:`ConsulSecretsEngine` gives Vault its **own** Consul token — never the bootstrap token, and never
``bootstrap=true`` (Vault bootstrapping ACLs would collide with the chart's server-acl-init, which owns
bootstrap: "ACLs already bootstrapped but unable to find the bootstrap token", consul-k8s
``server-acl-init/servers.go``). How the first one comes to be: the first ``pulumi up`` with the engine
enabled runs the Consul provider with the bootstrap token (``CONSUL_HTTP_TOKEN`` read from the KV bootstrap
secret); it creates the ACL policy ``acl = "write"`` and a token with it, reads the token's SecretID
(``consul.get_acl_token_secret_id``) and hands it to the engine as a write-only field (``token_wo``), so it is
never stored in the engine's state. From then on ``vault read <mount>/creds/pulumi`` gives the provider a
short-lived token and nothing routine needs the bootstrap token.

:class:`GossipKeyRotation` turns ``rotation.gossipKeyVersion`` into a rotation: a new random key written to
KV ``consul/gossip-next`` with its version, and the Job ``gossip-rotate-v<N>`` that runs
``scripts/gossip-rotate.sh``. The version is checked against the version the last successful ``up`` reached,
read from this stack's own ``rotationVersions`` output (a ``StackReference`` to itself): lowering or skipping
raises :class:`~.documents.RotationVersionError`, and every rotation resource takes its inputs through that
check, so none is created when it fails.

Both take plain Args (names, rules, TTLs, the Job's inputs) from the composition (:mod:`..composition.vault`,
which names everything with :mod:`.plan`) and the values other components compute as ``pulumi.Input``: the
server CA, the Kubernetes auth mount's path, the KV mount, the engine's role, the Consul release. The Consul
provider reaches the engine through ``opts`` (``providers=[consul_provider]``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pulumi
import pulumi_kubernetes as kubernetes
import pulumi_random as random
import pulumi_vault as vault

from ..args import coerce_args
from ..identities.documents import AuthRoleSpec
from ..secrets.documents import GOSSIP_KEY_BYTES, UUID_BYTES, uuid_from_random_hex
from .documents import (
    BOOTSTRAP_TOKEN_VERSION_KEY,
    ENGINE_TOKEN_RULES,
    GOSSIP_VERSION_KEY,
    REPLICATION_ROLL_SCRIPT_FILE,
    REPLICATION_TOKEN_VERSION_KEY,
    SCRIPT_FILE,
    SCRIPT_LIB_FILE,
    TOKEN_SCRIPT_FILE,
    VERSION_OUTPUT,
    RotationJobArgs,
    bootstrap_token_job,
    bootstrap_token_job_name,
    check_recorded_step,
    gossip_job,
    gossip_job_name,
    replication_roll_job,
    replication_token_job,
    replication_token_job_name,
    rotation_job_policy_document,
    server_restart_rules,
)

ENGINE_TYPE_TOKEN = "secure-mesh:index:ConsulSecretsEngine"
ENGINE_OLD_TYPE_TOKEN = "secure-mesh:rotation:ConsulSecretsEngine"
ROTATION_TYPE_TOKEN = "secure-mesh:index:GossipKeyRotation"
ROTATION_OLD_TYPE_TOKEN = "secure-mesh:rotation:GossipKeyRotation"
"""The tokens before issue 15: aliases keep deployed stacks' URNs."""
BOOTSTRAP_TOKEN_TYPE_TOKEN = "secure-mesh:index:BootstrapTokenRotation"
GOSSIP_SCRIPT = Path(__file__).parent / "scripts" / SCRIPT_FILE
"""The gossip Job's script, shipped in a ConfigMap named like the Job."""
SCRIPTS = Path(__file__).parent / "scripts"
TOKEN_SCRIPT = SCRIPTS / TOKEN_SCRIPT_FILE
"""The token rotation Jobs' script (bootstrap token, and the primary's replication token), shipped the same way
with :data:`SCRIPT_LIB`."""
REPLICATION_ROLL_SCRIPT = SCRIPTS / REPLICATION_ROLL_SCRIPT_FILE
"""A federation secondary's replication token Job's script."""
SCRIPT_LIB = SCRIPTS / SCRIPT_LIB_FILE
"""What the token scripts share (sourced from the same ConfigMap)."""
REPLICATION_TOKEN_TYPE_TOKEN = "secure-mesh:index:ReplicationTokenRotation"
ENGINE_DESCRIPTION = "Consul ACL tokens for operators, the Consul provider and rotation Jobs (short-lived)"


@dataclass(frozen=True)
class EngineRoleArgs:
    """One role of the secrets engine: a Consul ACL policy and the short-lived tokens Vault issues with it."""

    name: str
    """The role's name: callers read a token at ``<mount>/creds/<name>``."""
    consul_policy: str
    """The name of the Consul ACL policy created for the role."""
    rules: str
    """That policy's Consul ACL rules (HCL)."""
    ttl: int
    """Token TTL in seconds."""
    max_ttl: int
    """Token maximum TTL in seconds."""


@dataclass(frozen=True)
class ConsulSecretsEngineArgs:
    """Inputs of :class:`ConsulSecretsEngine`: the mount, how Vault reaches Consul, its own policy and the roles."""

    mount: str
    """The engine's mount path (``consul/acl``)."""
    consul_address: str
    """Consul's HTTPS API as Vault reaches it (``host:port``)."""
    server_ca_pem: pulumi.Input[str]
    """The server chain's CA chain: Vault verifies Consul's HTTPS certificate with it."""
    engine_policy: str
    """The name of the Consul ACL policy of the engine's own token (``acl = "write"``, never the bootstrap token)."""
    roles: Sequence[EngineRoleArgs]
    """The engine's roles, one per kind of caller."""
    default_lease_ttl_seconds: int
    """The mount's default lease TTL (the mount's maximum is the longest role's ``max_ttl``)."""
    protect: bool = False
    """Protect the engine's mount (production)."""


class ConsulSecretsEngine(pulumi.ComponentResource):
    """Vault's Consul secrets engine with its own ``acl = "write"`` token and one role per kind of caller."""

    mount: pulumi.Output[str]
    """The engine's mount path, from the mount."""
    creds_paths: pulumi.Output[Mapping[str, str]]
    """Role name → where a caller reads a token of it (``<mount>/creds/<role>``), from the roles."""

    def __init__(self, name: str, args: ConsulSecretsEngineArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args = coerce_args(ConsulSecretsEngineArgs, args)
        aliases = pulumi.ResourceOptions(aliases=[pulumi.Alias(type_=ENGINE_OLD_TYPE_TOKEN)])
        super().__init__(ENGINE_TYPE_TOKEN, name, None, pulumi.ResourceOptions.merge(opts, aliases))
        if not args.roles:
            raise ValueError("ConsulSecretsEngineArgs.roles: at least one role")
        # pulumi_consul is imported where used (its package imports ~60 modules); the provider comes from opts.
        import pulumi_consul as consul

        child = pulumi.ResourceOptions(parent=self)
        self.engine_policy = consul.AclPolicy(
            f"{name}-engine-acl-policy",
            name=args.engine_policy,
            rules=ENGINE_TOKEN_RULES,
            description="secure-mesh: Vault's Consul secrets engine (engine)",
            opts=child,
        )
        self.policies: dict[str, consul.AclPolicy] = {
            role.name: consul.AclPolicy(
                f"{name}-{role.name}-acl-policy",
                name=role.consul_policy,
                rules=role.rules,
                description=f"secure-mesh: Vault's Consul secrets engine ({role.name})",
                opts=child,
            )
            for role in args.roles
        }
        self.engine_token = consul.AclToken(
            f"{name}-engine-token",
            description="secure-mesh: Vault's Consul secrets engine (acl = write; not the bootstrap token)",
            policies=[self.engine_policy.name],
            local=False,
            opts=child,
        )
        secret_id = consul.get_acl_token_secret_id_output(
            accessor_id=self.engine_token.id,  # the provider's id of an ACL token is its AccessorID
            opts=pulumi.InvokeOutputOptions(parent=self),
        ).secret_id
        self.backend = vault.consul.SecretBackend(
            f"{name}-backend",
            path=args.mount,
            description=ENGINE_DESCRIPTION,
            address=args.consul_address,
            scheme="https",
            ca_cert=args.server_ca_pem,
            token_wo=pulumi.Output.secret(secret_id),
            token_wo_version=1,
            bootstrap=False,
            default_lease_ttl_seconds=args.default_lease_ttl_seconds,
            max_lease_ttl_seconds=max(role.max_ttl for role in args.roles),
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        self.roles: dict[str, vault.consul.SecretBackendRole] = {
            role.name: vault.consul.SecretBackendRole(
                f"{name}-{role.name}-role",
                backend=self.backend.path,
                name=role.name,
                consul_policies=[self.policies[role.name].name],
                ttl=role.ttl,
                max_ttl=role.max_ttl,
                opts=child,
            )
            for role in args.roles
        }
        # The provider types these optional; both are always given here.
        self.mount = cast(pulumi.Output[str], self.backend.path)
        self.creds_paths = pulumi.Output.all(
            **{
                key: pulumi.Output.concat(cast(pulumi.Output[str], role.backend), "/creds/", role.name)
                for key, role in self.roles.items()
            }
        ).apply(dict)
        self.register_outputs({"mount": self.mount, "credsPaths": self.creds_paths})


def deployed_versions() -> pulumi.Output[Any]:
    """This stack's own ``rotationVersions`` output as the last successful ``up`` left it (``None`` if never)."""
    own = f"{pulumi.get_organization()}/{pulumi.get_project()}/{pulumi.get_stack()}"
    return pulumi.StackReference(f"{pulumi.get_stack()}-deployed-versions", stack_name=own).get_output(VERSION_OUTPUT)


@dataclass(frozen=True)
class GossipKeyRotationArgs:
    """Inputs of :class:`GossipKeyRotation`: the requested version, the Job's identity and inputs, and what it
    waits for.
    """

    version: int
    """The requested ``gossipKeyVersion`` (1: nothing to rotate; each step up runs one Job)."""
    job: RotationJobArgs
    """What the Job's manifest names (its namespace, service account, Vault and Consul addresses, KV names …)."""
    policy_name: str
    """The Job's Vault policy."""
    token_ttl: int
    """TTL (and max TTL) in seconds of the Job's Vault token: the gossip-rotator role's max TTL."""
    auth_mount_path: pulumi.Input[str]
    """The Kubernetes auth mount's path (VaultIdentities' output): the Job's role is written on it."""
    kv_mount: pulumi.Input[str]
    """The KV-v2 mount's path (ConsulSecrets' output): the next key is written to it."""
    server_ca_pem: pulumi.Input[str]
    """The server chain's CA: the Job verifies Consul's HTTPS certificate with it."""
    engine_role: pulumi.Input[str]
    """The engine's gossip-rotator role (ConsulSecretsEngine's): the Job reads its Consul token from it, so the
    Job waits for it."""
    consul_release: pulumi.Input[str]
    """An output of the Consul release (its name): the service account, the script and the Job wait for it
    (Consul's namespace and running servers)."""
    deployed: pulumi.Input[Mapping[str, int]] | None = None
    """The stack's previous ``rotationVersions`` output (see :func:`deployed_versions`); None: never deployed."""
    protect: bool = False
    """Protect the version's key (production)."""


@dataclass(frozen=True)
class BootstrapTokenRotationArgs:
    """Inputs of :class:`BootstrapTokenRotation`: the gossip rotation's, with the acl-rotator role and a Job that
    also names the servers' StatefulSet it restarts (``job.server_statefulset``).
    """

    version: int
    """The requested ``bootstrapTokenVersion`` (1: nothing to rotate; each step up runs one Job)."""
    job: RotationJobArgs
    """What the Job's manifest names; ``server_statefulset`` is required here."""
    policy_name: str
    """The Job's Vault policy."""
    token_ttl: int
    """TTL (and max TTL) in seconds of the Job's Vault token: the acl-rotator role's max TTL."""
    auth_mount_path: pulumi.Input[str]
    """Where the Job's Kubernetes-auth role is written (VaultIdentities' ``auth_mount_path``)."""
    kv_mount: pulumi.Input[str]
    """The KV-v2 mount's path (ConsulSecrets' output): the next token is written to it."""
    server_ca_pem: pulumi.Input[str]
    """The CA the Job trusts for Consul's HTTPS API (the server chain's)."""
    engine_role: pulumi.Input[str]
    """The engine's acl-rotator role: the Job reads its Consul token (``acl = "write"``) from it."""
    consul_release: pulumi.Input[str]
    """An output of the Consul release: the Job's objects wait for it (Consul's namespace, the StatefulSet)."""
    deployed: pulumi.Input[Mapping[str, int]] | None = None
    """The stack's previous ``rotationVersions`` output; None: never deployed."""
    protect: bool = False
    """Protect the version's SecretID source (production)."""


@dataclass(frozen=True)
class ReplicationTokenRotationArgs:
    """Inputs of :class:`ReplicationTokenRotation`, in a WAN-federation primary (``job.acknowledgements``: one KV
    name per secondary) or secondary (``job.acknowledgement``, ``job.server_statefulset``, no ``engine_role``).
    """

    version: int
    """The requested ``replicationTokenVersion`` (1: nothing to rotate; each step up runs one Job per datacenter)."""
    job: RotationJobArgs
    """What the Job's manifest names: in the primary the acknowledgements it waits for; in a secondary the
    acknowledgement it writes and the StatefulSet it restarts."""
    policy_name: str
    """The Job's Vault policy."""
    token_ttl: int
    """TTL (and max TTL) in seconds of the Job's Vault token."""
    auth_mount_path: pulumi.Input[str]
    """The Kubernetes auth mount the Job's role is written on (this datacenter's)."""
    kv_mount: pulumi.Input[str]
    """The primary's KV-v2 mount (ConsulSecrets' output in the primary): the next token is written to it."""
    server_ca_pem: pulumi.Input[str]
    """The server CA the Job trusts for Consul's HTTPS API."""
    consul_release: pulumi.Input[str]
    """An output of this datacenter's Consul release: the Job's objects wait for it."""
    engine_role: pulumi.Input[str] | None = None
    """The engine's acl-rotator role (primary only: the secondary's Job needs no Consul privilege)."""
    deployed: pulumi.Input[Mapping[str, int]] | None = None
    """What this stack's last successful ``up`` exported as ``rotationVersions`` (None before the first)."""
    protect: bool = False
    """Protect the version's SecretID source (production)."""


@dataclass(frozen=True)
class _JobKind:
    """What differs between the rotation components: the version key, the Job, the script and the next value."""

    version_key: str
    job_name: Callable[[int], str]
    manifest: Callable[[RotationJobArgs, int], dict[str, Any]]
    scripts: tuple[Path, ...]
    """The script the Job runs first, then what it sources."""
    new_value: Callable[[str, int, pulumi.Output[int], pulumi.ResourceOptions], pulumi.Output[str]] | None
    """The version's new value (a secret), from random bytes whose length waits for the version check, so no
    resource of a refused version is registered; None for a Job that reads a value another stack rotated."""


def _gossip_key(
    name: str, version: int, checked: pulumi.Output[int], opts: pulumi.ResourceOptions
) -> pulumi.Output[str]:
    """The version's new gossip key (base64 of 32 random bytes)."""
    length = checked.apply(lambda _: GOSSIP_KEY_BYTES)
    return pulumi.Output.secret(random.RandomBytes(f"{name}-key-v{version}", length=length, opts=opts).base64)


def _token_secret_id(
    name: str, version: int, checked: pulumi.Output[int], opts: pulumi.ResourceOptions
) -> pulumi.Output[str]:
    """The version's new management token SecretID (a UUID from random bytes)."""
    length = checked.apply(lambda _: UUID_BYTES)
    source = random.RandomBytes(f"{name}-secret-id-v{version}", length=length, opts=opts)
    return pulumi.Output.secret(source.hex.apply(uuid_from_random_hex))


GOSSIP = _JobKind(GOSSIP_VERSION_KEY, gossip_job_name, gossip_job, (GOSSIP_SCRIPT, SCRIPT_LIB), _gossip_key)
BOOTSTRAP_TOKEN = _JobKind(
    BOOTSTRAP_TOKEN_VERSION_KEY,
    bootstrap_token_job_name,
    bootstrap_token_job,
    (TOKEN_SCRIPT, SCRIPT_LIB),
    _token_secret_id,
)
REPLICATION_TOKEN = _JobKind(
    REPLICATION_TOKEN_VERSION_KEY,
    replication_token_job_name,
    replication_token_job,
    (TOKEN_SCRIPT, SCRIPT_LIB),
    _token_secret_id,
)
REPLICATION_ROLL = _JobKind(
    REPLICATION_TOKEN_VERSION_KEY,
    replication_token_job_name,
    replication_roll_job,
    (REPLICATION_ROLL_SCRIPT, SCRIPT_LIB),
    None,
)


_RotationArgs = GossipKeyRotationArgs | BootstrapTokenRotationArgs | ReplicationTokenRotationArgs


class _VersionedRotation(pulumi.ComponentResource):
    """A rotation as a declared version: from version 2 the Job's identity (Vault policy, Kubernetes-auth role,
    service account), the version's new value in KV ``<next>`` and its Job. Version 1 registers nothing but the
    version check.
    """

    version: pulumi.Output[int]
    """The checked version; resolves only once the Job (if any) completed."""

    def _start(
        self,
        kind: _JobKind,
        name: str,
        args: _RotationArgs,
    ) -> None:
        requested = args.version
        key = kind.version_key
        checked: pulumi.Output[int] = pulumi.Output.from_input(args.deployed).apply(
            lambda record: check_recorded_step(key, record, requested)
        )
        self.job: kubernetes.batch.v1.Job | None = None
        self.version = checked
        if requested > 1:
            self._rotate(kind, name, args, requested, checked)
        self.register_outputs({"version": self.version})

    def _rotate(
        self,
        kind: _JobKind,
        name: str,
        args: _RotationArgs,
        version: int,
        checked: pulumi.Output[int],
    ) -> None:
        """The Job's identity, then the new value, its KV secret, the script's ConfigMap and the Job of this
        version (those four behind the check).
        """
        job_args = args.job
        manifest = kind.manifest(job_args, version)  # refuses missing Job inputs before anything is registered
        document = rotation_job_policy_document(args.policy_name, job_args)
        self.policy = vault.Policy(
            f"{name}-policy", name=document.name, policy=document.render(), opts=pulumi.ResourceOptions(parent=self)
        )
        spec = AuthRoleSpec(
            role_name=job_args.service_account,
            bound_service_account_names=(job_args.service_account,),
            bound_service_account_namespaces=(job_args.namespace,),
            audience=job_args.audience,
            token_policies=(document.name,),
            token_ttl=args.token_ttl,
            token_max_ttl=args.token_ttl,
        )
        role_inputs = spec.resource_args(args.auth_mount_path)
        role_inputs["token_policies"] = [self.policy.name]  # the policy's resource: the role waits for it
        self.auth_role = vault.kubernetes.AuthBackendRole(
            f"{name}-auth-role", **role_inputs, opts=pulumi.ResourceOptions(parent=self)
        )
        account_metadata: Any = {"name": job_args.service_account, "namespace": job_args.namespace}
        self.service_account = kubernetes.core.v1.ServiceAccount(
            f"{name}-service-account",
            # Consul's namespace comes with the release: the metadata waits for it.
            metadata=pulumi.Output.from_input(args.consul_release).apply(lambda _: account_metadata),
            automount_service_account_token=False,
            opts=pulumi.ResourceOptions(parent=self),
        )
        runs_before: list[pulumi.Resource] = [self.service_account, self.auth_role]
        if job_args.server_statefulset is not None:
            runs_before += self._restart_permission(name, args, job_args, job_args.server_statefulset, checked)
        if kind.new_value is not None and job_args.kv_next is not None:
            value = kind.new_value(name, version, checked, pulumi.ResourceOptions(parent=self, protect=args.protect))
            field = job_args.kv_field

            def next_data(text: str) -> str:
                return json.dumps({field: text, "version": str(version)}, sort_keys=True)

            self.next_secret = vault.kv.SecretV2(
                f"{name}-next",
                mount=args.kv_mount,
                name=job_args.kv_next,
                # Write-only: the provider sends it to Vault and keeps it out of the secret's state; the version
                # makes each rotation's value an update (pulumi-vault kv.SecretV2 data_json_wo_version).
                data_json_wo=value.apply(next_data),
                data_json_wo_version=version,
                delete_all_versions=False,
                opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
            )
            runs_before.append(self.next_secret)
        script_metadata: Any = {"name": kind.job_name(version), "namespace": job_args.namespace}
        self.script = kubernetes.core.v1.ConfigMap(
            f"{name}-script-v{version}",
            metadata=pulumi.Output.all(checked, args.consul_release).apply(lambda _: script_metadata),
            data={
                **{script.name: script.read_text() for script in kind.scripts},
                "consul-ca.pem": args.server_ca_pem,
            },
            immutable=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.job = kubernetes.batch.v1.Job(
            f"{name}-job-v{version}",
            # Behind the version check, the Consul release (running servers) and the engine's role (its token).
            metadata=pulumi.Output.all(checked, args.consul_release, args.engine_role).apply(
                lambda _: manifest["metadata"]
            ),
            spec=manifest["spec"],
            opts=pulumi.ResourceOptions(
                parent=self,
                # The pod reads these at run time by name; Kubernetes checks none of them when the Job is created.
                depends_on=[self.script, *runs_before],
                custom_timeouts=pulumi.CustomTimeouts(create=f"{job_args.active_deadline_seconds + 120}s"),
                delete_before_replace=True,
            ),
        )
        self.version = pulumi.Output.all(self.job.metadata, checked).apply(lambda values: int(values[1]))

    def _restart_permission(
        self,
        name: str,
        args: _RotationArgs,
        job_args: RotationJobArgs,
        statefulset: str,
        checked: pulumi.Output[int],
    ) -> list[pulumi.Resource]:
        """A Role allowed only get/patch on the servers' StatefulSet, bound to the Job's service account (both
        behind the version check and the release).
        """
        metadata: Any = {"name": job_args.service_account, "namespace": job_args.namespace}
        gate = pulumi.Output.all(checked, args.consul_release)
        self.restart_role = kubernetes.rbac.v1.Role(
            f"{name}-restart-role",
            metadata=gate.apply(lambda _: metadata),
            rules=cast(Any, server_restart_rules(statefulset)),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.restart_binding = kubernetes.rbac.v1.RoleBinding(
            f"{name}-restart-binding",
            metadata=gate.apply(lambda _: metadata),
            role_ref=kubernetes.rbac.v1.RoleRefArgs(
                api_group="rbac.authorization.k8s.io", kind="Role", name=job_args.service_account
            ),
            subjects=[
                kubernetes.rbac.v1.SubjectArgs(
                    kind="ServiceAccount", name=job_args.service_account, namespace=job_args.namespace
                )
            ],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.restart_role, self.service_account]),
        )
        return [self.restart_role, self.restart_binding]


class GossipKeyRotation(_VersionedRotation):
    """From version 2: the Job's identity (Vault policy, Kubernetes-auth role, service account), the version's key
    and its Job. Version 1 registers nothing but the version check.
    """

    version: pulumi.Output[int]
    """The checked version; resolves only once the Job (if any) completed."""

    def __init__(self, name: str, args: GossipKeyRotationArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args = coerce_args(GossipKeyRotationArgs, args)
        aliases = pulumi.ResourceOptions(aliases=[pulumi.Alias(type_=ROTATION_OLD_TYPE_TOKEN)])
        super().__init__(ROTATION_TYPE_TOKEN, name, None, pulumi.ResourceOptions.merge(opts, aliases))
        self._start(GOSSIP, name, args)


class BootstrapTokenRotation(_VersionedRotation):
    """From version 2: the Job's identity, a Role to restart the servers, the version's SecretID and the Job
    ``bootstrap-token-rotate-v<N>`` (create the token, write KV, restart the servers, delete the old token).
    Version 1 registers nothing but the version check.
    """

    version: pulumi.Output[int]
    """The checked version; resolves only once the Job (if any) completed."""

    def __init__(
        self, name: str, args: BootstrapTokenRotationArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        args = coerce_args(BootstrapTokenRotationArgs, args)
        super().__init__(BOOTSTRAP_TOKEN_TYPE_TOKEN, name, None, opts)
        self._start(BOOTSTRAP_TOKEN, name, args)


class ReplicationTokenRotation(_VersionedRotation):
    """WAN federation: from version 2, in the primary the Job ``replication-token-rotate-v<N>`` creates the new
    replication token, writes KV, waits for every secondary's acknowledgement and deletes the old token; in a
    secondary the Job of the same name waits for that KV, restarts this datacenter's servers and acknowledges.
    Version 1 registers nothing but the version check.
    """

    version: pulumi.Output[int]
    """The checked version; resolves only once the Job (if any) completed."""

    def __init__(
        self, name: str, args: ReplicationTokenRotationArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        args = coerce_args(ReplicationTokenRotationArgs, args)
        super().__init__(REPLICATION_TOKEN_TYPE_TOKEN, name, None, opts)
        self._start(REPLICATION_ROLL if args.job.acknowledgement is not None else REPLICATION_TOKEN, name, args)
