"""Run bootstrap/__main__.py under mocks (as tests/harness.py runs the mesh program) and record what it registers."""

from __future__ import annotations

import runpy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from secure_mesh.offline.program_run import (
    MockOutputs,
    ProgramMocks,
    ProgramRun,
    RecordingMonitor,
    RegisteredResource,
    _resolve,
    reset_runtime,
)
from secure_mesh_bootstrap.settings import CONFIG_NAMESPACE
from tests.harness import PROJECT_DIR

BOOTSTRAP_DIR = PROJECT_DIR / "bootstrap"
ACCOUNT = "111122223333"

MOCK_OUTPUTS: dict[str, MockOutputs] = {
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": lambda name, inputs: {
        "arn": f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
    },
    "aws:kms/key:Key": lambda name, inputs: {
        "arn": f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/11111111-2222-3333-4444-555555555555",
        "keyId": "11111111-2222-3333-4444-555555555555",
    },
    "aws:iam/role:Role": lambda name, inputs: {"arn": f"arn:aws:iam::{ACCOUNT}:role/{inputs['name']}"},
}
"""What AWS computes for the resources whose outputs the program uses (ARNs, the key ID)."""


def load_bootstrap_config(stack: str = "prod") -> dict[str, Any]:
    """``bootstrap/Pulumi.<stack>.yaml``'s config without the namespace."""
    document = yaml.safe_load((BOOTSTRAP_DIR / f"Pulumi.{stack}.yaml").read_text())
    prefix = f"{CONFIG_NAMESPACE}:"
    return {key[len(prefix) :]: value for key, value in document["config"].items() if key.startswith(prefix)}


def _start(config: Mapping[str, Any], preview: bool) -> RecordingMonitor:
    mocks = ProgramMocks(MOCK_OUTPUTS)
    monitor = RecordingMonitor(mocks)
    reset_runtime()
    pulumi.runtime.set_mocks(mocks, project=CONFIG_NAMESPACE, stack="prod", preview=preview, monitor=monitor)
    project = yaml.safe_load((BOOTSTRAP_DIR / "Pulumi.yaml").read_text())
    import json

    wire = {key: json.dumps(spec["value"]) for key, spec in project["config"].items()}
    wire |= {f"{CONFIG_NAMESPACE}:{key}": json.dumps(value) for key, value in config.items()}
    pulumi.runtime.set_all_config(wire, [])
    return monitor


def _main() -> None:
    runpy.run_path(str(BOOTSTRAP_DIR / "__main__.py"), run_name="__main__")


def run_bootstrap(config: Mapping[str, Any], preview: bool = True) -> ProgramRun:
    """Run the bootstrap program with this config under mocks; every registered resource and the outputs."""
    monitor = _start(config, preview)
    _sync_await(run_pulumi_func(_main))
    root = pulumi.runtime.get_root_resource()
    outputs = {name: _resolve(value)[0] for name, value in (getattr(root, "outputs", None) or {}).items()}
    return ProgramRun(resources=list(monitor.recorded), outputs=outputs, secret_outputs=frozenset())


def run_bootstrap_expecting_failure(config: Mapping[str, Any]) -> tuple[BaseException, list[RegisteredResource]]:
    """Run with config that must be refused; the error and whatever was registered before it."""
    monitor = _start(config, True)
    try:
        _sync_await(run_pulumi_func(_main))
    except BaseException as error:  # handed back to the caller
        return error, list(monitor.recorded)
    raise AssertionError("the bootstrap program accepted a configuration it should refuse")


__all__ = ["BOOTSTRAP_DIR", "Path", "load_bootstrap_config", "run_bootstrap", "run_bootstrap_expecting_failure"]
