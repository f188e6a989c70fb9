"""The Python supply chain: one hashed lock, installed with --require-hashes everywhere; Dependabot; zizmor."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.harness import PROJECT_DIR

LOCK = PROJECT_DIR / "requirements-lock.txt"
INPUTS = [
    PROJECT_DIR / "requirements.txt",
    PROJECT_DIR / "requirements-dev.txt",
    PROJECT_DIR / "policy" / "requirements.txt",
    PROJECT_DIR / "bootstrap" / "requirements.txt",
]
PIN = re.compile(r"^(?P<name>[A-Za-z0-9_.-]+)(\[[^\]]+\])?==(?P<version>\S+)")


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_entries(text: str) -> dict[str, tuple[str, int]]:
    """name → (version, number of hashes) for every requirement in a pip-compile --generate-hashes lock."""
    entries: dict[str, tuple[str, int]] = {}
    current = None
    for line in text.splitlines():
        if match := PIN.match(line):
            current = _normalise(match["name"])
            entries[current] = (match["version"].rstrip("\\").strip(), 0)
        elif current and (hashed := re.match(r"^\s+--hash=sha256:[0-9a-f]{64}", line)):
            assert hashed
            version, count = entries[current]
            entries[current] = (version, count + 1)
        elif line and not line.startswith((" ", "#")):
            raise AssertionError(f"unexpected line in the lock: {line!r}")
    return entries


def input_pins(path: Path) -> dict[str, str]:
    """name → version of the ``==`` pins of one requirements file (its -r includes aside)."""
    pins = {}
    for line in path.read_text().splitlines():
        if match := PIN.match(line.strip()):
            pins[_normalise(match["name"])] = match["version"]
    return pins


def test_every_locked_package_is_pinned_and_hashed() -> None:
    entries = lock_entries(LOCK.read_text())
    assert len(entries) > 50
    assert {name: count for name, (_, count) in entries.items() if count == 0} == {}
    assert "pip" in entries, "pip itself comes from the lock (--allow-unsafe), not from an unhashed upgrade"


@pytest.mark.parametrize("path", INPUTS, ids=lambda p: str(p.relative_to(PROJECT_DIR)))
def test_the_lock_holds_every_pin_at_its_version(path: Path) -> None:
    entries = lock_entries(LOCK.read_text())
    pins = input_pins(path)
    assert pins, f"{path} pins nothing"
    assert {name: entries.get(name, ("missing", 0))[0] for name in pins} == pins, "run `make lock`"


def test_the_lock_check_catches_a_pin_the_lock_does_not_hold() -> None:
    entries = lock_entries(LOCK.read_text())
    assert entries["pulumi-aws"][0] != "0.0.1"
    with pytest.raises(AssertionError):
        lock_entries("pulumi==3.0.0 \\\n    --hash=sha256:" + "0" * 64 + "\nunhashed junk\n")


def test_the_dev_requirements_include_every_project_and_the_dev_tools() -> None:
    text = (PROJECT_DIR / "requirements-dev.txt").read_text()
    for include in ("-r requirements.txt", "-r policy/requirements.txt", "-r bootstrap/requirements.txt"):
        assert include in text.splitlines()
    assert {"pip-tools", "zizmor", "check-jsonschema", "pulumi-aws"} <= set(lock_entries(LOCK.read_text()))


def _recipe(makefile: str, target: str) -> list[str]:
    match = re.search(rf"^{re.escape(target)}:[^\n]*\n((?:\t[^\n]*\n)+)", makefile, re.MULTILINE)
    assert match, f"no {target} target"
    return [line.strip() for line in match.group(1).splitlines()]


def test_make_and_ci_install_only_from_the_lock_with_hashes() -> None:
    makefile = (PROJECT_DIR / "Makefile").read_text()
    assert re.search(r"^\$\(VENV\)/\.installed: requirements-lock\.txt pyproject\.toml$", makefile, re.MULTILINE)
    # The project's own package comes last, without dependencies and without build isolation: nothing is
    # fetched that the lock did not hash (setuptools, its build backend, is in the lock).
    own_package = "-m pip install --quiet --no-deps --no-build-isolation --editable ."
    assert _recipe(makefile, "$(VENV)/.installed") == [
        "$(PYTHON) -m venv $(VENV)",
        "$(BIN)/python -m pip install --quiet --require-hashes -r requirements-lock.txt",
        f"$(BIN)/python {own_package}",
        "touch $@",
    ]
    ci = (PROJECT_DIR / ".ci" / "run").read_text()
    installs = [line for line in ci.splitlines() if "pip install" in line]
    assert installs == [
        ".venv/bin/python -m pip install --quiet --require-hashes -r requirements-lock.txt",
        f".venv/bin/python {own_package}",
    ]
    assert ci.rstrip().splitlines()[-1] == "make test", ".ci/run must end with the README's test command"


def test_ci_runs_zizmor_offline_and_both_schema_checks() -> None:
    ci = (PROJECT_DIR / ".ci" / "run").read_text().splitlines()
    for command in (
        ".venv/bin/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml",
        ".venv/bin/check-jsonschema --builtin-schema vendor.dependabot .github/dependabot.yml",
        ".venv/bin/zizmor --offline --persona pedantic .github/",
    ):
        assert command in ci


def test_dependabot_updates_actions_and_every_requirements_directory() -> None:
    document = yaml.safe_load((PROJECT_DIR / ".github" / "dependabot.yml").read_text())
    assert document["version"] == 2
    by_ecosystem = {update["package-ecosystem"]: update for update in document["updates"]}
    assert set(by_ecosystem) == {"github-actions", "pip"}
    assert by_ecosystem["github-actions"]["directory"] == "/"
    requirement_dirs = {"/" + str(p.parent.relative_to(PROJECT_DIR)).replace(".", "").strip("/") for p in INPUTS}
    assert set(by_ecosystem["pip"]["directories"]) == {d.rstrip("/") or "/" for d in requirement_dirs}
    for update in document["updates"]:
        assert update["schedule"]["interval"] == "weekly"
        assert update["cooldown"]["default-days"] >= 7, "a release must be a week old before it is proposed"


def test_dependabot_config_validates_against_its_schema_offline() -> None:
    pytest.importorskip("check_jsonschema", reason="check-jsonschema is not installed (requirements-dev.txt)")
    result = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.dependabot", ".github/dependabot.yml"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _zizmor() -> str:
    found = shutil.which("zizmor", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.skip("zizmor is not installed (requirements-dev.txt pins it)")
    return found


def test_zizmor_finds_nothing_offline() -> None:
    result = subprocess.run(
        [_zizmor(), "--offline", "--persona", "pedantic", "--no-progress", ".github/"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_fails_on_an_unpinned_action(tmp_path: Path) -> None:
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "bad.yml").write_text(
        "on: push\npermissions: {}\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n"
        "      - uses: actions/checkout@v4\n"
    )
    result = subprocess.run(
        [_zizmor(), "--offline", "--no-progress", ".github/"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "unpinned-uses" in result.stdout + result.stderr
    assert "artipacked" in result.stdout + result.stderr
