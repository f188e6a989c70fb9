"""The laptop scripts: shellcheck-clean, derived from the dev stack, idempotent, and correct against tools that refuse.

``scripts/dev-up.sh`` and ``scripts/dev-down.sh`` are run for real in a scratch copy of the repository with kind,
kubectl, helm, pulumi and curl replaced by ``stub_tools.sh``, which records every call, keeps the state the real
tools keep and refuses every call the real tools refuse (with their messages; the stub's header cites each
source). That checks what the scripts do, skip on a re-run and survive (a Vault that came back empty, macOS's
``ps``, a port already taken) without a cluster.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.verification import PolicyBuilder, Store

from scripts.stack_env import (
    DEV_PASSPHRASE,
    MARKER_PATH,
    SECRETS_STORE_CSI_DRIVER_VERSION,
    DevEnvironment,
    StackEnvError,
    dev_environment,
    dev_tls_files,
    dev_vault_values,
    github_env,
    load_stack_settings,
)
from secure_mesh.consul.vault_injector import VAULT_CHART_VERSION
from secure_mesh.layout import VAULT_CHART_REPOSITORY, Layout
from secure_mesh.onboarding.plan import rotation_poll_interval
from secure_mesh.settings import load_settings
from tests.harness import PROJECT_DIR, deep_merge, load_stack_config

SCRIPTS = sorted((PROJECT_DIR / "scripts").glob("*.sh"))
STUB = Path(__file__).with_name("stub_tools.sh")
STUBBED_TOOLS = ("kind", "kubectl", "helm", "pulumi", "curl")
UP = "pulumi up --yes --stack dev --policy-pack policy"
REFRESH = "pulumi refresh --yes --stack dev --non-interactive"
KUBECTL_VAULT = "kubectl --context kind-secure-mesh --namespace vault"
HELM_VAULT = f"--repo {VAULT_CHART_REPOSITORY} --kube-context kind-secure-mesh --namespace vault"


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


def _dev_env(repo_root: Path = Path("/repo")) -> DevEnvironment:
    return dev_environment(load_stack_settings("dev"), repo_root=repo_root)


def test_dev_environment_follows_the_dev_stack() -> None:
    settings = load_stack_settings("dev")
    env = _dev_env()
    assert (env.kube_context, env.kind_cluster) == ("kind-secure-mesh", "secure-mesh")
    assert env.vault_namespace == Layout(settings).vault_namespace == "vault"
    assert (env.vault_release, env.vault_service, env.vault_service_port) == ("vault", "vault", 8200)
    assert (env.vault_chart_repository, env.vault_chart_version) == (VAULT_CHART_REPOSITORY, VAULT_CHART_VERSION)
    assert env.vault_injector_auth_path == Layout(settings).kubernetes_auth_login_path == "auth/kubernetes-dc1"
    assert (env.local_vault_addr, env.local_vault_port) == ("https://127.0.0.1:8200", 8200)
    assert env.backend_url == "file:///repo/.pulumi-state"
    assert env.csi_driver_version == SECRETS_STORE_CSI_DRIVER_VERSION
    assert env.vault_ca_file == "/repo/.pulumi-state/vault-ca.pem" == f"/repo/{settings.vault.tls.ca_cert_file}"
    assert env.vault_tls_secret == "vault-dev-tls"
    assert env.vault_tls_names.split(",") == [
        "vault",
        "vault.vault",
        "vault.vault.svc",
        "vault.vault.svc.cluster.local",
        "localhost",
        "127.0.0.1",
    ]
    assert env.vault_marker_path == MARKER_PATH == "secret/data/secure-mesh-dev-up"


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ({"kubernetes": {"context": "minikube"}}, "kubernetes.context"),
        ({"vault": {"address": "https://vault.secrets.svc.cluster.local:8200"}}, "vault.address"),
        (
            {"vault": {"address": "http://vault.vault.svc.cluster.local:8200", "tls": {"caCertFile": None}}},
            "vault.address",
        ),
        ({"vault": {"providerAddress": "https://vault.example.com:8200"}}, "vault.providerAddress"),
        ({"vault": {"providerAddress": "http://127.0.0.1:8200"}}, "vault.providerAddress"),
        ({"vault": {"providerAddress": "https://localhost:8200"}}, "vault.providerAddress"),
        ({"vault": {"tls": {"caCertFile": None}}}, "vault.tls.caCertFile"),
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
    dev = github_env(load_stack_settings("dev"))
    assert dev["SM_VAULT_ADDR"] == "https://127.0.0.1:8200"
    assert dev["SM_VAULT_CA_BASE64"] == "", "dev's CA is created by dev-up (VAULT_CACERT), never the placeholder"


def _verify(ca_pem: bytes, certificate_pem: bytes, name: str) -> None:
    """Verify the chain as a TLS client does (RFC 5280 path validation and the name), or raise."""
    store = Store([x509.load_pem_x509_certificate(ca_pem)])
    subject: x509.verification.Subject = (
        x509.IPAddress(ipaddress.ip_address(name)) if name[0].isdigit() else x509.DNSName(name)
    )
    verifier = PolicyBuilder().store(store).build_server_verifier(subject)
    verifier.verify(x509.load_pem_x509_certificate(certificate_pem), [])


def test_dev_tls_gives_vault_a_certificate_for_every_name_it_is_reached_by() -> None:
    env = _dev_env()
    files = dev_tls_files(env)
    assert set(files) == {"ca.crt", "tls.crt", "tls.key", "listener.hcl"}, "the CA's key is never written"
    for name in env.vault_tls_names.split(","):
        _verify(files["ca.crt"], files["tls.crt"], name)
    with pytest.raises(x509.verification.VerificationError):
        _verify(files["ca.crt"], files["tls.crt"], "vault.example.com")
    key = serialization.load_pem_private_key(files["tls.key"], password=None)
    certificate = x509.load_pem_x509_certificate(files["tls.crt"])
    assert key.public_key() == certificate.public_key(), "tls.key is the server's key"
    ca = x509.load_pem_x509_certificate(files["ca.crt"])
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.path_length == 0
    lifetime = certificate.not_valid_after_utc - datetime.datetime.now(datetime.UTC)
    assert datetime.timedelta(days=364) < lifetime <= datetime.timedelta(days=365)
    assert files["listener.hcl"].decode() == (
        'listener "tcp" {\n'
        '  address         = "[::]:8200"\n'
        '  tls_cert_file   = "/vault/userconfig/vault-dev-tls/tls.crt"\n'
        '  tls_key_file    = "/vault/userconfig/vault-dev-tls/tls.key"\n'
        '  tls_min_version = "tls12"\n'
        "}\n"
    )
    assert dev_tls_files(env)["ca.crt"] != files["ca.crt"], "every environment gets its own CA"


def test_dev_vault_values_run_the_dev_server_with_tls_and_hand_the_ca_to_the_csi_provider() -> None:
    env = _dev_env()
    layout = Layout(load_stack_settings("dev"))
    assert dev_vault_values(env, "hvs.dev-token") == {
        "global": {"tlsDisable": False},
        "server": {
            "dev": {"enabled": True, "devRootToken": "hvs.dev-token"},
            "extraArgs": (
                "-dev-tls -dev-listen-address=127.0.0.1:8202 -config=/vault/userconfig/vault-dev-tls/listener.hcl"
            ),
            "extraEnvironmentVars": {"VAULT_CACERT": "/vault/userconfig/vault-dev-tls/ca.crt"},
            "volumes": [{"name": "dev-tls", "secret": {"secretName": "vault-dev-tls", "defaultMode": 0o440}}],
            "volumeMounts": [{"name": "dev-tls", "mountPath": "/vault/userconfig/vault-dev-tls", "readOnly": True}],
        },
        "injector": {"enabled": True, "authPath": "auth/kubernetes-dc1"},
        "csi": {
            "enabled": True,
            "volumes": [
                {
                    "name": "vault-ca",
                    "secret": {"secretName": "vault-dev-tls", "items": [{"key": "ca.crt", "path": "tls.crt"}]},
                }
            ],
            "volumeMounts": [{"name": "vault-ca", "mountPath": "/vault/tls", "readOnly": True}],
            "agent": {"extraArgs": ["-ca-cert=/vault/tls/tls.crt"]},
        },
    }
    # The SecretProviderClass's vaultCACertPath is exactly where the CSI provider gets the CA.
    assert layout.vault_csi_ca_cert_path == "/vault/tls/tls.crt"


# ------------------------------------------------------------------------------------- stubbed script runs


@dataclass
class Sandbox:
    """A scratch copy of the repository with stub tools first on PATH."""

    root: Path
    state: Path
    bin: Path
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

    def tool(self, *command: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        """Call one stub tool directly (to check it refuses what the real tool refuses)."""
        return subprocess.run(
            [str(self.bin / command[0]), *command[1:]],
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=30,
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

    @property
    def cluster(self) -> Path:
        """The stub's state of the kind cluster ``secure-mesh``."""
        return self.state / "clusters" / "secure-mesh"

    def restart_vault(self) -> None:
        """What a restart of Docker or the laptop does to the dev Vault: its in-memory data is gone."""
        shutil.rmtree(self.cluster / "vault-memory")
        (self.cluster / "vault-memory").mkdir()

    def stop_port_forward(self) -> None:
        """Kill a stub port-forward a test left running."""
        pid_file = self.dev_state / "vault-port-forward.pid"
        if pid_file.exists():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid_file.read_text()), signal.SIGTERM)


