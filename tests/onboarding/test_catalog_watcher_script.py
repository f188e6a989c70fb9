"""The watcher's template and command against recorded catalog answers, with a stub ``vault`` that refuses like Vault.

consul-template renders the template (modelled in ``consul_template_model.py``, pinned to the exact text the
program ships) and runs ``apply-address.sh`` only when the rendered file changes, as consul-template does;
the script runs for real under ``/bin/sh`` with the stub first on ``PATH``. The stub enforces the watcher's
*rendered* Vault policy (taken from the mocked program run) and Vault's database backend behaviour.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from secure_mesh.onboarding.catalog_watcher import SCRIPT_PATH
from tests.onboarding import catalog_responses as catalog
from tests.onboarding import vault_stub
from tests.onboarding.consul_template_model import EXPECTED_TEMPLATE, render
from tests.onboarding.stacks import onboarding_run

WATCHER = "secure-mesh-onboarding-orders-db-address-watcher"
CONFIG_PATH = "consul/database/config/orders-orders"
PREFIX = "postgresql://{{username}}:{{password}}@"
SUFFIX = "/orders?sslmode=verify-full"
CREATED_WITH = f"{PREFIX}10.0.0.11:6432{SUFFIX}"
WATCHER_TOKEN = "hvs.watcher-token"
OTHER_TOKEN = "hvs.some-app-token"


def _rendered_policy() -> str:
    return str(onboarding_run().one("vault:index/policy:Policy", f"{WATCHER}-policy").inputs["policy"])


def _app_policy() -> str:
    return str(
        onboarding_run().one("vault:index/policy:Policy", "secure-mesh-onboarding-app-orders-policy").inputs["policy"]
    )


@dataclass
class Watcher:
    """One watcher pod's files, its environment and Vault's state; :meth:`observe` is one catalog answer."""

    root: Path
    token: str | None = WATCHER_TOKEN
    unreachable: tuple[str, ...] = ()
    rendered: str | None = None
    runs: list[subprocess.CompletedProcess[str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.bin = self.root / "bin"
        self.bin.mkdir()
        self.run_dir = self.root / "run"
        self.run_dir.mkdir()
        self.state = self.root / "vault-state.json"
        self.state.write_text(json.dumps(vault_stub.initial_state(CONFIG_PATH, CREATED_WITH)))
        self.config = vault_stub.install(
            self.bin, {WATCHER_TOKEN: _rendered_policy(), OTHER_TOKEN: _app_policy()}, self.unreachable
        )
        self.token_file = self.root / "token"
        if self.token is not None:
            self.token_file.write_text(self.token)

    def env(self) -> dict[str, str]:
        return {
            "PATH": f"{self.bin}:{os.environ['PATH']}",
            "SERVICE": "orders-db",
            "ADDRESS_FILE": str(self.run_dir / "address"),
            "STATE_FILE": str(self.run_dir / "last-applied"),
            "VAULT_CONFIG_PATH": CONFIG_PATH,
            "URL_PREFIX": PREFIX,
            "URL_SUFFIX": SUFFIX,
            "VAULT_TOKEN_FILE": str(self.token_file),
            "VAULT_ADDR": "https://vault.example:8200",
            "VAULT_STUB_CONFIG": str(self.config),
            "VAULT_STUB_STATE": str(self.state),
        }

    def observe(self, entries: Sequence[dict[str, Any]]) -> subprocess.CompletedProcess[str] | None:
        """consul-template: render; on a changed (or first) rendering write the file and run the command."""
        rendered = render(EXPECTED_TEMPLATE, entries)
        if rendered == self.rendered:
            return None
        self.rendered = rendered
        (self.run_dir / "address").write_text(rendered)
        return self.command()

    def command(self) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            ["/bin/sh", str(SCRIPT_PATH)], env=self.env(), capture_output=True, text=True, timeout=30, check=False
        )
        self.runs.append(result)
        return result

    @property
    def vault(self) -> dict[str, Any]:
        return dict(json.loads(self.state.read_text()))

    @property
    def connection(self) -> dict[str, Any]:
        return dict(self.vault["connections"][CONFIG_PATH])


def _untouched_but_url(watcher: Watcher, url: str) -> None:
    """Vault holds ``url`` and everything else exactly as the program created it (merge on update)."""
    expected = vault_stub.initial_state(CONFIG_PATH, url)["connections"][CONFIG_PATH]
    assert watcher.connection == expected


def test_one_instance_moves_only_the_address(tmp_path: Path) -> None:
    watcher = Watcher(tmp_path)
    result = watcher.observe(catalog.ONE)
    assert result is not None and result.returncode == 0, result
    _untouched_but_url(watcher, f"{PREFIX}10.0.1.5:5432{SUFFIX}")
    assert watcher.vault["writes"] == [
        {"path": CONFIG_PATH, "params": {"connection_url": f"{PREFIX}10.0.1.5:5432{SUFFIX}"}}
    ]
    assert "event=updated address=10.0.1.5:5432" in result.stderr


def test_several_instances_choose_the_first_passing_by_node_then_id(tmp_path: Path) -> None:
    assert render(EXPECTED_TEMPLATE, catalog.SEVERAL) == "10.0.0.11 6432", "node-a's orders-db-2, node address"
    assert render(EXPECTED_TEMPLATE, list(reversed(catalog.SEVERAL))) == "10.0.0.11 6432", "order-independent"
    watcher = Watcher(tmp_path)
    result = watcher.observe(catalog.SEVERAL)
    assert result is not None and result.returncode == 0
    _untouched_but_url(watcher, f"{PREFIX}10.0.0.11:6432{SUFFIX}")


@pytest.mark.parametrize("answer", [catalog.NONE, catalog.NONE_PASSING], ids=["no-instance", "none-passing"])
def test_no_healthy_instance_keeps_the_last_good_address_and_alerts(tmp_path: Path, answer: list[Any]) -> None:
    assert render(EXPECTED_TEMPLATE, answer) == ""
    watcher = Watcher(tmp_path)
    assert watcher.observe(catalog.ONE) is not None
    result = watcher.observe(answer)
    assert result is not None and result.returncode == 0
    assert "ALERT level=error event=no-healthy-instance" in result.stderr
    _untouched_but_url(watcher, f"{PREFIX}10.0.1.5:5432{SUFFIX}")
    assert len(watcher.vault["writes"]) == 1, "nothing is written for an empty catalog"


def test_a_change_is_followed_and_an_unchanged_rendering_writes_nothing(tmp_path: Path) -> None:
    watcher = Watcher(tmp_path)
    for answer in (catalog.ONE, catalog.ONE, catalog.MOVED, catalog.NONE, catalog.MOVED):
        watcher.observe(answer)
    moved = f"{PREFIX}10.0.4.5:5433{SUFFIX}"
    _untouched_but_url(watcher, moved)
    written = [w["params"]["connection_url"] for w in watcher.vault["writes"]]
    assert written == [f"{PREFIX}10.0.1.5:5432{SUFFIX}", moved], "back to MOVED after the gap: already applied"
    assert [r.returncode for r in watcher.runs] == [0, 0, 0, 0]
    assert "event=unchanged" in watcher.runs[-1].stderr


def test_a_restarted_watcher_writes_the_current_address_again(tmp_path: Path) -> None:
    watcher = Watcher(tmp_path)
    watcher.observe(catalog.MOVED)
    # pulumi up updated the connection for another reason and sent its state's (older) URL ...
    state = watcher.vault
    state["connections"][CONFIG_PATH]["connection_details"]["connection_url"] = CREATED_WITH
    watcher.state.write_text(json.dumps(state))
    # ... and the same up restarted the watcher (new pod: empty run directory, first rendering runs the command)
    shutil.rmtree(watcher.run_dir)
    watcher.run_dir.mkdir()
    watcher.rendered = None
    assert watcher.observe(catalog.MOVED) is not None
    _untouched_but_url(watcher, f"{PREFIX}10.0.4.5:5433{SUFFIX}")


def test_ipv6_addresses_are_bracketed(tmp_path: Path) -> None:
    watcher = Watcher(tmp_path)
    result = watcher.observe(catalog.IPV6)
    assert result is not None and result.returncode == 0, result.stderr
    _untouched_but_url(watcher, f"{PREFIX}[fd00::1:5]:5432{SUFFIX}")


def test_vault_refusing_an_unreachable_address_keeps_the_old_one(tmp_path: Path) -> None:
    watcher = Watcher(tmp_path, unreachable=("10.0.4.5",))
    watcher.observe(catalog.ONE)
    result = watcher.observe(catalog.MOVED)
    assert result is not None and result.returncode == 1
    assert "ALERT level=error event=vault-refused status=2" in result.stderr
    assert "Code: 400. Errors:" in result.stderr and "connection refused" in result.stderr
    _untouched_but_url(watcher, f"{PREFIX}10.0.1.5:5432{SUFFIX}")


def test_without_a_vault_token_nothing_is_written(tmp_path: Path) -> None:
    watcher = Watcher(tmp_path, token=None)
    result = watcher.observe(catalog.ONE)
    assert result is not None and result.returncode == 1
    assert "ALERT level=error event=no-vault-token" in result.stderr
    _untouched_but_url(watcher, CREATED_WITH)


def test_a_token_without_the_watchers_policy_is_refused_with_403(tmp_path: Path) -> None:
    watcher = Watcher(tmp_path, token=OTHER_TOKEN)
    result = watcher.observe(catalog.ONE)
    assert result is not None and result.returncode == 1
    # The script logs Vault's answer on one line (newlines become spaces), so an alert rule sees all of it.
    assert "Code: 403. Errors:  * permission denied" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    _untouched_but_url(watcher, CREATED_WITH)


@pytest.mark.parametrize(
    ("rendered", "event"),
    [("10.0.0.1", "bad-rendering"), ("a b c", "bad-rendering"), ("ho$t 5432", "bad-host"),
     ("db 0", "bad-port"), ("db 65536", "bad-port"), ("db 54x", "bad-port"), ("db *", "bad-port")],
)  # fmt: skip
def test_a_malformed_rendering_writes_nothing(tmp_path: Path, rendered: str, event: str) -> None:
    watcher = Watcher(tmp_path)
    (watcher.run_dir / "address").write_text(rendered)
    result = watcher.command()
    assert result.returncode == 1
    assert f"ALERT level=error event={event}" in result.stderr
    _untouched_but_url(watcher, CREATED_WITH)


def _stub(watcher: Watcher, token: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**watcher.env(), "VAULT_TOKEN": token}
    return subprocess.run(["vault", *args], env=env, capture_output=True, text=True, timeout=30, check=False)


def test_the_stub_refuses_what_vault_refuses(tmp_path: Path) -> None:
    watcher = Watcher(tmp_path)
    refusals = [
        ("", ("write", CONFIG_PATH, f"connection_url={PREFIX}db:5432{SUFFIX}"), 403),  # no token
        (WATCHER_TOKEN, ("write", CONFIG_PATH, "connection_url="), 403),  # empty: outside allowed_parameters
        (WATCHER_TOKEN, ("write", CONFIG_PATH, f"connection_url={PREFIX}db:5432/orders?sslmode=disable"), 403),
        (WATCHER_TOKEN, ("write", CONFIG_PATH, f"connection_url={PREFIX}db:5432{SUFFIX}", "password=x"), 403),
        (WATCHER_TOKEN, ("write", CONFIG_PATH, "allowed_roles=*"), 403),
        (WATCHER_TOKEN, ("write", "consul/database/config/web-web", f"connection_url={PREFIX}db:5432{SUFFIX}"), 403),
    ]
    for token, args, code in refusals:
        result = _stub(watcher, token, *args)
        assert result.returncode == 2, (args, result.stderr)
        assert f"Code: {code}. Errors:" in result.stderr and "* permission denied" in result.stderr, args
    assert watcher.vault["writes"] == []
    # Past the ACL (a token whose policy lets any value through), the backend refuses an empty URL (400).
    open_policy = json.dumps({"path": {CONFIG_PATH: {"capabilities": ["update"]}}})
    vault_stub.install(watcher.bin, {"hvs.open": open_policy})
    result = _stub(watcher, "hvs.open", "write", CONFIG_PATH, "connection_url=")
    assert result.returncode == 2
    assert "Code: 400. Errors:\n\n* error creating database object: connection_url cannot be empty" in result.stderr
    _untouched_but_url(watcher, CREATED_WITH)


def test_the_script_passes_shellcheck() -> None:
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck is not installed")
    result = subprocess.run([shellcheck, "-s", "sh", str(SCRIPT_PATH)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout
