"""Topology settings: every refusal names the key path, the bad value and what is allowed, before any resource."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from secure_mesh.consul.helm_values import ChartValuesError, build_consul_values, check_chart_rules
from secure_mesh.layout import Layout
from secure_mesh.settings import SettingsError
from secure_mesh.settings.topology import TopologyMode
from tests.consul.helpers import stack_settings
from tests.harness import load_stack_config, run_program_expecting_failure


def _peers(**changes: Any) -> dict[str, Any]:
    """peer-east's peer list with the first peer changed."""
    peers = copy.deepcopy(load_stack_config("peer-east")["topology"]["peers"])
    peers[0].update(changes)
    return {"topology": {"peers": peers}}


def _second_peer(**peer: Any) -> dict[str, Any]:
    peers = copy.deepcopy(load_stack_config("peer-east")["topology"]["peers"])
    peers.append({"name": "north", "role": "dialer", "stack": "acme/secure-mesh/peer-north", **peer})
    return {"topology": {"peers": peers}}


CASES: dict[str, tuple[str, dict[str, Any], str, str]] = {
    "upper-case peer name": ("peer-east", _peers(name="West"), "topology.peers[0].name", "'West' is not a DNS label"),
    "unknown role": ("peer-east", _peers(role="listener"), "topology.peers[0].role", "'acceptor' or 'dialer'"),
    "stack not fully qualified": (
        "peer-east",
        _peers(stack="peer-west"),
        "topology.peers[0].stack",
        "String should match pattern",
    ),
    "stack of another project": (
        "peer-east",
        _peers(stack="acme/other/peer-west"),
        "topology.peers[0].stack",
        "secure-mesh",
    ),
    "peer named like this datacenter": ("peer-east", _peers(name="east"), "topology.peers[0].name", "own datacenter"),
    "duplicate peer names": ("peer-east", _second_peer(name="west"), "topology.peers[0].name", "names two peers"),
    "duplicate peer stacks": (
        "peer-east",
        _second_peer(stack="acme/secure-mesh/peer-west"),
        "topology.peers[0].stack",
        "referenced by two peers",
    ),
    "two peer stacks with one name": (
        "peer-east",
        _second_peer(stack="other/secure-mesh/peer-west"),
        "topology.peers[0].stack",
        "both named 'peer-west'",
    ),
    "export of an undeclared service": (
        "peer-east",
        _peers(exports=[{"service": "billing", "consumers": ["checkout"]}]),
        "topology.peers[0].exports[0].service",
        "'billing' is not a declared service; allowed: inventory, storefront",
    ),
    "export without consumers": (
        "peer-east",
        _peers(exports=[{"service": "inventory", "consumers": []}]),
        "topology.peers[0].exports[0].consumers",
        "at least 1 item",
    ),
    "import for an undeclared app": (
        "peer-west",
        {"topology": {"peers": [{**load_stack_config("peer-west")["topology"]["peers"][0], "imports": [
            {"service": "inventory", "port": 9001, "apps": ["billing"]}
        ]}]}},
        "topology.peers[0].imports[0].apps[0]",
        "'billing' is not a declared app; allowed: checkout",
    ),
    "import port out of range": (
        "peer-west",
        {"topology": {"peers": [{**load_stack_config("peer-west")["topology"]["peers"][0], "imports": [
            {"service": "inventory", "port": 70000, "apps": ["checkout"]}
        ]}]}},
        "topology.peers[0].imports[0].port",
        "less than or equal to 65535",
    ),
    "mesh gateways off": ("peer-east", {"consul": {"meshGateway": False}}, "consul.meshGateway", "allowed: true"),
    "no consul address": ("peer-east", {"consul": {"address": None}}, "consul.address", "Consul's API"),
    "shared default mount prefix": (
        "peer-east",
        {"vault": {"mountPrefix": "consul"}},
        "vault.mountPrefix",
        "'consul' (the default) is not allowed",
    ),
    "peering without peers": ("peer-east", {"topology": {"peers": []}}, "topology.peers", "at least one peer"),
    "peers on a standalone stack": (
        "dev",
        {"topology": {"peers": load_stack_config("peer-east")["topology"]["peers"]}},
        "topology.peers",
        "mode is 'standalone'",
    ),
    "one gateway in prod": (
        "peer-east",
        {"environment": "prod", "topology": {"meshGatewayReplicas": 1}},
        "topology.meshGatewayReplicas",
        "1 is not allowed in prod",
    ),
    "peering member as a federated secondary": (
        "peer-east",
        {"consul": {"primaryDatacenter": "west"}},
        "consul.primaryDatacenter",
        "WAN-federation secondary",
    ),
    "unknown mode": (
        "peer-east",
        {"topology": {"mode": "mesh"}},
        "topology.mode",
        "'standalone', 'peering', 'federation-primary' or 'federation-secondary'",
    ),
}


