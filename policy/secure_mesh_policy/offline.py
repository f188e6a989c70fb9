"""Run the pack's rules without the Pulumi engine: over an offline render's inventory, or a mocked run.

The offline review (``python -m secure_mesh render``) writes ``inventory.json``; a pull request from
a fork, which has no credentials for a real preview, runs ``python policy/check_inventory.py
build/<stack>/inventory.json``: every resource rule on every resource, then every stack rule, with
the properties wrapped exactly as the policy SDK hands them to a rule (unknown and redacted values
become the engine's unknown sentinel, so a rule that reads one is skipped, as in a preview).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
)
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError, unknown_checking_proxy

from .framework import Rule

INVENTORY_UNKNOWN_MARKERS = frozenset({"[unknown until deploy]", "[secret]"})
"""How the offline render writes values not known before deploy, and redacted secrets."""


@dataclass
class Subject:
    """One resource as the rules see it (a stand-in for the engine's view of a registered resource)."""

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


def _is_unknown(value: Any) -> bool:
    if isinstance(value, str):
        return value in INVENTORY_UNKNOWN_MARKERS
    return type(value).__name__ == "Unknown" and type(value).__module__.startswith("pulumi")


def _engine_value(value: Any) -> Any:
    """A value as the engine sends it: preview unknowns become the SDK's unknown sentinel."""
    if _is_unknown(value):
        return UNKNOWN_STRING_VALUE
    if isinstance(value, Mapping):
        return {k: _engine_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_engine_value(v) for v in value]
    return value


def engine_props(props: Mapping[str, Any]) -> Any:
    """Properties wrapped exactly as the policy SDK hands them to a rule (fresh containers: ``_engine_value``
    rebuilds every mapping and list, so a rule cannot change the caller's ``props``).
    """
    return unknown_checking_proxy(_engine_value(props))


def _opts(s: Subject) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        s.protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), list(s.additional_secret_outputs), s.parent or None
    )


Prepared = Mapping[int, Any]
"""Each subject's properties as the engine sends them (``_engine_value``), by ``id(subject)``: computed once per
``run_rules`` and wrapped afresh for every rule (the proxy builds its own containers, so no rule sees another's)."""


def _props(s: Subject, prepared: Prepared | None) -> Any:
    if prepared is None:
        return engine_props(s.props)
    return unknown_checking_proxy(prepared[id(s)])


def resource_args(
    s: Subject, config: Mapping[str, Any] | None = None, prepared: Prepared | None = None
) -> ResourceValidationArgs:
    """The ResourceValidationArgs the engine would send for a subject."""
    return ResourceValidationArgs(s.type, _props(s, prepared), s.urn, s.name, _opts(s), None, config)


def stack_args(
    subjects: Sequence[Subject], config: Mapping[str, Any] | None = None, prepared: Prepared | None = None
) -> StackValidationArgs:
    """The StackValidationArgs the engine would send for a stack of subjects (parents and dependencies linked)."""
    resources = {
        s.urn: PolicyResource(s.type, _props(s, prepared), s.urn, s.name, _opts(s), None, None, [], {})
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
    rules: Iterable[Rule],
    config: Mapping[str, Mapping[str, Any]] | None = None,
) -> tuple[list[Violation], list[Unknown]]:
    """Run rules over a stack as the engine does: every resource rule on every resource, then stack rules."""
    violations: list[Violation] = []
    unknowns: list[Unknown] = []
    prepared = {id(s): _engine_value(s.props) for s in subjects}
    for rule in rules:
        name, level = rule.info.policy_name, rule.info.enforcement
        policy_config = (config or {}).get(name)

        def report(message: str, urn: str | None = None, _name: str = name, _level: EnforcementLevel = level) -> None:
            violations.append(Violation(_name, _level, message, urn))

        if rule.info.scope == "resource":
            for s in subjects:
                try:
                    rule.policy.validate(resource_args(s, policy_config, prepared), report)
                except UnknownValueError as error:
                    unknowns.append(Unknown(name, s.name, error.message))
        else:
            try:
                rule.policy.validate(stack_args(subjects, policy_config, prepared), report)
            except UnknownValueError as error:
                unknowns.append(Unknown(name, "<stack>", error.message))
    return violations, unknowns


def subjects_from_inventory(inventory: Mapping[str, Any]) -> list[Subject]:
    """The resources of an offline render's ``inventory.json``."""
    return [
        Subject(
            type=entry["type"],
            name=entry["name"],
            props=entry["inputs"],
            urn=entry["urn"],
            protect=bool(entry.get("protect")),
            additional_secret_outputs=list(entry.get("additionalSecretOutputs", [])),
            property_dependencies=dict(entry.get("propertyDependencies", {})),
            dependencies=list(entry.get("dependencies", [])),
            parent=entry.get("parentUrn", ""),
        )
        for entry in inventory["resources"]
    ]


def check_inventory(path: Path, rules: Iterable[Rule]) -> tuple[list[Violation], list[Unknown]]:
    """Run every rule over a rendered inventory file."""
    inventory = json.loads(path.read_text())
    return run_rules(subjects_from_inventory(inventory), rules)
