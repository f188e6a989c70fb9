"""Integration tests run against a real dev environment; here they are collected, marked and skipped.

Every test in this folder gets ``pytest.mark.integration``. It runs only with all of:

- ``SECURE_MESH_INTEGRATION=1`` (or ``required``, which turns a missing prerequisite into a failure, as the
  integration workflow sets it: a skipped job must not pass silently);
- the Pulumi CLI on ``PATH`` (the Automation API drives it);
- a reachable kind cluster behind the dev stack's ``kubernetes.context`` (``kind-secure-mesh``:
  ``scripts/dev-up.sh --env-only`` builds it);
- ``VAULT_ADDR`` / ``VAULT_TOKEN`` for that cluster's Vault dev server (``source .pulumi-state/dev.env``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.environment import required, skip_reason

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test of this folder ``integration``; skip them when they cannot run (unless required)."""
    ours = [item for item in items if HERE in Path(str(item.path)).resolve().parents]
    if not ours:
        return
    reason = skip_reason()
    for item in ours:
        item.add_marker(pytest.mark.integration)
        if reason is not None and not required():
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(autouse=True, scope="session")
def _prerequisites_when_required() -> None:
    """With ``SECURE_MESH_INTEGRATION=required`` a missing prerequisite fails the test instead of skipping it."""
    reason = skip_reason()
    if reason is not None:
        pytest.fail(reason)
