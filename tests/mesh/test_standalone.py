"""MeshIntentions alone: built from a hand-written intention graph (no settings, no layout) under mocks.

Whole inputs of every entry in both renderings, the order Consul validates entries in (mesh → proxy-defaults →
service-defaults → intentions; agent/consul/state/config_entry.go ``validateProposedConfigEntryInGraph``) kept
by dependencies, the Consul provider reaching the config entries through the options, and the wire (dict) form
building the same resources.
"""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_consul as consul
import pulumi_kubernetes as kubernetes
import pytest

from secure_mesh.mesh.component import MeshIntentions, MeshIntentionsArgs
from secure_mesh.mesh.model import DEFAULT_DENY, DestinationEntry, HttpMatch, SourceRule
from secure_mesh.vocabulary import IntentionAction, IntentionsRendering, Protocol
from tests.consul.helpers import recorded_shape, run_alone, run_alone_expecting_failure, to_wire
from tests.harness import ProgramRun

CRD = "kubernetes:consul.hashicorp.com/v1alpha1:{}"
ENTRY = "consul:index/configEntry:ConfigEntry"
DEFAULTS = "consul:index/configEntryServiceDefaults:ConfigEntryServiceDefaults"
INTENTIONS = "consul:index/configEntryServiceIntentions:ConfigEntryServiceIntentions"
RELEASE = "stand-in-release"

GRAPH: dict[str, Any] = {
    "services": {"web": Protocol.HTTP, "api": Protocol.HTTP, "db": Protocol.TCP},
    "intentions": (
        DestinationEntry(
            "api", (SourceRule("web", permissions=(HttpMatch(path_prefix="/v1/", methods=("GET", "POST")),)),)
        ),
        DestinationEntry("db", (SourceRule("api", IntentionAction.ALLOW), SourceRule("web", IntentionAction.DENY))),
        DestinationEntry("*", (DEFAULT_DENY,)),
    ),
}
MESH_SPEC = {
    "allowEnablingPermissiveMutualTLS": False,
    "tls": {"incoming": {"tlsMinVersion": "TLSv1_3"}, "outgoing": {"tlsMinVersion": "TLSv1_3"}},
    "transparentProxy": {"meshDestinationsOnly": True},
}


def _program(
    built: list[MeshIntentions], wire: bool, with_provider: bool = True, as_data: bool = False, **fields: Any
) -> Any:
    """``as_data``: the release reaches the component only as ``consul_release`` (as in a YAML program)."""

    def program() -> None:
        release = kubernetes.core.v1.ConfigMap(RELEASE, data={"stands": "in"})
        providers = [consul.Provider("consul", address="consul.example:8501", scheme="https")] if with_provider else []
        status = {"consul_release": release.data.apply(lambda data: (data or {}).get("stands", ""))}
        args = MeshIntentionsArgs(**{**GRAPH, **fields, **(status if as_data else {})})
        built.append(
            MeshIntentions(
                "mesh",
                to_wire(args) if wire else args,
                pulumi.ResourceOptions(depends_on=[] if as_data else [release], providers=providers),
            )
        )

    return program


def _build(
    wire: bool, with_provider: bool = True, as_data: bool = False, **fields: Any
) -> tuple[ProgramRun, list[MeshIntentions]]:
    built: list[MeshIntentions] = []
    return run_alone(_program(built, wire, with_provider, as_data, **fields)), built


@pytest.fixture(scope="module")
def crds() -> tuple[ProgramRun, MeshIntentions]:
    run, built = _build(wire=False, namespace="mesh-system")
    return run, built[0]


@pytest.fixture(scope="module")
def entries() -> tuple[ProgramRun, MeshIntentions]:
    run, built = _build(
        wire=False, rendering=IntentionsRendering.CONFIG_ENTRIES, mesh_gateway_mode="local",
        peer_through_mesh_gateways=True,
    )
    return run, built[0]


def _mine(run: ProgramRun) -> dict[str, Any]:
    return {r.name: r for r in run.resources if r.name.startswith("mesh-")}


def _deps(run: ProgramRun, name: str) -> set[str]:
    return {run.by_urn(urn).name for urn in _mine(run)[name].dependencies}