def _make_sandbox(tmp_path: Path) -> Sandbox:
    root = tmp_path / "repo"
    (root / "scripts").mkdir(parents=True)
    for name in ("dev-up.sh", "dev-down.sh", "stack_env.py", "dev_vault.py", "__init__.py"):
        shutil.copy(PROJECT_DIR / "scripts" / name, root / "scripts" / name)
    shutil.copy(PROJECT_DIR / "Pulumi.dev.yaml", root / "Pulumi.dev.yaml")
    (root / "components").symlink_to(PROJECT_DIR / "components")
    (root / ".venv").symlink_to(Path(sys.prefix))  # the virtualenv running the tests (the project's .venv)
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
    if os.environ.get("PYTHONPATH"):
        # The scripts import secure_mesh the way these tests do (a worktree's alias, not the installed checkout).
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    return Sandbox(root=root, state=state, bin=bin_dir, env=env)


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    box = _make_sandbox(tmp_path)
    yield box
    box.stop_port_forward()


@dataclass
class Ready:
    """``dev-up.sh --env-only`` run once in a sandbox, as CI runs it (``GITHUB_ENV`` set)."""

    box: Sandbox
    result: subprocess.CompletedProcess[str]
    calls: list[str]
    github_env: Path


@pytest.fixture(scope="module")
def ready_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ready]:
    box = _make_sandbox(tmp_path_factory.mktemp("ready"))
    github_env_file = box.root / "github-env"
    result = box.run("dev-up.sh", "--env-only", extra_env={"GITHUB_ENV": str(github_env_file)})
    yield Ready(box, result, box.calls(), github_env_file)
    box.stop_port_forward()


