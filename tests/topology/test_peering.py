"""Cluster peering under mocks: the peer-east (acceptor) / peer-west (dialer) pair, end to end.

Every resource the topology adds is asserted whole (inputs, secrecy, provider, dependencies), the token is
followed from the acceptor's PeeringToken through its secret output and the dialer's stack reference into the
dialer's Peering, and the cross-stack checks are run against bad peers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pulumi
import pytest

from secure_mesh.offline.stack_references import STACK_REFERENCE_TYPE, recorded_outputs
from secure_mesh.topology.component import OFFLINE_SECRET_STAND_IN, _load_balancer_address
from secure_mesh.topology.documents import UPSTREAMS_ANNOTATION
from tests import harness
from tests.conftest import stack_run
from tests.harness import PROJECT_DIR, ProgramRun, RegisteredResource, load_stack_config
from tests.mocks.consul import MESH_GATEWAY_IP, peering_token_value

TOKEN = "consul:index/peeringToken:PeeringToken"
PEERING = "consul:index/peering:Peering"
CONFIG_ENTRY = "consul:index/configEntry:ConfigEntry"
INTENTIONS = "consul:index/configEntryServiceIntentions:ConfigEntryServiceIntentions"
CRD = "kubernetes:consul.hashicorp.com/v1alpha1:{}"
RELEASE = "secure-mesh-consul-release"


def names(run: ProgramRun, resource: RegisteredResource) -> set[str]:
    """The names of the resources (and stack references) a resource depends on."""
    return {urn.rsplit("::", 1)[-1] for urn in resource.dependencies}


@pytest.fixture
def east() -> ProgramRun:
    return stack_run("peer-east")


@pytest.fixture
def west() -> ProgramRun:
    return stack_run("peer-west")


# ------------------------------------------------------------------------------------------ acceptor


def test_acceptor_generates_the_token_after_its_mesh_entry_through_the_consul_provider(east: ProgramRun) -> None:
    token = east.one(TOKEN)
    assert token.name == "secure-mesh-peering-west-token"
    assert token.inputs == {"peerName": "west", "meta": {"secure-mesh/dialer-stack": "acme/secure-mesh/peer-west"}}
    assert "peeringToken" in token.additional_secret_outputs
    assert token.provider.startswith(east.one("pulumi:providers:consul").urn)
    assert {"secure-mesh-intentions-mesh", RELEASE} <= names(east, token)


def test_acceptor_exports_the_token_only_as_a_secret_keyed_by_the_dialer_stack(east: ProgramRun) -> None:
    assert east.outputs["peeringTokens"] == {"peer-west": peering_token_value("west")}
    assert "peeringTokens" in east.secret_outputs
    plain = json.dumps({k: v for k, v in east.outputs.items() if k not in east.secret_outputs})
    assert peering_token_value("west") not in plain


def test_acceptor_mesh_entry_peers_through_gateways_and_proxy_defaults_route_locally(east: ProgramRun) -> None:
    mesh = east.one(CONFIG_ENTRY, "secure-mesh-intentions-mesh")
    assert mesh.inputs["kind"] == "mesh" and mesh.inputs["name"] == "mesh"
    assert json.loads(mesh.inputs["configJson"]) == {
        "AllowEnablingPermissiveMutualTLS": False,
        "Peering": {"PeerThroughMeshGateways": True},
        "TLS": {"Incoming": {"TLSMinVersion": "TLSv1_3"}, "Outgoing": {"TLSMinVersion": "TLSv1_3"}},
        "TransparentProxy": {"MeshDestinationsOnly": True},
    }
    defaults = east.one(CONFIG_ENTRY, "secure-mesh-intentions-proxy-defaults")
    assert json.loads(defaults.inputs["configJson"]) == {"MeshGateway": {"Mode": "local"}, "MutualTLSMode": "strict"}
    assert "secure-mesh-intentions-mesh" in names(east, defaults)


def test_acceptor_exports_its_service_after_the_token(east: ProgramRun) -> None:
    exported = east.one(CONFIG_ENTRY, "secure-mesh-peering-exported-services")
    assert exported.inputs == {
        "kind": "exported-services",
        "name": "default",
        "configJson": json.dumps({"Services": [{"Consumers": [{"Peer": "west"}], "Name": "inventory"}]}),
    }
    assert {"secure-mesh-intentions-mesh", "secure-mesh-peering-west-token", RELEASE} <= names(east, exported)


def test_acceptor_intention_names_the_peer_next_to_its_local_source(east: ProgramRun) -> None:
    intentions = east.one(INTENTIONS, "secure-mesh-intentions-inventory-intentions")
    assert intentions.inputs["sources"] == [
        {"name": "storefront", "type": "consul", "action": "allow"},
        {"name": "checkout", "type": "consul", "peer": "west", "action": "allow"},
    ]
    assert {"secure-mesh-intentions-inventory-defaults", "secure-mesh-intentions-proxy-defaults"} <= names(
        east, intentions
    )


def test_acceptor_reads_no_other_stack(east: ProgramRun) -> None:
    # It is deployed first: the dialer's stack may not exist yet. It reads only its own (rotationVersions).
    others = [read for read in east.reads if read[0] == STACK_REFERENCE_TYPE and not read[2].endswith("/peer-east")]
    assert others == []
    assert not east.of_type(PEERING)


# -------------------------------------------------------------------------------------------- dialer


def test_dialer_reads_the_acceptor_by_its_full_stack_name(west: ProgramRun) -> None:
    assert (STACK_REFERENCE_TYPE, "secure-mesh-peering-east-stack", "acme/secure-mesh/peer-east") in west.reads


def test_dialer_peers_with_the_recorded_token_as_a_secret_after_its_own_mesh_entry(west: ProgramRun) -> None:
    peering = west.one(PEERING)
    assert peering.name == "secure-mesh-peering-east"
    assert peering.inputs == {
        "peerName": "east",
        "peeringToken": OFFLINE_SECRET_STAND_IN,
        "meta": {"secure-mesh/acceptor-stack": "acme/secure-mesh/peer-east"},
    }
    assert peering.secret_inputs == {"peeringToken"}
    assert peering.provider.startswith(west.one("pulumi:providers:consul").urn)
    assert {"secure-mesh-intentions-mesh", RELEASE, "secure-mesh-peering-east-stack"} <= names(west, peering)
    assert not west.of_type(TOKEN)
    assert west.outputs["peeringTokens"] == {} and "peeringTokens" in west.secret_outputs


def test_dialer_mesh_crd_waits_until_consul_has_it(west: ProgramRun) -> None:
    mesh = west.one(CRD.format("Mesh"), "secure-mesh-intentions-mesh")
    assert mesh.inputs["metadata"] == {
        "name": "mesh",
        "namespace": "consul",
        "annotations": {"pulumi.com/waitFor": "condition=Synced"},
    }
    assert mesh.inputs["spec"]["peering"] == {"peerThroughMeshGateways": True}
    defaults = west.one(CRD.format("ProxyDefaults"), "secure-mesh-intentions-proxy-defaults")
    assert defaults.inputs["spec"] == {"mutualTLSMode": "strict", "meshGateway": {"mode": "local"}}


def test_dialer_app_calls_the_peer_service_through_an_explicit_upstream(west: ProgramRun) -> None:
    annotations = {"checkout": {UPSTREAMS_ANNOTATION: "inventory.svc.east.peer:9001"}}
    assert west.outputs["peerUpstreamAnnotations"] == annotations
    assert not west.of_type(CONFIG_ENTRY)  # the dialer renders CRDs and exports nothing
    assert not [r for r in west.resources if r.name == "secure-mesh-peering-exported-services"]


@pytest.mark.parametrize("stack", ["peer-east", "peer-west"])
def test_each_member_exports_its_gateway_datacenter_and_connect_root(stack: str) -> None:
    run = stack_run(stack)
    datacenter = stack.removeprefix("peer-")
    assert run.outputs["datacenter"] == run.outputs["consulDatacenter"] == datacenter
    root = f"consul-{datacenter}/connect/pki_int2"
    assert run.outputs["connectRootPkiPath"] == run.outputs["meshRootPkiPath"] == root
    assert run.outputs["meshGatewayAddress"] == f"{MESH_GATEWAY_IP}:443"
    gateway = "consul/consul-consul-mesh-gateway"
    service = ("kubernetes:core/v1:Service", "secure-mesh-peering-mesh-gateway-service", gateway)
    assert service in run.reads


# ------------------------------------------------------------------------- the token across two stacks


def _east_as_recorded_by_pulumi() -> dict[str, Any]:
    """peer-east's outputs as a live StackReference returns them: real values, secret names listed."""
    run = stack_run("peer-east")
    return {"outputs": run.outputs, "secretOutputNames": sorted(run.secret_outputs)}


