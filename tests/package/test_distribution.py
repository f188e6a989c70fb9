"""``pip install .`` from a clean copy (issue 15 item 3): the wheel holds ``secure_mesh`` whole, and it imports.

The wheel is built once per session from a copy of the tracked files (what a fresh clone holds), with the
setuptools of this environment (``--no-build-isolation``: no network), then installed into a temporary target
and imported from there in a fresh interpreter.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

import secure_mesh
from tests.package.support import COMPONENTS_DIR, PROJECT_DIR

PYPROJECT = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text())


def _tracked_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=PROJECT_DIR, capture_output=True, text=True, check=True)
    return [name for name in listed.stdout.split("\0") if name and (PROJECT_DIR / name).is_file()]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel ``pip wheel`` builds from a copy of the checkout's tracked files."""
    root = tmp_path_factory.mktemp("dist")
    source = root / "source"
    for name in _tracked_files():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(PROJECT_DIR / name, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(root / "wheels"), f"{source}/"],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    (built,) = (root / "wheels").glob("*.whl")
    return built


def _names(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()


def test_the_packages_list_is_every_folder_holding_an_init() -> None:
    folders = sorted(
        ".".join(["secure_mesh", *path.parent.relative_to(COMPONENTS_DIR).parts])
        for path in COMPONENTS_DIR.rglob("__init__.py")
    )
    assert PYPROJECT["tool"]["setuptools"]["package-dir"] == {"secure_mesh": "components"}
    assert PYPROJECT["tool"]["setuptools"]["packages"] == folders, (
        "pyproject.toml [tool.setuptools] packages must list every folder under components/ that holds an "
        f"__init__.py, sorted: {folders}"
    )


def test_the_wheel_holds_exactly_the_tracked_package_files(wheel: Path) -> None:
    tracked = {
        "secure_mesh/" + name.removeprefix("components/")
        for name in _tracked_files()
        if name.startswith("components/") and "__pycache__" not in name
    }
    shipped = {name for name in _names(wheel) if ".dist-info/" not in name}
    assert shipped == tracked, (
        f"missing from the wheel: {sorted(tracked - shipped)} (add data files to [tool.setuptools.package-data]); "
        f"unexpected: {sorted(shipped - tracked)}"
    )
    for required in ("secure_mesh/py.typed", "secure_mesh/settings/offline_vault_ca.pem"):
        assert required in shipped
    assert any(name.endswith(".sh") for name in shipped)


def test_the_wheel_has_no_top_level_components_package(wheel: Path) -> None:
    assert not [name for name in _names(wheel) if name.split("/")[0] == "components"]
    dist_info = f"secure_mesh-{secure_mesh.__version__}.dist-info"
    with zipfile.ZipFile(wheel) as archive:
        top_level = archive.read(f"{dist_info}/top_level.txt").decode().split()
        metadata = archive.read(f"{dist_info}/METADATA").decode()
    assert top_level == ["secure_mesh"]
    assert wheel.name == f"secure_mesh-{secure_mesh.__version__}-py3-none-any.whl"
    assert "Name: secure-mesh\n" in metadata
    requires = {
        str(Requirement(line.removeprefix("Requires-Dist: ")))
        for line in metadata.splitlines()
        if line.startswith("Requires-Dist: ")
    }
    assert requires == {str(Requirement(line)) for line in PYPROJECT["project"]["dependencies"]}


def test_the_installed_wheel_imports_with_its_data_and_public_api(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
         "--target", str(target), str(wheel)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    probe = (
        "import json, importlib.resources as r, secure_mesh\n"
        "files = r.files('secure_mesh')\n"
        "print(json.dumps({'file': secure_mesh.__file__, 'all': secure_mesh.__all__,"
        " 'version': secure_mesh.__version__,"
        " 'typed': files.joinpath('py.typed').is_file(),"
        " 'pem': files.joinpath('settings/offline_vault_ca.pem').read_text().startswith('-----BEGIN CERTIFICATE-----'),"
        " 'scripts': sorted(p.name for p in files.joinpath('onboarding').iterdir() if p.name.endswith('.sh'))"
        " + sorted(p.name for p in files.joinpath('rotation/scripts').iterdir())}))\n"
    )
    # A fresh interpreter outside the checkout, with only the target ahead of site-packages (where this
    # environment's editable install of the checkout lives, behind the path finder).
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    environment["PYTHONPATH"] = str(target)
    completed = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=environment, capture_output=True, text=True, check=True
    )
    found = json.loads(completed.stdout)
    assert Path(found["file"]).resolve() == (target / "secure_mesh" / "__init__.py").resolve()
    expected_scripts = sorted(p.name for p in (COMPONENTS_DIR / "onboarding").glob("*.sh")) + sorted(
        p.name for p in (COMPONENTS_DIR / "rotation" / "scripts").iterdir()
    )
    assert found == {
        "file": found["file"],
        "all": secure_mesh.__all__,
        "version": secure_mesh.__version__,
        "typed": True,
        "pem": True,
        "scripts": expected_scripts,
    }
