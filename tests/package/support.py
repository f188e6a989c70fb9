"""What the package tests share: where the components are, and which of them are not yet refactored."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent.parent
COMPONENTS_DIR = PROJECT_DIR / "components"
PROVIDER_DIR = PROJECT_DIR / "provider"
SCHEMA_FILE = PROVIDER_DIR / "schema.json"
REGENERATE_SCHEMA = "make package-schema (.venv/bin/python -m secure_mesh package-schema > provider/schema.json)"

COMPOSITION_ONLY = {
    "SecureMeshPlatform": "the composition itself: it maps the stack's Settings to every component's Args (issue 15)",
}
"""Component classes that are not part of the reusable API, and why."""

NOT_YET_REFACTORED: dict[str, str] = {}
"""Components still taking the whole Settings/Layout, by class name, with why. It only shrinks: a refactored
component leaves this list in the same change that adds it (and its Args) to ``secure_mesh.__all__``; the tests
then hold it to every rule of the public API, the import check and the component package's schema."""


NOT_YET_IN_THE_YAML_PROGRAM: dict[str, str] = {
    "FederationSecondary": (
        "it reads a deployed federation primary's stack outputs; the YAML program is one stand-alone stack (a "
        "peering acceptor) and has no primary to join (issue 16)"
    ),
    "ReplicationTokenRotation": (
        "it rotates a WAN federation's replication token (issue 17); the YAML program is one stand-alone stack "
        "with no federation"
    ),
}
"""Public components examples/yaml-program does not use yet, by class name, with why. A component that joins the
public API may be listed here (the package helper then adds it to the YAML program and removes it); the list must
be empty when the work on issue 15 is done."""


@dataclass(frozen=True)
class ComponentClass:
    """A ``pulumi.ComponentResource`` subclass found in the source."""

    name: str
    module: str
    """Its module's import name (``secure_mesh.pki.component``)."""
    path: Path


def module_name(path: Path) -> str:
    """The import name of a file under ``components/`` (the folder ships as ``secure_mesh``)."""
    parts = list(path.relative_to(COMPONENTS_DIR).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(["secure_mesh", *parts])


def _is_component_base(base: ast.expr) -> bool:
    return (isinstance(base, ast.Attribute) and base.attr == "ComponentResource") or (
        isinstance(base, ast.Name) and base.id == "ComponentResource"
    )


def component_classes() -> list[ComponentClass]:
    """Every public class under ``components/`` that subclasses ``pulumi.ComponentResource``, read from the source:
    directly, or through a private base of the same module (``_VersionedRotation``), which is not a component
    itself."""
    found = []
    for path in sorted(COMPONENTS_DIR.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        private_bases: set[str] = set()
        for node in tree.body:
            if not isinstance(node, ast.ClassDef):
                continue
            direct = any(_is_component_base(base) for base in node.bases)
            inherited = any(isinstance(base, ast.Name) and base.id in private_bases for base in node.bases)
            if node.name.startswith("_") and direct:
                private_bases.add(node.name)
            elif direct or inherited:
                found.append(ComponentClass(node.name, module_name(path), path))
    return found


def reusable_components() -> list[ComponentClass]:
    """The component classes the public API must name (everything but the composition)."""
    return [component for component in component_classes() if component.name not in COMPOSITION_ONLY]
