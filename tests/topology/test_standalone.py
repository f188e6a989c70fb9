"""ClusterPeering alone: built from hand-written Args (no settings, no layout, no stack file) under mocks.

An acceptor of one peer that dials another (the dialer's acceptor outputs come from the recorded
``stack-references/peer-east.json``): whole inputs of the token, the peering and the exported-services entry,
the explicit dependencies (release, mesh entry) on every Consul write, the gateway address read once the
release reports its status, the outputs, and the wire (dict) form building the same resources.
"""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_consul as consul
import pulumi_kubernetes as kubernetes
import pytest

from secure_mesh.topology.component import ClusterPeering, ClusterPeeringArgs, MeshGatewayArgs, PeerArgs
from secure_mesh.vocabulary import IntentionsRendering, PeerRole
from tests.consul.helpers import recorded_shape, run_alone, run_alone_expecting_failure, to_wire
from tests.harness import ProgramRun
from tests.mocks.consul import MESH_GATEWAY_IP, peering_token_value

TOKEN = "consul:index/peeringToken:PeeringToken"
PEERING = "consul:index/peering:Peering"
ENTRY = "consul:index/configEntry:ConfigEntry"
SERVICE = "kubernetes:core/v1:Service"
UPSTREAM = {"stand-in-release", "stand-in-mesh"}


def _args(release_status: pulumi.Input[str], **overrides: Any) -> ClusterPeeringArgs:
    fields: dict[str, Any] = {
        "peers": (
            PeerArgs(name="south", stack="acme/secure-mesh/peer-south", role=PeerRole.ACCEPTOR),
            PeerArgs(name="east", stack="acme/secure-mesh/peer-east", role=PeerRole.DIALER),
        ),
        "datacenter": "north",
        "connect_root_pki_path": "consul-north/connect/pki_int2",
        "mesh_gateway": MeshGatewayArgs(namespace="edge", service="edge-mesh-gateway", release_status=release_status),
        "exports": {"inventory": ("south",), "ledger": ("south", "east")},
        "rendering": IntentionsRendering.CONFIG_ENTRIES,
    }
    fields.update(overrides)
    return ClusterPeeringArgs(**fields)


def _program(
    built: list[ClusterPeering], wire: bool, with_provider: bool = True, as_data: bool = False, **overrides: Any
) -> Any:
    """``as_data``: the release and the mesh entry reach the component only as inputs (as in a YAML program)."""

    def program() -> None:
        release = kubernetes.core.v1.ConfigMap("stand-in-release", data={"status": "deployed"})
        mesh = kubernetes.core.v1.ConfigMap("stand-in-mesh", data={"entry": "mesh"})
        providers = [consul.Provider("consul", address="consul.example:8501", scheme="https")] if with_provider else []
        if as_data:
            overrides["mesh_entry"] = mesh.data.apply(lambda data: (data or {}).get("entry", ""))
        args = _args(release.data.apply(lambda data: (data or {}).get("status", "")), **overrides)
        built.append(
            ClusterPeering(
                "north-peering",
                to_wire(args) if wire else args,
                pulumi.ResourceOptions(depends_on=[] if as_data else [release, mesh], providers=providers),
            )
        )

    return program


def _build(
    wire: bool, with_provider: bool = True, as_data: bool = False, **overrides: Any
) -> tuple[ProgramRun, list[ClusterPeering]]:
    built: list[ClusterPeering] = []
    return run_alone(_program(built, wire, with_provider, as_data, **overrides)), built


@pytest.fixture(scope="module")
def alone() -> tuple[ProgramRun, ClusterPeering]:
    run, built = _build(wire=False)
    return run, built[0]


def _names(run: ProgramRun, urns: Any) -> set[str]:
    return {run.by_urn(urn).name for urn in urns if any(r.urn == urn for r in run.resources)}


def test_every_consul_write_with_its_whole_inputs(alone: tuple[ProgramRun, ClusterPeering]) -> None:
    run, _ = alone
    mine = {r.name: r for r in run.resources if r.name.startswith("north-peering-")}
    exported = mine.pop("north-peering-exported-services")
    assert {name: r.inputs for name, r in mine.items()} == {
        "north-peering-south-token": {
            "peerName": "south",
            "meta": {"secure-mesh/dialer-stack": "acme/secure-mesh/peer-south"},
        },
        # the recorded acceptor file carries the token as Pulumi prints a secret; the dialer passes it on, secret
        "north-peering-east": {
            "peerName": "east",
            "peeringToken": "[secret]",
            "meta": {"secure-mesh/acceptor-stack": "acme/secure-mesh/peer-east"},
        },
    }
    assert mine["north-peering-east"].secret_inputs == frozenset({"peeringToken"})
    assert set(mine["north-peering-south-token"].additional_secret_outputs) == {"peeringToken"}
    assert {k: v for k, v in exported.inputs.items() if k != "configJson"} == {
        "kind": "exported-services",
        "name": "default",
    }
    assert json.loads(exported.inputs["configJson"]) == {
        "Services": [
            {"Name": "inventory", "Consumers": [{"Peer": "south"}]},
            {"Name": "ledger", "Consumers": [{"Peer": "south"}, {"Peer": "east"}]},
        ]
    }
    provider = run.one("pulumi:providers:consul", "consul")
    for resource in (*mine.values(), exported):
        assert resource.provider.startswith(provider.urn), f"{resource} must write through the given Consul provider"