@pytest.fixture
def ready(ready_run: Ready) -> Sandbox:
    """The shared environment, for checks that leave it as they found it."""
    assert ready_run.result.returncode == 0, ready_run.result.stderr
    return ready_run.box


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


def _vault_secret(sandbox: Sandbox) -> Path:
    return sandbox.cluster / "namespaces" / "vault" / "secret" / "vault-dev-tls"


def test_dev_up_builds_the_environment_then_skips_it_on_a_rerun(sandbox: Sandbox) -> None:
    first = sandbox.run("dev-up.sh")
    assert first.returncode == 0, first.stderr
    calls = sandbox.calls()
    commands = _commands(calls)
    assert "kind create cluster --name secure-mesh --wait 180s" in calls
    csi = next(c for c in calls if c.startswith("helm upgrade --install csi-secrets-store "))
    assert f"--version {SECRETS_STORE_CSI_DRIVER_VERSION}" in csi and "--set syncSecret.enabled=true" in csi, csi
    poll = rotation_poll_interval(load_settings(load_stack_config("dev")))
    assert f"--set enableSecretRotation=true --set rotationPollInterval={poll}" in csi, csi
    vault = next(c for c in calls if c.startswith("helm upgrade --install vault vault "))
    assert f"--repo {VAULT_CHART_REPOSITORY} --version {VAULT_CHART_VERSION}" in vault, vault
    assert "--kube-context kind-secure-mesh --namespace vault --create-namespace" in vault, vault
    token = (sandbox.dev_state / "vault-dev-root-token").read_text().strip()
    env = dev_environment(load_stack_settings("dev"), repo_root=sandbox.root)
    assert json.loads((sandbox.state / "values-vault.json").read_text()) == dev_vault_values(env, token)
    assert token != "root" and len(token) > 20, "the dev root token is random, not the chart's well-known default"
    assert stat.S_IMODE((sandbox.dev_state / "vault-dev-root-token").stat().st_mode) == 0o600
    assert stat.S_IMODE((sandbox.dev_state / "vault-values.yaml").stat().st_mode) == 0o600

    # TLS: the secret Vault serves from, created before the chart; the CA handed to the program is its CA.
    secret = _vault_secret(sandbox)
    assert sorted(p.name for p in secret.iterdir()) == ["ca.crt", "listener.hcl", "tls.crt", "tls.key"]
    ca_pem = (sandbox.dev_state / "vault-ca.pem").read_bytes()
    assert ca_pem == (secret / "ca.crt").read_bytes()
    for name in ("127.0.0.1", "vault.vault.svc", "vault.vault.svc.cluster.local"):
        _verify(ca_pem, (secret / "tls.crt").read_bytes(), name)
    create_secret = next(c for c in commands if "create secret generic vault-dev-tls" in c)
    assert commands.index(create_secret) < commands.index(vault), "the pod mounts the secret at start"
    assert not [c for c in commands if "rollout status statefulset" in c], "kubectl refuses it for OnDelete"
    assert f"{KUBECTL_VAULT} wait --for=condition=Ready pod/vault-0 --timeout 10s" in calls
    assert any(c.startswith("kubectl --context kind-secure-mesh --namespace vault port-forward") for c in calls)
    assert "pulumi stack init dev --secrets-provider passphrase --non-interactive" in calls
    assert REFRESH not in calls, "a new stack has nothing to refresh"
    assert commands[-1] == UP
    marker_write = next(c for c in commands if "--request POST" in c)
    assert f"https://127.0.0.1:8200/v1/{MARKER_PATH}" in marker_write
    assert commands.index(marker_write) < commands.index(UP), "the marker is written before the update"
    assert (sandbox.state / "ca-at-up.pem").read_bytes() == ca_pem, "vault.tls.caCertFile is in place for `up`"
    assert token not in "\n".join(commands), "the Vault token never appears on a command line"
    assert _pulumi_env(calls) == {
        "PULUMI_BACKEND_URL": f"file://{sandbox.dev_state}",
        "PULUMI_CONFIG_PASSPHRASE": DEV_PASSPHRASE,
        "VAULT_ADDR": "https://127.0.0.1:8200",
        "VAULT_TOKEN": token,
        "VAULT_CACERT": str(sandbox.dev_state / "vault-ca.pem"),
    }
    dev_env_file = (sandbox.dev_state / "dev.env").read_text()
    assert f"export VAULT_TOKEN={token}" in dev_env_file and "export SECURE_MESH_INTEGRATION=1" in dev_env_file
    assert f"export VAULT_CACERT={sandbox.dev_state / 'vault-ca.pem'}" in dev_env_file

    second = sandbox.run("dev-up.sh")
    assert second.returncode == 0, second.stderr
    rerun = sandbox.calls()
    creating = ("kind create", "helm upgrade", "pulumi stack init", "kubectl --context kind-secure-mesh create")
    created = [c for c in rerun if c.startswith(creating) or "port-forward" in c or " delete " in c]
    assert created == [], f"a re-run must skip what exists; it ran {created}"
    assert REFRESH not in rerun, "Vault still holds the marker: nothing to refresh"
    assert _commands(rerun)[-1] == UP
    assert (sandbox.dev_state / "vault-dev-root-token").read_text().strip() == token
    assert (sandbox.dev_state / "vault-ca.pem").read_bytes() == ca_pem, "the same CA: the secret outlives runs"


