"""The laptop scripts: shellcheck-clean, derived from the dev stack, and idempotent (run against stub tools).

``scripts/dev-up.sh`` and ``scripts/dev-down.sh`` are run for real in a scratch copy of the repository with
kind, kubectl, helm, pulumi and curl replaced by ``stub_tools.sh``, which records every call. That checks what
the scripts do (and skip on a re-run) without a cluster.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from components.consul.vault_injector import VAULT_CHART_VERSION
from components.layout import VAULT_CHART_REPOSITORY, Layout
from components.onboarding.gateway import rotation_poll_interval
from components.settings import load_settings
from scripts.stack_env import (
    DEV_PASSPHRASE,
    SECRETS_STORE_CSI_DRIVER_VERSION,
    StackEnvError,
    dev_environment,
    github_env,
    load_stack_settings,
)
from tests.harness import PROJECT_DIR, deep_merge, load_stack_config

SCRIPTS = sorted((PROJECT_DIR / "scripts").glob("*.sh"))
STUB = Path(__file__).with_name("stub_tools.sh")
STUBBED_TOOLS = ("kind", "kubectl", "helm", "pulumi", "curl")


def test_scripts_pass_shellcheck() -> None:
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck is not on PATH (CI installs it: apt-get install -y shellcheck)")
    result = subprocess.run(
        [shellcheck, *map(str, SCRIPTS), str(STUB)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_scripts_are_strict_and_executable(script: Path) -> None:
    text = script.read_text()
    assert text.startswith("#!/usr/bin/env bash\n"), f"{script.name}: bash shebang"
    assert "\nset -euo pipefail\n" in text, f"{script.name}: set -euo pipefail"
    assert script.stat().st_mode & stat.S_IXUSR, f"{script.name}: not executable (chmod +x)"


# ------------------------------------------------------------------------------------------ stack_env.py


def test_dev_environment_follows_the_dev_stack() -> None:
    settings = load_stack_settings("dev")
    env = dev_environment(settings, repo_root=Path("/repo"))
    assert (env.kube_context, env.kind_cluster) == ("kind-secure-mesh", "secure-mesh")
    assert env.vault_namespace == Layout(settings).vault_namespace == "vault"
    assert (env.vault_release, env.vault_service, env.vault_service_port) == ("vault", "vault", 8200)
    assert (env.vault_chart_repository, env.vault_chart_version) == (VAULT_CHART_REPOSITORY, VAULT_CHART_VERSION)
    assert env.vault_injector_auth_path == Layout(settings).kubernetes_auth_login_path == "auth/kubernetes-dc1"
    assert (env.local_vault_addr, env.local_vault_port) == ("http://127.0.0.1:8200", 8200)
    assert env.backend_url == "file:///repo/.pulumi-state"
    assert env.csi_driver_version == SECRETS_STORE_CSI_DRIVER_VERSION


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ({"kubernetes": {"context": "minikube"}}, "kubernetes.context"),
        ({"vault": {"address": "http://vault.secrets.svc.cluster.local:8200"}}, "vault.address"),
        ({"vault": {"providerAddress": "https://vault.example.com:8200"}}, "vault.providerAddress"),
    ],
)
def test_dev_environment_rejects_settings_a_laptop_cannot_build(override: dict[str, object], key: str) -> None:
    settings = load_settings(deep_merge(load_stack_config("dev"), override))
    with pytest.raises(StackEnvError, match="^" + re.escape(key) + ":"):
        dev_environment(settings)


def test_github_env_gives_endpoints_and_no_credentials() -> None:
    prod = github_env(load_stack_settings("prod"))
    assert prod["SM_KUBE_CONTEXT"] == "prod-eu-west-1"
    assert prod["SM_VAULT_ADDR"] == "https://vault.prod.example.com:8200"
    assert prod["SM_AWS_REGION"] == "eu-west-1"
    assert prod["SM_VAULT_CA_BASE64"], "the prod Vault's CA is needed to verify it"
    assert not [name for name in prod if "TOKEN" in name or "SECRET" in name or "PASS" in name]
    assert github_env(load_stack_settings("dev"))["SM_VAULT_ADDR"] == "http://127.0.0.1:8200"


# ------------------------------------------------------------------------------------- stubbed script runs


@dataclass
class Sandbox:
    """A scratch copy of the repository with stub tools first on PATH."""

    root: Path
    state: Path
    env: dict[str, str]

    def run(self, script: str, *args: str, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """Run one of the copied scripts; returns the completed process (output captured)."""
        return subprocess.run(
            ["bash", str(self.root / "scripts" / script), *args],
            env={**self.env, **(extra_env or {})},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def calls(self) -> list[str]:
        """Every stubbed tool call so far (plus the ``pulumi-env`` lines the pulumi stub adds), then forget them."""
        log = self.state / "calls.log"
        lines = log.read_text().splitlines() if log.exists() else []
        log.unlink(missing_ok=True)
        return lines

    @property
    def dev_state(self) -> Path:
        """The sandbox's ``.pulumi-state``."""
        return self.root / ".pulumi-state"

    def stop_port_forward(self) -> None:
        """Kill a stub port-forward a test left running."""
        pid_file = self.dev_state / "vault-port-forward.pid"
        if pid_file.exists():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid_file.read_text()), signal.SIGTERM)


