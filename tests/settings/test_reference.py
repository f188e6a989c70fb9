"""Every setting is documented, and the README's generated blocks match the code."""

from __future__ import annotations

import typing

from pydantic import BaseModel

from secure_mesh.readme import regenerate_readme
from secure_mesh.settings.models import Settings
from secure_mesh.settings.reference import settings_reference_markdown
from tests.harness import PROJECT_DIR


def _models(model: type[BaseModel], seen: set[type[BaseModel]]) -> set[type[BaseModel]]:
    if model in seen:
        return seen
    seen.add(model)

    def visit(annotation: object) -> None:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            _models(annotation, seen)
        for argument in typing.get_args(annotation):
            visit(argument)

    for field in model.model_fields.values():
        visit(field.annotation)
    return seen


def test_every_settings_field_says_what_it_is_for() -> None:
    undocumented = [
        f"{model.__name__}.{name}"
        for model in _models(Settings, set())
        for name, field in model.model_fields.items()
        if not (field.description or "").strip()
    ]
    assert undocumented == []


def test_reference_lists_every_key_path_with_its_meaning() -> None:
    table = settings_reference_markdown()
    for row in (
        "| `pki.chains.server.leafMaxTtl` |",
        "| `apps[].database.address.consulService` |",
        "| `consul.intentionsRendering` |",
        "| `databaseRootCredentials` |",
    ):
        assert row in table, row


def test_readme_generated_blocks_are_current() -> None:
    readme = (PROJECT_DIR / "README.md").read_text()
    assert regenerate_readme(readme) == readme, "run `python -m secure_mesh readme`"
