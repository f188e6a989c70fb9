"""Consul's secrets in Vault KV-v2: the mount, its config, and one ``SecretV2`` per secret the stack needs.

Which secrets exist and where is the ``secrets`` of :class:`ConsulSecretsArgs` (the composition takes them from
``Layout.kv_secrets``); what they hold from :mod:`.documents`. Every
value is a Pulumi secret from end to end (``Output.secret`` around the ``data_json`` input; the
provider also marks the outputs secret). Generated values come from ``pulumi_random.RandomBytes``,
whose state keeps them stable across ``pulumi up``; no secret is ever derived from a resource id.

Who writes what:

- gossip key: the program (base64 of 32 random bytes);
- ACL bootstrap token: ``auto`` stores it empty and the chart's server-acl-init writes the real token
  back (see :func:`ConsulSecrets._bootstrap_token` for how later runs leave it alone); ``generated``
  stores a random UUID the servers adopt;
- partition token (Enterprise): a random UUID the primary's server-acl-init creates the partition
  token with (``-partition-token-file``), so partitions can read it from Vault;
- replication token: a WAN-federation primary generates it (``generate_replication_token``); a secondary
  stores neither it nor the gossip key (``federation_secondary``): its pods read the primary's KV paths, since a
  value generated here would be unknown to the primary and replication would fail. A caller outside this program
  may still store a given token (``replication_token``);
- license (Enterprise): the secret config ``consulLicense``;
- snapshot agent config: JSON built from ``snapshot_agent`` (``consul.snapshotAgent``).

The KV-v2 config takes the mount's path from the mount, and every secret takes it from the config, so the
dependencies are the data (a write needs the kv-v2 mount, and the config's ``cas_required`` decides whether
it is accepted). Production stacks protect the mount, the secrets and the random sources of generated values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_random as random
import pulumi_vault as vault

from ..args import coerce_args
from ..vocabulary import AclBootstrap, KvSecret
from .documents import (
    EMPTY_TOKEN,
    GOSSIP_KEY_BYTES,
    KV_CAS_REQUIRED,
    KV_DELETE_VERSION_AFTER,
    KV_MAX_VERSIONS,
    UUID_BYTES,
    kv_data,
    snapshot_agent_config,
    uuid_from_random_hex,
)

TYPE_TOKEN = "secure-mesh:index:ConsulSecrets"
OLD_TYPE_TOKEN = "secure-mesh:secrets:ConsulSecrets"
"""The token before issue 15: an alias keeps deployed stacks' URNs."""
MOUNT_DESCRIPTION = "Consul's secrets (gossip key, ACL tokens, license, snapshot agent config); KV version 2"
BOOTSTRAP_TOKEN_IGNORED_CHANGES = ["data_json"]
"""Inputs of the auto-bootstrap token secret that later runs never push (the real token lives only in Vault)."""
GOSSIP_KEY_ROTATED_IGNORED_CHANGES = ["data_json"]
"""Once ``rotation.gossipKeyVersion`` > 1 the rotation Job writes the gossip secret; the program's first key is
never pushed again (a refresh followed by ``up`` would otherwise write back a key the Job removed)."""
REQUIRED_SECRETS = (KvSecret.GOSSIP, KvSecret.BOOTSTRAP_TOKEN)
"""Every Consul datacenter reads these two; the others depend on the features the stack enables."""


@dataclass(frozen=True)
class KvSecretArgs:
    """Where one of Consul's secrets lives in the KV-v2 mount."""

    secret: KvSecret
    """Which secret (decides how its value comes to be: generated, given, or empty for server-acl-init)."""
    name: str
    """Its name under the mount (``consul/gossip``): Vault's API path is ``<mount>/data/<name>``."""
    field: str
    """The JSON field that holds the value, as the chart reads it (``key``, ``token``, ``license``, ``config``)."""


@dataclass(frozen=True)
class SnapshotAgentArgs:
    """Consul Enterprise's snapshot agent schedule, stored as its JSON config."""

    interval: str
    """How often a snapshot is taken (``1h``)."""
    retain: int
    """How many snapshots are kept."""


