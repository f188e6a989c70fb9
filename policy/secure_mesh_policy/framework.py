"""The small framework every rule is written in: metadata, resource views, messages and configuration.

A rule is a plain function plus :class:`RuleInfo` metadata (catalogue id, what it checks, why, how to
fix, enforcement). :func:`resource_rule` and :func:`stack_rule` wrap the function in the
``pulumi_policy`` policy object the pack serves, and register it so the pack, the README generator
and the tests all see the same list. Rules read resources through :class:`Res`, which keeps the
engine's property proxies intact: reading a value that is unknown during preview raises the SDK's
``UnknownValueError`` exactly as it would under ``pulumi preview``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ResourceValidationPolicy,
    StackValidationPolicy,
)

from .types import short

MANDATORY = EnforcementLevel.MANDATORY
ADVISORY = EnforcementLevel.ADVISORY

Scope = Literal["resource", "stack"]


@dataclass(frozen=True)
class Setting:
    """One judgement threshold a rule exposes in its policy config schema."""

    name: str
    type: Literal["string", "integer", "boolean"]
    default: Any
    description: str

    def schema(self) -> dict[str, Any]:
        """This setting as a JSON-schema property."""
        return {"type": self.type, "default": self.default, "description": self.description}


@dataclass(frozen=True)
class RuleInfo:
    """What a rule is for: its catalogue id, what it checks, why, how to fix, and how it is enforced."""

    id: str
    """The stable catalogue id (``PKI-ROLE-HYGIENE``), shared with ``security-rules.md``."""
    checks: str
    why: str
    fix: str
    scope: Scope
    part: str | None = None
    """Distinguishes the parts of a catalogue rule split in two (``stack``); empty for the only part."""
    enforcement: EnforcementLevel = MANDATORY
    settings: tuple[Setting, ...] = ()

    @property
    def policy_name(self) -> str:
        """The Pulumi policy name: the id in lower case, plus ``-<part>`` for a split rule's second part."""
        base = self.id.lower()
        return f"{base}-{self.part}" if self.part else base

    @property
    def description(self) -> str:
        """The policy description the engine prints above each violation."""
        return f"[{self.id}] {self.checks}"

    def config_schema(self) -> PolicyConfigSchema | None:
        """The policy's config schema (thresholds), or None for a rule with no judgement call."""
        if not self.settings:
            return None
        return PolicyConfigSchema(properties={s.name: s.schema() for s in self.settings})

    def config(self, given: Mapping[str, Any] | None) -> dict[str, Any]:
        """The effective policy config: the given values over the settings' defaults."""
        merged = {s.name: s.default for s in self.settings}
        merged.update(dict(given or {}))
        return merged


# ------------------------------------------------------------------------------------------ views


def stack_of(urn: str) -> str:
    """The stack name in a URN (``urn:pulumi:<stack>::<project>::<type>::<name>``)."""
    parts = urn.split(":")
    return parts[2] if len(parts) > 2 and urn.startswith("urn:pulumi:") else ""


@dataclass
class Res:
    """One resource as a rule sees it: type, name, URN, properties, ``protect`` and its dependencies."""

    type: str
    name: str
    urn: str
    props: Mapping[str, Any]
    protect: bool = False
    additional_secret_outputs: tuple[str, ...] = ()
    property_dependencies: Mapping[str, Sequence[str]] = field(default_factory=dict)
    """Per property, the URNs of the resources its value came from (stack rules only)."""
    dependencies: tuple[str, ...] = ()

    @classmethod
    def from_resource_args(cls, args: Any) -> Res:
        """The view of a ``ResourceValidationArgs``."""
        return cls(
            type=args.resource_type,
            name=args.name,
            urn=args.urn,
            props=args.props,
            protect=bool(getattr(args.opts, "protect", False)),
            additional_secret_outputs=tuple(getattr(args.opts, "additional_secret_outputs", ()) or ()),
        )

    @classmethod
    def from_policy_resource(cls, resource: Any) -> Res:
        """The view of a stack's ``PolicyResource``."""
        return cls(
            type=resource.resource_type,
            name=resource.name,
            urn=resource.urn,
            props=resource.props,
            protect=bool(getattr(resource.opts, "protect", False)),
            additional_secret_outputs=tuple(getattr(resource.opts, "additional_secret_outputs", ()) or ()),
            property_dependencies={
                key: tuple(dep.urn for dep in deps) for key, deps in (resource.property_dependencies or {}).items()
            },
            dependencies=tuple(dep.urn for dep in (resource.dependencies or [])),
        )

    def has(self, key: str) -> bool:
        """Whether a property is present at all (known or not): never reads the value."""
        return any(k == key for k in self.props)

    def get(self, key: str, default: Any = None) -> Any:
        """A property's value (raises the SDK's unknown-value error during preview if it is unknown)."""
        if not self.has(key):
            return default
        value = self.props[key]
        return default if value is None else value

    def finding(self, prop: str, value: Any, problem: str, fix: str) -> str:
        """A violation message that names this resource, the property, its value and the fix."""
        return f"{short(self.type)} '{self.name}': {prop} = {show(value)}: {problem}. Fix: {fix}"


class _Unset:
    """The type of :data:`UNSET`: falsy, printed as ``<unset>``."""

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "<unset>"


UNSET: Any = _Unset()
"""Marks a property (or Helm value) that is not set at all (falsy), for messages that say so."""


def show(value: Any) -> str:
    """A value as a violation message prints it (``<unset>`` for missing)."""
    if value is UNSET or value is None:
        return "<unset>"
    if isinstance(value, str):
        return repr(value) if len(value) <= 120 else repr(value[:117] + "...")
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {show(v)}" for k, v in value.items()) + "}"
    if isinstance(value, Sequence):
        return "[" + ", ".join(show(v) for v in value) + "]"
    return repr(value)


