"""The offline review renders a stack without credentials or network, and writes no secret value."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from secure_mesh.consul.helm_values import build_consul_values
from secure_mesh.layout import Layout
from secure_mesh.offline.render import REDACTED, render_stack
from secure_mesh.settings import load_settings
from secure_mesh.settings.federation import primary_settings
from tests.conftest import stack_run
from tests.harness import PROJECT_DIR, ProgramRun, load_stack_config

_RENDERS: dict[str, Path] = {}


@pytest.fixture(scope="module", params=["dev", "prod", "peer-west", "fed-secondary"])
def rendered(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    stack = request.param
    if stack not in _RENDERS:
        out = tmp_path_factory.mktemp(f"render-{stack}")
        with NoNetwork():
            render_stack(PROJECT_DIR, stack, out)
        _RENDERS[stack] = out
    return stack, _RENDERS[stack]


class NoNetwork:
    """Refuse every outbound connection while rendering."""

    def __enter__(self) -> None:
        self._connect = socket.socket.connect

        def refuse(*_: Any, **__: Any) -> None:
            raise AssertionError("render tried to open a network connection")

        socket.socket.connect = refuse  # type: ignore[method-assign]

    def __exit__(self, *_: Any) -> None:
        socket.socket.connect = self._connect  # type: ignore[method-assign]


def _secret_values(run: ProgramRun) -> list[str]:
    return [
        value
        for resource in run.resources
        for key, value in resource.inputs.items()
        # The offline stand-in a recorded outputs file carries for a secret (peer-west's token) is no secret.
        if key in resource.secret_inputs and isinstance(value, str) and len(value) >= 8 and value != REDACTED
    ]


def test_render_writes_the_review_files(rendered: tuple[str, Path]) -> None:
    stack, out = rendered
    expected = {"inventory.json", "consul-values.yaml", "intentions.md", "vault-policies"}
    assert {p.name for p in out.iterdir()} >= expected
    inventory = json.loads((out / "inventory.json").read_text())
    assert inventory["stack"] == stack
    types = {entry["type"] for entry in inventory["resources"]}
    assert "kubernetes:helm.sh/v3:Release" in types and "vault:index/policy:Policy" in types


def test_rendered_helm_values_are_the_builders(rendered: tuple[str, Path]) -> None:
    stack, out = rendered
    settings = load_settings(load_stack_config(stack))
    layout = Layout(settings, primary_settings(settings, PROJECT_DIR))
    expected = build_consul_values(settings, layout)
    if layout.is_federation_secondary:  # the one value only the primary's (recorded) outputs hold
        recorded = json.loads((PROJECT_DIR / "stack-references" / "fed-primary.json").read_text())["outputs"]
        expected["global"]["federation"]["primaryGateways"] = [recorded["meshGatewayAddress"]]
    assert yaml.safe_load((out / "consul-values.yaml").read_text()) == expected


def test_rendered_policies_are_the_registered_documents(rendered: tuple[str, Path]) -> None:
    stack, out = rendered
    registered = {
        r.inputs["name"]: json.loads(r.inputs["policy"]) for r in stack_run(stack).of_type("vault:index/policy:Policy")
    }
    written = {p.stem: json.loads(p.read_text()) for p in (out / "vault-policies").iterdir()}
    assert written == registered


def test_rendered_files_hold_no_secret_value(rendered: tuple[str, Path]) -> None:
    stack, out = rendered
    # A federation secondary generates none of its own: its files must not hold its primary's either.
    primary = _secret_values(stack_run("fed-primary")) if stack == "fed-secondary" else []
    secrets = _secret_values(stack_run(stack)) + primary
    assert secrets, "the comparison needs the stack's generated secrets"
    for path in out.rglob("*"):
        if path.is_file():
            text = path.read_text()
            for secret in secrets:
                assert secret not in text, f"{path.name} contains a secret value"
    inventory = json.loads((out / "inventory.json").read_text())
    kv_secrets = [e for e in inventory["resources"] if e["type"] == "vault:kv/secretV2:SecretV2"]
    assert all(e["inputs"]["dataJson"] == REDACTED for e in kv_secrets)
    assert kv_secrets or stack == "fed-secondary", "every stack but a federation secondary holds Consul's secrets"


def test_intention_matrix_table_shows_allow_deny_and_l7(rendered: tuple[str, Path]) -> None:
    stack, out = rendered
    table = (out / "intentions.md").read_text()
    if stack == "dev":
        assert "| source \\ destination | api | ledger | payments | web |" in table
        assert "| **web** | allow | deny | deny | — |" in table
        assert "| **api** | — | allow | l7[POST prefix /payments.v1.Payments/] | deny |" in table
        assert "| **api-gateway** (gateway) | deny | deny | deny | allow |" in table


def test_the_policy_pack_passes_over_the_rendered_inventory(rendered: tuple[str, Path]) -> None:
    _, out = rendered
    result = subprocess.run(
        [sys.executable, str(PROJECT_DIR / "policy" / "check_inventory.py"), str(out / "inventory.json")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 mandatory" in result.stdout


def test_the_policy_pack_fails_a_weakened_inventory(rendered: tuple[str, Path], tmp_path: Path) -> None:
    _, out = rendered
    inventory = json.loads((out / "inventory.json").read_text())
    release = next(e for e in inventory["resources"] if e["inputs"].get("chart") == "consul")
    release["inputs"]["values"]["global"]["tls"]["enabled"] = False
    weakened = tmp_path / "inventory.json"
    weakened.write_text(json.dumps(inventory))
    result = subprocess.run(
        [sys.executable, str(PROJECT_DIR / "policy" / "check_inventory.py"), str(weakened)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "csl-tls" in result.stdout


def test_a_large_mesh_is_reviewed_as_rules_not_a_matrix() -> None:
    from benchmarks.generate import generate_config
    from secure_mesh.mesh.graph import build_graph
    from secure_mesh.offline.render import MATRIX_LIMIT, intention_matrix_markdown

    config, secrets = generate_config(MATRIX_LIMIT + 10)
    settings = load_settings(config, frozenset({f"databaseRootCredentials.{name}" for name in _db_apps(secrets)}))
    text = intention_matrix_markdown(settings)
    graph = build_graph(settings)
    assert "| destination | sources (access) |" in text
    listed = [line for line in text.splitlines() if line.startswith("| **")]
    assert len(listed) == len([e for e in graph.entries if e.destination != "*"])
    for entry in graph.entries:
        for rule in entry.sources:
            if entry.destination != "*":
                assert f"{rule.source} ({graph.access(rule.source, entry.destination).describe()})" in text


def _db_apps(secrets: dict[str, str]) -> list[str]:
    return list(json.loads(secrets["databaseRootCredentials"])) if "databaseRootCredentials" in secrets else []


def test_a_stack_reading_another_stacks_outputs_renders_offline_from_the_recorded_file(tmp_path: Path) -> None:
    # peer-west reads acme/secure-mesh/peer-east: offline, from stack-references/peer-east.json (no network).
    with NoNetwork():
        render_stack(PROJECT_DIR, "peer-west", tmp_path)
    inventory = json.loads((tmp_path / "inventory.json").read_text())
    (peering,) = [r for r in inventory["resources"] if r["type"] == "consul:index/peering:Peering"]
    assert peering["inputs"]["peerName"] == "east"
    assert peering["inputs"]["peeringToken"] == REDACTED