@dataclass(frozen=True)
class ConsulSecretsArgs:
    """Inputs of :class:`ConsulSecrets`: the KV mount, the secrets it holds, and the values only config can give."""

    kv_mount: str
    """The KV-v2 mount's path (``consul/kv``)."""
    secrets: Sequence[KvSecretArgs]
    """Every secret to hold, each once; ``gossip`` and ``bootstrap-token`` are required."""
    acl_bootstrap: AclBootstrap = AclBootstrap.AUTO
    """``auto``: the bootstrap token is stored empty and server-acl-init writes it; ``generated``: a random UUID."""
    gossip_key_rotated: bool = False
    """True once a gossip rotation ran (version > 1): the rotation Job owns the stored key from then on."""
    replication_token_rotated: bool = False
    """True once a replication token rotation ran (version > 1, federation primary): the rotation Job owns the
    stored SecretID from then on."""
    bootstrap_token_rotated: bool = False
    """True once a bootstrap token rotation ran (version > 1): the rotation Job owns the stored token from then on
    (a generated first token is never written or read back again)."""
    generate_replication_token: bool = False
    """A WAN-federation primary: generate the replication token's SecretID (else it must be ``replication_token``)."""
    snapshot_agent: SnapshotAgentArgs | None = None
    """The snapshot agent's schedule; required when ``secrets`` holds ``snapshot-agent``."""
    license: pulumi.Input[str] | None = None
    """The Consul Enterprise license (a Pulumi secret); required when ``secrets`` holds ``license``."""
    replication_token: pulumi.Input[str] | None = None
    """An ACL replication token to store (a Pulumi secret) when ``secrets`` holds ``replication-token`` and it is not
    generated; the program itself never passes one (its primary generates the token, its secondaries store none)."""
    protect: bool = False
    """Protect the mount, the secrets and the random sources of generated values (production)."""
    federation_secondary: bool = False
    """A WAN-federation secondary: it holds neither ``gossip`` nor ``bootstrap-token`` (its servers read the
    primary's gossip key, and it bootstraps no ACLs), so neither is required, and both are refused."""


def check_secrets_args(args: ConsulSecretsArgs) -> None:
    """Refuse Args that cannot make a working set of secrets, before anything is registered."""
    kinds = [entry.secret for entry in args.secrets]
    repeated = sorted({kind.value for kind in kinds if kinds.count(kind) > 1})
    if repeated:
        raise ValueError(f"ConsulSecretsArgs.secrets: {', '.join(repeated)} given more than once")
    if args.federation_secondary:
        held = [kind.value for kind in REQUIRED_SECRETS if kind in kinds]
        if held:
            raise ValueError(
                f"ConsulSecretsArgs.secrets: {', '.join(held)} is not held by a federation secondary (it reads the "
                "primary's gossip key and bootstraps no ACLs)"
            )
    missing = [] if args.federation_secondary else [kind.value for kind in REQUIRED_SECRETS if kind not in kinds]
    if missing:
        raise ValueError(f"ConsulSecretsArgs.secrets: {', '.join(missing)} is required (every datacenter reads it)")
    needs = {
        KvSecret.SNAPSHOT_AGENT: ("snapshot_agent", args.snapshot_agent),
        KvSecret.LICENSE: ("license", args.license),
    }
    if not args.generate_replication_token:
        needs[KvSecret.REPLICATION_TOKEN] = ("replication_token", args.replication_token)
    for kind, (field, value) in needs.items():
        if kind in kinds and value is None:
            raise ValueError(f"ConsulSecretsArgs.{field} is required when secrets holds {kind.value}")
    if args.generate_replication_token and args.replication_token is not None:
        raise ValueError("ConsulSecretsArgs: give replication_token or generate_replication_token, not both")


