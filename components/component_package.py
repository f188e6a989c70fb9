"""The Pulumi component package (``provider/``): which components it hosts and the schema it serves.

TypeScript, Go, YAML (and Python) programs use the components through Pulumi's Python component provider
host: ``pulumi package add ./provider`` runs ``provider/__main__.py``, which hands :func:`hosted_components` to
``pulumi.provider.experimental.component_provider_host``. The host's ``ComponentProvider`` infers the package
schema from the components' type annotations (``pulumi/provider/experimental/analyzer.py``: the ``args``
annotation of ``__init__`` gives the inputs, the component's class-level ``pulumi.Output`` annotations the
outputs, the string literal after each annotation its description) and renders it with ``schema.py``'s
``generate_schema``. :func:`package_schema` runs exactly that code without the Pulumi CLI, so the committed
``provider/schema.json`` (``python -m secure_mesh package-schema > provider/schema.json``) is what the host
serves, and a test fails when the two drift.

Two gaps of the analyzer are closed by :func:`analyzable`, which the host and the schema command both go
through:

* it reads annotations with ``inspect.get_annotations`` and does not evaluate strings, so it cannot read modules
  written with ``from __future__ import annotations`` (every annotation a string): they are evaluated in place,
  in the defining module's namespace, exactly as Python would have without that import;
* it ignores dataclass defaults (only ``T | None`` and a TypedDict's ``NotRequired`` make an input optional), so
  a field with a default would be a required input that YAML/TypeScript/Go callers must always set: such a
  field's annotation is wrapped in ``typing.NotRequired``, which the analyzer reads as optional; the host then
  leaves the missing input out and the dataclass default applies. ``typing.get_type_hints`` (and so
  :func:`secure_mesh.args.coerce_args`) strips the wrapper again.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import json
import sys
import types
import typing
from collections.abc import Iterable
from typing import Any

import pulumi

PACKAGE_NAME = "secure-mesh"
"""The package name of the component package: type tokens are ``secure-mesh:index:<ClassName>``."""


def component_type_token(component: type[pulumi.ComponentResource]) -> str:
    """The type token the host registers a component under (the analyzer's ``<package>:index:<class name>``)."""
    return f"{PACKAGE_NAME}:index:{component.__name__}"


def _package() -> types.ModuleType:
    """This package's top module (``secure_mesh`` when installed; imported lazily: it imports every component).

    Looked up by this module's own package name rather than ``import secure_mesh``, so type checking the
    ``components/`` folder needs no installed copy of the package.
    """
    return importlib.import_module(__name__.rpartition(".")[0])


def public_components() -> list[type[pulumi.ComponentResource]]:
    """The component classes the public API (``secure_mesh.__all__``) names, in ``__all__`` order."""
    package = _package()
    found = []
    for name in package.__all__:
        value = getattr(package, name)
        if inspect.isclass(value) and issubclass(value, pulumi.ComponentResource):
            found.append(value)
    return found


def hosted_components() -> list[type[pulumi.ComponentResource]]:
    """Every public component, with its annotations evaluated for the analyzer (what ``provider/`` hosts)."""
    return [analyzable(component) for component in public_components()]


def analyzable(component: type[pulumi.ComponentResource]) -> type[pulumi.ComponentResource]:
    """``component`` with the string annotations of its class, its ``__init__`` and its Args types evaluated.

    Idempotent. Only annotations Pulumi's analyzer reads are touched: the component's own class-level ones (its
    outputs), its ``__init__``'s (``args``), and those of every dataclass reachable from them.
    """
    _evaluate(component.__init__, component.__module__)
    _evaluate(component, component.__module__)
    seen: set[type[Any]] = set()
    pending = [*component.__annotations__.values(), *component.__init__.__annotations__.values()]
    while pending:
        hint = pending.pop()
        for candidate in _types_in(hint):
            if candidate in seen or not (isinstance(candidate, type) and dataclasses.is_dataclass(candidate)):
                continue
            seen.add(candidate)
            _evaluate(candidate, candidate.__module__)
            _defaults_not_required(candidate)
            pending.extend(candidate.__annotations__.values())
    return component


def _defaults_not_required(args_type: type[Any]) -> None:
    """Mark the dataclass fields that have a default as ``NotRequired`` for the analyzer (see the module doc)."""
    annotations = _own_annotations(args_type)
    for field in dataclasses.fields(args_type):
        has_default = field.default is not dataclasses.MISSING or field.default_factory is not dataclasses.MISSING
        hint = annotations.get(field.name)
        if has_default and hint is not None and not _is_not_required(hint):
            annotations[field.name] = typing.NotRequired[hint]


def _own_annotations(owner: Any) -> dict[str, Any]:
    """The live annotations dict of a class (its own, not a base's) or function, to update in place.

    Not ``inspect.get_annotations``: it returns a copy.
    """
    annotations: dict[str, Any] = (
        owner.__dict__.get("__annotations__", {})  # noqa: RUF063 - get_annotations returns a copy
        if inspect.isclass(owner)
        else owner.__annotations__
    )
    return annotations


def _evaluate(owner: Any, module_name: str) -> None:
    """Replace the string annotations of ``owner`` (a class or function) by the objects they name."""
    annotations = _own_annotations(owner)
    if not annotations:
        return
    module = sys.modules[module_name]
    namespace = vars(module)
    for key, value in list(annotations.items()):
        if isinstance(value, str):
            annotations[key] = eval(value, namespace, None)  # the module's own annotation text


def _is_not_required(hint: Any) -> bool:
    return typing.get_origin(hint) is typing.NotRequired


def _types_in(hint: Any) -> Iterable[Any]:
    """The classes a (possibly generic) annotation mentions, at any depth."""
    if inspect.isclass(hint) and not isinstance(hint, types.GenericAlias):
        yield hint
    for argument in typing.get_args(hint):
        yield from _types_in(argument)


def package_schema(components: list[type[pulumi.ComponentResource]] | None = None) -> dict[str, Any]:
    """The package schema the component provider host serves for ``components`` (default: every public one).

    The same calls as ``ComponentProvider.__init__`` (pulumi/provider/experimental/component.py): ``Analyzer``
    over the components, then ``generate_schema`` with the package name, version and the sorted dependencies.
    """
    from pulumi.provider.experimental.analyzer import Analyzer
    from pulumi.provider.experimental.schema import generate_schema

    hosted = [analyzable(component) for component in components] if components is not None else hosted_components()
    result = Analyzer(PACKAGE_NAME).analyze(hosted)
    dependencies = sorted(result["dependencies"], key=lambda d: f"{d.name}{d.version}")
    schema = generate_schema(
        PACKAGE_NAME,
        _package().__version__,
        None,
        result["component_definitions"],
        result["type_definitions"],
        dependencies,
    )
    document: dict[str, Any] = schema.to_json()
    return document


def package_schema_text(components: list[type[pulumi.ComponentResource]] | None = None) -> str:
    """:func:`package_schema` as the committed ``provider/schema.json`` holds it (sorted keys, 2-space indent)."""
    return json.dumps(package_schema(components), indent=2, sort_keys=True) + "\n"



COMPONENTS_BEGIN = "<!-- component-reference:begin (generated by `python -m secure_mesh package-schema --docs`) -->"
COMPONENTS_END = "<!-- component-reference:end -->"


def _cell(text: str | None) -> str:
    """A description as one Markdown table cell (one line, pipes escaped)."""
    return " ".join((text or "").split()).replace("|", "\\|")


def _type_text(spec: dict[str, Any]) -> str:
    """A schema property's type in words, linking the package's own types."""
    ref = spec.get("$ref")
    if ref == "pulumi.json#/Any":
        return "any JSON"
    if ref:
        name = str(ref).rsplit(":", 1)[-1]
        return f"[{name}](#{name.lower()})"
    kind = spec.get("type")
    if kind == "array":
        return f"list of {_type_text(spec['items'])}"
    if kind == "object" and "additionalProperties" in spec:
        return f"map of {_type_text(spec['additionalProperties'])}"
    return str(kind)


def _properties_table(properties: dict[str, Any], required: list[str] | None, first: str) -> list[str]:
    """A Markdown table of properties (with a Required column unless ``required`` is None)."""
    if required is None:
        lines = [f"| {first} | Type | Description |", "| --- | --- | --- |"]
    else:
        lines = [f"| {first} | Type | Required | Description |", "| --- | --- | --- | --- |"]
    for name in sorted(properties):
        spec = properties[name]
        cells = [f"`{name}`", _type_text(spec)]
        if required is not None:
            cells.append("yes" if name in required else "")
        lines.append("| " + " | ".join([*cells, _cell(spec.get("description"))]) + " |")
    return lines


def component_reference_markdown(schema: dict[str, Any]) -> str:
    """Every component of a package schema with its inputs and outputs, then every type they use (Markdown)."""
    lines: list[str] = []
    for token in sorted(schema["resources"]):
        resource = schema["resources"][token]
        name = token.rsplit(":", 1)[-1]
        lines += [f"### {name}", "", f"`{token}` — {_cell(resource.get('description'))}", ""]
        lines += _properties_table(resource["inputProperties"], resource.get("requiredInputs", []), "Input")
        lines += [""]
        lines += _properties_table(resource["properties"], None, "Output")
        lines += [""]
    lines += ["### Types", ""]
    for token in sorted(schema.get("types", {})):
        spec = schema["types"][token]
        name = token.rsplit(":", 1)[-1]
        lines += [f"#### {name}", "", _cell(spec.get("description")), ""]
        if "enum" in spec:
            lines += ["Values: " + ", ".join(f"`{member['value']}`" for member in spec["enum"]), ""]
        else:
            lines += _properties_table(spec.get("properties", {}), spec.get("required", []), "Field")
            lines += [""]
    return "\n".join(lines)


def regenerate_component_reference(text: str, schema: dict[str, Any] | None = None) -> str:
    """``text`` (docs/components.md) with its generated component reference rewritten from the schema."""
    begin, end = text.find(COMPONENTS_BEGIN), text.find(COMPONENTS_END)
    if begin < 0 or end < begin:
        raise ValueError(f"no block between {COMPONENTS_BEGIN!r} and {COMPONENTS_END!r}")
    body = component_reference_markdown(schema if schema is not None else package_schema())
    return f"{text[:begin]}{COMPONENTS_BEGIN}\n\n{body}\n{text[end:]}"