def test_dev_up_refreshes_the_stack_when_vault_came_back_empty(sandbox: Sandbox) -> None:
    assert sandbox.run("dev-up.sh").returncode == 0
    sandbox.calls()
    sandbox.restart_vault()  # Docker or the laptop restarted: the dev server is back, in memory, empty

    result = sandbox.run("dev-up.sh")
    assert result.returncode == 0, result.stderr
    commands = _commands(sandbox.calls())
    assert REFRESH in commands, "Pulumi's state still lists what the empty Vault lost"
    marker_write = next(c for c in commands if "--request POST" in c)
    assert commands.index(REFRESH) < commands.index(marker_write) < commands.index(UP)
    assert "Vault came back empty" in result.stderr


def test_dev_up_stops_with_kubectls_reason_when_the_port_is_taken(sandbox: Sandbox) -> None:
    (sandbox.state / "port-taken-8200").touch()  # another program listens on 127.0.0.1:8200
    result = sandbox.run("dev-up.sh")
    assert result.returncode == 1
    assert "the port-forward to https://127.0.0.1:8200 failed" in result.stderr, result.stderr
    assert "unable to listen on any of the requested ports" in result.stderr, result.stderr
    assert not [c for c in sandbox.calls() if c.startswith("pulumi up")]


def test_dev_up_moves_an_existing_vault_release_to_tls_and_restarts_its_pod(sandbox: Sandbox) -> None:
    # A laptop set up before Vault had TLS: the release exists with the old values (plain HTTP).
    assert sandbox.tool("kind", "create", "cluster", "--name", "secure-mesh").returncode == 0
    old_values = sandbox.root / "old-values.json"
    old_values.write_text(json.dumps({"server": {"dev": {"enabled": True, "devRootToken": "hvs.dev-old-token"}}}))
    installed = sandbox.tool(
        *("helm", "upgrade", "--install", "vault", "vault", "--repo", VAULT_CHART_REPOSITORY),
        *("--version", VAULT_CHART_VERSION, "--kube-context", "kind-secure-mesh", "--namespace", "vault"),
        *("--create-namespace", "--values", str(old_values)),
    )
    assert installed.returncode == 0, installed.stderr
    sandbox.calls()

    result = sandbox.run("dev-up.sh")
    assert result.returncode == 0, result.stderr
    commands = _commands(sandbox.calls())
    upgrade = next(c for c in commands if c.startswith("helm upgrade --install vault vault "))
    restart = "kubectl --context kind-secure-mesh --namespace vault delete pod vault-0 --wait=true"
    assert commands.index(upgrade) < commands.index(restart), "OnDelete: the pod restarts only when deleted"
    assert (sandbox.dev_state / "vault-dev-root-token").read_text().strip() == "hvs.dev-old-token"
    assert commands[-1] == UP