def _run_west(monkeypatch: pytest.MonkeyPatch, outputs: dict[str, Any], names_secret: list[str]) -> Any:
    def reference(_: str, inputs: dict[str, Any]) -> dict[str, Any]:
        own = f"{pulumi.get_organization()}/{pulumi.get_project()}/{pulumi.get_stack()}"
        if inputs["name"] == own:  # its own rotationVersions: never deployed
            return {"outputs": {}, "secretOutputNames": []}
        assert inputs["name"] == "acme/secure-mesh/peer-east"
        return {"outputs": outputs, "secretOutputNames": names_secret}

    collect = harness._collect_mock_outputs
    monkeypatch.setattr(harness, "_collect_mock_outputs", lambda: {**collect(), STACK_REFERENCE_TYPE: reference})
    return outputs


def test_the_token_east_generated_is_the_one_west_peers_with(monkeypatch: pytest.MonkeyPatch) -> None:
    live = _east_as_recorded_by_pulumi()
    _run_west(monkeypatch, live["outputs"], live["secretOutputNames"])
    run = harness.run_stack("peer-west")
    peering = run.one(PEERING)
    assert peering.inputs["peeringToken"] == peering_token_value("west")
    assert peering.secret_inputs == {"peeringToken"}


def _bad_east(**changes: Any) -> dict[str, Any]:
    outputs = dict(_east_as_recorded_by_pulumi()["outputs"])
    outputs.update(changes)
    return outputs


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"datacenter": "west"}, "its datacenter 'west' is this stack's ('test') own"),
        ({"connectRootPkiPath": "consul-west/connect/pki_int2"}, "its connect root 'consul-west/connect/pki_int2'"),
        ({"peeringTokens": {"peer-west": "x"}}, "exports no peering token for stack 'test'"),
        ({"peeringTokens": {}}, "exports no peering token for stack 'test'"),
    ],
    ids=["same-datacenter", "same-connect-root", "token-for-another-stack", "no-token"],
)
def test_dialer_refuses_a_peer_it_must_not_peer_with(
    monkeypatch: pytest.MonkeyPatch, changes: dict[str, Any], fragment: str
) -> None:
    _run_west(monkeypatch, _bad_east(**changes), ["peeringTokens"])
    error, registered = harness.run_program_expecting_failure(load_stack_config("peer-west"))
    assert fragment in str(error)
    assert not [r for r in registered if r.type == PEERING], "no peering may be written after a failed check"