@pytest.fixture
def sandbox(tmp_path: Path) -> Sandbox:
    root = tmp_path / "repo"
    (root / "scripts").mkdir(parents=True)
    for name in ("dev-up.sh", "dev-down.sh", "stack_env.py", "__init__.py"):
        shutil.copy(PROJECT_DIR / "scripts" / name, root / "scripts" / name)
    shutil.copy(PROJECT_DIR / "Pulumi.dev.yaml", root / "Pulumi.dev.yaml")
    (root / "components").symlink_to(PROJECT_DIR / "components")
    (root / ".venv").symlink_to(PROJECT_DIR / ".venv")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in STUBBED_TOOLS:
        shutil.copy(STUB, bin_dir / tool)
        (bin_dir / tool).chmod(0o755)
    state = tmp_path / "stub-state"
    state.mkdir()
    env = {
        "PATH": f"{bin_dir}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(tmp_path / "home"),
        "STUB_STATE": str(state),
    }
    box = Sandbox(root=root, state=state, env=env)
    yield box
    box.stop_port_forward()


def _commands(calls: list[str]) -> list[str]:
    return [c for c in calls if not c.startswith("pulumi-env ")]


def _alive(pid: int) -> bool:
    """True while the process runs (a zombie nobody reaped yet counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def _pulumi_env(calls: list[str]) -> dict[str, str]:
    line = next(c for c in calls if c.startswith("pulumi-env "))
    return dict(part.split("=", 1) for part in line.split()[1:])


def test_dev_up_builds_the_environment_then_skips_it_on_a_rerun(sandbox: Sandbox) -> None:
    first = sandbox.run("dev-up.sh")
    assert first.returncode == 0, first.stderr
    calls = sandbox.calls()
    assert "kind create cluster --name secure-mesh --wait 180s" in calls
    csi = next(c for c in calls if c.startswith("helm upgrade --install csi-secrets-store "))
    assert f"--version {SECRETS_STORE_CSI_DRIVER_VERSION}" in csi and "--set syncSecret.enabled=true" in csi, csi
    poll = rotation_poll_interval(load_settings(load_stack_config("dev")))
    assert f"--set enableSecretRotation=true --set rotationPollInterval={poll}" in csi, csi
    vault = next(c for c in calls if c.startswith("helm upgrade --install vault vault "))
    assert f"--repo {VAULT_CHART_REPOSITORY} --version {VAULT_CHART_VERSION}" in vault, vault
    assert "--kube-context kind-secure-mesh --namespace vault --create-namespace" in vault, vault
    values = yaml.safe_load((sandbox.state / "values-vault.yaml").read_text())
    token = (sandbox.dev_state / "vault-dev-root-token").read_text().strip()
    assert values == {
        "server": {"dev": {"enabled": True, "devRootToken": token}},
        "injector": {"enabled": True, "authPath": "auth/kubernetes-dc1"},
        "csi": {"enabled": True},
    }
    assert token != "root" and len(token) > 20, "the dev root token is random, not the chart's well-known default"
    assert stat.S_IMODE((sandbox.dev_state / "vault-dev-root-token").stat().st_mode) == 0o600
    assert any(c.startswith("kubectl --context kind-secure-mesh --namespace vault port-forward") for c in calls)
    assert "pulumi stack init dev --secrets-provider passphrase --non-interactive" in calls
    assert _commands(calls)[-1] == "pulumi up --yes --stack dev --policy-pack policy"
    assert _pulumi_env(calls) == {
        "PULUMI_BACKEND_URL": f"file://{sandbox.dev_state}",
        "PULUMI_CONFIG_PASSPHRASE": DEV_PASSPHRASE,
        "VAULT_ADDR": "http://127.0.0.1:8200",
        "VAULT_TOKEN": token,
    }
    dev_env_file = (sandbox.dev_state / "dev.env").read_text()
    assert f"export VAULT_TOKEN={token}" in dev_env_file and "export SECURE_MESH_INTEGRATION=1" in dev_env_file

    second = sandbox.run("dev-up.sh")
    assert second.returncode == 0, second.stderr
    rerun = sandbox.calls()
    creating = ("kind create", "helm upgrade", "pulumi stack init")
    created = [c for c in rerun if c.startswith(creating) or "port-forward" in c]
    assert created == [], f"a re-run must skip what exists; it ran {created}"
    assert _commands(rerun)[-1] == "pulumi up --yes --stack dev --policy-pack policy"
    assert (sandbox.dev_state / "vault-dev-root-token").read_text().strip() == token


def test_dev_up_env_only_stops_before_pulumi_and_exports_to_github_actions(sandbox: Sandbox) -> None:
    github_env_file = sandbox.root / "github-env"
    result = sandbox.run("dev-up.sh", "--env-only", extra_env={"GITHUB_ENV": str(github_env_file)})
    assert result.returncode == 0, result.stderr
    assert not [c for c in sandbox.calls() if c.startswith("pulumi")], "--env-only must not run pulumi"
    token = (sandbox.dev_state / "vault-dev-root-token").read_text().strip()
    assert f"::add-mask::{token}" in result.stdout, "the token must be masked in the Actions log"
    exported = dict(line.split("=", 1) for line in github_env_file.read_text().splitlines())
    assert exported == {
        "VAULT_ADDR": "http://127.0.0.1:8200",
        "VAULT_TOKEN": token,
        "PULUMI_BACKEND_URL": f"file://{sandbox.dev_state}",
        "PULUMI_CONFIG_PASSPHRASE": DEV_PASSPHRASE,
    }


def test_dev_up_names_missing_prerequisites(sandbox: Sandbox) -> None:
    bin_dir = Path(sandbox.env["PATH"].split(":", 1)[0])
    for tool in ("kind", "pulumi"):
        (bin_dir / tool).unlink()
    result = sandbox.run("dev-up.sh", extra_env={"PATH": f"{bin_dir}:/usr/bin:/bin"})
    assert result.returncode == 1
    assert "missing prerequisites: kind pulumi" in result.stderr, result.stderr
    assert sandbox.calls() == [], "nothing may be created before the prerequisites are checked"


def test_dev_down_destroys_the_stack_stops_the_port_forward_and_deletes_the_cluster(sandbox: Sandbox) -> None:
    assert sandbox.run("dev-up.sh").returncode == 0
    pid = int((sandbox.dev_state / "vault-port-forward.pid").read_text())
    sandbox.calls()

    result = sandbox.run("dev-down.sh")
    assert result.returncode == 0, result.stderr
    calls = sandbox.calls()
    assert "pulumi destroy --yes --stack dev" in calls
    assert calls.index("pulumi destroy --yes --stack dev") < calls.index("kind delete cluster --name secure-mesh")
    assert _pulumi_env(calls)["PULUMI_BACKEND_URL"] == f"file://{sandbox.dev_state}"
    assert not _alive(pid), "dev-down must stop the port-forward"
    assert not (sandbox.dev_state / "vault-dev-root-token").exists()


def test_dev_down_tolerates_an_absent_stack_and_cluster(sandbox: Sandbox) -> None:
    result = sandbox.run("dev-down.sh")
    assert result.returncode == 0, result.stderr
    calls = sandbox.calls()
    assert not [c for c in calls if c.startswith(("pulumi destroy", "kind delete"))], calls
    assert "no stack 'dev'" in result.stderr