def test_dev_up_env_only_stops_before_pulumi_and_exports_to_github_actions(ready_run: Ready) -> None:
    sandbox, result, github_env_file = ready_run.box, ready_run.result, ready_run.github_env
    assert result.returncode == 0, result.stderr
    assert not [c for c in ready_run.calls if c.startswith("pulumi")], "--env-only must not run pulumi"
    token = (sandbox.dev_state / "vault-dev-root-token").read_text().strip()
    assert f"::add-mask::{token}" in result.stdout, "the token must be masked in the Actions log"
    exported = dict(line.split("=", 1) for line in github_env_file.read_text().splitlines())
    assert exported == {
        "VAULT_ADDR": "https://127.0.0.1:8200",
        "VAULT_CACERT": str(sandbox.dev_state / "vault-ca.pem"),
        "VAULT_TOKEN": token,
        "PULUMI_BACKEND_URL": f"file://{sandbox.dev_state}",
        "PULUMI_CONFIG_PASSPHRASE": DEV_PASSPHRASE,
    }


def test_dev_up_names_missing_prerequisites(sandbox: Sandbox) -> None:
    for tool in ("kind", "pulumi"):
        (sandbox.bin / tool).unlink()
    result = sandbox.run("dev-up.sh", extra_env={"PATH": f"{sandbox.bin}:/usr/bin:/bin"})
    assert result.returncode == 1
    assert "missing prerequisites: kind pulumi" in result.stderr, result.stderr
    assert sandbox.calls() == [], "nothing may be created before the prerequisites are checked"


