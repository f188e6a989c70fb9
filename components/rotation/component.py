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
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_kubernetes as kubernetes
import pulumi_random as random
import pulumi_vault as vault

from ..identities.roles import AuthRoleSpec, workload_audience
from ..layout import Layout
from ..secrets.documents import GOSSIP_KEY_BYTES
from ..settings import Settings
from .documents import (
    ENGINE_TOKEN_RULES,
    GOSSIP_VERSION_KEY,
    ROLE_RULES,
    SCRIPT_FILE,
    VERSION_OUTPUT,
    EngineRole,
    RotationNames,
    check_version_step,
    gossip_job,
    gossip_job_name,
    gossip_rotator_policy,
    job_deadline_seconds,
    role_ttls,
)

if TYPE_CHECKING:
    import pulumi_consul as consul

GOSSIP_SCRIPT = Path(__file__).parent / "scripts" / SCRIPT_FILE
"""The Job's script, shipped in a ConfigMap named like the Job."""


@dataclass(frozen=True)
class ConsulSecretsEngineArgs:
    """Inputs of :class:`ConsulSecretsEngine`."""

    settings: Settings
    layout: Layout
    consul_provider: consul.Provider
    server_ca_pem: pulumi.Input[str]
    """The server chain's CA chain: Vault verifies Consul's HTTPS certificate with it."""


class ConsulSecretsEngine(pulumi.ComponentResource):
    """Vault's Consul secrets engine with its own ``acl = "write"`` token and one role per kind of caller."""

    roles: dict[EngineRole, vault.consul.SecretBackendRole]

    def __init__(self, name: str, args: ConsulSecretsEngineArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("secure-mesh:rotation:ConsulSecretsEngine", name, None, opts)
        import pulumi_consul as consul

        settings, names = args.settings, RotationNames(args.layout)
        on_consul = pulumi.ResourceOptions(parent=self, provider=args.consul_provider)
        self.policies: dict[EngineRole | None, consul.AclPolicy] = {}
        for role, rules in [(None, ENGINE_TOKEN_RULES), *ROLE_RULES.items()]:
            label = "engine" if role is None else role.value
            self.policies[role] = consul.AclPolicy(
                f"{name}-{label}-acl-policy",
                name=names.consul_policy(role),
                rules=rules,
                description=f"secure-mesh: Vault's Consul secrets engine ({label})",
                opts=on_consul,
            )
        self.engine_token = consul.AclToken(
            f"{name}-engine-token",
            description="secure-mesh: Vault's Consul secrets engine (acl = write; not the bootstrap token)",
            policies=[self.policies[None].name],
            local=False,
            opts=on_consul,
        )
        secret_id = consul.get_acl_token_secret_id_output(
            accessor_id=self.engine_token.id,  # the provider's id of an ACL token is its AccessorID
            opts=pulumi.InvokeOutputOptions(parent=self, provider=args.consul_provider),
        ).secret_id
        max_lease = max(role_ttls(settings, role)[1] for role in EngineRole)
        self.backend = vault.consul.SecretBackend(
            f"{name}-backend",
            path=names.engine_mount,
            description="Consul ACL tokens for operators, the Consul provider and rotation Jobs (short-lived)",
            address=names.engine_consul_address(settings),
            scheme="https",
            ca_cert=args.server_ca_pem,
            token_wo=pulumi.Output.secret(secret_id),
            token_wo_version=1,
            bootstrap=False,
            default_lease_ttl_seconds=role_ttls(settings, EngineRole.GOSSIP_ROTATOR)[0],
            max_lease_ttl_seconds=max_lease,
            opts=pulumi.ResourceOptions(parent=self, protect=settings.is_production),
        )
        self.roles = {}
        for role in EngineRole:
            ttl, max_ttl = role_ttls(settings, role)
            self.roles[role] = vault.consul.SecretBackendRole(
                f"{name}-{role.value}-role",
                backend=self.backend.path,
                name=role.value,
                consul_policies=[self.policies[role].name],
                ttl=ttl,
                max_ttl=max_ttl,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.backend, self.policies[role]]),
            )
        self.register_outputs({"mount": names.engine_mount})


def deployed_versions() -> pulumi.Output[Any]:
    """This stack's own ``rotationVersions`` output as the last successful ``up`` left it (``None`` if never)."""
    own = f"{pulumi.get_organization()}/{pulumi.get_project()}/{pulumi.get_stack()}"
    return pulumi.StackReference(f"{pulumi.get_stack()}-deployed-versions", stack_name=own).get_output(VERSION_OUTPUT)


@dataclass(frozen=True)
class GossipKeyRotationArgs:
    """Inputs of :class:`GossipKeyRotation`."""

    settings: Settings
    layout: Layout
    engine: ConsulSecretsEngine
    server_ca_pem: pulumi.Input[str]
    deployed: pulumi.Input[Any]
    """The stack's previous ``rotationVersions`` output (see :func:`deployed_versions`)."""
    consul_ready: list[pulumi.Resource]
    """The Consul release (and what it waits for): the Job talks to running servers."""


