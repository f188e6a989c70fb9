"""Shared helpers of the Consul tests: stack settings with overrides, and the readable snapshot format."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from secure_mesh.layout import Layout
from secure_mesh.settings import Settings, load_settings
from tests.harness import deep_merge, load_stack_config

SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"
LICENSE = {"consulLicense"}


def stack_settings(stack: str, override: dict[str, Any] | None = None, secrets: set[str] | None = None) -> Settings:
    """A checked-in stack's settings, optionally with some keys overridden (validated like the program does)."""
    raw = deep_merge(load_stack_config(stack), override or {})
    return load_settings(raw, frozenset(secrets or ()))


def settings_and_layout(stack: str, override: dict[str, Any] | None = None, secrets: set[str] | None = None):
    settings = stack_settings(stack, override, secrets)
    return settings, Layout(settings)


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
