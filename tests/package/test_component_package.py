"""The Pulumi component package (issue 15 item 4): ``provider/`` hosts every public component, schema committed."""

from __future__ import annotations

import copy
import json
import runpy
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pytest
import yaml
from pulumi.provider.experimental import host as provider_host
from pulumi.provider.experimental.component import ComponentProvider

import secure_mesh
from secure_mesh.component_package import (
    PACKAGE_NAME,
    analyzable,
    hosted_components,
    package_schema,
    package_schema_text,
    public_components,
    regenerate_component_reference,
)
from secure_mesh.vocabulary import ChainName
from tests.package.fixture_component import FixtureMount
from tests.package.schema_checks import schema_problems
from tests.package.support import PROJECT_DIR, PROVIDER_DIR, REGENERATE_SCHEMA, SCHEMA_FILE

# ------------------------------------------------------------------------------------------- the plugin folder


def test_the_plugin_manifest_names_only_the_python_runtime() -> None:
    """Python component providers support only the pip toolchain with a venv named ``venv``: no other option."""
    assert yaml.safe_load((PROVIDER_DIR / "PulumiPlugin.yaml").read_text()) == {"runtime": "python"}


def test_the_plugin_requirements_install_the_pinned_runtime_and_this_package() -> None:
    """Pulumi runs ``pip install -r requirements.txt`` inside provider/: both lines resolve from there."""
    lines = [
        line.strip()
        for line in (PROVIDER_DIR / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines == ["-r ../requirements.txt", ".."]
    assert (PROVIDER_DIR / "../requirements.txt").resolve() == PROJECT_DIR / "requirements.txt"
    package_dir = (PROVIDER_DIR / "..").resolve()
    assert tomllib.loads((package_dir / "pyproject.toml").read_text())["project"]["name"] == "secure-mesh"


@dataclass
class HostedProvider:
    """What ``provider/__main__.py`` handed to the gRPC server."""

    provider: ComponentProvider
    args: list[str]


def run_plugin(monkeypatch: pytest.MonkeyPatch) -> HostedProvider:
    """Run ``provider/__main__.py`` as the language host does, catching the provider instead of serving it."""
    captured: list[HostedProvider] = []
    monkeypatch.setattr(provider_host, "is_hosting", False)
    monkeypatch.setattr(provider_host, "main", lambda provider, args: captured.append(HostedProvider(provider, args)))
    monkeypatch.setattr("sys.argv", [str(PROVIDER_DIR), "127.0.0.1:12345"])
    runpy.run_path(str(PROVIDER_DIR / "__main__.py"), run_name="__main__")
    (hosted,) = captured
    return hosted


def test_the_plugin_hosts_every_public_component_and_serves_the_committed_schema(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if not public_components():  # until the first refactored component lands, there is nothing to host
        with pytest.raises(Exception, match="No components found"):
            run_plugin(monkeypatch)
        assert not SCHEMA_FILE.exists()
        return
    hosted = run_plugin(monkeypatch)
    assert hosted.args == ["127.0.0.1:12345"]
    assert hosted.provider.version == secure_mesh.__version__
    assert sorted(hosted.provider._components) == sorted(c.__name__ for c in public_components())
    assert hosted.provider.schema is not None
    assert json.loads(hosted.provider.schema) == json.loads(SCHEMA_FILE.read_text())


# ------------------------------------------------------------------------------------------- the schema


def committed_schema() -> dict[str, Any] | None:
    """provider/schema.json, or None before any component is public (then the file must not exist either)."""
    if not public_components():
        assert not SCHEMA_FILE.exists(), f"no public component, yet {SCHEMA_FILE.name} exists"
        return None
    loaded: dict[str, Any] = json.loads(SCHEMA_FILE.read_text())
    return loaded


def test_the_committed_schema_is_what_the_code_generates() -> None:
    if committed_schema() is None:
        return
    assert SCHEMA_FILE.read_text() == package_schema_text(), (
        f"provider/schema.json is out of date with the components' annotations: run `{REGENERATE_SCHEMA}` "
        "(with the checkout's secure_mesh on the path) and commit it"
    )


def test_every_public_component_is_in_the_schema_with_typed_documented_inputs_and_outputs() -> None:
    schema = committed_schema()
    if schema is not None:
        assert schema_problems(schema, public_components()) == []


def test_the_schema_names_the_package_and_its_version() -> None:
    schema = committed_schema()
    if schema is None:
        return
    named = (schema["name"], schema["displayName"], schema["version"])
    assert named == (PACKAGE_NAME, PACKAGE_NAME, secure_mesh.__version__)
    assert schema["dependencies"] == []


def test_the_component_reference_in_the_docs_is_the_schema() -> None:
    page = PROJECT_DIR / "docs" / "components.md"
    schema = committed_schema()
    if schema is None:
        return
    assert regenerate_component_reference(page.read_text(), schema) == page.read_text(), (
        "docs/components.md's component reference is out of date: run `python -m secure_mesh package-schema --docs`"
    )
    for component in public_components():
        assert f"### {component.__name__}\n" in page.read_text()


# -------------------------------------------------------------------- the machinery, on a fixture component


def test_annotations_written_as_strings_are_read_and_defaults_are_optional() -> None:
    schema = package_schema([FixtureMount])
    assert schema_problems(schema, [FixtureMount]) == []
    resource = schema["resources"]["secure-mesh:index:FixtureMount"]
    assert resource["requiredInputs"] == ["chain", "description", "path", "tune"]
    assert schema["types"]["secure-mesh:index:FixtureTuneArgs"]["required"] == ["defaultTtlSeconds"]
    assert resource["inputProperties"]["description"] == {
        "description": "The mount's description (another resource may compute it).",
        "type": "string",
    }, "a pulumi.Input is not plain"
    assert resource["inputProperties"]["tune"]["$ref"] == "#/types/secure-mesh:index:FixtureTuneArgs"


def _tampered(schema: dict[str, Any], path: Sequence[str], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(schema)
    target = changed
    for key in path[:-1]:
        target = target[key]
    if value is None:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return changed


RESOURCE = ("resources", "secure-mesh:index:FixtureMount")


@pytest.mark.parametrize(
    ("path", "value", "problem"),
    [
        ((*RESOURCE, "inputProperties", "path", "description"), None, "input.path: no description"),
        ((*RESOURCE, "properties", "accessor", "type"), "integer", "output accessor: schema says"),
        ((*RESOURCE, "inputProperties", "tags", "items"), {"$ref": "pulumi.json#/Any"}, "pulumi.json#/Any"),
        ((*RESOURCE, "requiredInputs"), ["chain", "path", "tune"], "required ['chain', 'path', 'tune']"),
        ((*RESOURCE, "inputProperties", "sealWrap"), None, "schema properties"),
        (("types", "secure-mesh:index:ChainName", "enum"), [{"name": "SERVER", "value": "server"}], "enum"),
        (("types", "secure-mesh:index:FixtureTuneArgs", "description"), None, "FixtureTuneArgs: no description"),
        (("resources", "secure-mesh:index:FixtureMount"), None, "FixtureMount: not in the schema"),
    ],
)
def test_the_schema_check_finds_each_kind_of_problem(path: Sequence[str], value: Any, problem: str) -> None:
    schema = _tampered(package_schema([FixtureMount]), path, value)
    problems = schema_problems(schema, [FixtureMount])
    assert any(problem in found for found in problems), problems


class _Loose(pulumi.ComponentResource):
    """Not the contract: an Any field, an undocumented field, a plain class-level attribute."""

    ready: list[str]

    def __init__(self, name: str, args: _LooseArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("secure-mesh:index:_Loose", name, None, opts)


@dataclass(frozen=True)
class _LooseArgs:
    """Loose inputs."""

    anything: Any
    undocumented: str
    chains: Sequence[ChainName] = ()
    """A list of an enum."""
    chain_by_name: Mapping[str, Sequence[ChainName]] | None = None
    """A map of lists of an enum."""


def test_the_schema_check_refuses_what_the_contract_forbids() -> None:
    problems = schema_problems(package_schema([_Loose]), [_Loose])
    for expected in (
        "input.anything: typing.Any is not a type the schema can carry",
        "input.undocumented: no description",
        "output ready: class-level annotations are outputs and must be pulumi.Output[T]",
        "the schema types 1 properties as pulumi.json#/Any, 0 free-form fields",
        "input.chains: a list or map of the enum ChainName cannot cross the component host",
        "input.chainByName: a list or map of the enum ChainName cannot cross the component host",
    ):
        assert any(expected in found for found in problems), (expected, problems)
    assert len([found for found in problems if "cannot cross the component host" in found]) == 2, problems


# -------------------------------------------------------------------- construct, as the host does it, under mocks


def construct_under_mocks(
    provider: ComponentProvider,
    requests: Sequence[tuple[str, str, Mapping[str, Any]]],
    provider_for: Mapping[str, Any] | None = None,
) -> tuple[list[Any], dict[str, dict[str, Any]]]:
    """Call ``provider.construct`` for each (name, type, wire inputs) in one mocked program; return what registered.

    Returns the registered resources and each construct's resolved state (the outputs the host sends back).
    """
    import pulumi_vault as vault

    from secure_mesh.offline import program_run as engine

    states: dict[str, dict[str, Any]] = {}

    def program() -> None:
        vault_provider = vault.Provider("vault", address="https://vault.example:8200", token="t", skip_child_token=True)
        for name, type_token, inputs in requests:
            options = pulumi.ResourceOptions(providers=[vault_provider])
            result = provider.construct(name, type_token, dict(inputs), options)
            states[name] = {key: engine._resolve(value)[0] for key, value in result.state.items()}
            states[name]["urn"] = engine._resolve(result.urn)[0]

    run = engine.run_program(program, PROJECT_DIR, {}, stack="package")
    return run.resources, states


def test_the_host_constructs_a_component_from_its_wire_inputs() -> None:
    provider = ComponentProvider([FixtureMount], PACKAGE_NAME, None, secure_mesh.__version__)
    wire = {
        "path": "pki-fixture",
        "chain": "server",
        "tune": {"defaultTtlSeconds": 3600.0},
        "description": "fixture mount",
        "labels": {"team": "mesh"},
    }
    resources, states = construct_under_mocks(provider, [("fixture", "secure-mesh:index:FixtureMount", wire)])
    component = next(r for r in resources if r.type == "secure-mesh:index:FixtureMount")
    mount = next(r for r in resources if r.type == "vault:index/mount:Mount")
    assert component.name == "fixture"
    assert mount.parent == component.urn
    assert "pulumi:providers:vault::vault" in mount.provider
    assert mount.inputs == {
        "path": "pki-fixture",
        "type": "pki",
        "description": "fixture mount",
        "defaultLeaseTtlSeconds": 3600,
        "maxLeaseTtlSeconds": 86400,
        "options": {"chain": "server", "team": "mesh"},
    }
    assert states["fixture"]["urn"] == component.urn
    assert states["fixture"]["mountPath"] == "pki-fixture"


def test_the_host_refuses_a_missing_required_input() -> None:
    provider = ComponentProvider([FixtureMount], PACKAGE_NAME, None, secure_mesh.__version__)
    with pytest.raises(Exception, match="Missing required input 'tune' on 'FixtureMount'"):
        wire = {"path": "p", "chain": "server", "description": "d"}
        provider.map_inputs(wire, provider._component_defs["FixtureMount"])



def test_the_host_hands_mesh_intentions_every_protocol_action_and_rule_as_given() -> None:
    """MeshIntentions' wire inputs through the real host (map_inputs, then the constructor): nothing is lost.

    Every protocol in ``services`` (strings in the schema), both actions nested in ``intentions[].sources[]``
    (an enum property of objects in a list, which the host converts), L7 permissions, a peer source and the
    ``rendering`` enum.
    """
    from secure_mesh.args import coerce_args
    from secure_mesh.mesh.component import MeshIntentions, MeshIntentionsArgs
    from secure_mesh.mesh.model import DestinationEntry, HttpMatch, SourceRule
    from secure_mesh.vocabulary import IntentionAction, IntentionsRendering, Protocol

    received: list[Any] = []
    built: list[MeshIntentions] = []

    class Recording(MeshIntentions):
        def __init__(self, name: str, args: MeshIntentionsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
            received.append(copy.deepcopy(args))
            super().__init__(name, args, opts)
            built.append(self)

    provider = ComponentProvider(hosted_components(), PACKAGE_NAME, None, secure_mesh.__version__)
    provider._components["MeshIntentions"] = Recording
    rules = [{"pathPrefix": "/ledger.v1.Ledger/", "methods": ["POST"]}, {"pathExact": "/health"}]
    wire = {
        "services": {"web": "http", "ledger": "grpc", "stream": "http2", "db": "tcp"},
        "intentions": [
            {"destination": "ledger", "sources": [{"source": "web", "permissions": rules, "origin": "hand"}]},
            {
                "destination": "db",
                "sources": [
                    {"source": "ledger", "action": "allow"},
                    {"source": "web", "action": "deny"},
                    {"source": "api", "peer": "core", "action": "allow"},
                ],
            },
            {"destination": "*", "sources": [{"source": "*", "action": "deny"}]},
        ],
        "rendering": "crds",
        "namespace": "edge-consul",
        "meshGatewayMode": "local",
    }
    resources, _ = construct_under_mocks(provider, [("mesh", "secure-mesh:index:MeshIntentions", wire)])
    (mapped,) = received
    assert mapped == {
        "services": {"web": "http", "ledger": "grpc", "stream": "http2", "db": "tcp"},
        "intentions": [
            {
                "destination": "ledger",
                "sources": [
                    {
                        "source": "web",
                        "permissions": [
                            {"path_prefix": "/ledger.v1.Ledger/", "methods": ["POST"]},
                            {"path_exact": "/health"},
                        ],
                        "origin": "hand",
                    }
                ],
            },
            {
                "destination": "db",
                "sources": [
                    {"source": "ledger", "action": IntentionAction.ALLOW},
                    {"source": "web", "action": IntentionAction.DENY},
                    {"source": "api", "peer": "core", "action": IntentionAction.ALLOW},
                ],
            },
            {"destination": "*", "sources": [{"source": "*", "action": IntentionAction.DENY}]},
        ],
        "rendering": IntentionsRendering.CRDS,
        "namespace": "edge-consul",
        "mesh_gateway_mode": "local",
    }
    actions = [rule["action"] for entry in mapped["intentions"] for rule in entry["sources"] if "action" in rule]
    assert {type(action) for action in actions} == {IntentionAction}
    assert coerce_args(MeshIntentionsArgs, mapped) == MeshIntentionsArgs(
        services=wire["services"],
        intentions=(
            DestinationEntry(
                "ledger",
                (
                    SourceRule(
                        "web",
                        permissions=(
                            HttpMatch(path_prefix="/ledger.v1.Ledger/", methods=("POST",)),
                            HttpMatch(path_exact="/health"),
                        ),
                        origin="hand",
                    ),
                ),
            ),
            DestinationEntry(
                "db",
                (
                    SourceRule("ledger", IntentionAction.ALLOW),
                    SourceRule("web", IntentionAction.DENY),
                    SourceRule("api", IntentionAction.ALLOW, peer="core"),
                ),
            ),
            DestinationEntry("*", (SourceRule("*", IntentionAction.DENY),)),
        ),
        namespace="edge-consul",
        mesh_gateway_mode="local",
    )
    (component,) = built
    assert component.services == {
        "web": Protocol.HTTP, "ledger": Protocol.GRPC, "stream": Protocol.HTTP2, "db": Protocol.TCP,
    }
    defaults = {r.name: r.inputs["spec"]["protocol"] for r in resources if r.type.endswith(":ServiceDefaults")}
    assert defaults == {"mesh-web-defaults": "http", "mesh-ledger-defaults": "grpc",
                        "mesh-stream-defaults": "http2", "mesh-db-defaults": "tcp"}


@dataclass(frozen=True)
class EnumPickArgs:
    """An object with an enum property."""

    chain: ChainName
    """The chain picked."""


@dataclass(frozen=True)
class EnumItemsArgs:
    """Enums where the component host meets them: in a map, in a list, as a property of objects in a list."""

    by_name: Mapping[str, ChainName]
    """An enum per name."""
    listed: Sequence[ChainName]
    """A list of an enum."""
    picks: Sequence[EnumPickArgs]
    """A list of objects with an enum property."""


class EnumItems(pulumi.ComponentResource):
    """A component whose inputs hold enums inside lists and maps."""

    count: pulumi.Output[int]
    """How many enums it received."""

    def __init__(self, name: str, args: EnumItemsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("secure-mesh:index:EnumItems", name, None, opts)


def test_the_host_maps_an_enum_inside_a_list_or_map_as_an_empty_object() -> None:
    """The upstream behaviour behind the schema rule above and MeshIntentionsArgs.services taking strings.

    pulumi 3.272, pulumi/provider/experimental/component.py, ``ComponentProvider.map_input_properties``: an enum
    is converted where a property refers to it (``picks[].chain``); a list's or map's items that are an enum go
    through the object branch and come out as ``{}``. When a Pulumi upgrade fixes that, this fails: the rule in
    tests/package/schema_checks.py and the string-typed fields can then go.
    """
    provider = ComponentProvider([analyzable(EnumItems)], PACKAGE_NAME, None, secure_mesh.__version__)
    wire = {"byName": {"a": "server"}, "listed": ["server"], "picks": [{"chain": "server"}]}
    mapped = provider.map_inputs(wire, provider._component_defs["EnumItems"])
    assert mapped == {"by_name": {"a": {}}, "listed": [{}], "picks": [{"chain": ChainName.SERVER}]}
    assert type(mapped["picks"][0]["chain"]) is ChainName


def test_the_python_example_of_the_docs_runs_under_mocks() -> None:
    """docs/components.md "From Python" is a program: run it as written."""
    from secure_mesh.offline import program_run as engine

    page = (PROJECT_DIR / "docs" / "components.md").read_text()
    section = page.split("## From Python", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    run = engine.run_program(lambda: exec(compile(code, "components.md", "exec"), {}), PROJECT_DIR, {}, stack="docs")
    (component,) = [r for r in run.resources if r.type == "secure-mesh:index:ConsulCluster"]
    release = next(r for r in run.resources if r.type == "kubernetes:helm.sh/v3:Release")
    assert release.parent == component.urn
    assert "pulumi:providers:kubernetes::edge" in release.provider
    assert release.inputs["chart"] == "consul"
    assert release.inputs["version"] == "2.0.3"
    assert set(run.outputs) == {"consulStatus"}
