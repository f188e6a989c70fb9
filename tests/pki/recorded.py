"""Program runs against a recorded ``rotationVersions``: what the stack's StackReference to itself returns, so a
generation test can raise, re-run, lower or skip a version (shared by the server-TLS and connect-root tests)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from secure_mesh.offline import program_run as engine
from tests.harness import (
    PROJECT_DIR,
    ProgramRun,
    RegisteredResource,
    _collect_mock_outputs,
    _main,
    deep_merge,
    load_stack_config,
)


def recorded_mocks(record: Mapping[str, Any] | None) -> dict[str, Any]:
    """The canned mock outputs, with this stack's previous ``rotationVersions`` as ``record`` (None: the stack
    exported none)."""
    outputs = dict(_collect_mock_outputs())
    recorded = {} if record is None else {"rotationVersions": dict(record)}
    outputs["pulumi:pulumi:StackReference"] = lambda name, inputs: {"outputs": recorded}
    return outputs


class RecordedRuns:
    """Runs of the program with ``rotation.<key>`` set and a deployed record, computed once per (stack,
    generation, deployed)."""

    def __init__(self, key: str, base: Callable[[str], dict[str, Any]] = load_stack_config) -> None:
        self.key = key
        self._base = base
        self._runs: dict[tuple[str, int | None, int | None], ProgramRun] = {}

    def config(self, stack: str, generation: int | None) -> dict[str, Any]:
        """The stack's config with ``rotation.<key>`` (unset for None)."""
        rotation = {} if generation is None else {"rotation": {self.key: generation}}
        return deep_merge(self._base(stack), rotation)

    def run(self, stack: str, generation: int | None, deployed: int | None) -> ProgramRun:
        """The program with the generation requested and the one recorded."""
        key = (stack, generation, deployed)
        if key not in self._runs:
            mocks = recorded_mocks(None if deployed is None else {self.key: deployed})
            self._runs[key] = engine.run_program(
                _main, PROJECT_DIR, self.config(stack, generation), None, stack, False, mocks
            )
        return self._runs[key]

    def failure(self, stack: str, requested: int, deployed: int) -> tuple[BaseException, list[RegisteredResource]]:
        """The error of a run refused by the record, and what it registered before failing."""
        config, mocks = self.config(stack, requested), recorded_mocks({self.key: deployed})
        return engine.run_program_expecting_failure(_main, PROJECT_DIR, config, None, mocks)


def names(run: ProgramRun) -> set[str]:
    return {r.name for r in run.resources}


def one(run: ProgramRun, name: str) -> Any:
    found = [r for r in run.resources if r.name == name]
    assert len(found) == 1, f"expected one resource named {name}, found {len(found)}"
    return found[0]


def dependency_names(run: ProgramRun, resource: Any) -> set[str]:
    """Names of what a resource depends on, explicitly or through its inputs (a StackReference read by its name)."""
    urns = set(resource.dependencies)
    for values in resource.property_dependencies.values():
        urns.update(values)
    registered = {r.urn: r.name for r in run.resources}
    return {registered.get(urn, urn.rsplit("::", 1)[-1]) for urn in urns}
