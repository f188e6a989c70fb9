"""Shared fixtures: each checked-in stack run once under mocks per test session (runs are read-only)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

import secure_mesh
from tests.harness import STACKS, ProgramRun, run_stack

CHECKOUT = Path(__file__).resolve().parent.parent
if Path(secure_mesh.__file__).resolve().parent != CHECKOUT / "components":
    # The package is installed editable (`make`), so the suite tests this checkout's components/ folder; an
    # install of another copy (or a wheel) would make every test below test the wrong code.
    raise pytest.UsageError(
        f"secure_mesh is imported from {Path(secure_mesh.__file__).parent}, not from {CHECKOUT / 'components'}: "
        "run `.venv/bin/python -m pip install --no-deps --editable .` in this checkout"
    )

_RUNS: dict[tuple[str, bool], ProgramRun] = {}


def stack_run(stack: str, preview: bool = False) -> ProgramRun:
    """The mocked run of a checked-in stack, computed once and shared (treat it as read-only)."""
    key = (stack, preview)
    if key not in _RUNS:
        _RUNS[key] = run_stack(stack, preview=preview)
    return _RUNS[key]


@pytest.fixture(autouse=True, scope="module")
def freeze_what_outlives_the_module() -> Iterator[None]:
    """After each test file: collect its garbage, then freeze what is still alive out of later collections.

    What outlives a file (the cached stack runs, every imported test module's values) only grows, and each full
    collection walked all of it: the suite's tests collect after every mocked run they reject or run alone
    (``tests/consul/helpers.py``), and CPython's oldest generation is collected as the heap grows. Those walks
    were about a fifth of a serial run (34 s of gen-2 collections in 260 s). Frozen objects are never collected,
    so garbage is collected first; what lives on is what a test file cached.
    """
    yield
    gc.collect()
    gc.freeze()


@pytest.fixture(params=STACKS)
def any_stack(request: pytest.FixtureRequest) -> ProgramRun:
    """The mocked run of every checked-in ``Pulumi.<stack>.yaml``."""
    return stack_run(request.param)


@pytest.fixture
def dev_run() -> ProgramRun:
    """The mocked run of the dev stack."""
    return stack_run("dev")


@pytest.fixture
def prod_run() -> ProgramRun:
    """The mocked run of the prod stack."""
    return stack_run("prod")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Collect the garbage of runs that failed on purpose before pytest prints its closing summary.

    A program run that is rejected inside an ``apply`` leaves futures whose exception nobody awaits;
    asyncio reports them when they are collected. The program raises the collector's threshold
    (``secure_mesh.program.tune_garbage_collection``), so without this they would be reported after
    the summary line instead of before it.
    """
    gc.collect()
