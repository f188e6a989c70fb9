"""Run the Pulumi program in-process under mocks and record everything it registers.

The offline review (``python -m secure_mesh render``) and the test suite both use this: the program
runs exactly as under ``pulumi preview``/``up`` but the engine is :class:`RecordingMonitor`, which
keeps every RegisterResource request — type, name, parent, provider, inputs (secrets marked),
``protect``, ``retain_on_delete``, ``additional_secret_outputs``, ``ignore_changes``, dependencies
and registration order — options that Pulumi's own mock arguments do not carry.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime import settings as runtime_settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from ..command_errors import CommandError
from ..settings import CONFIG_NAMESPACE
from ..settings.federation import read_stack_file
from ..settings.loader import is_encrypted
from .stack_references import STACK_REFERENCE_TYPE, stack_reference_state

MockOutputs = Callable[[str, dict[str, Any]], dict[str, Any]]
"""Canned computed outputs for one resource type: (resource name, inputs) → extra state."""


@dataclass
class RegisteredResource:
    """One resource as the program registered it (its inputs decoded on first use, not during the run)."""

    type: str
    name: str
    urn: str
    parent: str
    provider: str
    custom: bool
    wire_inputs: Any
    """The request's inputs as the engine received them (a protobuf ``Struct``)."""
    protect: bool
    retain_on_delete: bool
    additional_secret_outputs: tuple[str, ...]
    dependencies: tuple[str, ...]
    property_dependencies: dict[str, tuple[str, ...]]
    order: int
    ignore_changes: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return f"<{self.type} {self.name}>"

    @cached_property
    def _decoded(self) -> dict[str, Any]:
        return dict(rpc.deserialize_properties(self.wire_inputs))

    @cached_property
    def inputs(self) -> dict[str, Any]:
        """The inputs with camelCase wire names, secrets unwrapped."""
        return {key: _unwrap(value) for key, value in self._decoded.items()}

    @cached_property
    def secret_inputs(self) -> frozenset[str]:
        """The top-level inputs the program marked secret."""
        return frozenset(key for key, value in self._decoded.items() if rpc.is_rpc_secret(value))


@dataclass
class ProgramRun:
    """What one mocked run of the program registered and exported."""

    resources: list[RegisteredResource]
    outputs: dict[str, Any]
    secret_outputs: frozenset[str]
    logs: list[tuple[str, str]] = field(default_factory=list)
    reads: list[tuple[str, str, str]] = field(default_factory=list)
    """What the program read instead of creating: (type, name, id), e.g. a ``StackReference`` and its stack."""

    def of_type(self, type_token: str) -> list[RegisteredResource]:
        """All resources of one type, in registration order."""
        return [r for r in self.resources if r.type == type_token]

    def one(self, type_token: str, name: str | None = None, **inputs: Any) -> RegisteredResource:
        """The single resource of a type (optionally by name or by input values); fails naming what it saw."""
        matches = [
            r
            for r in self.of_type(type_token)
            if (name is None or r.name == name) and all(r.inputs.get(k) == v for k, v in inputs.items())
        ]
        if len(matches) != 1:
            seen = [r.name for r in self.of_type(type_token)]
            raise AssertionError(
                f"expected one {type_token} named {name!r} with {inputs}, found {len(matches)}; registered: {seen}"
            )
        return matches[0]

    def by_urn(self, urn: str) -> RegisteredResource:
        """The resource with a URN."""
        for resource in self.resources:
            if resource.urn == urn:
                return resource
        raise AssertionError(f"no resource with URN {urn}")

    def children_of(self, parent: RegisteredResource) -> list[RegisteredResource]:
        """The resources parented directly to another."""
        return [r for r in self.resources if r.parent == parent.urn]


