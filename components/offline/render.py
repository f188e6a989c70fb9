"""The offline review: what a stack would create, written to files without credentials or network.

``python -m secure_mesh render --stack dev --out build/dev`` runs the program as a preview under
mocks and writes:

* ``inventory.json`` – every resource (type, name, parent, provider, options, inputs) with secret
  inputs replaced by ``[secret]``; the policy pack's rules run over this file
  (``python policy/offline.py build/dev/inventory.json``);
* ``consul-values.yaml`` – the Consul chart's values exactly as the release receives them;
* ``vault-policies/<name>.json`` – every Vault policy document;
* ``intentions.md`` – the allow/deny matrix of the mesh's declared services;
* a summary on the terminal.

It is what a pull request from a fork gets instead of a preview: no secret value is needed to
produce it, and none is written (encrypted stack values are replaced by a placeholder before the
program runs).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..command_errors import CommandError
from ..mesh.graph import build_graph
from ..settings import Settings, load_settings, split_stack_config
from ..settings.consistency import (
    DATABASE_ROOT_CREDENTIALS,
    SECRET_OBJECT_KEYS,
    UNKNOWN_NAMES,
    secret_object_entry,
)
from .program_run import ProgramRun, RegisteredResource, load_stack_config, run_program, split_secure_values

REDACTED = "[secret]"
SECRET_PLACEHOLDER = "[secret from stack config]"
CONSUL_RELEASE_TYPE = "kubernetes:helm.sh/v3:Release"
POLICY_TYPE = "vault:index/policy:Policy"


def _short_name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1] if urn else ""


def _plain(value: Any) -> Any:
    """JSON-friendly data: unknown preview values become ``null``-like markers."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return "[unknown until deploy]"


def inventory_entry(resource: RegisteredResource) -> dict[str, Any]:
    """One resource of the inventory, secret inputs redacted."""
    inputs = {
        key: (REDACTED if key in resource.secret_inputs else _plain(value))
        for key, value in sorted(resource.inputs.items())
    }
    return {
        "type": resource.type,
        "name": resource.name,
        "urn": resource.urn,
        "parent": _short_name(resource.parent),
        "parentUrn": resource.parent,
        "dependencies": list(resource.dependencies),
        "propertyDependencies": {k: list(v) for k, v in sorted(resource.property_dependencies.items())},
        "provider": _short_name(resource.provider.rsplit("::", 1)[0]) if resource.provider else "",
        "protect": resource.protect,
        "retainOnDelete": resource.retain_on_delete,
        "additionalSecretOutputs": list(resource.additional_secret_outputs),
        "ignoreChanges": list(resource.ignore_changes),
        "secretInputs": sorted(resource.secret_inputs),
        "inputs": inputs,
    }


MATRIX_LIMIT = 40
"""Above this many services a matrix is unreadable (and quadratic in size): the review lists rules instead."""


def intention_rules_markdown(settings: Settings) -> str:
    """The mesh's rules per destination: who may call it and how; everything unlisted is denied."""
    graph = build_graph(settings)
    lines = [
        f"{len(graph.services)} services. Every call not listed here is denied by the single `*` → `*` deny.",
        "",
        "| destination | sources (access) |",
        "|---|---|",
    ]
    for entry in graph.entries:
        if entry.destination == "*":
            continue
        sources = ", ".join(
            f"{rule.source} ({graph.access(rule.source, entry.destination).describe()})" for rule in entry.sources
        )
        lines.append(f"| **{entry.destination}** | {sources} |")
    return "\n".join(lines) + "\n"