class GossipKeyRotation(pulumi.ComponentResource):
    """From version 2: the Job's identity (Vault policy, Kubernetes-auth role, service account), the version's key
    and its Job. Version 1 registers nothing but the version check.
    """

    version: pulumi.Output[int]
    """The checked version; resolves only once the Job (if any) completed."""

    def __init__(self, name: str, args: GossipKeyRotationArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("secure-mesh:rotation:GossipKeyRotation", name, None, opts)
        settings, names = args.settings, RotationNames(args.layout)
        requested = settings.rotation.gossip_key_version
        checked: pulumi.Output[int] = pulumi.Output.from_input(args.deployed).apply(
            lambda deployed: check_version_step(
                f"rotation.{GOSSIP_VERSION_KEY}",
                (deployed or {}).get(GOSSIP_VERSION_KEY) if isinstance(deployed, dict) else deployed,
                requested,
            )
        )
        self.job: kubernetes.batch.v1.Job | None = None
        self.version = checked
        if requested > 1:
            self._rotate(name, args, names, requested, checked)
        self.register_outputs({"version": self.version})

    def _rotate(
        self, name: str, args: GossipKeyRotationArgs, names: RotationNames, version: int, checked: pulumi.Output[int]
    ) -> None:
        """The Job's identity, then the new key, its KV secret, the script's ConfigMap and the Job of this version
        (those four behind the check).
        """
        settings = args.settings
        document = gossip_rotator_policy(names)
        self.policy = vault.Policy(
            f"{name}-policy", name=document.name, policy=document.render(), opts=pulumi.ResourceOptions(parent=self)
        )
        _, max_ttl = role_ttls(args.settings, EngineRole.GOSSIP_ROTATOR)
        spec = AuthRoleSpec(
            role_name=names.gossip_rotator_account,
            bound_service_account_names=(names.gossip_rotator_account,),
            bound_service_account_namespaces=(args.layout.consul_namespace,),
            audience=workload_audience(args.settings),
            token_policies=(document.name,),
            token_ttl=max_ttl,
            token_max_ttl=max_ttl,
        )
        self.auth_role = vault.kubernetes.AuthBackendRole(
            f"{name}-auth-role",
            **spec.resource_args(args.layout.kubernetes_auth_path),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.policy]),
        )
        self.service_account = kubernetes.core.v1.ServiceAccount(
            f"{name}-service-account",
            metadata={"name": names.gossip_rotator_account, "namespace": args.layout.consul_namespace},
            automount_service_account_token=False,
            opts=pulumi.ResourceOptions(parent=self, depends_on=args.consul_ready),
        )
        key = random.RandomBytes(
            f"{name}-key-v{version}",
            length=checked.apply(lambda _: GOSSIP_KEY_BYTES),
            opts=pulumi.ResourceOptions(parent=self, protect=settings.is_production),
        )
        next_path = names.gossip_next

        def next_data(key_b64: str) -> str:
            return json.dumps({next_path.field: key_b64, "version": str(version)}, sort_keys=True)

        secret_key: pulumi.Output[str] = pulumi.Output.secret(key.base64)
        next_json: pulumi.Output[str] = secret_key.apply(next_data)
        self.next_secret = vault.kv.SecretV2(
            f"{name}-next",
            mount=next_path.mount,
            name=next_path.name,
            data_json=next_json,
            delete_all_versions=False,
            opts=pulumi.ResourceOptions(parent=self, protect=settings.is_production),
        )
        manifest = gossip_job(names, version)
        job_name = gossip_job_name(version)
        self.script = kubernetes.core.v1.ConfigMap(
            f"{name}-script-v{version}",
            metadata=checked.apply(lambda _: {"name": job_name, "namespace": args.layout.consul_namespace}),
            data={SCRIPT_FILE: GOSSIP_SCRIPT.read_text(), "consul-ca.pem": args.server_ca_pem},
            immutable=True,
            opts=pulumi.ResourceOptions(parent=self, depends_on=args.consul_ready),
        )
        role = args.engine.roles[EngineRole.GOSSIP_ROTATOR]
        self.job = kubernetes.batch.v1.Job(
            f"{name}-job-v{version}",
            metadata=checked.apply(lambda _: manifest["metadata"]),
            spec=manifest["spec"],
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[
                    *args.consul_ready,
                    self.next_secret,
                    self.script,
                    self.service_account,
                    self.auth_role,
                    role,
                ],
                custom_timeouts=pulumi.CustomTimeouts(create=f"{job_deadline_seconds(settings) + 120}s"),
                delete_before_replace=True,
            ),
        )
        self.version = pulumi.Output.all(self.job.metadata, checked).apply(lambda values: int(values[1]))