class ConsulSecrets(pulumi.ComponentResource):
    """The KV-v2 mount that holds Consul's secrets, and the secrets the chart reads from it."""

    kv_mount: pulumi.Output[str]
    """The KV-v2 mount's path, from its config (resolves once the mount is configured)."""
    kv_paths: pulumi.Output[Mapping[str, str]]
    """Secret (``gossip``, ``bootstrap-token`` …) → its API path ``<mount>/data/<name>`` (what Helm values and
    Vault policies name), from the stored secrets (resolves once every secret is written)."""

    def __init__(self, name: str, args: ConsulSecretsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args = coerce_args(ConsulSecretsArgs, args)
        aliases = pulumi.ResourceOptions(aliases=[pulumi.Alias(type_=OLD_TYPE_TOKEN)])
        super().__init__(TYPE_TOKEN, name, None, pulumi.ResourceOptions.merge(opts, aliases))
        check_secrets_args(args)
        self._name = name
        # Not ``self._protect``: that is the SDK's own field, which every child without ``protect`` inherits.
        self._protect_values = args.protect

        self.mount = vault.Mount(
            f"{name}-kv",
            path=args.kv_mount,
            type="kv",
            options={"version": "2"},
            description=MOUNT_DESCRIPTION,
            opts=pulumi.ResourceOptions(parent=self, protect=self._protect_values),
        )
        self.backend = vault.kv.SecretBackendV2(
            f"{name}-kv-config",
            mount=self.mount.path,
            max_versions=KV_MAX_VERSIONS,
            delete_version_after=KV_DELETE_VERSION_AFTER,
            cas_required=KV_CAS_REQUIRED,
            opts=pulumi.ResourceOptions(parent=self, protect=self._protect_values),
        )

        self.entries: dict[KvSecret, KvSecretArgs] = {entry.secret: entry for entry in args.secrets}
        """Every secret this stack holds, by kind."""
        self.helm_paths: dict[KvSecret, str] = {
            kind: f"{args.kv_mount}/data/{entry.name}" for kind, entry in self.entries.items()
        }
        """The KV paths as Helm values name them (``<mount>/data/<name>``), as plain strings."""
        self.bootstrap_token: pulumi.Output[str] | None = None
        """The generated ACL bootstrap token (secret); None with automatic bootstrap (only Vault knows it)."""
        self.partition_token: pulumi.Output[str] | None = None
        """The generated partition token (secret), Enterprise only."""
        self.replication_token: pulumi.Output[str] | None = None
        """A WAN-federation primary's generated replication token SecretID (secret); None elsewhere."""
        self.secrets: dict[KvSecret, vault.kv.SecretV2] = {}

        self.gossip_key: pulumi.Output[str] | None = None
        """The gossip encryption key (secret); None in a federation secondary (it reads the primary's)."""
        if not args.federation_secondary:
            self.gossip_key = pulumi.Output.secret(self._random_bytes("gossip-key", GOSSIP_KEY_BYTES).base64)
            # After a rotation the Job owns the stored key (docs/operations.md): never write or read it back.
            rotated = args.gossip_key_rotated
            self._store(
                KvSecret.GOSSIP,
                self.gossip_key,
                disable_read=True if rotated else None,
                ignore_changes=GOSSIP_KEY_ROTATED_IGNORED_CHANGES if rotated else None,
            )
            self._bootstrap_token(args.acl_bootstrap, args.bootstrap_token_rotated)
        if KvSecret.PARTITION_TOKEN in self.entries:
            self.partition_token = self._random_uuid("partition-token")
            self._store(KvSecret.PARTITION_TOKEN, self.partition_token)
        if KvSecret.REPLICATION_TOKEN in self.entries and args.generate_replication_token:
            # The primary's server-acl-init creates the replication token with this SecretID
            # (consul-k8s control-plane/subcommand/server-acl-init/command.go, createACLWithSecretID).
            self.replication_token = self._random_uuid("replication-token")
            # disable_read: refresh never reads a live ACL token back into state (KV-NO-PLAINTEXT-READBACK).
            # After a rotation the Job owns it (docs/operations.md): never write it back either.
            rotated_ignore = BOOTSTRAP_TOKEN_IGNORED_CHANGES if args.replication_token_rotated else None
            self._store(
                KvSecret.REPLICATION_TOKEN, self.replication_token, disable_read=True, ignore_changes=rotated_ignore
            )
        elif KvSecret.REPLICATION_TOKEN in self.entries and args.replication_token is not None:
            self._store(KvSecret.REPLICATION_TOKEN, pulumi.Output.from_input(args.replication_token))
        if KvSecret.LICENSE in self.entries and args.license is not None:
            self._store(KvSecret.LICENSE, pulumi.Output.from_input(args.license))
        if KvSecret.SNAPSHOT_AGENT in self.entries and args.snapshot_agent is not None:
            agent = args.snapshot_agent
            self._store(
                KvSecret.SNAPSHOT_AGENT, pulumi.Output.from_input(snapshot_agent_config(agent.interval, agent.retain))
            )

        self.ready: list[pulumi.Resource] = [self.mount, self.backend, *self.secrets.values()]
        """Everything the Consul release reads (kept until consumers take :attr:`kv_paths` instead)."""
        self.kv_mount = self.backend.mount
        self.kv_paths = pulumi.Output.all(
            **{kind.value: _data_path(secret) for kind, secret in self.secrets.items()}
        ).apply(dict)
        self.register_outputs({"kvMount": self.kv_mount, "kvPaths": self.kv_paths})

    # ------------------------------------------------------------------------------------ helpers
    def _random_bytes(self, purpose: str, length: int) -> random.RandomBytes:
        """A source of random bytes whose state keeps the value stable across runs (protected in production)."""
        return random.RandomBytes(
            f"{self._name}-{purpose}",
            length=length,
            opts=pulumi.ResourceOptions(parent=self, protect=self._protect_values),
        )

    def _random_uuid(self, purpose: str) -> pulumi.Output[str]:
        """A random lowercase UUID (an ACL token SecretID) as a secret, from random bytes, never from an id."""
        source = self._random_bytes(f"{purpose}-bytes", UUID_BYTES)
        return pulumi.Output.secret(source.hex.apply(uuid_from_random_hex))

    def _store(
        self,
        secret: KvSecret,
        value: pulumi.Output[str],
        *,
        disable_read: bool | None = None,
        ignore_changes: list[str] | None = None,
    ) -> vault.kv.SecretV2:
        """Write one secret to KV-v2 as ``{"<field>": value}``; history is kept when Pulumi deletes it."""
        entry = self.entries[secret]

        def to_json(text: str) -> str:
            return kv_data(entry.field, text)

        data_json: pulumi.Output[str] = pulumi.Output.secret(value.apply(to_json))
        resource = vault.kv.SecretV2(
            f"{self._name}-{secret.value}",
            mount=self.backend.mount,
            name=entry.name,
            data_json=data_json,
            delete_all_versions=False,
            disable_read=disable_read,
            opts=pulumi.ResourceOptions(parent=self, protect=self._protect_values, ignore_changes=ignore_changes),
        )
        self.secrets[secret] = resource
        return resource

    def _bootstrap_token(self, acl_bootstrap: AclBootstrap, rotated: bool = False) -> None:
        """Store the ACL bootstrap token: generated, or empty for server-acl-init to fill (then never touched).

        With automatic bootstrap the stored value diverges from the program on purpose: server-acl-init
        writes the real token into the same secret. Two settings keep later runs from undoing that:

        - ``disable_read``: refresh does not read the secret back, so the real management token never
          enters Pulumi state (it lives only in Vault) and no drift is reported;
        - ``ignore_changes=["data_json"]``: even if state and program disagree (an older state, a refresh
          by another tool, a program change), no update is ever sent, so the empty value is written once,
          at creation, and never again. To reset it deliberately, replace the resource
          (``pulumi up --replace <urn>``).
        """
        if acl_bootstrap is AclBootstrap.GENERATED:
            self.bootstrap_token = self._random_uuid("bootstrap-token")
            # After a rotation the Job owns the stored token (docs/operations.md): never write or read it back.
            self._store(
                KvSecret.BOOTSTRAP_TOKEN,
                self.bootstrap_token,
                disable_read=True if rotated else None,
                ignore_changes=BOOTSTRAP_TOKEN_IGNORED_CHANGES if rotated else None,
            )
            return
        self._store(
            KvSecret.BOOTSTRAP_TOKEN,
            pulumi.Output.secret(EMPTY_TOKEN),
            disable_read=True,
            ignore_changes=BOOTSTRAP_TOKEN_IGNORED_CHANGES,
        )


def _data_path(secret: vault.kv.SecretV2) -> pulumi.Output[str]:
    """``<mount>/data/<name>`` of a stored secret, from its own inputs (so it waits for the write)."""
    return pulumi.Output.concat(secret.mount, "/data/", secret.name)
