"""Feed resources to the pack's rules the way the policy engine does, with a collecting report function.

``run_rules(run.resources)`` turns a mocked program run (tests/harness.py) into ``ResourceValidationArgs``
and ``StackValidationArgs`` (properties wrapped in the SDK's unknown-checking proxies, preview unknowns
as the engine's sentinels) and runs every rule. ``check``/``check_stack`` run one rule on hand-made
resources for the per-rule cases.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import secure_mesh_policy
from pulumi_policy import EnforcementLevel
from secure_mesh_policy import offline
from secure_mesh_policy.framework import Rule
from secure_mesh_policy.offline import (
    Subject,
    Unknown,
    Violation,
    engine_props,
    resource_args,
    stack_args,
)

from tests import snapshots

__all__ = ["Subject", "Unknown", "Violation", "engine_props", "resource_args", "stack_args"]

RULES: dict[str, Rule] = {rule.info.policy_name: rule for rule in secure_mesh_policy.RULES}


def subject(type_token: str, name: str, props: Mapping[str, Any], stack: str = "dev", **extra: Any) -> Subject:
    """A hand-made resource with a proper URN."""
    return Subject(type=type_token, name=name, props=props, urn=urn_of(type_token, name, stack), **extra)


def urn_of(type_token: str, name: str, stack: str = "dev") -> str:
    """A URN as the engine writes it."""
    return f"urn:pulumi:{stack}::secure-mesh::{type_token}::{name}"


def from_run(resources: Iterable[Any]) -> list[Subject]:
    """The harness's RegisteredResources as subjects (inputs, options and dependencies as recorded)."""
    return [
        Subject(
            type=r.type,
            name=r.name,
            props=r.inputs,
            urn=r.urn,
            protect=r.protect,
            additional_secret_outputs=r.additional_secret_outputs,
            property_dependencies={k: list(v) for k, v in r.property_dependencies.items()},
            dependencies=list(r.dependencies),
            parent=r.parent,
        )
        for r in resources
    ]


def _copied(value: Any) -> Any:
    """A private copy of JSON-like data: fresh dicts and lists, immutable leaves shared, anything else deep-copied
    (copy.deepcopy of whole stacks was most of the policy tests' time)."""
    kind = type(value)
    if kind is dict:
        return {k: _copied(v) for k, v in value.items()}
    if kind is list:
        return [_copied(v) for v in value]
    if kind in (str, int, float, bool) or value is None:
        return value
    return copy.deepcopy(value)


def private_subjects(resources: Iterable[Any]) -> list[Subject]:
    """``from_run`` with every resource's inputs copied, for a test that edits them (a cached run stays untouched)."""
    return [dataclasses.replace(s, props=_copied(s.props)) for s in from_run(resources)]


def run_rules(
    subjects: Sequence[Subject],
    rules: Iterable[Rule] | None = None,
    config: Mapping[str, Mapping[str, Any]] | None = None,
) -> tuple[list[Violation], list[Unknown]]:
    """Run rules (all by default) over a stack as the engine does."""
    return offline.run_rules(subjects, rules if rules is not None else RULES.values(), config)


def check(
    policy: str,
    type_token: str,
    props: Mapping[str, Any],
    *,
    name: str = "subject",
    stack: str = "dev",
    protect: bool = False,
    config: Mapping[str, Any] | None = None,
) -> list[str]:
    """Run one resource rule's ``validate`` on one resource; return the messages it reported."""
    messages: list[str] = []
    s = subject(type_token, name, props, stack, protect=protect)
    RULES[policy].policy.validate(resource_args(s, config), lambda message, urn=None: messages.append(message))
    return messages


def check_stack(
    policy: str, subjects: Sequence[Subject], config: Mapping[str, Any] | None = None
) -> list[tuple[str, str | None]]:
    """Run one stack rule's ``validate`` on hand-made resources; return (message, urn) pairs."""
    found: list[tuple[str, str | None]] = []
    RULES[policy].policy.validate(stack_args(subjects, config), lambda message, urn=None: found.append((message, urn)))
    return found


def mandatory(violations: Iterable[Violation]) -> list[Violation]:
    """The violations that would block a preview."""
    return [v for v in violations if v.enforcement is EnforcementLevel.MANDATORY]


@dataclass(frozen=True)
class Finding:
    """A violation message taken apart: the resource, the property, the value shown, the problem and the fix."""

    type: str
    name: str
    prop: str
    value: str
    problem: str
    fix: str


_FINDING = re.compile(
    r"^(?P<type>\S+) '(?P<name>[^']*)': (?P<prop>.+?) = (?P<value>.*?): (?P<problem>.*)\. Fix: (?P<fix>.*)$", re.S
)


def parse_finding(message: str) -> Finding:
    """Split a message written by ``Res.finding`` (fails the test when a message does not have that shape)."""
    found = _FINDING.match(message)
    assert found, f"not a finding message: {message!r}"
    return Finding(**found.groupdict())


SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"
"""Checked-in findings, compared whole: ``findings.json`` (one violating case per rule, tests/policy/violations.py)
and ``case_findings.json`` (every other violating case of the policy tests, keyed ``policy:case``)."""
CASE_FINDINGS = SNAPSHOTS / "case_findings.json"
"""The findings of the per-rule case tables (test_resource_rules, test_stack_rules, rule_cases), by ``policy:case``."""


def pinned(file: Path, key: str, messages: list[str]) -> list[str]:
    """The checked-in findings of case ``key`` in ``file`` (tests/snapshots.py); regenerate with
    ``UPDATE_SNAPSHOTS=1 pytest tests/policy`` and review the diff: every changed line is a message an operator reads.
    """
    return snapshots.pinned(file, key, messages, "UPDATE_SNAPSHOTS=1 pytest tests/policy")


def as_pinned(policy: str, messages: Iterable[str]) -> list[str]:
    """Messages as the snapshots hold them: sorted, each prefixed with the rule's enforcement level."""
    level = RULES[policy].info.enforcement.value
    return sorted(f"[{level}] {m}" for m in messages)