def _without_nones(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nones(v) for k, v in value.items() if v is not None}
    return value


@pytest.mark.parametrize("case", sorted(CASES))
def test_invalid_topology_names_the_key(case: str) -> None:
    stack, override, path, phrase = CASES[case]
    raw = {**load_stack_config(stack)}
    for key, value in override.items():
        raw[key] = _without_nones({**raw.get(key, {}), **value}) if isinstance(value, dict) else value
    from secure_mesh.settings import load_settings

    with pytest.raises(SettingsError) as raised:
        load_settings(raw)
    matching = [p for p in raised.value.problems if p.path == path]
    assert matching, f"{case}: no problem at {path}; got {[str(p) for p in raised.value.problems]}"
    assert any(phrase in p.message for p in matching), f"{case}: {[str(p) for p in matching]}"


def test_a_bad_topology_registers_nothing() -> None:
    config = load_stack_config("peer-east")
    config = {**config, "consul": {**config["consul"], "meshGateway": False}}
    error, registered = run_program_expecting_failure(config)
    assert "secure-mesh:consul.meshGateway" in str(error)
    assert registered == []


def test_standalone_is_the_default_and_keeps_the_values_it_had() -> None:
    settings = stack_settings("dev")
    assert settings.topology.mode is TopologyMode.STANDALONE
    values = build_consul_values(settings, Layout(settings))
    assert "peering" not in values["global"]
    assert values["meshGateway"] == {"enabled": False}


@pytest.mark.parametrize("key", ["meshGateway.enabled", "connectInject.enabled", "global.tls.enabled"])
def test_chart_rules_refuse_peering_without_what_it_needs(key: str) -> None:
    settings = stack_settings("peer-east")
    values = copy.deepcopy(build_consul_values(settings, Layout(settings)))
    node = values
    *parents, leaf = key.split(".")
    for part in parents:
        node = node[part]
    node[leaf] = False
    with pytest.raises(ChartValuesError) as raised:
        check_chart_rules(values)
    assert raised.value.key == key


def _secondary_problems(override: dict[str, Any]) -> dict[str, str]:
    """The fed-secondary stack's settings problems by key, with ``override`` merged in."""
    from secure_mesh.settings import load_settings
    from tests.harness import deep_merge

    try:
        load_settings(deep_merge(load_stack_config("fed-secondary"), override))
    except SettingsError as error:
        return {problem.path: problem.message for problem in error.problems}
    return {}


@pytest.mark.parametrize(
    ("environment", "replicas", "refused"),
    [("prod", 1, True), ("prod", 2, False), ("prod", 3, False), ("staging", 1, False)],
)
def test_a_production_secondary_needs_two_gateway_pods(environment: str, replicas: int, refused: bool) -> None:
    """topology_rules ``_federation_secondary``: in prod, one gateway pod would carry all traffic to the primary."""
    problems = _secondary_problems({"environment": environment, "topology": {"meshGatewayReplicas": replicas}})
    expected = (
        {
            "topology.meshGatewayReplicas": f"{replicas} is not allowed in prod: one gateway pod carries all of this "
            "datacenter's traffic to the primary; allowed: 2-9"
        }
        if refused
        else {}
    )
    assert {k: v for k, v in problems.items() if k == "topology.meshGatewayReplicas"} == expected


def test_a_secondary_with_its_own_auth_host_may_keep_the_in_cluster_kubernetes_host() -> None:
    """k8sAuthMethodHost is what the primary's servers use; the in-cluster vault.kubernetesHost is then fine."""
    in_cluster = {"vault": {"kubernetesHost": "https://kubernetes.default.svc"}}
    given = _secondary_problems({**in_cluster, "topology": {"k8sAuthMethodHost": "https://k8s-api.dc2.example.com:6443"}})
    assert "topology.k8sAuthMethodHost" not in given
    missing = _secondary_problems(in_cluster)
    assert missing.get("topology.k8sAuthMethodHost", "").startswith("is required with topology.mode")
