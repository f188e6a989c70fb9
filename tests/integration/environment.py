"""Whether the integration tests can run here, and what they need when they cannot."""

from __future__ import annotations

import os
import shutil
import subprocess
from functools import cache
from pathlib import Path

from scripts.stack_env import DevEnvironment, dev_environment, load_stack_settings

ENABLE_VARIABLE = "SECURE_MESH_INTEGRATION"
"""``1`` runs the tests when everything else is there; ``required`` also fails them when something is missing."""


@cache
def dev_env() -> DevEnvironment:
    """The dev environment ``scripts/dev-up.sh`` builds, derived from ``Pulumi.dev.yaml``."""
    return dev_environment(load_stack_settings("dev"))


def required() -> bool:
    """True when a missing prerequisite must fail the run (the integration workflow) rather than skip it."""
    return os.environ.get(ENABLE_VARIABLE) == "required"


def requirements_text() -> str:
    """What these tests need, in words (every skip reason starts with it)."""
    context = dev_env().kube_context
    return (
        f"integration tests need the Pulumi CLI on PATH, a reachable kind cluster context `{context}` "
        "(scripts/dev-up.sh --env-only), VAULT_ADDR/VAULT_TOKEN for its dev Vault (source .pulumi-state/dev.env), "
        f"that Vault's CA in vault.tls.caCertFile (dev-up writes it) and {ENABLE_VARIABLE}=1"
    )


def _cluster_reachable(context: str) -> bool:
    if shutil.which("kubectl") is None:
        return False
    try:
        probe = subprocess.run(
            ["kubectl", "--context", context, "get", "--raw", "/readyz"],
            capture_output=True,
            timeout=15,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


@cache
def missing_requirements() -> tuple[str, ...]:
    """The prerequisites that are not met, cheapest first (the cluster is probed only when the tests are enabled)."""
    missing: list[str] = []
    enabled = os.environ.get(ENABLE_VARIABLE, "") in ("1", "required")
    if not enabled:
        missing.append(f"{ENABLE_VARIABLE} is not 1")
    if shutil.which("pulumi") is None:
        missing.append("no pulumi CLI on PATH")
    for variable in ("VAULT_ADDR", "VAULT_TOKEN"):
        if not os.environ.get(variable):
            missing.append(f"{variable} is not set")
    if not Path(dev_env().vault_ca_file).is_file():
        missing.append(f"no Vault CA at {dev_env().vault_ca_file}")
    if enabled and not _cluster_reachable(dev_env().kube_context):
        missing.append(f"kubectl context `{dev_env().kube_context}` is not reachable")
    return tuple(missing)


def skip_reason() -> str | None:
    """Why the integration tests cannot run here, or None when they can."""
    missing = missing_requirements()
    return f"{requirements_text()}; missing: {', '.join(missing)}" if missing else None
