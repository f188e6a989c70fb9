"""Shared helpers of the Consul tests: stack settings with overrides, and the readable snapshot format."""

from __future__ import annotations

import dataclasses
import enum
import gc
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from secure_mesh.layout import Layout
from secure_mesh.offline import program_run as engine
from secure_mesh.settings import Settings, load_settings
from secure_mesh.settings.federation import primary_settings
from tests.harness import PROJECT_DIR, ProgramRun, _collect_mock_outputs, deep_merge, load_stack_config

SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"
LICENSE = {"consulLicense"}


def stack_settings(stack: str, override: dict[str, Any] | None = None, secrets: set[str] | None = None) -> Settings:
    """A checked-in stack's settings, optionally with some keys overridden (validated like the program does)."""
    raw = deep_merge(load_stack_config(stack), override or {})
    return load_settings(raw, frozenset(secrets or ()))


def settings_and_layout(stack: str, override: dict[str, Any] | None = None, secrets: set[str] | None = None):
    """A stack's settings and layout (a federation secondary's with its primary's settings, as the program has it)."""
    settings = stack_settings(stack, override, secrets)
    return settings, Layout(settings, primary_settings(settings, PROJECT_DIR))


class _SnapshotDumper(yaml.SafeDumper):
    """Readable YAML: multi-line strings as literal blocks, keys in the builder's order."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_SnapshotDumper.add_representer(str, _str)


def render_snapshot(values: dict[str, Any]) -> str:
    header = "# Consul chart values built by components/consul/helm_values.py (regenerate: UPDATE_SNAPSHOTS=1 pytest)\n"
    return header + yaml.dump(values, Dumper=_SnapshotDumper, sort_keys=False, default_flow_style=False, width=120)


def snapshot(stack: str, values: dict[str, Any]) -> dict[str, Any]:
    """The checked-in snapshot of a stack's values (rewritten first when UPDATE_SNAPSHOTS is set)."""
    path = SNAPSHOTS / f"{stack}-values.yaml"
    if os.environ.get("UPDATE_SNAPSHOTS"):
        path.write_text(render_snapshot(values))
    loaded: dict[str, Any] = yaml.safe_load(path.read_text())
    return loaded


def run_alone(program: Callable[[], object], stack: str = "standalone") -> ProgramRun:
    """Run a program of components built from hand-written Args (no stack config, no settings) under mocks."""
    run = engine.run_program(program, PROJECT_DIR, {}, None, stack, False, _collect_mock_outputs())
    gc.collect()  # the run's garbage now, not inside a later test (its finalizers would run there)
    return run


def to_wire(value: Any) -> Any:
    """An ``...Args`` value in the component provider host's form: nested dicts and lists, enums as strings.

    Pulumi Inputs (Outputs) stay as they are: the host hands a component Outputs where the caller passed them.
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_wire(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Mapping):
        return {key: to_wire(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_wire(item) for item in value]
    return value


def recorded_shape(run: ProgramRun) -> list[tuple[Any, ...]]:
    """Everything a run registered that a resource's identity and behaviour depend on, by type and name.

    (Registration order is left out: resources whose inputs wait on Outputs register when those resolve.)
    """
    return sorted([
        (
            r.type, r.name, r.urn, r.parent, r.provider, r.inputs, r.secret_inputs, r.protect,
            sorted(r.dependencies), {k: sorted(v) for k, v in r.property_dependencies.items()},
            r.additional_secret_outputs, r.ignore_changes,
        )
        for r in run.resources
    ], key=lambda shape: (shape[0], shape[1]))


def run_alone_expecting_failure(program: Callable[[], object]) -> BaseException:
    """Run a program of components that must refuse their Args; return the error (the engine's own handling)."""
    error, _ = engine.run_program_expecting_failure(program, PROJECT_DIR, {}, None, _collect_mock_outputs())
    # Collect the rejected run's futures now: their finalizers (asyncio's "exception never retrieved") would
    # otherwise run inside whatever a later test does, e.g. during ast.parse, which CPython 3.11.7 then refuses
    # ("AST constructor recursion depth mismatch").
    gc.collect()
    return error