def test_two_acceptors_with_one_datacenter_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    config = load_stack_config("peer-west")
    second = {
        **config["topology"]["peers"][0],
        "name": "north",
        "stack": "acme/secure-mesh/peer-north",
        "imports": [{"service": "inventory", "port": 9002, "apps": ["checkout"]}],
    }
    config = {**config, "topology": {**config["topology"], "peers": [*config["topology"]["peers"], second]}}

    east = _bad_east()

    def reference(_: str, inputs: dict[str, Any]) -> dict[str, Any]:
        outputs = {**east, "peeringTokens": {"test": "t"}}
        return {"outputs": outputs, "secretOutputNames": ["peeringTokens"]}

    collect = harness._collect_mock_outputs
    monkeypatch.setattr(harness, "_collect_mock_outputs", lambda: {**collect(), STACK_REFERENCE_TYPE: reference})
    error, registered = harness.run_program_expecting_failure(config)
    assert "its datacenter 'east' is also peer 'east''s" in str(error)
    assert not [r for r in registered if r.type == PEERING]


# ------------------------------------------------------------------------- one Vault, many clusters


def _vault_names(run: ProgramRun) -> Iterator[tuple[str, str]]:
    """Every name a stack claims in the Vault namespace it configures."""
    for resource in run.resources:
        inputs = resource.inputs
        if resource.type == "vault:index/mount:Mount":
            yield "mount", inputs["path"]
        elif resource.type == "vault:index/authBackend:AuthBackend":
            yield "auth", inputs["path"]
        elif resource.type == "vault:index/policy:Policy":
            yield "policy", inputs["name"]
        elif resource.type == "vault:kubernetes/authBackendRole:AuthBackendRole":
            yield "auth-role", f"{inputs['backend']}/{inputs['roleName']}"
        elif resource.type == "vault:pkiSecret/secretBackendRole:SecretBackendRole":
            yield "pki-role", f"{inputs['backend']}/{inputs['name']}"
        elif resource.type == "vault:kv/secretV2:SecretV2":
            yield "kv", f"{inputs['mount']}/{inputs['name']}"
        elif resource.type == "vault:index/audit:Audit":
            yield "audit", inputs["path"]


