"""Misuse of the documented offline commands prints one line naming what is missing, never a traceback.

Each case is a command the README or a docs/ page documents, called the way a new user gets it wrong. The commands run
in-process (their ``main`` with an argv), which is what ``python -m secure_mesh`` and
``python policy/check_inventory.py`` call.
"""

from __future__ import annotations

import json
import runpy
import shutil
from pathlib import Path
from typing import Any

import pytest

from secure_mesh.__main__ import main as components_main
from tests.harness import PROJECT_DIR

CHECK_INVENTORY = PROJECT_DIR / "policy" / "check_inventory.py"


def _check_inventory_main() -> Any:
    return runpy.run_path(str(CHECK_INVENTORY), run_name="check_inventory")["main"]


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got: {captured.err!r}"
    return lines[0]


def test_render_of_an_unknown_stack_names_the_stacks_there(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert components_main(["render", "--stack", "nope", "--out", str(tmp_path / "out")]) == 2
    line = _one_line_error(capsys)
    assert line == f"python -m secure_mesh render: no stack file Pulumi.nope.yaml in {PROJECT_DIR}; stacks here: " + (
        ", ".join(sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in PROJECT_DIR.glob("Pulumi.*.yaml")))
    )
    assert "dev" in line and "prod" in line
    assert not (tmp_path / "out").exists(), "nothing is written for a stack that does not exist"


def test_render_into_a_file_refuses_before_running(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "a-file"
    target.write_text("keep me\n")
    assert components_main(["render", "--stack", "dev", "--out", str(target)]) == 2
    assert _one_line_error(capsys) == (
        f"python -m secure_mesh render: --out {target} is a file, not a directory; "
        "name a directory (it is created if missing)"
    )
    assert target.read_text() == "keep me\n"


def _project_with_stack(tmp_path: Path, stack_text: str) -> Path:
    shutil.copy(PROJECT_DIR / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    (tmp_path / "Pulumi.bad.yaml").write_text(stack_text)
    return tmp_path


def test_render_of_an_invalid_stack_prints_only_the_problem_list(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _project_with_stack(tmp_path, "config:\n  secure-mesh:environment: qa\n")
    code = components_main(["render", "--stack", "bad", "--out", str(tmp_path / "out"), "--project-dir", str(project)])
    assert code == 2
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    lines = captured.err.strip().splitlines()
    assert lines[0].startswith("python -m secure_mesh render: invalid stack configuration (")
    assert all(line.startswith("  - secure-mesh:") for line in lines[1:]), lines
    assert any(line.startswith("  - secure-mesh:environment: ") for line in lines[1:]), lines
    assert not (tmp_path / "out").exists()


def test_render_of_a_stack_file_that_is_not_yaml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = _project_with_stack(tmp_path, "config: [\n")
    code = components_main(["render", "--stack", "bad", "--out", str(tmp_path / "out"), "--project-dir", str(project)])
    assert code == 2
    assert _one_line_error(capsys).startswith("python -m secure_mesh render: Pulumi.bad.yaml is not valid YAML: ")


def test_render_outside_the_project_says_where_pulumi_yaml_is_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = components_main(["render", "--stack", "dev", "--out", str(tmp_path / "o"), "--project-dir", str(tmp_path)])
    assert code == 2
    assert _one_line_error(capsys) == (
        f"python -m secure_mesh render: {tmp_path} holds no Pulumi.yaml; pass --project-dir with the project's folder"
    )


def test_root_ca_init_without_aws_credentials(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # botocore's credential chain finds nothing: no env keys, no profile files, no instance metadata.
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/config")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    code = components_main(["root-ca", "init", "--kms-key", "alias/root", "--region", "eu-west-1"])
    assert code == 2
    line = _one_line_error(capsys)
    assert line.startswith("python -m secure_mesh root-ca: no usable AWS credentials: set AWS credentials")
    assert "kms:Sign" in line


def test_a_real_bug_keeps_its_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only known misuse is shortened: an unexpected error still surfaces whole."""

    def broken(*_: Any, **__: Any) -> Any:
        raise KeyError("a bug")

    monkeypatch.setattr("secure_mesh.__main__.render_stack", broken)
    with pytest.raises(KeyError):
        components_main(["render", "--stack", "dev", "--out", "/tmp/unused"])


# ------------------------------------------------------------------------------ check_inventory.py


def test_check_inventory_help_exits_zero_and_describes_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        _check_inventory_main()(["--help"])
    assert exited.value.code == 0
    assert "usage: check_inventory.py [-h] INVENTORY [INVENTORY ...]" in capsys.readouterr().out


def test_check_inventory_without_arguments_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        _check_inventory_main()([])
    assert exited.value.code == 2
    assert "the following arguments are required: INVENTORY" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda d: d / "missing.json", "{path}: no such file; write one with `make render STACK=<stack>`"),
        (lambda d: d, "{path} is a directory, not an inventory file; write one with `make render"),
        (lambda d: _write(d / "inventory.txt", "not json"), "{path} is not JSON (Expecting value"),
        (lambda d: _write(d / "inventory.json", '{"stack": "dev"}'), "{path} is not an inventory (a JSON object with"),
        (lambda d: _write(d / "list.json", "[]"), "{path} is not an inventory (a JSON object with"),
    ],
    ids=["missing", "directory", "not-json", "no-resources", "not-an-object"],
)
def test_check_inventory_refuses_what_is_not_an_inventory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make: Any, expected: str
) -> None:
    path = make(tmp_path)
    assert _check_inventory_main()([str(path)]) == 2
    line = _one_line_error(capsys)
    assert line.startswith("check_inventory.py: " + expected.format(path=path)), line


def test_check_inventory_points_a_directory_at_its_inventory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write(tmp_path / "inventory.json", json.dumps({"stack": "dev", "resources": []}))
    assert _check_inventory_main()([str(tmp_path)]) == 2
    assert _one_line_error(capsys).endswith(f"did you mean {tmp_path / 'inventory.json'}?")


def test_check_inventory_reads_a_valid_empty_inventory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path / "inventory.json", json.dumps({"stack": "dev", "resources": []}))
    assert _check_inventory_main()([str(path)]) == 0
    assert capsys.readouterr().out.startswith(f"{path}: ")


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_every_documented_python_command_runs_in_the_project_venv() -> None:
    """A bare `python …` in the README or a docs page works only in a shell where the venv happens to be active."""
    pages = [PROJECT_DIR / "README.md", *sorted((PROJECT_DIR / "docs").glob("*.md"))]
    assert len(pages) > 10
    bare = [
        f"{page.relative_to(PROJECT_DIR)}: {line.strip()}"
        for page in pages
        for line in page.read_text().splitlines()
        if line.strip().startswith(("python ", "python3 "))
    ]
    assert not bare, f"write these as `.venv/bin/python …` or wrap them in a make target: {bare}"
