"""No component depends on the settings models or the layout (issue 15 item 1), and nothing says ``components.``.

Read from the source (AST), so the check needs no import: every module a component module imports when it is
loaded or built (module level and inside functions, not under ``if TYPE_CHECKING:``), followed through the
package's own modules and the ``__init__`` of every package on the way, must stay clear of
``secure_mesh.settings`` and ``secure_mesh.layout``. The package's root ``__init__`` is left out: it imports the
public API (every component), and ``test_public_api`` checks at run time that importing it loads no settings.
"""

from __future__ import annotations

import ast
import re
import subprocess
from collections import deque
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.package.support import (
    COMPONENTS_DIR,
    NOT_YET_REFACTORED,
    PROJECT_DIR,
    module_name,
    reusable_components,
)

FORBIDDEN = ("secure_mesh.settings", "secure_mesh.layout")


def _path_of(module: str) -> Path | None:
    """The file of a ``secure_mesh`` module (None outside the package or when no such file exists)."""
    parts = module.split(".")
    if parts[0] != "secure_mesh":
        return None
    base = COMPONENTS_DIR.joinpath(*parts[1:])
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            yield from (n for child in node.orelse for n in _import_nodes_of(child))
            continue
        yield from _import_nodes_of(node)


def _import_nodes_of(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    if isinstance(node, ast.Import | ast.ImportFrom):
        yield node
    else:
        yield from _import_nodes(node)


def imported_modules(path: Path, module: str | None = None) -> set[str]:
    """The absolute names of the modules a file imports (relative imports resolved, ``from x import m`` included).

    ``module`` is the file's import name (default: from its place under ``components/``).
    """
    module = module or module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in _import_nodes(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
            continue
        if node.level:
            base_parts = package.split(".")
            base = ".".join(base_parts[: len(base_parts) - node.level + 1])
            target = f"{base}.{node.module}" if node.module else base
        else:
            target = node.module or ""
        found.add(target)
        for alias in node.names:
            if _path_of(f"{target}.{alias.name}") is not None:
                found.add(f"{target}.{alias.name}")
    return found


def _with_parents(module: str) -> list[str]:
    """A module and every package it sits in, below the root (importing ``a.b.c`` runs ``a.b/__init__``)."""
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(2, len(parts) + 1)]


def settings_import_chain(module: str) -> list[str] | None:
    """The import chain from ``module`` to the settings models or the layout, or None when there is none."""
    start = _with_parents(module)
    parents: dict[str, str | None] = dict.fromkeys(start)
    queue = deque(start)
    while queue:
        current = queue.popleft()
        if current.startswith(FORBIDDEN):
            chain = [current]
            while (previous := parents[chain[-1]]) is not None:
                chain.append(previous)
            return chain[::-1]
        path = _path_of(current)
        if path is None:
            continue
        for imported in sorted(imported_modules(path)):
            for step in _with_parents(imported) if imported.startswith("secure_mesh.") else []:
                if step not in parents:
                    parents[step] = current
                    queue.append(step)
    return None


def _component_modules() -> dict[str, list[str]]:
    by_module: dict[str, list[str]] = {}
    for component in reusable_components():
        by_module.setdefault(component.module, []).append(component.name)
    return by_module


@pytest.mark.parametrize("module", sorted(_component_modules()))
def test_component_modules_do_not_import_settings_or_layout(module: str) -> None:
    names = _component_modules()[module]
    chain = settings_import_chain(module)
    waiting = [name for name in names if name in NOT_YET_REFACTORED]
    if waiting and len(waiting) == len(names):
        assert chain is not None, (
            f"{module} ({', '.join(names)}) no longer reaches the settings: remove {waiting} from "
            "NOT_YET_REFACTORED in tests/package/support.py"
        )
        return
    assert chain is None, f"{module} ({', '.join(names)}) imports the settings or the layout: {' -> '.join(chain)}"


def test_the_import_check_sees_relative_and_nested_imports(tmp_path: Path) -> None:
    """The checker itself: relative imports at any depth, ``from .. import settings``, TYPE_CHECKING skipped."""
    assert settings_import_chain("secure_mesh.platform") == ["secure_mesh.platform", "secure_mesh.layout"]
    assert settings_import_chain("secure_mesh.vocabulary") is None
    assert settings_import_chain("secure_mesh.args") is None
    sample = tmp_path / "probe.py"
    sample.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from ..settings import Settings\n"
        "else:\n    from ..pki import plan\n"
        "def build():\n    from .. import layout\n"
    )
    assert imported_modules(sample, "secure_mesh.mesh.probe") == {
        "typing",
        "secure_mesh",
        "secure_mesh.layout",
        "secure_mesh.pki",
        "secure_mesh.pki.plan",
    }


# ---------------------------------------------------------------------------------- no `components.` imports

IMPORT_TEXT = re.compile(
    r"(?:\bpython3?\s+-m\s+components\b|^\s*import\s+components\b|^\s*from\s+components(?:\.\w+)*\s+import\b"
    r"|[\"']components\.(?!md\b)[a-z_]+)",
    re.M,
)
"""``components`` used as an import name in any text: commands, snippets in docs, mock.patch targets."""


def _tracked_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=PROJECT_DIR, capture_output=True, text=True, check=True)
    return [PROJECT_DIR / name for name in listed.stdout.split("\0") if name and (PROJECT_DIR / name).is_file()]


def test_nothing_imports_the_folder_name_components() -> None:
    """The folder ships as ``secure_mesh``: ``components`` as an import name would only work from a checkout."""
    offending = []
    for path in _tracked_files():
        if path == Path(__file__).resolve():  # this file spells the patterns it looks for
            continue
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        relative = path.relative_to(PROJECT_DIR)
        if path.suffix == ".py":
            for node in ast.walk(ast.parse(text, filename=str(path))):
                names = (
                    [alias.name for alias in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                    if isinstance(node, ast.ImportFrom) and node.level == 0
                    else []
                )
                offending += [f"{relative}:{node.lineno}" for n in names if n.split(".")[0] == "components"]
        offending += [f"{relative}: {match.group(0).strip()}" for match in IMPORT_TEXT.finditer(text)]
    assert not offending, f"`components` used as an import name (it is `secure_mesh`): {offending}"


def test_the_components_import_scan_catches_each_spelling() -> None:
    for text in ("python -m components schema", "import components.settings", "from components.pki import x",
                 "patch('components.pki.plan')"):
        assert IMPORT_TEXT.search(text), text
    for text in ("docs/components.md", '"components.md"', "the components/ folder", "import secure_mesh.components_x"):
        assert not IMPORT_TEXT.search(text), text