def _unwrap(value: Any) -> Any:
    if rpc.is_rpc_secret(value):
        return _unwrap(rpc.unwrap_rpc_secret(value))
    if isinstance(value, dict):
        return {k: _unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrap(v) for v in value]
    return value


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """A mock monitor that also records the resource options found only on the gRPC request."""

    def __init__(self, mocks: pulumi_mocks.Mocks) -> None:
        super().__init__(mocks)
        self.recorded: list[RegisteredResource] = []
        self.reads: list[tuple[str, str, str]] = []
        """Every ReadResource request (``Resource.get``, ``StackReference``) as (type, name, id)."""

    def ReadResource(self, request: Any) -> Any:  # noqa: N802 - the gRPC method name
        """Read as the mock monitor does, and note what was read."""
        self.reads.append((request.type, request.name, request.id))
        return super().ReadResource(request)  # type: ignore[no-untyped-call]

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - the gRPC method name
        """Register as the mock monitor does, and keep the whole request."""
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type == "pulumi:pulumi:Stack":
            return response
        self.recorded.append(
            RegisteredResource(
                type=request.type,
                name=request.name,
                urn=response.urn,
                parent=request.parent,
                provider=request.provider,
                custom=bool(request.custom),
                wire_inputs=request.object,
                protect=bool(request.protect),
                retain_on_delete=bool(request.retainOnDelete),
                additional_secret_outputs=tuple(request.additionalSecretOutputs),
                dependencies=tuple(request.dependencies),
                property_dependencies={k: tuple(v.urns) for k, v in request.propertyDependencies.items()},
                order=len(self.recorded),
                ignore_changes=tuple(request.ignoreChanges),
            )
        )
        return response


class ProgramMocks(pulumi_mocks.Mocks):
    """Echo inputs back as state, adding canned computed outputs for the types that need them."""

    def __init__(self, outputs: Mapping[str, MockOutputs]) -> None:
        self._outputs = outputs

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        """State = inputs plus the canned outputs of the type; the id is derived from the name."""
        state = dict(args.inputs)
        extra = self._outputs.get(args.typ)
        if extra is not None:
            state.update(extra(args.name, _unwrap(dict(args.inputs))))
        return f"{args.name}-id", state

    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        """Invokes (data sources) answer with their canned outputs, or nothing."""
        extra = self._outputs.get(args.token)
        if extra is not None:
            return extra("", _unwrap(dict(args.args))), []  # the mock monitor iterates the failures
        return {}, []


# ------------------------------------------------------------------------------------------ config


def project_defaults(project_dir: Path) -> dict[str, Any]:
    """The config values Pulumi.yaml itself sets (``value:``/``default:``), keyed with their namespace."""
    project = yaml.safe_load((project_dir / "Pulumi.yaml").read_text())
    defaults: dict[str, Any] = {}
    for key, spec in (project.get("config") or {}).items():
        full_key = key if ":" in key else f"{CONFIG_NAMESPACE}:{key}"
        if isinstance(spec, dict) and ("value" in spec or "default" in spec):
            defaults[full_key] = spec.get("value", spec.get("default"))
    return defaults


def load_stack_config(project_dir: Path, stack: str) -> dict[str, Any]:
    """A stack file's ``secure-mesh:*`` config as plain Python values, keys without the namespace.

    Secure (encrypted) values come back as their ``{"secure": …}`` envelope; see :func:`split_secure_values`.
    """
    path = project_dir / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        known = sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in project_dir.glob("Pulumi.*.yaml"))
        raise CommandError(f"no stack file {path.name} in {project_dir}; stacks here: {', '.join(known) or 'none'}")
    try:
        config = read_stack_file(path)
    except ValueError as error:
        raise CommandError(str(error)) from None
    prefix = f"{CONFIG_NAMESPACE}:"
    return {
        key[len(prefix) :]: value for key, value in config.items() if key.startswith(prefix)
    }


