"""Which identity reads which Vault path in the values: the join key for the lead's policy check."""

from __future__ import annotations

from secure_mesh.consul.helm_values import build_consul_values, flatten, vault_paths_by_reader
from secure_mesh.layout import Identity, KvSecret
from tests.consul.helpers import LICENSE, settings_and_layout
from tests.onboarding.stacks import PLACEHOLDER_DIGEST

VAULT = "global.secretsBackend.vault"


def test_dev_readers_are_exactly_the_contract_table() -> None:
    settings, layout = settings_and_layout("dev")
    triples = vault_paths_by_reader(build_consul_values(settings, layout))
    gossip = layout.kv(KvSecret.GOSSIP).data_path
    bootstrap = layout.kv(KvSecret.BOOTSTRAP_TOKEN).data_path
    assert sorted(triples) == sorted(
        [
            ("global.gossipEncryption.secretName", gossip, Identity.SERVER),
            ("server.serverCert.secretName", layout.server_pki_issue_path, Identity.SERVER),
            ("global.tls.caCert.secretName", layout.server_ca_path, Identity.SERVER),
            ("global.tls.caCert.secretName", layout.server_ca_path, Identity.SERVER_ACL_INIT),
            ("global.tls.caCert.secretName", layout.server_ca_path, Identity.CONNECT_INJECTOR),
            ("global.tls.caCert.secretName", layout.server_ca_path, Identity.CA_READER),
            ("global.acls.bootstrapToken.secretName", bootstrap, Identity.SERVER),
            ("global.acls.bootstrapToken.secretName", bootstrap, Identity.SERVER_ACL_INIT),
            (f"{VAULT}.connectInject.tlsCert.secretName", layout.webhook_pki_issue_path, Identity.CONNECT_INJECTOR),
            (f"{VAULT}.connectInject.caCert.secretName", layout.webhook_ca_path, Identity.CONNECT_INJECTOR),
            (f"{VAULT}.connectCA.rootPKIPath", layout.connect_root_pki_path, Identity.SERVER),
            (f"{VAULT}.connectCA.intermediatePKIPath", layout.connect_intermediate_pki_path, Identity.SERVER),
        ]
    )


def test_the_snapshot_agent_config_is_read_by_the_server() -> None:
    enterprise = {
        # Production names images by digest.
        "images": {"consul": "hashicorp/consul-enterprise:1.22-ent" + PLACEHOLDER_DIGEST},
        "consul": {
            "enterprise": True,
            "snapshotAgent": {"enabled": True},
        }
    }
    settings, layout = settings_and_layout("prod", enterprise, LICENSE)
    triples = vault_paths_by_reader(build_consul_values(settings, layout))
    snapshot_key = "server.snapshotAgent.configSecret.secretName"
    assert [(k, p, i) for k, p, i in triples if k == snapshot_key] == [
        (snapshot_key, layout.kv(KvSecret.SNAPSHOT_AGENT).data_path, Identity.SERVER)
    ]


def test_clients_and_enterprise_bring_their_readers() -> None:
    settings, layout = settings_and_layout(
        "dev",
        {"consul": {"enterprise": True, "clientsEnabled": True},
            "images": {"consul": "hashicorp/consul-enterprise:1.22-ent"}},
        LICENSE,
    )
    triples = set(vault_paths_by_reader(build_consul_values(settings, layout)))
    gossip = layout.kv(KvSecret.GOSSIP).data_path
    license_path = layout.kv(KvSecret.LICENSE).data_path
    partition = layout.kv(KvSecret.PARTITION_TOKEN).data_path
    assert ("global.gossipEncryption.secretName", gossip, Identity.CLIENT) in triples
    assert ("global.tls.caCert.secretName", layout.server_ca_path, Identity.CLIENT) in triples
    assert ("global.tls.caCert.secretName", layout.server_ca_path, Identity.PARTITION_INIT) in triples
    assert ("global.enterpriseLicense.secretName", license_path, Identity.SERVER) in triples
    assert ("global.enterpriseLicense.secretName", license_path, Identity.CLIENT) in triples
    assert ("global.acls.partitionToken.secretName", partition, Identity.SERVER_ACL_INIT) in triples
    assert ("global.acls.partitionToken.secretName", partition, Identity.PARTITION_INIT) in triples


def test_every_vault_path_in_the_values_has_a_reader() -> None:
    """No Vault path can slip into the values without the lead's policy join seeing it."""
    for stack in ("dev", "prod"):
        settings, layout = settings_and_layout(stack)
        values = build_consul_values(settings, layout)
        prefix = f"{layout.mount_prefix}/"
        vault_paths = {k for k, v in flatten(values).items() if isinstance(v, str) and v.startswith(prefix)}
        read = {key for key, _, _ in vault_paths_by_reader(values)}
        assert vault_paths - read == set(), f"{stack}: Vault paths without a reader: {vault_paths - read}"
        assert all(identity in layout.identities for _, _, identity in vault_paths_by_reader(values))
