"""A Pulumi YAML program, read two ways: checked against the package schema, and run through the component host.

The checks follow Pulumi YAML's reference (pulumi/docs, content/docs/reference/yaml): ``resources`` with
``type``/``properties``/``options`` (``providers`` is a map of package name to ``${provider}``), a ``config``
section with types and defaults, ``outputs``, and ``${...}`` expressions — a string that is only ``${x.y}`` is a
substitution (the value keeps its type), any other string with ``${...}`` is an interpolation (a string). Only the
forms the example uses are supported; anything else is reported, so the example stays checkable.

The run mirrors what the engine does for a YAML program using the component package: explicit providers are
registered, and each ``secure-mesh:index:*`` resource is constructed by the component host's
``ComponentProvider.construct`` (which maps the camelCase inputs to the Args and calls the component, whose first
statement is ``coerce_args``), with the outputs of one component passed as the inputs of the next.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Any

import pulumi
import yaml

from secure_mesh.component_package import PACKAGE_NAME

SUBSTITUTION = re.compile(r"^\$\{([^${}]+)\}$")
INTERPOLATION = re.compile(r"\$\{([^${}]+)\}")
_STEP = re.compile(r"\.?([A-Za-z_][A-Za-z0-9_-]*)|\[\"([^\"]+)\"\]|\[(\d+)\]")


def reference_path(reference: str) -> list[str | int]:
    """``a.b["c"][0]`` as ``["a", "b", "c", 0]`` (Pulumi YAML's property access forms)."""
    steps: list[str | int] = []
    position = 0
    while position < len(reference):
        match = _STEP.match(reference, position)
        if match is None or match.end() == position:
            raise ValueError(f"cannot read the expression ${{{reference}}} at {reference[position:]!r}")
        name, key, index = match.groups()
        steps.append(int(index) if index is not None else (name if name is not None else key))
        position = match.end()
    return steps
CONFIG_TYPES: dict[str, dict[str, Any]] = {
    "string": {"type": "string"},
    "integer": {"type": "integer"},
    "boolean": {"type": "boolean"},
}
"""Project config types (Pulumi.yaml ``config:``, pulumi/docs "Project file") the checker understands."""


@dataclass
class YamlProgram:
    """A parsed ``Pulumi.yaml`` with ``runtime: yaml``."""

    path: Path
    document: dict[str, Any]

    @classmethod
    def load(cls, path: Path) -> YamlProgram:
        """Read a program file."""
        return cls(path, yaml.safe_load(path.read_text()))

    @property
    def disabled_default_providers(self) -> set[str]:
        """The packages whose default provider the program disables (``pulumi:disable-default-providers``)."""
        setting = (self.document.get("config") or {}).get("pulumi:disable-default-providers") or {}
        return set(setting.get("value") or [])

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        """The ``resources`` section."""
        resources: dict[str, dict[str, Any]] = self.document.get("resources") or {}
        return resources

    @property
    def config(self) -> dict[str, dict[str, Any]]:
        """The program's own config keys (``config:`` minus namespaced settings such as ``pulumi:...``)."""
        config: dict[str, dict[str, Any]] = self.document.get("config") or {}
        return {key: value for key, value in config.items() if ":" not in key}

    def component_resources(self) -> dict[str, dict[str, Any]]:
        """The resources of this package's types."""
        return {n: r for n, r in self.resources.items() if str(r.get("type", "")).startswith(f"{PACKAGE_NAME}:")}

    def order(self) -> list[str]:
        """The resources, each after every resource its properties and options reference."""
        graph = {
            name: {str(reference_path(ref)[0]) for ref in references(resource)} & set(self.resources)
            for name, resource in self.resources.items()
        }
        return list(TopologicalSorter(graph).static_order())


def references(value: Any) -> set[str]:
    """Every ``${...}`` expression inside a value (nested dicts and lists included)."""
    if isinstance(value, str):
        return set(INTERPOLATION.findall(value))
    if isinstance(value, Mapping):
        return {ref for item in value.values() for ref in references(item)}
    if isinstance(value, list):
        return {ref for item in value for ref in references(item)}
    return set()


def _strip(spec: Any) -> Any:
    if isinstance(spec, dict):
        return {k: _strip(v) for k, v in spec.items() if k not in ("description", "plain")}
    return spec


@dataclass
class ProgramChecker:
    """Checks a YAML program's use of the package against the package schema."""

    program: YamlProgram
    schema: Mapping[str, Any]
    problems: list[str] = field(default_factory=list)

    def _type_of_reference(self, reference: str, where: str) -> dict[str, Any] | None:
        try:
            root, *path = reference_path(reference)
        except ValueError as error:
            self.problems.append(f"{where}: {error}")
            return None
        if not isinstance(root, str):
            self.problems.append(f"{where}: ${{{reference}}} does not start with a name")
            return None
        if root in self.program.config:
            declared = self.program.config[root].get("type")
            if declared not in CONFIG_TYPES or path:
                self.problems.append(f"{where}: config {root} of type {declared!r} used as ${{{reference}}}")
                return None
            return CONFIG_TYPES[declared]
        resource = self.program.resources.get(root)
        if resource is None:
            self.problems.append(f"{where}: ${{{reference}}} names nothing the program declares")
            return None
        spec = self.schema["resources"].get(resource.get("type"))
        if spec is None or not path:
            self.problems.append(f"{where}: ${{{reference}}} is not an output of a {PACKAGE_NAME} component")
            return None
        output = spec["properties"].get(path[0])
        if output is None:
            self.problems.append(f"{where}: {resource['type']} has no output {path[0]!r}")
            return None
        current: dict[str, Any] = _strip(output)
        for step in path[1:]:
            if isinstance(step, int) and current.get("type") == "array":
                current = current["items"]
            elif isinstance(step, str) and "additionalProperties" in current:
                current = current["additionalProperties"]
            elif isinstance(step, str) and "$ref" in current and str(current["$ref"]).startswith("#/types/"):
                properties = self.schema["types"][current["$ref"].removeprefix("#/types/")].get("properties", {})
                if step not in properties:
                    self.problems.append(f"{where}: ${{{reference}}}: no property {step!r}")
                    return None
                current = _strip(properties[step])
            else:
                self.problems.append(f"{where}: ${{{reference}}}: cannot index {current} with {step!r}")
                return None
        return current

    def _outputs_in(self, value: Any) -> list[str]:
        """The expressions in a value that read a resource's output (config values are plain)."""
        found = []
        for reference in sorted(references(value)):
            try:
                root = reference_path(reference)[0]
            except ValueError:
                continue
            if root in self.program.resources:
                found.append(reference)
        return found

    def check_value(self, value: Any, spec: Mapping[str, Any], where: str) -> None:
        """Check one property value against its schema."""
        if spec.get("plain"):
            # A plain input takes a value known when the program is written, never another resource's output
            # (SDKs type it without Input; the component reads it as a plain Python value).
            nested = self._nested_input(value, spec)
            outputs = [f"${{{reference}}}" for reference in self._outputs_in(value) if not nested]
            if outputs:
                self.problems.append(f"{where}: a plain input cannot take the output(s) {', '.join(outputs)}")
        if isinstance(value, str) and (match := SUBSTITUTION.match(value)):
            actual = self._type_of_reference(match.group(1), where)
            expected = _strip(dict(spec))
            if actual is not None and actual != expected and expected != {"$ref": "pulumi.json#/Any"}:
                self.problems.append(f"{where}: ${{{match.group(1)}}} is {actual}, the input takes {expected}")
            return
        if isinstance(value, str) and INTERPOLATION.search(value):
            for reference in INTERPOLATION.findall(value):
                self._type_of_reference(reference, where)
            if _strip(dict(spec)) != {"type": "string"}:
                self.problems.append(f"{where}: an interpolated string where the input takes {_strip(dict(spec))}")
            return
        ref = spec.get("$ref")
        if ref == "pulumi.json#/Any":  # free-form (Helm values): any JSON, but what it references must exist
            for reference in references(value):
                self._type_of_reference(reference, where)
            return
        if ref:
            type_spec = self.schema["types"][ref.removeprefix("#/types/")]
            if "enum" in type_spec:
                allowed = [member["value"] for member in type_spec["enum"]]
                if value not in allowed:
                    self.problems.append(f"{where}: {value!r} is not one of {allowed}")
                return
            self.check_object(value, type_spec.get("properties", {}), type_spec.get("required", []), where)
            return
        kind = spec.get("type")
        checks: dict[str, Callable[[Any], bool]] = {
            "string": lambda v: isinstance(v, str),
            "boolean": lambda v: isinstance(v, bool),
            "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
            "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
            "array": lambda v: isinstance(v, list),
            "object": lambda v: isinstance(v, dict),
        }
        if kind not in checks or not checks[kind](value):
            self.problems.append(f"{where}: {value!r} is not a {kind}")
            return
        if kind == "array":
            for index, item in enumerate(value):
                self.check_value(item, spec["items"], f"{where}[{index}]")
        if kind == "object":
            for key, item in value.items():
                self.check_value(item, spec["additionalProperties"], f"{where}.{key}")

    @staticmethod
    def _nested_input(value: Any, spec: Mapping[str, Any]) -> bool:
        """Whether a plain container's outputs sit in non-plain members (checked there, one level down)."""
        if isinstance(value, str):
            return False
        inner = spec.get("items") or spec.get("additionalProperties")
        if inner is not None:
            return not inner.get("plain")
        return "$ref" in spec and not str(spec["$ref"]).startswith("pulumi.json#")

    def check_object(
        self, value: Any, properties: Mapping[str, Any], required: list[str], where: str
    ) -> None:
        """Check a map of properties: known names, required ones present, each value's type."""
        if not isinstance(value, dict):
            self.problems.append(f"{where}: {value!r} is not an object")
            return
        unknown = sorted(set(value) - set(properties))
        if unknown:
            self.problems.append(f"{where}: unknown properties {unknown}")
        missing = sorted(set(required) - set(value))
        if missing:
            self.problems.append(f"{where}: required properties missing {missing}")
        for key in sorted(set(value) & set(properties)):
            self.check_value(value[key], properties[key], f"{where}.{key}")

    def check(self) -> list[str]:
        """Every problem of the program's use of the package."""
        for name, resource in self.program.component_resources().items():
            spec = self.schema["resources"].get(resource["type"])
            if spec is None:
                self.problems.append(f"{name}: {resource['type']} is not in the package schema")
                continue
            self.check_object(resource.get("properties") or {}, spec["inputProperties"], spec["requiredInputs"], name)
            providers = (resource.get("options") or {}).get("providers") or {}
            for package, reference in providers.items():
                match = SUBSTITUTION.match(str(reference))
                target = self.program.resources.get(match.group(1)) if match else None
                if target is None or target.get("type") != f"pulumi:providers:{package}":
                    self.problems.append(f"{name}: options.providers.{package} is not a {package} provider resource")
        for name, expression in (self.program.document.get("outputs") or {}).items():
            for reference in references(expression):
                self._type_of_reference(reference, f"outputs.{name}")
        return self.problems


# ------------------------------------------------------------------------------------------------ the run


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@dataclass
class ProgramRun:
    """What running the program registered and exported."""

    resources: list[Any]
    outputs: dict[str, Any]
    constructed: dict[str, str]
    """Each component's YAML name → the URN its construct returned."""


def run_program(
    program: YamlProgram,
    host: Any,
    provider_classes: Mapping[str, Callable[..., Any]],
    config: Mapping[str, Any] | None = None,
) -> ProgramRun:
    """Run the program under the suite's mocks, constructing each component through ``host.construct``.

    ``config`` sets config keys (as ``pulumi config set`` would); the others take their defaults.
    """
    from secure_mesh.offline import program_run as engine
    from tests.harness import PROJECT_DIR, _collect_mock_outputs

    values: dict[str, Any] = {}
    constructed: dict[str, Any] = {}
    exported: dict[str, Any] = {}

    def config_value(name: str) -> Any:
        return (config or {}).get(name, program.config[name].get("default"))

    def lookup(reference: str) -> Any:
        root, *path = reference_path(reference)
        if root in program.config:
            return config_value(str(root))
        value = values[str(root)]
        for key in path:
            value = value.apply(lambda v, k=key: v[k]) if isinstance(value, pulumi.Output) else value[key]
        return value

    def evaluate(value: Any) -> Any:
        if isinstance(value, str) and (match := SUBSTITUTION.match(value)):
            return lookup(match.group(1))
        if isinstance(value, str) and INTERPOLATION.search(value):
            parts = re.split(r"(\$\{[^${}]+\})", value)
            pieces = [lookup(p[2:-1]) if p.startswith("${") else p for p in parts if p]
            if not any(isinstance(piece, pulumi.Output) for piece in pieces):
                return "".join(str(piece) for piece in pieces)  # config only: Pulumi YAML writes a plain string
            return pulumi.Output.concat(*pieces)
        if isinstance(value, dict):
            return {key: evaluate(item) for key, item in value.items()}
        if isinstance(value, list):
            return [evaluate(item) for item in value]
        return value

    def body() -> None:
        for name in program.order():
            resource = program.resources[name]
            type_token = resource["type"]
            properties = evaluate(resource.get("properties") or {})
            if type_token.startswith("pulumi:providers:"):
                make = provider_classes[type_token.removeprefix("pulumi:providers:")]
                values[name] = make(name, **{_snake(k): v for k, v in properties.items()})
                continue
            if not type_token.startswith(f"{PACKAGE_NAME}:"):
                raise ValueError(f"{name}: the example runs only providers and {PACKAGE_NAME} components")
            options = resource.get("options") or {}
            providers = [evaluate(reference) for reference in (options.get("providers") or {}).values()]
            result = host.construct(name, type_token, properties, pulumi.ResourceOptions(providers=providers))
            values[name] = result.state
            constructed[name] = result.urn
        for key, expression in (program.document.get("outputs") or {}).items():
            exported[key] = evaluate(expression)

    run = engine.run_program(body, PROJECT_DIR, {}, stack="yaml-program", mock_outputs=_collect_mock_outputs())
    outputs = {key: engine._resolve(value)[0] for key, value in exported.items()}
    urns = {key: engine._resolve(value)[0] for key, value in constructed.items()}
    return ProgramRun(resources=run.resources, outputs=outputs, constructed=urns)
