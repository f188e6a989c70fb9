"""Consul's secrets in Vault KV-v2: the mount, its config, and one ``SecretV2`` per secret the stack needs.

Which secrets exist comes from ``Layout.kv_secrets``; what they hold from :mod:`.documents`. Every
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
- replication token (secondary datacenter only): the primary datacenter owns ACL replication, so its
  SecretID comes from the secret config ``consulReplicationToken`` (the primary's replication token,
  which the primary's server-acl-init created); a value generated here would be unknown to the
  primary and replication would fail;
- license (Enterprise): the secret config ``consulLicense``;
- snapshot agent config: JSON built from ``consul.snapshotAgent``.

Production stacks protect the mount, the secrets and the random sources of generated values.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_random as random
import pulumi_vault as vault

from ..layout import KvPath, KvSecret, Layout
from ..settings import AclBootstrap, Settings
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

BOOTSTRAP_TOKEN_IGNORED_CHANGES = ["data_json"]
"""Inputs of the auto-bootstrap token secret that later runs never push (the real token lives only in Vault)."""
GOSSIP_KEY_ROTATED_IGNORED_CHANGES = ["data_json"]
"""Once ``rotation.gossipKeyVersion`` > 1 the rotation Job writes the gossip secret; the program's first key is
never pushed again (a refresh followed by ``up`` would otherwise write back a key the Job removed)."""


@dataclass(frozen=True)
class ConsulSecretsArgs:
    """Inputs of :class:`ConsulSecrets`: settings, names, and the secret config values the stack needs."""

    settings: Settings
    layout: Layout
    license: pulumi.Output[str] | None = None
    """The Consul Enterprise license (a Pulumi secret); required when ``consul.enterprise``."""
    replication_token: pulumi.Output[str] | None = None
    """The primary's ACL replication token (a Pulumi secret); required in a secondary datacenter."""


