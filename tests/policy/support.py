"""Feed resources to the pack's rules the way the policy engine does, with a collecting report function.

``run_rules(run.resources)`` turns a mocked program run (tests/harness.py) into ``ResourceValidationArgs``
and ``StackValidationArgs`` (properties wrapped in the SDK's unknown-checking proxies, preview unknowns
as the engine's sentinels) and runs every rule. ``check``/``check_stack`` run one rule on hand-made
resources for the per-rule cases.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import secure_mesh_policy
from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
)
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError, unknown_checking_proxy
from secure_mesh_policy.framework import Rule

RULES: dict[str, Rule] = {rule.info.policy_name: rule for rule in secure_mesh_policy.RULES}


@dataclass
class Subject:
    """One resource to feed to the rules (a stand-in for the engine's view of a registered resource)."""

    type: str
    name: str
    props: Mapping[str, Any]
    urn: str = ""
    protect: bool = False
    additional_secret_outputs: Sequence[str] = ()
    property_dependencies: Mapping[str, Sequence[str]] = field(default_factory=dict)
    """Per property, the URNs it was computed from."""
    dependencies: Sequence[str] = ()
    parent: str = ""


@dataclass(frozen=True)
class Violation:
    """One reported violation."""

    policy: str
    enforcement: EnforcementLevel
    message: str
    urn: str | None

    def __str__(self) -> str:
        return f"[{self.policy} {self.enforcement.value}] {self.message}"


@dataclass(frozen=True)
class Unknown:
    """A rule that read a value unknown during preview (the engine would skip it)."""

    policy: str
    resource: str
    message: str


def urn_of(type_token: str, name: str, stack: str = "dev") -> str:
    """A URN as the engine writes it."""
    return f"urn:pulumi:{stack}::secure-mesh::{type_token}::{name}"


def subject(type_token: str, name: str, props: Mapping[str, Any], stack: str = "dev", **extra: Any) -> Subject:
    """A hand-made resource with a proper URN."""
    return Subject(type=type_token, name=name, props=props, urn=urn_of(type_token, name, stack), **extra)


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


def _engine_value(value: Any) -> Any:
    """A value as the engine sends it: preview unknowns become the SDK's unknown sentinel."""
    if isinstance(value, pulumi.output.Unknown):
        return UNKNOWN_STRING_VALUE
    if isinstance(value, Mapping):
        return {k: _engine_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_engine_value(v) for v in value]
    return value


def engine_props(props: Mapping[str, Any]) -> Any:
    """Properties wrapped exactly as the policy SDK hands them to a rule."""
    return unknown_checking_proxy(_engine_value(copy.deepcopy(dict(props))))


def _opts(s: Subject) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        s.protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), list(s.additional_secret_outputs), s.parent or None
    )


def resource_args(s: Subject, config: Mapping[str, Any] | None = None) -> ResourceValidationArgs:
    """The ResourceValidationArgs the engine would send for a subject."""
    return ResourceValidationArgs(s.type, engine_props(s.props), s.urn, s.name, _opts(s), None, config)


def stack_args(subjects: Sequence[Subject], config: Mapping[str, Any] | None = None) -> StackValidationArgs:
    """The StackValidationArgs the engine would send for a stack of subjects (parents and dependencies linked)."""
    resources = {
        s.urn: PolicyResource(s.type, engine_props(s.props), s.urn, s.name, _opts(s), None, None, [], {})
        for s in subjects
    }
    for s in subjects:
        resource = resources[s.urn]
        resource.parent = resources.get(s.parent)
        resource.dependencies = [resources[u] for u in s.dependencies if u in resources]
        resource.property_dependencies = {
            k: [resources[u] for u in urns if u in resources] for k, urns in s.property_dependencies.items()
        }
    return StackValidationArgs(list(resources.values()), config)


def run_rules(
    subjects: Sequence[Subject],
    rules: Iterable[Rule] | None = None,
    config: Mapping[str, Mapping[str, Any]] | None = None,
) -> tuple[list[Violation], list[Unknown]]:
    """Run rules over a stack as the engine does: every resource rule on every resource, then stack rules."""
    violations: list[Violation] = []
    unknowns: list[Unknown] = []
    for rule in rules if rules is not None else RULES.values():
        name, level = rule.info.policy_name, rule.info.enforcement
        policy_config = (config or {}).get(name)

        def report(message: str, urn: str | None = None, _name: str = name, _level: EnforcementLevel = level) -> None:
            violations.append(Violation(_name, _level, message, urn))

        if rule.info.scope == "resource":
            for s in subjects:
                try:
                    rule.policy.validate(resource_args(s, policy_config), report)
                except UnknownValueError as error:
                    unknowns.append(Unknown(name, s.name, error.message))
        else:
            try:
                rule.policy.validate(stack_args(subjects, policy_config), report)
            except UnknownValueError as error:
                unknowns.append(Unknown(name, "<stack>", error.message))
    return violations, unknowns


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