def split_secure_values(config: Mapping[str, Any], placeholder: str) -> tuple[dict[str, Any], dict[str, str]]:
    """Separate encrypted values from plain ones, standing in a placeholder.

    Encrypted means a ``{"secure": …}`` value, or an object holding one at any depth (``pulumi config set --path
    --secret`` encrypts one leaf, and Pulumi then treats the whole key as secret).
    """
    plain: dict[str, Any] = {}
    secrets: dict[str, str] = {}
    for key, value in config.items():
        if is_encrypted(value):
            secrets[key] = placeholder
        else:
            plain[key] = value
    return plain, secrets


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``base`` with ``override`` merged in (dicts recursively; lists and scalars replaced)."""
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def wire_config(
    project_dir: Path, config: Mapping[str, Any], secrets: Mapping[str, str]
) -> tuple[dict[str, str], list[str]]:
    """Config as the engine hands it to a program: every value a string, objects as JSON."""
    wire: dict[str, str] = {}
    for key, value in project_defaults(project_dir).items():
        wire[key] = value if isinstance(value, str) else json.dumps(value)
    for key, value in config.items():
        wire[f"{CONFIG_NAMESPACE}:{key}"] = value if isinstance(value, str) else json.dumps(value)
    for key, value in secrets.items():
        wire[f"{CONFIG_NAMESPACE}:{key}"] = value
    return wire, [f"{CONFIG_NAMESPACE}:{key}" for key in secrets]


# --------------------------------------------------------------------------------------------- run


def _resolve(value: Any) -> tuple[Any, bool]:
    """Resolve an exported value to plain data and whether any part of it is secret."""
    output = pulumi.Output.from_input(value)
    resolved = _sync_await(output.future())
    secret = bool(_sync_await(output.is_secret()))
    return resolved, secret


def reset_runtime() -> None:
    """Forget the previous run: its root stack resource and any RPCs or outputs a failed run left behind."""
    runtime_settings.ROOT.set(None)
    runtime_settings.SETTINGS.rpc_manager.clear()
    runtime_settings.SETTINGS.outputs.clear()


def _discard(_: object) -> None:
    """Run-functions must return None (or an awaitable); the program's return value is not needed."""


def _start(
    project_dir: Path,
    config: Mapping[str, Any],
    secrets: Mapping[str, str],
    stack: str,
    preview: bool,
    mock_outputs: Mapping[str, MockOutputs],
) -> RecordingMonitor:
    # Stack references read their outputs from the recorded files (stack_references.py) unless a test says otherwise.
    mocks = ProgramMocks({STACK_REFERENCE_TYPE: stack_reference_state(project_dir), **mock_outputs})
    monitor = RecordingMonitor(mocks)
    reset_runtime()
    pulumi.runtime.set_mocks(mocks, project=CONFIG_NAMESPACE, stack=stack, preview=preview, monitor=monitor)
    # What pulumi.get_root_directory() answers under the engine: the program reads project files from there (a
    # federation secondary's primary stack file), wherever the offline command runs.
    runtime_settings.SETTINGS.root_directory = str(project_dir)
    wire, secret_keys = wire_config(project_dir, config, secrets)
    pulumi.runtime.set_all_config(wire, secret_keys)
    return monitor


def run_program(
    program: Callable[[], object],
    project_dir: Path,
    config: Mapping[str, Any],
    secrets: Mapping[str, str] | None = None,
    stack: str = "test",
    preview: bool = False,
    mock_outputs: Mapping[str, MockOutputs] | None = None,
) -> ProgramRun:
    """Run the program under mocks with this config and return everything it registered and exported."""
    monitor = _start(project_dir, config, secrets or {}, stack, preview, mock_outputs or {})
    _sync_await(run_pulumi_func(lambda: _discard(program())))
    root = pulumi.runtime.get_root_resource()
    outputs: dict[str, Any] = {}
    secret_outputs: set[str] = set()
    for name, value in (getattr(root, "outputs", None) or {}).items():
        resolved, secret = _resolve(value)
        outputs[name] = resolved
        if secret:
            secret_outputs.add(name)
    return ProgramRun(
        resources=list(monitor.recorded),
        outputs=outputs,
        secret_outputs=frozenset(secret_outputs),
        reads=list(monitor.reads),
    )


def run_program_expecting_failure(
    program: Callable[[], object],
    project_dir: Path,
    config: Mapping[str, Any],
    secrets: Mapping[str, str] | None = None,
    mock_outputs: Mapping[str, MockOutputs] | None = None,
) -> tuple[BaseException, list[RegisteredResource]]:
    """Run the program with config that must be rejected; return the error and whatever was registered."""
    monitor = _start(project_dir, config, secrets or {}, "test", True, mock_outputs or {})
    try:
        _sync_await(run_pulumi_func(lambda: _discard(program())))
    except BaseException as error:  # handed back to the caller to inspect
        return error, list(monitor.recorded)
    raise AssertionError("the program accepted a configuration that should have been rejected")
