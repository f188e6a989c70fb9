"""What a component's entry in the package schema must be, derived from its Python annotations independently.

Pulumi's analyzer writes the schema; this module states what each property's schema must be from the annotation
alone (``str`` → ``string``, a ``StrEnum`` → a ``$ref`` to an enum type with the same values, ``Sequence[T]`` →
``array``, ``Mapping[str, T]`` → ``object`` with ``additionalProperties``, an Args dataclass → a ``$ref`` to an
object type, ``pulumi.Input[T]``/``pulumi.Output[T]`` → ``T``), which inputs are required (fields without a
default that are not ``T | None``), and that every description is present. Anything else (``Any``, unions,
tuples, resources) is reported: the schema would carry ``pulumi.json#/Any`` or the analyzer would refuse it.
So is an input that is a list or map of an enum: Pulumi's component provider host (pulumi 3.272,
``pulumi/provider/experimental/component.py``, ``ComponentProvider.map_input_properties``) converts an enum only
where a property itself refers to it, and maps each item of such a list or map as an object (``{web: http}``
reaches the component as ``{web: {}}``); such a field takes strings and the component checks them.
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
import json
import sys
import types
import typing
from collections.abc import Awaitable, Mapping, Sequence
from typing import Any

import pulumi

from secure_mesh.component_package import PACKAGE_NAME, analyzable, component_type_token


def camel(name: str) -> str:
    """The schema name of a Python name (the analyzer's ``camel_case``)."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _hints(owner: Any, own_only: bool = False) -> dict[str, Any]:
    """Evaluated annotations (``own_only``: the class's own, not its bases')."""
    module = sys.modules.get(owner.__module__)
    namespace = {**(vars(module) if module else {}), "Output": pulumi.Output, "T": Any}
    if own_only:
        owner = types.SimpleNamespace(__annotations__=dict(inspect.get_annotations(owner)))
    return typing.get_type_hints(owner, globalns=namespace)


def args_type(component: type[pulumi.ComponentResource]) -> type[Any]:
    """The Args dataclass of a component (its ``__init__``'s ``args`` annotation)."""
    hint: type[Any] = _hints(analyzable(component).__init__)["args"]
    return hint


def output_hints(component: type[pulumi.ComponentResource]) -> dict[str, Any]:
    """The component's class-level annotations (its outputs, by REFACTOR's contract), base classes included."""
    found: dict[str, Any] = {}
    for cls in reversed(component.__mro__):
        if cls in (object, pulumi.Resource, pulumi.ComponentResource):
            continue
        found.update(_hints(cls, own_only=True))
    return {name: hint for name, hint in found.items() if not name.startswith("_")}


def _has_default(field: dataclasses.Field[Any]) -> bool:
    return field.default is not dataclasses.MISSING or field.default_factory is not dataclasses.MISSING


def _strip(spec: Any) -> Any:
    """A schema property without what is not about its type (descriptions, the ``plain`` flag)."""
    if isinstance(spec, dict):
        return {k: _strip(v) for k, v in spec.items() if k not in ("description", "plain")}
    return spec


FREE_FORM: dict[str, str] = {
    "ChartReleaseArgs.values": "Helm values: any JSON the VSO or Secrets Store CSI driver chart's values.yaml accepts",
    "ConsulClusterArgs.values": "Helm values: any JSON the consul-k8s chart's values.yaml accepts",
    "VaultInjectorArgs.values": "Helm values: any JSON the vault-helm chart's values.yaml accepts",
}
"""Args fields whose values are arbitrary JSON by design (``Mapping[str, Any]``), so ``pulumi.json#/Any`` is their
real type; anywhere else ``Any`` is a missing type."""


class SchemaChecker:
    """Collects the problems of a schema against a set of components."""

    def __init__(self, schema: Mapping[str, Any], free_form: Mapping[str, str] | None = None) -> None:
        self.schema = schema
        self.problems: list[str] = []
        self._types: dict[str, type[Any]] = {}
        self._free_form = FREE_FORM if free_form is None else free_form
        self._any_allowed = 0

    # ----------------------------------------------------------------------------- expectations
    def expected(self, hint: Any, where: str) -> tuple[dict[str, Any] | None, bool]:
        """The schema an annotation must produce (without descriptions), and whether it is optional."""
        optional = False
        if typing.get_origin(hint) is typing.NotRequired:
            (hint,) = typing.get_args(hint)
            optional = True
        if typing.get_origin(hint) in (typing.Union, types.UnionType):
            members = typing.get_args(hint)
            optional = optional or type(None) in members
            # pulumi.Input[T] is Union[T, Awaitable[T], Output[T]]: its type is T.
            wrappers = (Awaitable, pulumi.Output)
            concrete = [m for m in members if m is not type(None) and typing.get_origin(m) not in wrappers]
            if len(concrete) != 1:
                self.problems.append(f"{where}: a union of several types ({hint}) has no schema type")
                return None, optional
            hint = concrete[0]
        if typing.get_origin(hint) is pulumi.Output:
            (hint,) = typing.get_args(hint)
        return self._expected_type(hint, where), optional

    def _expected_type(self, hint: Any, where: str) -> dict[str, Any] | None:
        origin = typing.get_origin(hint)
        if origin in (typing.Union, types.UnionType, pulumi.Output):  # an Input/Output inside a list or map
            return self.expected(hint, where)[0]
        scalars = {str: "string", bool: "boolean", int: "integer", float: "number"}
        if hint in scalars:
            return {"type": scalars[hint]}
        if isinstance(hint, type) and issubclass(hint, enum.Enum):
            return self._ref(hint)
        if isinstance(hint, type) and dataclasses.is_dataclass(hint):
            return self._ref(hint)
        if origin in (list, Sequence):
            (item,) = typing.get_args(hint)
            items = self._expected_type(item, f"{where}[]")
            return {"type": "array", "items": items} if items is not None else None
        if origin in (dict, Mapping):
            key, value = typing.get_args(hint)
            if key is not str:
                self.problems.append(f"{where}: map keys must be str, not {key}")
                return None
            values = self._expected_type(value, f"{where}{{}}")
            return {"type": "object", "additionalProperties": values} if values is not None else None
        self.problems.append(f"{where}: {hint} is not a type the schema can carry (str, int, float, bool, an enum, "
                             "Sequence, Mapping[str, T], an Args dataclass, pulumi.Input/Output of those)")
        return None

    def _free_form_spec(self, hint: Any, where: str) -> tuple[dict[str, Any] | None, bool]:
        """A field allowed to hold any JSON: ``Mapping[str, Any]`` (optionally ``| None``)."""
        optional = False
        if typing.get_origin(hint) in (typing.Union, types.UnionType) and type(None) in typing.get_args(hint):
            (hint,) = [m for m in typing.get_args(hint) if m is not type(None)]
            optional = True
        if typing.get_origin(hint) not in (dict, Mapping) or typing.get_args(hint) != (str, Any):
            self.problems.append(f"{where}: a free-form field must be Mapping[str, Any], not {hint}")
            return None, optional
        self._any_allowed += 1
        return {"type": "object", "additionalProperties": {"$ref": "pulumi.json#/Any"}}, optional

    def _ref(self, cls: type[Any]) -> dict[str, Any]:
        self._types[cls.__name__] = cls
        return {"$ref": f"#/types/{PACKAGE_NAME}:index:{cls.__name__}"}

    # ----------------------------------------------------------------------------------- checks
    def _described(self, spec: Mapping[str, Any] | None, where: str) -> None:
        if not spec or not str(spec.get("description") or "").strip():
            self.problems.append(f"{where}: no description (a docstring after the annotation)")

    def _compare(self, actual: Mapping[str, Any] | None, expected: dict[str, Any] | None, where: str) -> None:
        if expected is None:
            return
        if actual is None:
            self.problems.append(f"{where}: missing from the schema")
        elif _strip(actual) != expected:
            self.problems.append(f"{where}: schema says {_strip(actual)}, the annotation means {expected}")

    def _no_enum_items(self, spec: Mapping[str, Any] | None, where: str) -> None:
        """Report an input whose list or map items (at any depth) are an enum: they cannot cross the host."""
        inner = (spec.get("items") or spec.get("additionalProperties")) if spec else None
        while inner:
            cls = self._types.get(str(inner.get("$ref", "")).rsplit(":", 1)[-1])
            if cls is not None and issubclass(cls, enum.Enum):
                self.problems.append(
                    f"{where}: a list or map of the enum {cls.__name__} cannot cross the component host "
                    "(ComponentProvider.map_input_properties maps each item as an object): take strings and "
                    "check them in the component"
                )
                return
            inner = inner.get("items") or inner.get("additionalProperties")

    def _fields(self, args: type[Any], properties: Mapping[str, Any], required: Sequence[str], where: str) -> None:
        hints = _hints(args)
        fields = {camel(field.name): field for field in dataclasses.fields(args)}
        if set(properties) != set(fields):
            self.problems.append(f"{where}: schema properties {sorted(properties)} != fields {sorted(fields)}")
        must = []
        for schema_name, field in fields.items():
            if f"{args.__name__}.{field.name}" in self._free_form:
                spec, optional = self._free_form_spec(hints[field.name], f"{where}.{schema_name}")
            else:
                spec, optional = self.expected(hints[field.name], f"{where}.{schema_name}")
            self._compare(properties.get(schema_name), spec, f"{where}.{schema_name}")
            self._no_enum_items(spec, f"{where}.{schema_name}")
            self._described(properties.get(schema_name), f"{where}.{schema_name}")
            if not optional and not _has_default(field):
                must.append(schema_name)
        if sorted(required) != sorted(must):
            self.problems.append(
                f"{where}: required {sorted(required)}, but the fields without a default are {sorted(must)}"
            )

    def check_component(self, component: type[pulumi.ComponentResource]) -> None:
        """Check one component's resource entry (and the types it references)."""
        token = component_type_token(component)
        resource = self.schema.get("resources", {}).get(token)
        if resource is None:
            self.problems.append(f"{token}: not in the schema")
            return
        if not str(resource.get("description") or "").strip():
            self.problems.append(f"{token}: no description (the component's docstring)")
        if resource.get("isComponent") is not True:
            self.problems.append(f"{token}: not marked isComponent")
        args = args_type(component)
        self._fields(args, resource.get("inputProperties", {}), resource.get("requiredInputs", []), f"{token} input")
        outputs = output_hints(component)
        if not outputs:
            self.problems.append(f"{token}: registers no typed output (class-level pulumi.Output annotations)")
        properties = resource.get("properties", {})
        if set(properties) != {camel(name) for name in outputs}:
            self.problems.append(f"{token}: schema outputs {sorted(properties)} != annotations {sorted(outputs)}")
        must = []
        for name, hint in outputs.items():
            where = f"{token} output {camel(name)}"
            if typing.get_origin(hint) is not pulumi.Output and not (
                typing.get_origin(hint) in (typing.Union, types.UnionType)
                and any(typing.get_origin(m) is pulumi.Output for m in typing.get_args(hint))
            ):
                self.problems.append(
                    f"{where}: class-level annotations are outputs and must be pulumi.Output[T], not {hint}"
                )
            spec, optional = self.expected(hint, where)
            self._compare(properties.get(camel(name)), spec, where)
            self._described(properties.get(camel(name)), where)
            if not optional:
                must.append(camel(name))
        if sorted(resource.get("required", [])) != sorted(must):
            self.problems.append(f"{token}: required outputs {resource.get('required', [])} != non-optional {must}")

    def check_types(self) -> None:
        """Check every type the components referenced (enums by value, Args dataclasses field by field)."""
        done: set[str] = set()
        while set(self._types) - done:
            name = sorted(set(self._types) - done)[0]
            done.add(name)
            cls = self._types[name]
            token = f"{PACKAGE_NAME}:index:{name}"
            spec = self.schema.get("types", {}).get(token)
            if spec is None:
                self.problems.append(f"{token}: referenced but not in the schema's types")
                continue
            if not str(spec.get("description") or "").strip():
                self.problems.append(f"{token}: no description (the class docstring)")
            if issubclass(cls, enum.Enum):
                values = [member.value for member in cls]
                if spec.get("type") != "string" or [v.get("value") for v in spec.get("enum", [])] != values:
                    self.problems.append(f"{token}: enum {spec.get('enum')} != {values}")
            else:
                self._fields(cls, spec.get("properties", {}), spec.get("required", []), token)

    def check(self, components: Sequence[type[pulumi.ComponentResource]]) -> list[str]:
        """Every problem of the schema for these components (and nothing but them)."""
        for component in components:
            self.check_component(component)
        self.check_types()
        expected_resources = {component_type_token(c) for c in components}
        if set(self.schema.get("resources", {})) != expected_resources:
            self.problems.append(
                f"resources {sorted(self.schema.get('resources', {}))} != components {sorted(expected_resources)}"
            )
        found_any = json.dumps(self.schema).count('"pulumi.json#/Any"')
        if found_any != self._any_allowed:
            self.problems.append(
                f"the schema types {found_any} properties as pulumi.json#/Any, {self._any_allowed} free-form fields "
                "(schema_checks.FREE_FORM) may be"
            )
        return self.problems


def schema_problems(
    schema: Mapping[str, Any],
    components: Sequence[type[pulumi.ComponentResource]],
    free_form: Mapping[str, str] | None = None,
) -> list[str]:
    """The problems of ``schema`` as the package schema of ``components``."""
    return SchemaChecker(schema, free_form).check(components)
