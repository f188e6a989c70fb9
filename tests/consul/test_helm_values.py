"""The pure Consul values builder: snapshots key by key, the pinned key list, and each optional feature."""

from __future__ import annotations

import json

import pytest
import yaml

from secure_mesh.consul.chart_keys import CHART_KEYS, is_removed
from secure_mesh.consul.helm_values import (
    ACL_BINDING_RULE_SELECTOR,
    VAULT_ROLE_KEYS,
    build_consul_values,
    flatten,
    get_value,
)
from secure_mesh.layout import Identity, KvSecret
from tests.consul.helpers import LICENSE, settings_and_layout, snapshot

STACKS = ("dev", "prod", "peer-east", "peer-west", "fed-primary", "fed-secondary")
VAULT = "global.secretsBackend.vault"


def _values(stack: str, override: dict | None = None, secrets: set[str] | None = None) -> dict:
    settings, layout = settings_and_layout(stack, override, secrets)
    return build_consul_values(settings, layout)


_BUILT = {stack: _values(stack) for stack in STACKS}
_SNAPSHOT_KEYS = [(stack, key) for stack in STACKS for key in flatten(snapshot(stack, _BUILT[stack]))]


@pytest.mark.parametrize(("stack", "key"), _SNAPSHOT_KEYS, ids=[f"{s}:{k}" for s, k in _SNAPSHOT_KEYS])
def test_each_snapshot_key_matches_the_builder(stack: str, key: str) -> None:
    expected = flatten(snapshot(stack, _BUILT[stack]))[key]
    built = flatten(_BUILT[stack])
    assert key in built, f"{stack}: the builder no longer emits {key}"
    assert built[key] == expected, f"{stack}: {key} is {built[key]!r}, snapshot says {expected!r}"


@pytest.mark.parametrize("stack", STACKS)
def test_builder_emits_nothing_beyond_the_snapshot(stack: str) -> None:
    extra = sorted(set(flatten(_BUILT[stack])) - set(flatten(snapshot(stack, _BUILT[stack]))))
    assert extra == [], f"{stack}: keys not in tests/consul/snapshots/{stack}-values.yaml: {extra}"