@pytest.mark.parametrize("ps", ["linux", "macos"])
def test_dev_down_destroys_the_stack_stops_the_port_forward_and_deletes_the_cluster(sandbox: Sandbox, ps: str) -> None:
    if ps == "macos":  # `ps -o comm=` prints /usr/local/bin/kubectl there, not kubectl
        shutil.copy(STUB, sandbox.bin / "ps")
        (sandbox.bin / "ps").chmod(0o755)
        assert sandbox.tool("ps", "-p", str(os.getpid()), "-o", "comm=").stdout.startswith("/usr/local/bin/")
    assert sandbox.run("dev-up.sh").returncode == 0
    pid = int((sandbox.dev_state / "vault-port-forward.pid").read_text())
    ca_pem = (sandbox.dev_state / "vault-ca.pem").read_bytes()
    sandbox.calls()

    rerun = sandbox.run("dev-up.sh")
    assert rerun.returncode == 0, rerun.stderr
    assert not [c for c in sandbox.calls() if "port-forward" in c], "the running port-forward is recognised, reused"
    assert f"port-forward pid {pid}" in rerun.stderr

    if ps == "macos":  # a lost CA file: destroy's Vault provider still needs it, dev-down reads it back
        (sandbox.dev_state / "vault-ca.pem").unlink()
    result = sandbox.run("dev-down.sh")
    assert result.returncode == 0, result.stderr
    calls = sandbox.calls()
    assert "pulumi destroy --yes --stack dev" in calls
    ca_at_destroy = sandbox.state / "ca-at-destroy.pem"
    assert ca_at_destroy.read_bytes() == ca_pem, "pulumi destroy ran with the laptop Vault's CA in place"
    assert calls.index("pulumi destroy --yes --stack dev") < calls.index("kind delete cluster --name secure-mesh")
    env = _pulumi_env(calls[calls.index("pulumi destroy --yes --stack dev") :])
    assert env["PULUMI_BACKEND_URL"] == f"file://{sandbox.dev_state}"
    assert env["VAULT_CACERT"] == str(sandbox.dev_state / "vault-ca.pem")
    assert not _alive(pid), "dev-down must find and stop the port-forward"
    assert not (sandbox.dev_state / "vault-dev-root-token").exists()
    assert not (sandbox.dev_state / "vault-ca.pem").exists(), "the CA of a Vault that no longer exists"


def test_dev_down_tolerates_an_absent_stack_and_cluster(sandbox: Sandbox) -> None:
    result = sandbox.run("dev-down.sh")
    assert result.returncode == 0, result.stderr
    calls = sandbox.calls()
    assert not [c for c in calls if c.startswith(("pulumi destroy", "kind delete"))], calls
    assert "no stack 'dev'" in result.stderr


# ------------------------------------------------------------------------- the stub refuses like the real tools


