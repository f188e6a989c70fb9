"""The Pulumi YAML program of examples/yaml-program (issue 15 item 5): checked against the schema, run under mocks."""

from __future__ import annotations

import copy
import json
from typing import Any

import pulumi_kubernetes as kubernetes
import pytest

import secure_mesh
from secure_mesh.component_package import PACKAGE_NAME, hosted_components
from tests.package.support import PROJECT_DIR, SCHEMA_FILE
from tests.package.yaml_program import ProgramChecker, YamlProgram, run_program

PROGRAM_FILE = PROJECT_DIR / "examples" / "yaml-program" / "Pulumi.yaml"
PROVIDERS: dict[str, Any] = {"kubernetes": kubernetes.Provider}


def _program() -> YamlProgram:
    return YamlProgram.load(PROGRAM_FILE)


def _schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA_FILE.read_text())
    return loaded


def test_the_program_uses_the_package_from_this_checkout() -> None:
    program = _program()
    assert program.document["runtime"] == "yaml"
    assert (PROGRAM_FILE.parent / program.document["packages"][PACKAGE_NAME]).resolve() == PROJECT_DIR / "provider"
    assert program.component_resources(), "the example uses no component of the package"


def test_every_property_the_program_sets_matches_the_schema() -> None:
    assert ProgramChecker(_program(), _schema()).check() == []


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda r: r["consul"]["properties"].pop("chart"), "consul: required properties missing ['chart']"),
        (lambda r: r["consul"]["properties"].update(chartVersion=2), "consul.chartVersion: 2 is not a string"),
        (lambda r: r["consul"]["properties"].update(bogus=1), "consul: unknown properties ['bogus']"),
        (lambda r: r["consul"]["properties"].update(protect="${consul.status}"), "takes {'type': 'boolean'}"),
        (lambda r: r["consul"]["properties"].update(releaseName="${consul.nope}"), "has no output 'nope'"),
        (lambda r: r["consul"]["properties"].update(protect="yes ${datacenter}"), "an interpolated string"),
        (lambda r: r["consul"]["options"]["providers"].update(kubernetes="${consul}"), "not a kubernetes provider"),
        (lambda r: r["consul"]["properties"]["values"].update(x="${nothing}"), "${nothing} names nothing"),
    ],
)
def test_the_schema_check_of_the_program_catches_each_mistake(change: Any, problem: str) -> None:
    program = _program()
    document = copy.deepcopy(program.document)
    change(document["resources"])
    problems = ProgramChecker(YamlProgram(program.path, document), _schema()).check()
    assert any(problem in found for found in problems), problems


def test_the_program_runs_through_the_component_host_under_mocks() -> None:
    from pulumi.provider.experimental.component import ComponentProvider

    host = ComponentProvider(hosted_components(), PACKAGE_NAME, None, secure_mesh.__version__)
    program = _program()
    run = run_program(program, host, PROVIDERS)
    for name, resource in program.component_resources().items():
        (registered,) = [r for r in run.resources if r.type == resource["type"] and r.name == name]
        assert run.constructed[name] == registered.urn
        children = [r for r in run.resources if r.parent == registered.urn]
        assert children, f"{name} registered no resource"
    release = next(r for r in run.resources if r.type == "kubernetes:helm.sh/v3:Release")
    assert "pulumi:providers:kubernetes::kubernetes" in release.provider
    assert release.inputs["values"]["global"]["datacenter"] == "edge"
    assert release.inputs["namespace"] == "edge-consul"
    assert set(run.outputs) == set(program.document["outputs"])
    assert run.outputs["consulApi"] == "edge-consul-server"