def test_crds_whole_documents(crds: tuple[ProgramRun, MeshIntentions]) -> None:
    run, _ = crds

    def crd(kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        return {
            "apiVersion": "consul.hashicorp.com/v1alpha1",
            "kind": kind,
            "metadata": {"name": name, "namespace": "mesh-system"},
            "spec": spec,
        }

    assert {name: r.inputs for name, r in _mine(run).items()} == {
        "mesh-mesh": crd("Mesh", "mesh", MESH_SPEC),
        "mesh-proxy-defaults": crd("ProxyDefaults", "global", {"mutualTLSMode": "strict"}),
        **{
            f"mesh-{service}-defaults": crd(
                "ServiceDefaults", service, {"protocol": protocol, "mutualTLSMode": "strict"}
            )
            for service, protocol in (("web", "http"), ("api", "http"), ("db", "tcp"))
        },
        "mesh-api-intentions": crd(
            "ServiceIntentions",
            "api-intentions",
            {
                "destination": {"name": "api"},
                "sources": [
                    {
                        "name": "web",
                        "permissions": [
                            {"action": "allow", "http": {"pathPrefix": "/v1/", "methods": ["GET", "POST"]}}
                        ],
                    }
                ],
            },
        ),
        "mesh-db-intentions": crd(
            "ServiceIntentions",
            "db-intentions",
            {
                "destination": {"name": "db"},
                "sources": [{"name": "api", "action": "allow"}, {"name": "web", "action": "deny"}],
            },
        ),
        "mesh-default-deny": crd(
            "ServiceIntentions",
            "default-deny",
            {"destination": {"name": "*"}, "sources": [{"name": "*", "action": "deny"}]},
        ),
    }
    assert {r.type for r in _mine(run).values()} == {
        CRD.format(kind) for kind in ("Mesh", "ProxyDefaults", "ServiceDefaults", "ServiceIntentions")
    }


def test_config_entries_whole_inputs(entries: tuple[ProgramRun, MeshIntentions]) -> None:
    run, _ = entries
    mine = _mine(run)
    decoded = {
        name: {k: (json.loads(v) if k == "configJson" else v) for k, v in r.inputs.items()} for name, r in mine.items()
    }
    assert decoded == {
        "mesh-mesh": {
            "kind": "mesh",
            "name": "mesh",
            "configJson": {
                "AllowEnablingPermissiveMutualTLS": False,
                "Peering": {"PeerThroughMeshGateways": True},
                "TLS": {"Incoming": {"TLSMinVersion": "TLSv1_3"}, "Outgoing": {"TLSMinVersion": "TLSv1_3"}},
                "TransparentProxy": {"MeshDestinationsOnly": True},
            },
        },
        "mesh-proxy-defaults": {
            "kind": "proxy-defaults",
            "name": "global",
            "configJson": {"MeshGateway": {"Mode": "local"}, "MutualTLSMode": "strict"},
        },
        **{
            f"mesh-{service}-defaults": {
                "name": service,
                "protocol": protocol,
                "mutualTlsMode": "strict",
                "exposes": [{}],
            }
            for service, protocol in (("web", "http"), ("api", "http"), ("db", "tcp"))
        },
        "mesh-api-intentions": {
            "name": "api",
            "sources": [
                {
                    "name": "web",
                    "type": "consul",
                    "permissions": [{"action": "allow", "https": [{"pathPrefix": "/v1/", "methods": ["GET", "POST"]}]}],
                }
            ],
        },
        "mesh-db-intentions": {
            "name": "db",
            "sources": [
                {"name": "api", "type": "consul", "action": "allow"},
                {"name": "web", "type": "consul", "action": "deny"},
            ],
        },
        "mesh-default-deny": {"name": "*", "sources": [{"name": "*", "type": "consul", "action": "deny"}]},
    }
    provider = run.one("pulumi:providers:consul", "consul")
    for resource in mine.values():
        assert resource.provider.startswith(provider.urn), f"{resource} must write through the given Consul provider"
    assert {r.type for r in mine.values()} == {ENTRY, DEFAULTS, INTENTIONS}


@pytest.mark.parametrize("rendering", ["crds", "entries"])
def test_each_entry_waits_for_what_consul_checks_it_against(
    rendering: str, request: pytest.FixtureRequest
) -> None:
    run, _ = request.getfixturevalue(rendering)
    assert _deps(run, "mesh-mesh") == {RELEASE}
    assert _deps(run, "mesh-proxy-defaults") == {RELEASE, "mesh-mesh"}
    for service in ("web", "api", "db"):
        assert _deps(run, f"mesh-{service}-defaults") == {RELEASE, "mesh-mesh", "mesh-proxy-defaults"}
    # an L7 intention is refused before its destination's service-defaults say http
    assert _deps(run, "mesh-api-intentions") == {RELEASE, "mesh-api-defaults", "mesh-proxy-defaults"}
    assert _deps(run, "mesh-db-intentions") == {RELEASE, "mesh-db-defaults", "mesh-proxy-defaults"}
    assert _deps(run, "mesh-default-deny") == {RELEASE}


def test_a_secondary_writes_no_mesh_wide_entries() -> None:
    run, _ = _build(wire=False, owns_mesh_entries=False)
    # The `*` default deny is mesh-wide too: the primary's replicates (the graph still needs it to validate).
    assert sorted(_mine(run)) == [
        "mesh-api-defaults", "mesh-api-intentions", "mesh-db-defaults", "mesh-db-intentions", "mesh-web-defaults",
    ]
    assert _deps(run, "mesh-api-defaults") == {RELEASE}
    assert _deps(run, "mesh-api-intentions") == {RELEASE, "mesh-api-defaults"}


def test_outputs(entries: tuple[ProgramRun, MeshIntentions]) -> None:
    _, component = entries
    resolved = {
        key: pulumi.runtime.sync_await._sync_await(getattr(component, key).future())
        for key in MeshIntentions.__annotations__
    }
    assert resolved == {
        "rendering": "config-entries",
        "mesh_entry_name": "mesh",
        "proxy_defaults_name": "global",
        "service_defaults_names": ["web", "api", "db"],
        "intention_destinations": ["api", "db", "*"],
    }


def test_config_entries_without_a_consul_provider_are_refused() -> None:
    error = run_alone_expecting_failure(
        _program([], wire=False, with_provider=False, rendering=IntentionsRendering.CONFIG_ENTRIES)
    )
    assert "needs the Consul provider in its options" in str(error)


@pytest.mark.parametrize("rendering", ["crds", "entries"])
def test_the_wire_form_builds_the_same_resources(rendering: str, request: pytest.FixtureRequest) -> None:
    run, component = request.getfixturevalue(rendering)
    wire_run, _ = _build(wire=True, **{k: getattr(component.args, k) for k in ("rendering", "namespace",
                                                                                "mesh_gateway_mode",
                                                                                "peer_through_mesh_gateways")})
    assert recorded_shape(wire_run) == recorded_shape(run)


def test_the_release_as_an_input_holds_back_every_entry(crds: tuple[ProgramRun, MeshIntentions]) -> None:
    """What a YAML program passes (``consulRelease: ${consul.status}``) gives the children the same dependencies."""
    run, component = _build(wire=True, as_data=True, namespace="mesh-system")
    assert _deps(run, "mesh-mesh") == {RELEASE}
    assert _deps(run, "mesh-db-intentions") == {RELEASE, "mesh-db-defaults", "mesh-proxy-defaults"}
    own = "secure-mesh:index:MeshIntentions"  # only the component itself has no depends_on now
    assert [s for s in recorded_shape(run) if s[0] != own] == [s for s in recorded_shape(crds[0]) if s[0] != own]
    # The wire form's protocols are strings; the component works with the enum.
    assert component[0].services == {"web": Protocol.HTTP, "api": Protocol.HTTP, "db": Protocol.TCP}
    assert all(type(protocol) is Protocol for protocol in component[0].services.values())


@pytest.mark.parametrize(
    ("protocol", "shown"),
    [("https", "'https'"), ("HTTP", "'HTTP'"), ("", "''"), ({}, "{}"), (None, "None")],
)
def test_a_value_that_is_not_a_protocol_is_refused_before_anything_is_registered(protocol: Any, shown: str) -> None:
    """``{}`` is what Pulumi's component host made of an enum inside a map (why the field takes strings)."""
    args = {**to_wire(MeshIntentionsArgs(**GRAPH)), "services": {"web": "http", "api": protocol, "db": "tcp"}}
    with pytest.raises(ValueError) as error:
        MeshIntentions("mesh", args)
    assert str(error.value) == (
        f"MeshIntentionsArgs.services.api: {shown} is not a protocol; allowed: tcp, http, http2, grpc"
    )
