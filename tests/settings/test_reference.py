"""Every setting is documented, and the generated blocks of docs/settings.md match the code."""

from __future__ import annotations

import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

from secure_mesh.__main__ import main
from secure_mesh.readme import REFERENCE_PAGE, regenerate_readme
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


def test_reference_page_generated_blocks_are_current() -> None:
    assert REFERENCE_PAGE.as_posix() == "docs/settings.md"
    page = (PROJECT_DIR / REFERENCE_PAGE).read_text()
    assert regenerate_readme(page) == page, "run `python -m secure_mesh readme`"


def test_readme_command_checks_and_rewrites_the_settings_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`python -m secure_mesh readme` works on docs/settings.md by default; --check reports a stale page."""
    monkeypatch.chdir(PROJECT_DIR)
    assert main(["readme", "--check"]) == 0
    current = (PROJECT_DIR / REFERENCE_PAGE).read_text()
    stale = current.replace("| `consul.intentionsRendering` |", "| `consul.intentionRendering` |")
    assert stale != current
    copy = tmp_path / "settings.md"
    copy.write_text(stale)
    assert main(["readme", "--check", "--path", str(copy)]) == 1
    assert f"{copy} is out of date" in capsys.readouterr().err
    assert copy.read_text() == stale
    assert main(["readme", "--path", str(copy)]) == 0
    assert copy.read_text() == current