VARIANTS = {
    "dev": ("dev", None, None),
    "prod": ("prod", None, None),
    "enterprise-clients-namespace": (
        "dev",
        {
            "consul": {"enterprise": True, "clientsEnabled": True},
            "images": {"consul": "hashicorp/consul-enterprise:1.22-ent"},
            "vault": {"namespace": "admin/mesh"},
        },
        LICENSE,
    ),
    "federation-secondary": ("fed-secondary", None, None),
    "default-auth-mount": ("dev", {"vault": {"kubernetesAuthMount": "kubernetes"}}, None),
    "peering-acceptor": ("peer-east", None, None),
    "peering-dialer": ("peer-west", None, None),
    "federation-primary": ("fed-primary", None, None),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_emitted_key_exists_in_the_pinned_chart(variant: str) -> None:
    stack, override, secrets = VARIANTS[variant]
    emitted = flatten(_values(stack, override, secrets))
    unknown = sorted(k for k in emitted if k not in CHART_KEYS)
    removed = sorted(k for k in emitted if is_removed(k))
    assert unknown == [], f"{variant}: keys the chart 2.0.3 does not have: {unknown}"
    assert removed == [], f"{variant}: keys removed from the chart: {removed}"


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_values_are_plain_data_without_secrets(variant: str) -> None:
    stack, override, secrets = VARIANTS[variant]
    values = _values(stack, override, secrets)
    for key, value in flatten(values).items():
        assert isinstance(value, str | bool | int | list), f"{variant}: {key} is {type(value).__name__}, not plain"
        assert "BEGIN" not in str(value), f"{variant}: {key} carries PEM material; only paths belong in values"
    assert json.loads(json.dumps(values)) == values


@pytest.mark.parametrize("stack", STACKS)
def test_security_switches_are_on(stack: str) -> None:
    values = _BUILT[stack]
    for key in ("global.tls.enabled", "global.tls.verify", "global.tls.httpsOnly", "global.tls.enableAutoEncrypt"):
        assert get_value(values, key) is True, f"{stack}: {key} must be true (CSL-TLS)"
    assert get_value(values, "global.acls.manageSystemACLs") is True
    assert get_value(values, "connectInject.aclBindingRuleSelector") == ACL_BINDING_RULE_SELECTOR
    assert get_value(values, "global.gossipEncryption.autoGenerate") is False
    assert get_value(values, f"{VAULT}.enabled") is True


@pytest.mark.parametrize("stack", STACKS)
def test_names_and_vault_paths_come_from_the_layout(stack: str) -> None:
    settings, layout = settings_and_layout(stack)
    values = _BUILT[stack]
    expected = {
        "global.name": layout.consul_fullname,
        "global.datacenter": layout.datacenter,
        "global.domain": settings.consul.domain,
        "global.tls.caCert.secretName": layout.server_ca_path,
        "server.serverCert.secretName": layout.server_pki_issue_path,
        "global.gossipEncryption.secretName": layout.kv(KvSecret.GOSSIP).data_path,
        "global.gossipEncryption.secretKey": layout.kv(KvSecret.GOSSIP).field,
        f"{VAULT}.connectInject.tlsCert.secretName": layout.webhook_pki_issue_path,
        f"{VAULT}.connectInject.caCert.secretName": layout.webhook_ca_path,
        f"{VAULT}.connectCA.address": settings.vault.address,
        f"{VAULT}.connectCA.authMethodPath": layout.kubernetes_auth_path,
        f"{VAULT}.connectCA.rootPKIPath": layout.connect_root_pki_path,
        f"{VAULT}.connectCA.intermediatePKIPath": layout.connect_intermediate_pki_path,
        f"{VAULT}.consulServerRole": layout.auth_role(Identity.SERVER),
        f"{VAULT}.manageSystemACLsRole": layout.auth_role(Identity.SERVER_ACL_INIT),
        f"{VAULT}.connectInjectRole": layout.auth_role(Identity.CONNECT_INJECTOR),
        f"{VAULT}.consulCARole": layout.auth_role(Identity.CA_READER),
    }
    # A secondary bootstraps nothing: its server-acl-init logs in with the primary's replication token.
    token = KvSecret.REPLICATION_TOKEN if layout.is_secondary_datacenter else KvSecret.BOOTSTRAP_TOKEN
    key = "replicationToken" if token is KvSecret.REPLICATION_TOKEN else "bootstrapToken"
    expected[f"global.acls.{key}.secretName"] = layout.kv(token).data_path
    expected[f"global.acls.{key}.secretKey"] = layout.kv(token).field
    for key, value in expected.items():
        assert get_value(values, key) == value, f"{stack}: {key} is {get_value(values, key)!r}, layout says {value!r}"
    assert not get_value(values, f"{VAULT}.connectCA.rootPKIPath").endswith("/")


def test_every_vault_role_key_matches_the_layouts_identities() -> None:
    for variant, (stack, override, secrets) in VARIANTS.items():
        settings, layout = settings_and_layout(stack, override, secrets)
        vault = get_value(build_consul_values(settings, layout), VAULT)
        emitted = {key for key in VAULT_ROLE_KEYS.values() if key in vault}
        assert emitted == {VAULT_ROLE_KEYS[i] for i in layout.identities}, variant


def test_mesh_ca_additional_config_carries_the_ttls_and_key_type() -> None:
    config = json.loads(get_value(_BUILT["prod"], f"{VAULT}.connectCA.additionalConfig"))
    assert config == {
        "connect": [
            {
                "ca_config": [
                    {
                        "leaf_cert_ttl": "72h",
                        "intermediate_cert_ttl": "8760h",
                        "private_key_type": "ec",
                        "private_key_bits": 384,
                        "tls_server_name": "vault.prod.example.com",
                    }
                ]
            }
        ]
    }


def test_agent_annotations_are_a_yaml_string_of_what_the_chart_does_not_set() -> None:
    prod = yaml.safe_load(get_value(_BUILT["prod"], f"{VAULT}.agentAnnotations"))
    assert prod == {
        "vault.hashicorp.com/auth-path": "auth/kubernetes-eu-west-1",
        "vault.hashicorp.com/tls-server-name": "vault.prod.example.com",
    }
    dev = yaml.safe_load(get_value(_BUILT["dev"], f"{VAULT}.agentAnnotations"))
    assert dev == {"vault.hashicorp.com/auth-path": "auth/kubernetes-dc1"}


def test_default_auth_mount_needs_no_auth_path_annotation() -> None:
    values = _values("dev", {"vault": {"kubernetesAuthMount": "kubernetes"}})
    assert get_value(values, f"{VAULT}.agentAnnotations") is None
    assert get_value(values, f"{VAULT}.connectCA.authMethodPath") == "kubernetes"


def test_vault_namespace_reaches_annotations_ca_provider_and_chart() -> None:
    values = _values("dev", {"vault": {"namespace": "admin/mesh"}})
    assert get_value(values, f"{VAULT}.vaultNamespace") == "admin/mesh"
    annotations = yaml.safe_load(get_value(values, f"{VAULT}.agentAnnotations"))
    assert annotations["vault.hashicorp.com/namespace"] == "admin/mesh"
    ca_config = json.loads(get_value(values, f"{VAULT}.connectCA.additionalConfig"))["connect"][0]["ca_config"][0]
    assert ca_config["namespace"] == "admin/mesh"


def test_vault_tls_ca_points_at_the_kubernetes_secret_only_when_set() -> None:
    _, layout = settings_and_layout("prod")
    assert get_value(_BUILT["prod"], f"{VAULT}.ca") == {
        "secretName": layout.vault_ca_secret_name,
        "secretKey": layout.vault_ca_secret_key,
    }
    assert get_value(_BUILT["dev"], f"{VAULT}.ca") == get_value(_BUILT["prod"], f"{VAULT}.ca"), "dev: caCertFile"
    public_ca = _values("dev", {"vault": {"tls": {"caCertFile": None}}})
    assert get_value(public_ca, f"{VAULT}.ca") is None


def test_explicitly_false_switches_are_rendered() -> None:
    dev = _BUILT["dev"]
    assert get_value(dev, "client.enabled") is False
    assert get_value(dev, "meshGateway.enabled") is False
    assert get_value(dev, "server.snapshotAgent.enabled") is False
    no_gateway = _values("dev", {"consul": {"apiGateway": False}, "apps": []})
    assert get_value(no_gateway, "connectInject.apiGateway.manageExternalCRDs") is False


def test_unset_optional_features_are_omitted() -> None:
    dev = flatten(_BUILT["dev"])
    for prefix in (
        "global.enterpriseLicense",
        "global.adminPartitions",
        "global.acls.replicationToken",
        "global.acls.partitionToken",
        "global.federation",
        f"{VAULT}.vaultNamespace",
        f"{VAULT}.consulClientRole",
        f"{VAULT}.adminPartitionsRole",
        "server.snapshotAgent.configSecret",
        "server.snapshotAgent.interval",
    ):
        present = [k for k in dev if k == prefix or k.startswith(f"{prefix}.")]
        assert present == [], f"dev emits {present} for a feature it does not use"


def test_enterprise_with_clients_adds_license_partitions_and_client_role() -> None:
    settings, layout = settings_and_layout(
        "dev",
        {
            "consul": {"enterprise": True, "clientsEnabled": True},
            "images": {"consul": "hashicorp/consul-enterprise:1.22-ent"},
        },
        LICENSE,
    )
    values = build_consul_values(settings, layout)
    assert get_value(values, "global.enterpriseLicense") == {
        "secretName": layout.kv(KvSecret.LICENSE).data_path,
        "secretKey": "license",
        "enableLicenseAutoload": True,
    }
    assert get_value(values, "global.acls.partitionToken.secretName") == layout.kv(KvSecret.PARTITION_TOKEN).data_path
    assert get_value(values, "global.adminPartitions") == {"enabled": True, "name": "default"}
    assert get_value(values, f"{VAULT}.adminPartitionsRole") == layout.auth_role(Identity.PARTITION_INIT)
    assert get_value(values, f"{VAULT}.consulClientRole") == layout.auth_role(Identity.CLIENT)
    assert get_value(values, "client.enabled") is True


def test_a_federation_secondary_uses_the_primarys_shared_names_and_federates() -> None:
    # Chart 2.0.3 with the Vault backend, as consul-k8s acceptance/tests/vault/vault_wan_fed_test.go L421-468 sets a
    # secondary: no bootstrap token (server-acl-init logs in with the replication token), the primary's gossip key,
    # server CA and a per-datacenter server role, the shared connect root with this datacenter's own intermediate,
    # its own auth mount, and k8sAuthMethodHost; primaryGateways comes from the primary's outputs at deploy time.
    settings, layout = settings_and_layout("fed-secondary")
    values = build_consul_values(settings, layout)
    assert get_value(values, "global.acls") == {
        "manageSystemACLs": True,
        "replicationToken": {"secretName": "consul-dc1/kv/data/consul/replication-token", "secretKey": "token"},
    }
    assert get_value(values, "global.federation") == {
        "enabled": True,
        "primaryDatacenter": "dc1",
        "primaryGateways": [],
        "k8sAuthMethodHost": "https://k8s-api.dc2.example.com:6443",
    }
    assert get_value(values, "global.gossipEncryption") == {
        "autoGenerate": False,
        "secretName": "consul-dc1/kv/data/consul/gossip",
        "secretKey": "key",
    }
    assert get_value(values, "global.tls.caCert") == {"secretName": "consul-dc1/server/pki_int2/cert/ca"}
    assert get_value(values, "server.serverCert") == {
        "secretName": "consul-dc1/server/pki_int2/issue/consul-server-dc2"
    }
    connect = get_value(values, f"{VAULT}.connectCA")
    assert (connect["rootPKIPath"], connect["intermediatePKIPath"], connect["authMethodPath"]) == (
        "consul-dc1/connect/pki_int2",
        "consul-dc2/connect/pki_consul_dc2",
        "kubernetes-dc2",
    )
    # One connect CA across the federation: its TTLs and key are the primary's.
    primary_settings_, primary_layout = settings_and_layout("fed-primary")
    primary_values = build_consul_values(primary_settings_, primary_layout)
    assert connect["additionalConfig"] == get_value(primary_values, f"{VAULT}.connectCA.additionalConfig")
    assert get_value(values, "global.acls.createReplicationToken") is None


def test_k8s_auth_method_host_defaults_to_vaults_view_of_the_api_server() -> None:
    settings, layout = settings_and_layout(
        "fed-secondary", {"topology": {"k8sAuthMethodHost": "https://api.dc2.internal:443"}}
    )
    assert get_value(build_consul_values(settings, layout), "global.federation.k8sAuthMethodHost") == (
        "https://api.dc2.internal:443"
    )


def test_server_quorum_survives_the_disruption_budget() -> None:
    for replicas in (3, 5, 7, 9):
        values = _values("prod", {"consul": {"serverReplicas": replicas}})
        budget = get_value(values, "server.disruptionBudget")
        assert budget["enabled"] is True
        quorum = replicas // 2 + 1
        assert replicas - budget["maxUnavailable"] >= quorum, f"{replicas} servers lose quorum under the budget"
        assert get_value(values, "server.replicas") == replicas


def test_vault_pods_stay_out_of_the_mesh() -> None:
    _, layout = settings_and_layout("dev")
    assert get_value(_BUILT["dev"], "connectInject.k8sDenyNamespaces") == [layout.vault_namespace]
    assert get_value(_BUILT["dev"], "connectInject.default") is True


def test_the_consul_image_is_pinned_only_when_set() -> None:
    assert "image" not in _BUILT["dev"]["global"], "unset: the chart's own default image"
    image = "hashicorp/consul-enterprise:1.22-ent"
    enterprise = {"consul": {"enterprise": True}, "images": {"consul": image}}
    settings, layout = settings_and_layout("dev", enterprise, LICENSE)
    assert get_value(build_consul_values(settings, layout), "global.image") == image
