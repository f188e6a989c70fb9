"""Run the whole Pulumi program under mocks and return what it registered (the base of every program test).

``run_program(load_stack_config("dev"))`` executes ``__main__.py`` fresh with the stack's config and
returns a :class:`ProgramRun`: every registered resource with its type, name, parent, provider,
inputs, secret inputs, ``protect``, ``retain_on_delete``, ``additional_secret_outputs``,
``ignore_changes``, dependencies and order, plus the resolved stack outputs. The machinery lives in
``secure_mesh.offline.program_run`` (the offline review uses it too); canned computed outputs for
mocked resources (CSRs, random bytes, …) come from the modules in ``tests/mocks/``.
"""

from __future__ import annotations

import importlib
import pkgutil
import runpy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from secure_mesh.offline import program_run as engine
from secure_mesh.offline.program_run import (
    MockOutputs,
    ProgramMocks,
    ProgramRun,
    RecordingMonitor,
    RegisteredResource,
    deep_merge,
)

PROJECT_DIR = Path(__file__).resolve().parent.parent
PROJECT = "secure-mesh"
STACKS = sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in PROJECT_DIR.glob("Pulumi.*.yaml"))
EXAMPLE_STACKS = ("fed-primary", "fed-secondary", "peer-east", "peer-west")
"""Multi-cluster examples (docs/multi-cluster.md): run under mocks by every test, rendered offline and checked by
the policy pack in the pull-request pipeline, but not previewed, deployed or drift-checked by CI — they need two
clusters and a shared Vault the pipelines have no credentials for."""
DEPLOYED_STACKS = [stack for stack in STACKS if stack not in EXAMPLE_STACKS]
"""The stacks the pipelines preview, deploy and drift-check."""

__all__ = [
    "DEPLOYED_STACKS",
    "EXAMPLE_STACKS",
    "PROJECT",
    "PROJECT_DIR",
    "STACKS",
    "ProgramMocks",
    "ProgramRun",
    "RecordingMonitor",
    "RegisteredResource",
    "deep_merge",
    "layout_of_run",
    "load_stack_config",
    "run_program",
    "run_program_expecting_failure",
    "run_stack",
    "stack_of_run",
]


def _collect_mock_outputs() -> dict[str, MockOutputs]:
    """Canned computed outputs by resource type, from every module in ``tests/mocks``."""
    from tests import mocks as mocks_package

    found: dict[str, MockOutputs] = {}
    for module_info in pkgutil.iter_modules(mocks_package.__path__):
        module = importlib.import_module(f"tests.mocks.{module_info.name}")
        found.update(getattr(module, "OUTPUTS", {}))
    return found


def _main() -> None:
    runpy.run_path(str(PROJECT_DIR / "__main__.py"), run_name="__main__")


_reset_runtime = engine.reset_runtime
_resolve = engine._resolve


def load_stack_config(stack: str) -> dict[str, Any]:
    """A stack file's ``secure-mesh:*`` config as plain Python values, keys without the namespace."""
    return engine.load_stack_config(PROJECT_DIR, stack)


def run_program(
    config: Mapping[str, Any],
    secrets: Mapping[str, str] | None = None,
    stack: str = "test",
    preview: bool = False,
) -> ProgramRun:
    """Run ``__main__.py`` fresh under mocks with this config and return everything it registered."""
    return engine.run_program(_main, PROJECT_DIR, config, secrets, stack, preview, _collect_mock_outputs())


def run_program_expecting_failure(
    config: Mapping[str, Any], secrets: Mapping[str, str] | None = None
) -> tuple[BaseException, list[RegisteredResource]]:
    """Run the program with config that must be rejected; return the error and whatever was registered."""
    return engine.run_program_expecting_failure(_main, PROJECT_DIR, config, secrets, _collect_mock_outputs())


def stack_of_run(run: ProgramRun) -> str:
    """The stack a run was made for (the ``<stack>`` of ``urn:pulumi:<stack>::<project>::…``)."""
    return run.resources[0].urn.split("::")[0].removeprefix("urn:pulumi:")


def layout_of_run(run: ProgramRun) -> Any:
    """The :class:`secure_mesh.layout.Layout` of the checked-in stack a run was made for (with its primary's
    settings in a federation secondary, as the program builds it)."""
    from secure_mesh.layout import Layout
    from secure_mesh.settings import load_settings
    from secure_mesh.settings.federation import primary_settings

    settings = load_settings(load_stack_config(stack_of_run(run)))
    return Layout(settings, primary_settings(settings, PROJECT_DIR))


def run_stack(stack: str, preview: bool = False, secrets: Mapping[str, str] | None = None) -> ProgramRun:
    """Run the program with one ``Pulumi.<stack>.yaml`` exactly as checked in."""
    return run_program(load_stack_config(stack), secrets=secrets, stack=stack, preview=preview)