def test_every_write_waits_for_the_release_and_the_mesh_entry(alone: tuple[ProgramRun, ClusterPeering]) -> None:
    run, _ = alone
    token, peering = run.one(TOKEN), run.one(PEERING)
    assert _names(run, token.dependencies) == UPSTREAM
    assert _names(run, peering.dependencies) == UPSTREAM  # (+ the stack reference it reads the token from)
    assert _names(run, run.one(ENTRY).dependencies) == UPSTREAM | {token.name, peering.name}


def test_the_release_status_and_mesh_entry_as_inputs_are_the_same_dependencies(
    alone: tuple[ProgramRun, ClusterPeering],
) -> None:
    """What a YAML program passes (``meshGateway.releaseStatus``, ``meshEntry``) holds back every Consul write."""
    run, _ = _build(wire=True, as_data=True)
    token, peering = run.one(TOKEN), run.one(PEERING)
    assert _names(run, token.dependencies) == UPSTREAM
    assert _names(run, peering.dependencies) == UPSTREAM
    assert _names(run, run.one(ENTRY).dependencies) == UPSTREAM | {token.name, peering.name}
    # The children are the same resources with the same dependencies; only the component has no depends_on.
    children = [shape for shape in recorded_shape(run) if shape[0] != "secure-mesh:index:ClusterPeering"]
    assert children == [shape for shape in recorded_shape(alone[0]) if shape[0] != "secure-mesh:index:ClusterPeering"]


def test_an_export_to_a_cluster_that_is_not_a_peer_is_refused_before_anything_is_registered() -> None:
    with pytest.raises(ValueError) as error:
        ClusterPeering("north-peering", _args("deployed", exports={"inventory": ("south", "west")}))
    assert str(error.value) == (
        "ClusterPeeringArgs.exports.inventory: 'west' is not one of the peers; allowed: south, east"
    )


def test_the_dialer_reads_its_acceptor_and_the_gateway_once_the_release_is_up(
    alone: tuple[ProgramRun, ClusterPeering],
) -> None:
    run, _ = alone
    assert ("pulumi:pulumi:StackReference", "north-peering-east-stack", "acme/secure-mesh/peer-east") in run.reads
    assert (SERVICE, "north-peering-mesh-gateway-service", "edge/edge-mesh-gateway") in run.reads


def test_outputs(alone: tuple[ProgramRun, ClusterPeering]) -> None:
    _, component = alone
    resolved = {
        key: pulumi.runtime.sync_await._sync_await(getattr(component, key).future())
        for key in ClusterPeering.__annotations__
    }
    assert resolved == {
        "mesh_gateway_address": f"{MESH_GATEWAY_IP}:443",
        "peering_names": ["south", "east"],
        "peering_tokens": {"peer-south": peering_token_value("south")},
        "exported_services_name": "default",
    }
    assert pulumi.runtime.sync_await._sync_await(component.peering_tokens.is_secret())


def test_crd_rendering_of_the_exports_and_no_exports() -> None:
    run, _ = _build(wire=False, rendering=IntentionsRendering.CRDS, namespace="edge")
    resource = run.one("kubernetes:consul.hashicorp.com/v1alpha1:ExportedServices")
    assert resource.inputs == {
        "apiVersion": "consul.hashicorp.com/v1alpha1",
        "kind": "ExportedServices",
        "metadata": {"name": "default", "namespace": "edge"},
        "spec": {
            "services": [
                {"name": "inventory", "consumers": [{"peer": "south"}]},
                {"name": "ledger", "consumers": [{"peer": "south"}, {"peer": "east"}]},
            ]
        },
    }
    quiet, built = _build(wire=False, exports={})
    assert not [r for r in quiet.resources if r.name.endswith("exported-services")]
    assert pulumi.runtime.sync_await._sync_await(built[0].exported_services_name.future()) == ""


def test_a_dialer_refuses_a_peer_with_its_own_datacenter() -> None:
    error = run_alone_expecting_failure(_program([], wire=False, datacenter="east"))
    assert "its datacenter 'east' is this stack's" in str(error)


def test_without_a_consul_provider_it_is_refused() -> None:
    error = run_alone_expecting_failure(_program([], wire=False, with_provider=False))
    assert "needs the Consul provider in its options" in str(error)


def test_the_wire_form_builds_the_same_resources(alone: tuple[ProgramRun, ClusterPeering]) -> None:
    run, _ = alone
    wire_run, _ = _build(wire=True)
    assert recorded_shape(wire_run) == recorded_shape(run)
    assert sorted(wire_run.reads) == sorted(run.reads)