def is_seq(value: Any) -> bool:
    """A list-like value (the engine hands lists as proxies), but not a string."""
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)


def as_list(value: Any) -> list[Any]:
    """A list-like property as a Python list (None and missing as empty)."""
    if value is None or value is UNSET:
        return []
    if is_seq(value):
        return [value[i] for i in range(len(value))]
    return [value]


def as_bool(value: Any, default: bool) -> bool:
    """A boolean property with the provider's default when unset (booleans may arrive as strings)."""
    if value is None or value is UNSET:
        return default
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def as_int(value: Any) -> int | None:
    """A number property as an int: the engine sends every number as a float (``3.0``); None if not a number."""
    if isinstance(value, bool) or value is None or value is UNSET:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def norm_path(path: Any) -> str:
    """A Vault mount or API path without leading/trailing slashes, for comparing paths."""
    return str(path).strip("/")


class StackView:
    """All of a stack's resources, indexed by type and URN for stack rules."""

    def __init__(self, resources: Iterable[Res]) -> None:
        self.resources = list(resources)
        self._by_urn = {r.urn: r for r in self.resources}

    def of(self, *types: str) -> list[Res]:
        """The resources of some types, in stack order."""
        return [r for r in self.resources if r.type in types]

    def by_urn(self, urn: str) -> Res | None:
        """The resource with a URN, if it is in the stack."""
        return self._by_urn.get(urn)

    def sources_of(self, res: Res, prop: str) -> list[Res]:
        """The resources a property's value was computed from."""
        found = [self._by_urn.get(urn) for urn in res.property_dependencies.get(prop, ())]
        return [r for r in found if r is not None]

    @property
    def stack(self) -> str:
        """The stack name, from the first URN."""
        return next((stack_of(r.urn) for r in self.resources if r.urn), "")


# ---------------------------------------------------------------------------------- environment

PRODUCTION_STACK = re.compile(r"(^|[-_.])prod(uction)?($|[-_.])")

ENVIRONMENT_SETTING = Setting(
    "environment",
    "string",
    "auto",
    "The environment this stack is: 'prod' (production rules apply), any other name (they do not), or 'auto' "
    "to infer it from the stack name in the resources' URNs: production when the stack is 'prod'/'production' "
    "or has such a dash/dot/underscore-separated part ('eu-prod', 'prod-eu').",
)


def is_production(config: Mapping[str, Any], urn: str) -> bool:
    """Whether production-only rules apply: the policy config's ``environment``, else the stack name."""
    environment = str(config.get("environment") or "auto").lower()
    if environment != "auto":
        return environment in ("prod", "production")
    return bool(PRODUCTION_STACK.search(stack_of(urn)))


# ------------------------------------------------------------------------------------ registry

ResourceCheck = Callable[[Res, Mapping[str, Any]], Iterable[str]]
StackCheck = Callable[[StackView, Mapping[str, Any]], Iterable[tuple[str, str | None]]]
Report = Callable[..., None]


@dataclass(frozen=True)
class Rule:
    """A registered rule: its metadata, the check, and the ``pulumi_policy`` object the pack serves."""

    info: RuleInfo
    policy: Any
    types: frozenset[str] | None = None


REGISTRY: list[Rule] = []


def resource_rule(
    rule_id: str,
    *,
    checks: str,
    why: str,
    fix: str,
    types: Collection[str] | None,
    part: str | None = None,
    enforcement: EnforcementLevel = MANDATORY,
    settings: tuple[Setting, ...] = (),
) -> Callable[[ResourceCheck], ResourceCheck]:
    """Register a per-resource rule that runs on resources of ``types`` (every resource when None)."""
    info = RuleInfo(rule_id, checks, why, fix, "resource", part, enforcement, settings)
    wanted = frozenset(types) if types is not None else None

    def wrap(check: ResourceCheck) -> ResourceCheck:
        def validate(args: Any, report: Report) -> None:
            if wanted is not None and args.resource_type not in wanted:
                return
            config = info.config(args.get_config())
            for message in check(Res.from_resource_args(args), config):
                report(message)

        policy = ResourceValidationPolicy(validate=validate, **_policy_metadata(info))
        REGISTRY.append(Rule(info, policy, wanted))
        return check

    return wrap


def _policy_metadata(info: RuleInfo) -> dict[str, Any]:
    """What every ``pulumi_policy`` policy of the pack carries besides its ``validate``."""
    return {
        "name": info.policy_name,
        "description": info.description,
        "enforcement_level": info.enforcement,
        "config_schema": info.config_schema(),
        "remediation_steps": info.fix,
    }


def stack_rule(
    rule_id: str,
    *,
    checks: str,
    why: str,
    fix: str,
    part: str | None = None,
    enforcement: EnforcementLevel = MANDATORY,
    settings: tuple[Setting, ...] = (),
) -> Callable[[StackCheck], StackCheck]:
    """Register a rule that needs the whole stack; it reports each finding against the resource at fault."""
    info = RuleInfo(rule_id, checks, why, fix, "stack", part, enforcement, settings)

    def wrap(check: StackCheck) -> StackCheck:
        def validate(args: Any, report: Report) -> None:
            config = info.config(args.get_config())
            view = StackView(Res.from_policy_resource(r) for r in args.resources)
            for message, urn in check(view, config):
                report(message, urn)

        policy = StackValidationPolicy(validate=validate, **_policy_metadata(info))
        REGISTRY.append(Rule(info, policy, None))
        return check

    return wrap


def at_resource(res: Res, messages: Iterable[str]) -> Iterator[tuple[str, str | None]]:
    """Stack-rule findings attached to one resource's URN."""
    for message in messages:
        yield message, res.urn