def test_two_peers_share_one_vault_namespace_without_a_single_shared_name() -> None:
    east, west = stack_run("peer-east"), stack_run("peer-west")
    settings = [load_stack_config(s)["vault"] for s in ("peer-east", "peer-west")]
    assert settings[0]["address"] == settings[1]["address"]
    assert settings[0].get("namespace") == settings[1].get("namespace")
    east_names, west_names = set(_vault_names(east)), set(_vault_names(west))
    kinds = {kind for kind, _ in east_names}
    assert {"mount", "auth", "policy", "auth-role", "pki-role", "kv"} <= kinds
    assert east_names & west_names == set()
    # Consul's own intermediate mounts (created by Consul, not Pulumi) differ too.
    assert east.outputs["meshIntermediatePkiPath"] != west.outputs["meshIntermediatePkiPath"]
    assert east.outputs["vaultKubernetesAuthPath"] == "kubernetes-east"
    assert west.outputs["vaultKubernetesAuthPath"] == "kubernetes-west"


# ---------------------------------------------------------------------------------------- offline


def test_the_recorded_outputs_are_peer_east_as_pulumi_prints_them() -> None:
    run = stack_run("peer-east")
    expected = {k: (OFFLINE_SECRET_STAND_IN if k in run.secret_outputs else v) for k, v in run.outputs.items()}
    assert recorded_outputs(PROJECT_DIR, "acme/secure-mesh/peer-east") == expected


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (None, "no recorded outputs for stack 'acme/secure-mesh/peer-east'"),
        ("{", "is not valid JSON"),
        (json.dumps({"outputs": {}}), "must be an object with exactly 'stack'"),
        (
            json.dumps({"stack": "acme/secure-mesh/peer-north", "outputs": {}}),
            "records stack 'acme/secure-mesh/peer-north'",
        ),
    ],
    ids=["missing", "not-json", "no-stack", "another-stack"],
)
def test_recorded_outputs_are_refused_when_they_cannot_be_trusted(
    tmp_path: Path, content: str | None, fragment: str
) -> None:
    from secure_mesh.command_errors import CommandError

    if content is not None:
        (tmp_path / "stack-references").mkdir()
        (tmp_path / "stack-references" / "peer-east.json").write_text(content)
    with pytest.raises(CommandError) as caught:
        recorded_outputs(tmp_path, "acme/secure-mesh/peer-east")
    assert fragment in str(caught.value)


@pytest.mark.parametrize(
    ("status", "address"),
    [
        ({"load_balancer": {"ingress": [{"hostname": "gw.example.com"}]}}, "gw.example.com:443"),
        ({"load_balancer": {"ingress": [{"ip": "203.0.113.7"}]}}, "203.0.113.7:443"),
        ({"load_balancer": {"ingress": []}}, ""),
        ({}, ""),
        (None, ""),
    ],
)
def test_gateway_address_comes_from_the_load_balancer(status: Any, address: str) -> None:
    assert _load_balancer_address(status) == address
