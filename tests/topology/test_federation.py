"""WAN federation, primary side, under mocks (fed-primary): the replication token, the federation values, gateways.

The secondary side is not implemented yet (docs/multi-cluster.md, "What is not done").
"""

from __future__ import annotations

import json
import re

import pytest

from secure_mesh.consul.helm_values import ChartValuesError, build_consul_values, check_chart_rules
from secure_mesh.layout import Layout
from secure_mesh.settings import SettingsError, load_settings
from tests.conftest import stack_run
from tests.harness import ProgramRun, load_stack_config
from tests.mocks.consul import MESH_GATEWAY_IP

KV = "vault:kv/secretV2:SecretV2"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


@pytest.fixture
def primary() -> ProgramRun:
    return stack_run("fed-primary")


def test_primary_prefills_the_replication_token_with_a_secret_lowercase_uuid(primary: ProgramRun) -> None:
    secret = primary.one(KV, "secure-mesh-secrets-replication-token")
    assert set(secret.inputs) == {"mount", "name", "dataJson", "deleteAllVersions", "disableRead"}
    assert (secret.inputs["mount"], secret.inputs["name"]) == ("consul-dc1/kv", "consul/replication-token")
    assert secret.inputs["disableRead"] is True and secret.inputs["deleteAllVersions"] is False
    assert "dataJson" in secret.secret_inputs
    token = json.loads(secret.inputs["dataJson"])["token"]
    assert UUID.match(token), token
    source = primary.one("random:index/randomBytes:RandomBytes", "secure-mesh-secrets-replication-token-bytes")
    assert secret.property_dependencies["dataJson"] == (source.urn,)
    assert token not in json.dumps(primary.outputs), "the token's value is never exported"


def test_primary_values_create_the_replication_token_and_never_the_federation_secret(primary: ProgramRun) -> None:
    values = primary.one("kubernetes:helm.sh/v3:Release", "secure-mesh-consul-release").inputs["values"]
    assert values["global"]["acls"] == {
        "manageSystemACLs": True,
        "bootstrapToken": {"secretName": "consul-dc1/kv/data/consul/bootstrap-token", "secretKey": "token"},
        "createReplicationToken": True,
        "replicationToken": {"secretName": "consul-dc1/kv/data/consul/replication-token", "secretKey": "token"},
    }
    assert values["global"]["federation"] == {"enabled": True, "createFederationSecret": False}
    assert "peering" not in values["global"]
    assert values["meshGateway"] == {
        "enabled": True,
        "replicas": 2,
        "service": {"type": "LoadBalancer"},
        "wanAddress": {"source": "Service"},
    }
    release = primary.one("kubernetes:helm.sh/v3:Release", "secure-mesh-consul-release")
    secret = primary.one(KV, "secure-mesh-secrets-replication-token")
    assert secret.urn in release.dependencies, "the token's secret exists before server-acl-init reads it"


def test_primary_server_acl_init_reads_the_replication_token_and_servers_do_not(primary: ProgramRun) -> None:
    policies = {r.name: json.loads(r.inputs["policy"])["path"] for r in primary.of_type("vault:index/policy:Policy")}
    path = "consul-dc1/kv/data/consul/replication-token"
    assert policies["secure-mesh-identities-server-acl-init-policy"][path] == {"capabilities": ["read"]}
    assert path not in policies["secure-mesh-identities-server-policy"]


def test_primary_routes_through_local_gateways_and_exports_what_secondaries_need(primary: ProgramRun) -> None:
    defaults = primary.one(
        "kubernetes:consul.hashicorp.com/v1alpha1:ProxyDefaults", "secure-mesh-intentions-proxy-defaults"
    )
    assert defaults.inputs["spec"] == {"mutualTLSMode": "strict", "meshGateway": {"mode": "local"}}
    mesh = primary.one("kubernetes:consul.hashicorp.com/v1alpha1:Mesh", "secure-mesh-intentions-mesh")
    assert "peering" not in mesh.inputs["spec"]
    assert primary.outputs["meshGatewayAddress"] == f"{MESH_GATEWAY_IP}:443"
    assert primary.outputs["datacenter"] == "dc1"
    assert primary.outputs["connectRootPkiPath"] == "consul-dc1/connect/pki_int2"
    assert primary.outputs["consulKvPaths"]["replication-token"] == "consul-dc1/kv/data/consul/replication-token"
    assert not primary.of_type("consul:index/peeringToken:PeeringToken")


@pytest.mark.parametrize(
    ("override", "path", "phrase"),
    [
        ({"consul": {"meshGateway": False}}, "consul.meshGateway", "allowed: true"),
        ({"consul": {"enterprise": True}}, "consul.enterprise", "admin partitions"),
        ({"consul": {"primaryDatacenter": "dc0"}}, "consul.primaryDatacenter", "is the primary"),
        (
            {"topology": {"peers": [{"name": "west", "role": "dialer", "stack": "acme/secure-mesh/peer-west"}]}},
            "topology.peers",
            "does not peer",
        ),
    ],
    ids=["no-gateways", "enterprise-partitions", "primary-names-another", "peers"],
)
def test_invalid_primary_settings_name_the_key(override: dict, path: str, phrase: str) -> None:
    raw = load_stack_config("fed-primary")
    for key, value in override.items():
        raw[key] = {**raw.get(key, {}), **value}
    with pytest.raises(SettingsError) as raised:
        load_settings(raw, frozenset({"consulLicense"}) if "enterprise" in str(override) else frozenset())
    matching = [p for p in raised.value.problems if p.path == path]
    assert matching and any(phrase in p.message for p in matching), [str(p) for p in raised.value.problems]


def test_chart_rules_refuse_the_federation_secret_with_vault() -> None:
    settings = load_settings(load_stack_config("fed-primary"))
    values = build_consul_values(settings, Layout(settings))
    values["global"]["federation"]["createFederationSecret"] = True
    with pytest.raises(ChartValuesError) as raised:
        check_chart_rules(values)
    assert raised.value.key == "global.federation.createFederationSecret"