def intention_matrix_markdown(settings: Settings) -> str:
    """The mesh's access matrix: one row per source, one column per destination (a rule list for big meshes)."""
    graph = build_graph(settings)
    names = sorted(graph.services)
    if not names:
        return "No services are declared in `mesh.services`; everything is denied by the `*` → `*` deny.\n"
    if len(names) > MATRIX_LIMIT:
        return intention_rules_markdown(settings)
    lines = [
        "Rows are sources, columns destinations. Anything not listed is denied by the single `*` → `*` deny.",
        "",
        "| source \\ destination | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for source in names:
        cells = ["—" if source == dest else graph.access(source, dest).describe() for dest in names]
        lines.append(f"| **{source}** | " + " | ".join(cells) + " |")
    for gateway in sorted(graph.gateways):
        cells = [graph.access(gateway, dest).describe() for dest in names]
        lines.append(f"| **{gateway}** (gateway) | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def placeholder_secret_object(key: str, settings: Settings) -> str:
    """A stand-in for an encrypted secret object: its expected names, every value the placeholder (JSON)."""
    if key != DATABASE_ROOT_CREDENTIALS:
        return SECRET_PLACEHOLDER
    entry = {"username": SECRET_PLACEHOLDER, "password": SECRET_PLACEHOLDER}
    return json.dumps({app.name: entry for app in settings.apps if app.database is not None})


@dataclass(frozen=True)
class RenderResult:
    """What one render wrote, for the terminal summary and for tests."""

    out_dir: Path
    files: tuple[Path, ...]
    resource_counts: Mapping[str, int]
    summary: str


def _summary(stack: str, run: ProgramRun, files: list[Path], out_dir: Path) -> str:
    counts = Counter(r.type for r in run.resources if not r.type.startswith("pulumi:providers:"))
    lines = [f"stack {stack}: {sum(counts.values())} resources would be managed"]
    lines += [f"  {count:4d}  {type_}" for type_, count in sorted(counts.items())]
    protected = sum(1 for r in run.resources if r.protect)
    lines.append(f"  protected: {protected}")
    lines.append(f"wrote {len(files)} files under {out_dir}")
    return "\n".join(lines)


def render_stack(
    project_dir: Path, stack: str, out_dir: Path, config_override: Mapping[str, Any] | None = None
) -> RenderResult:
    """Render one stack's desired state to ``out_dir`` (created if needed) and return what was written."""
    from ..program import main, tune_garbage_collection

    if out_dir.exists() and not out_dir.is_dir():
        raise CommandError(f"--out {out_dir} is a file, not a directory; name a directory (it is created if missing)")
    tune_garbage_collection()
    config = dict(config_override) if config_override is not None else load_stack_config(project_dir, stack)
    plain, secrets = split_secure_values(config, SECRET_PLACEHOLDER)
    plain_settings, secret_keys = split_stack_config({f"secure-mesh:{k}": v for k, v in plain.items()}, set())
    # An encrypted secret object's names are unknown here (``<key>.*``); the program gets a same-shaped stand-in.
    unknown_names = {secret_object_entry(key, UNKNOWN_NAMES) for key in secrets if key in SECRET_OBJECT_KEYS}
    settings = load_settings(plain_settings, secret_keys | frozenset(secrets) | unknown_names)
    secrets = {
        key: placeholder_secret_object(key, settings) if key in SECRET_OBJECT_KEYS else value
        for key, value in secrets.items()
    }
    run = run_program(main, project_dir, plain, secrets, stack=stack, preview=True)

    out_dir.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []

    inventory = {"stack": stack, "resources": [inventory_entry(r) for r in run.resources]}
    files.append(out_dir / "inventory.json")
    files[-1].write_text(json.dumps(inventory, indent=2, sort_keys=True) + "\n")

    consul_releases = [r for r in run.of_type(CONSUL_RELEASE_TYPE) if r.inputs.get("chart") == "consul"]
    if consul_releases:
        files.append(out_dir / "consul-values.yaml")
        files[-1].write_text(yaml.safe_dump(_plain(consul_releases[0].inputs.get("values", {})), sort_keys=True))

    policy_dir = out_dir / "vault-policies"
    policy_dir.mkdir(exist_ok=True)
    for policy in run.of_type(POLICY_TYPE):
        text = policy.inputs.get("policy")
        name = str(policy.inputs.get("name", policy.name))
        document = json.loads(text) if isinstance(text, str) else _plain(text)
        files.append(policy_dir / f"{name}.json")
        files[-1].write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")

    files.append(out_dir / "intentions.md")
    files[-1].write_text(f"# Intentions of stack {stack}\n\n" + intention_matrix_markdown(settings))

    counts = Counter(r.type for r in run.resources)
    return RenderResult(out_dir, tuple(files), dict(counts), _summary(stack, run, files, out_dir))
