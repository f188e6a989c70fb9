"""The GitHub Actions workflows as data, for the tests that check what they do."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from tests.harness import PROJECT_DIR

WORKFLOWS_DIR = PROJECT_DIR / ".github" / "workflows"
WORKFLOW_FILES = sorted(WORKFLOWS_DIR.glob("*.yml")) + sorted(WORKFLOWS_DIR.glob("*.yaml"))


@cache
def load_workflow(path: Path) -> dict[str, Any]:
    """A workflow file as a dict, with the ``on`` key as GitHub reads it (YAML 1.1 would make it ``True``).

    Cached: treat the result as read-only."""
    document = yaml.safe_load(path.read_text())
    assert isinstance(document, dict), f"{path.name}: not a mapping"
    if True in document:
        document["on"] = document.pop(True)
    return document


def workflow(name: str) -> dict[str, Any]:
    """One workflow by file name (``pull-request.yml``)."""
    return load_workflow(WORKFLOWS_DIR / name)


def triggers(document: dict[str, Any]) -> dict[str, Any]:
    """The workflow's events as a dict (``on: push`` and ``on: [a, b]`` normalised)."""
    on = document["on"]
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return dict.fromkeys(on)
    return dict(on)


@dataclass(frozen=True)
class Step:
    """One step, with the job it belongs to."""

    workflow: str
    job_id: str
    job: dict[str, Any]
    step: dict[str, Any]

    @property
    def uses(self) -> str:
        """The action reference (``owner/repo@ref``), or ``""`` for a ``run`` step."""
        return str(self.step.get("uses", ""))

    @property
    def action(self) -> str:
        """The action without its ref (``pulumi/actions``)."""
        return self.uses.split("@", 1)[0]

    @property
    def inputs(self) -> dict[str, Any]:
        """The step's ``with`` inputs."""
        return dict(self.step.get("with") or {})

    def __str__(self) -> str:
        return f"{self.workflow}: job {self.job_id}: step {self.step.get('name') or self.uses or self.step.get('run')}"


def steps(name: str | None = None) -> Iterator[Step]:
    """Every step of one workflow, or of all of them."""
    paths = [WORKFLOWS_DIR / name] if name else WORKFLOW_FILES
    for path in paths:
        document = load_workflow(path)
        for job_id, job in (document.get("jobs") or {}).items():
            for step in job.get("steps") or []:
                yield Step(path.name, job_id, job, step)


def permission(document: dict[str, Any], job: dict[str, Any], scope: str) -> str | None:
    """The effective permission of a job for one scope (job level wins over workflow level)."""
    for level in (job.get("permissions"), document.get("permissions")):
        if isinstance(level, dict):
            return level.get(scope)
        if isinstance(level, str):
            return level
    return None


def environment_name(job: dict[str, Any]) -> str | None:
    """The job's deployment environment name, written as a string or as ``{name: ...}``."""
    environment = job.get("environment")
    if isinstance(environment, dict):
        return environment.get("name")
    return environment