@pytest.mark.parametrize(
    ("command", "status", "message"),
    [
        (
            f"{KUBECTL_VAULT} rollout status statefulset/vault",
            1,
            "error: rollout status is only available for RollingUpdate strategy type",
        ),
        (f"{KUBECTL_VAULT} rollout status pod/vault-0", 1, "error: no status viewer has been implemented for Pod"),
        (
            "kubectl --context kind-other get --raw /readyz",
            1,
            "Error in configuration: context was not found for specified context: kind-other",
        ),
        (
            f"{KUBECTL_VAULT} wait --for=condition=Ready pod/vault-1",
            1,
            'Error from server (NotFound): pods "vault-1" not found',
        ),
        (
            f"{KUBECTL_VAULT} create secret generic vault-dev-tls",
            1,
            'Error from server (AlreadyExists): secrets "vault-dev-tls" already exists',
        ),
        (
            f"{KUBECTL_VAULT} port-forward service/vault 8200:8200",
            1,
            "error: unable to listen on any of the requested ports: [{8200 8200}]",
        ),
        (
            f"helm install vault vault --version {VAULT_CHART_VERSION} {HELM_VAULT}",
            1,
            "Error: INSTALLATION FAILED: cannot re-use a name that is still in use",
        ),
        (
            f"helm upgrade vault vault --version 0.99.0 {HELM_VAULT}",
            1,
            f'Error: chart "vault" version "0.99.0" not found in {VAULT_CHART_REPOSITORY} repository',
        ),
        ("helm status consul --kube-context kind-secure-mesh --namespace consul", 1, "Error: release: not found"),
        (
            "helm list --kube-context kind-other --namespace vault",
            1,
            "Error: Kubernetes cluster unreachable: context was not found for specified context: kind-other",
        ),
        (
            "kind create cluster --name secure-mesh",
            1,
            'ERROR: failed to create cluster: node(s) already exist for a cluster with the name "secure-mesh"',
        ),
        ("pulumi up --stack dev", 255, "error: no stack named 'dev' found"),
        (
            "curl --silent --show-error --fail https://127.0.0.1:8200/v1/sys/health",
            60,
            "curl: (60) SSL certificate problem: unable to get local issuer certificate",
        ),
    ],
    ids=lambda value: value.split(" --")[0] if isinstance(value, str) and " " in value else None,
)
def test_the_stub_refuses_what_the_real_tool_refuses(ready: Sandbox, command: str, status: int, message: str) -> None:
    result = ready.tool(*command.split())
    assert (result.returncode, message in result.stderr) == (status, True), result.stderr


def test_the_stub_vault_needs_the_root_token_and_forgets_everything_on_restart(ready: Sandbox) -> None:
    sandbox = ready
    token = (sandbox.dev_state / "vault-dev-root-token").read_text().strip()
    ca = str(sandbox.dev_state / "vault-ca.pem")
    url = "https://127.0.0.1:8200/v1/secret/data/example"
    status = ("curl", "--silent", "--output", "/dev/null", "--write-out", "%{http_code}", "--cacert", ca)
    assert sandbox.tool(*status, "--header", "@-", url, stdin="X-Vault-Token: wrong\n").stdout == "403"
    assert sandbox.tool(*status, "--header", "@-", url, stdin=f"X-Vault-Token: {token}\n").stdout == "404"
    write = ("curl", "--silent", "--fail", "--cacert", ca, "--header", "@-", "--request", "POST", "--data", "{}", url)
    assert sandbox.tool(*write, stdin=f"X-Vault-Token: {token}\n").returncode == 0
    assert sandbox.tool(*status, "--header", "@-", url, stdin=f"X-Vault-Token: {token}\n").stdout == "200"
    sandbox.restart_vault()
    assert sandbox.tool(*status, "--header", "@-", url, stdin=f"X-Vault-Token: {token}\n").stdout == "404"
    plain = sandbox.tool("curl", "--silent", "--fail", "--cacert", ca, "http://127.0.0.1:8200/v1/sys/health")
    assert plain.returncode == 22, "Vault's TLS listener answers plain HTTP with 400"


def test_the_stub_vault_pod_waits_for_the_secret_it_mounts(ready: Sandbox) -> None:
    wait = ("kubectl", "--context", "kind-secure-mesh", "--namespace", "vault", "wait", "--for=condition=Ready")
    assert ready.tool(*wait, "pod/vault-0").returncode == 0
    secret = _vault_secret(ready)
    secret.rename(secret.with_name("moved-away"))
    try:
        waited = ready.tool(*wait, "pod/vault-0")
    finally:
        secret.with_name("moved-away").rename(secret)
    assert waited.returncode == 1
    assert "error: timed out waiting for the condition on pods/vault-0" in waited.stderr
