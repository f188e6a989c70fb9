"""The public API (issue 15 item 3): ``secure_mesh.__all__`` names every reusable component and its Args."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import json
import subprocess
import sys
import textwrap

import pulumi

import secure_mesh
from secure_mesh.component_package import analyzable, public_components
from tests.package.support import (
    COMPONENTS_DIR,
    COMPOSITION_ONLY,
    NOT_YET_REFACTORED,
    ComponentClass,
    component_classes,
    reusable_components,
)


def _class(component: ComponentClass) -> type[pulumi.ComponentResource]:
    value: type[pulumi.ComponentResource] = getattr(importlib.import_module(component.module), component.name)
    return value


def _args_type(component: type[pulumi.ComponentResource]) -> type:
    args: type = analyzable(component).__init__.__annotations__["args"]
    return args


def test_all_is_sorted_without_duplicates_and_every_name_resolves() -> None:
    assert secure_mesh.__all__ == sorted(set(secure_mesh.__all__)), "keep secure_mesh.__all__ sorted, each name once"
    missing = [name for name in secure_mesh.__all__ if not hasattr(secure_mesh, name)]
    assert not missing, f"secure_mesh.__all__ names what the package does not define: {missing}"


def test_all_names_exactly_the_refactored_components_and_their_args() -> None:
    expected: set[str] = set()
    for component in reusable_components():
        if component.name in NOT_YET_REFACTORED:
            continue
        cls = _class(component)
        expected |= {component.name, _args_type(cls).__name__}
    assert set(secure_mesh.__all__) == expected, (
        "secure_mesh.__all__ must name every reusable component and its Args, and nothing else "
        f"(missing: {sorted(expected - set(secure_mesh.__all__))}, "
        f"extra: {sorted(set(secure_mesh.__all__) - expected)}); "
        "a component still waiting for its narrow Args belongs in tests/package/support.py NOT_YET_REFACTORED"
    )
    for name in secure_mesh.__all__:
        exported = getattr(secure_mesh, name)
        defined = [c for c in component_classes() if c.name == name]
        if defined:
            assert exported is _class(defined[0]), f"secure_mesh.{name} is not the class defined in {defined[0].module}"


def test_the_not_yet_refactored_list_only_shrinks() -> None:
    names = {component.name for component in reusable_components()}
    stale = sorted(set(NOT_YET_REFACTORED) - names)
    assert not stale, f"NOT_YET_REFACTORED names classes that no longer exist: {stale}"
    exported = sorted(set(NOT_YET_REFACTORED) & set(secure_mesh.__all__))
    assert not exported, (
        f"{exported} are in secure_mesh.__all__ (refactored): remove them from NOT_YET_REFACTORED in "
        "tests/package/support.py, so every check of the public API applies to them"
    )
    assert set(COMPOSITION_ONLY) <= {component.name for component in component_classes()}


def test_every_exported_args_is_a_frozen_dataclass_with_documented_fields() -> None:
    for component in public_components():
        args = _args_type(component)
        assert dataclasses.is_dataclass(args), f"{args.__name__} must be a dataclass"
        assert args.__dataclass_params__.frozen, f"{args.__name__} must be frozen"  # type: ignore[attr-defined]
        assert inspect.getdoc(args), f"{args.__name__} has no docstring"
        assert inspect.getdoc(component), f"{component.__name__} has no docstring"


def test_every_exported_component_coerces_its_args_first() -> None:
    """The component host passes Args as nested dicts: ``args = coerce_args(XArgs, args)`` comes first."""
    for component in public_components():
        args = _args_type(component)
        init = ast.parse(textwrap.dedent(inspect.getsource(component.__init__))).body[0]
        assert isinstance(init, ast.FunctionDef)
        body = [node for node in init.body if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))]
        first = ast.unparse(body[0])
        expected = f"args = coerce_args({args.__name__}, args)"
        assert first == expected, f"{component.__name__}.__init__ starts with {first}, not {expected}"


def test_the_package_ships_its_type_information() -> None:
    assert (COMPONENTS_DIR / "py.typed").is_file()
    assert (COMPONENTS_DIR / "py.typed").read_text() == ""


def test_importing_the_public_api_loads_no_settings_model() -> None:
    """``import secure_mesh`` (every exported component) must not pull in the settings models or the layout."""
    probe = (
        "import json, sys, secure_mesh; "
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith(('secure_mesh', 'pydantic')))))"
    )
    completed = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    loaded = json.loads(completed.stdout)
    offending = [m for m in loaded if m.startswith(("secure_mesh.settings", "secure_mesh.layout", "pydantic"))]
    assert not offending, f"import secure_mesh loads {offending}"