class ConsulSecrets(pulumi.ComponentResource):
    """The KV-v2 mount that holds Consul's secrets, and the secrets the chart reads from it."""

    ready: list[pulumi.Resource]
    """Resources that must exist before the Consul release reads from Vault."""
    kv_paths: dict[KvSecret, KvPath]
    """Every secret this stack holds, in all its spellings (``.data_path`` is the Helm/policy form)."""
    helm_paths: dict[KvSecret, str]
    """The KV paths as Helm values name them (``<mount>/data/<name>``), for the Consul values and exports."""
    secrets: dict[KvSecret, vault.kv.SecretV2]
    gossip_key: pulumi.Output[str]
    """The gossip encryption key (secret)."""
    bootstrap_token: pulumi.Output[str] | None
    """The generated ACL bootstrap token (secret); None with automatic bootstrap (only Vault knows it)."""
    partition_token: pulumi.Output[str] | None
    """The generated partition token (secret), Enterprise only."""
    replication_token: pulumi.Output[str] | None
    """A WAN-federation primary's generated replication token SecretID (secret); None elsewhere."""

    def __init__(self, name: str, args: ConsulSecretsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("secure-mesh:secrets:ConsulSecrets", name, None, opts)
        settings, layout = args.settings, args.layout
        self._name = name
        self._protect = settings.is_production

        self.mount = vault.Mount(
            f"{name}-kv",
            path=layout.kv_mount,
            type="kv",
            options={"version": "2"},
            description="Consul's secrets (gossip key, ACL tokens, license, snapshot agent config); KV version 2",
            opts=pulumi.ResourceOptions(parent=self, protect=self._protect),
        )
        self.backend = vault.kv.SecretBackendV2(
            f"{name}-kv-config",
            mount=layout.kv_mount,
            max_versions=KV_MAX_VERSIONS,
            delete_version_after=KV_DELETE_VERSION_AFTER,
            cas_required=KV_CAS_REQUIRED,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.mount]),
        )

        self.kv_paths = {secret: layout.kv(secret) for secret in layout.kv_secrets}
        self.helm_paths = {secret: path.data_path for secret, path in self.kv_paths.items()}
        self.bootstrap_token = None
        self.partition_token = None
        self.replication_token = None
        self.secrets = {}

        self.gossip_key = pulumi.Output.secret(self._random_bytes("gossip-key", GOSSIP_KEY_BYTES).base64)
        # After a rotation the Job owns the stored key (docs/operations.md): never write or read it back.
        rotated = settings.rotation.gossip_key_version > 1
        self._store(
            KvSecret.GOSSIP,
            self.gossip_key,
            disable_read=True if rotated else None,
            ignore_changes=GOSSIP_KEY_ROTATED_IGNORED_CHANGES if rotated else None,
        )
        self._bootstrap_token(settings)
        if KvSecret.PARTITION_TOKEN in self.kv_paths:
            self.partition_token = self._random_uuid("partition-token")
            self._store(KvSecret.PARTITION_TOKEN, self.partition_token)
        if KvSecret.REPLICATION_TOKEN in self.kv_paths and layout.is_federation_primary:
            # The primary's server-acl-init creates the replication token with this SecretID
            # (consul-k8s control-plane/subcommand/server-acl-init/command.go, createACLWithSecretID).
            self.replication_token = self._random_uuid("replication-token")
            # disable_read: refresh never reads a live ACL token back into state (KV-NO-PLAINTEXT-READBACK).
            self._store(KvSecret.REPLICATION_TOKEN, self.replication_token, disable_read=True)
        elif KvSecret.REPLICATION_TOKEN in self.kv_paths:
            if args.replication_token is None:
                raise ValueError(f"{name}: a secondary datacenter needs the consulReplicationToken secret")
            self._store(KvSecret.REPLICATION_TOKEN, args.replication_token)
        if KvSecret.LICENSE in self.kv_paths:
            if args.license is None:
                raise ValueError(f"{name}: Consul Enterprise needs the consulLicense secret")
            self._store(KvSecret.LICENSE, args.license)
        if KvSecret.SNAPSHOT_AGENT in self.kv_paths:
            self._store(KvSecret.SNAPSHOT_AGENT, pulumi.Output.from_input(snapshot_agent_config(settings)))

        self.ready = [self.mount, self.backend, *self.secrets.values()]
        self.register_outputs(
            {
                "kvMount": layout.kv_mount,
                "kvPaths": {secret.value: path for secret, path in self.helm_paths.items()},
            }
        )

    # ------------------------------------------------------------------------------------ helpers
    def _random_bytes(self, purpose: str, length: int) -> random.RandomBytes:
        """A source of random bytes whose state keeps the value stable across runs (protected in production)."""
        return random.RandomBytes(
            f"{self._name}-{purpose}",
            length=length,
            opts=pulumi.ResourceOptions(parent=self, protect=self._protect),
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
        path = self.kv_paths[secret]

        def to_json(text: str) -> str:
            return kv_data(secret, text)

        data_json: pulumi.Output[str] = pulumi.Output.secret(value.apply(to_json))
        resource = vault.kv.SecretV2(
            f"{self._name}-{secret.value}",
            mount=path.mount,
            name=path.name,
            data_json=data_json,
            delete_all_versions=False,
            disable_read=disable_read,
            opts=pulumi.ResourceOptions(
                parent=self, protect=self._protect, depends_on=[self.backend], ignore_changes=ignore_changes
            ),
        )
        self.secrets[secret] = resource
        return resource

    def _bootstrap_token(self, settings: Settings) -> None:
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
        if settings.consul.acl_bootstrap is AclBootstrap.GENERATED:
            self.bootstrap_token = self._random_uuid("bootstrap-token")
            self._store(KvSecret.BOOTSTRAP_TOKEN, self.bootstrap_token)
            return
        self._store(
            KvSecret.BOOTSTRAP_TOKEN,
            pulumi.Output.secret(EMPTY_TOKEN),
            disable_read=True,
            ignore_changes=BOOTSTRAP_TOKEN_IGNORED_CHANGES,
        )
