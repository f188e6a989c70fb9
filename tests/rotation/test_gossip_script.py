"""The gossip rotation Job's script against stub `consul`/`vault` CLIs that fail like the real ones.

The stubs (``tests/rotation/stubs``) keep the cluster's keyring and Vault's KV in a JSON file and log every
operation, so each test asserts the whole sequence of operations, not just the exit code.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from secure_mesh.rotation.component import GOSSIP_SCRIPT
from tests.stub_path import stub_path

STUBS = Path(__file__).parent / "stubs"
OLD, NEW = "b2xkLWtleS1vbGQta2V5LW9sZC1rZXktb2xkLWtleS0=", "bmV3LWtleS1uZXcta2V5LW5ldy1rZXktbmV3LWtleS0="
CREDS = "consul/acl/creds/gossip-rotator"
CURRENT, NEXT = "consul/kv/data/consul/gossip", "consul/kv/data/consul/gossip-next"


def initial_state(**changes: Any) -> dict[str, Any]:
    """A healthy 3-server cluster on OLD, KV holding OLD and NEXT=NEW at version 2, a Job allowed everything."""
    state: dict[str, Any] = {
        "members": 3,
        "pools": ["WAN", "dc1 (LAN)"],
        "keys": {OLD: 3},
        "primary": OLD,
        "spread": 2,
        "missing": 0,
        "consul_tokens": {"keyring-token": ["keyring:write"], "read-token": ["keyring:read"]},
        "login_path": "auth/kubernetes-dc1/login",
        "login_role": "consul-gossip-rotator",
        "vault_token": "hvs.job",
        "vault_policy": {CREDS: ["read"], NEXT: ["read"], CURRENT: ["create", "read", "update"]},
        "creds": {CREDS: "keyring-token"},
        "kv": {CURRENT: {"key": OLD}, NEXT: {"key": NEW, "version": "2"}},
        "log": [],
    }
    state.update(changes)
    return state


def run(tmp_path: Path, state: dict[str, Any], **env: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    state_file = tmp_path / "state.json"
    state_file.write_text(json.dumps(state))
    token = tmp_path / "token"
    token.write_text("eyJ.sa.token")
    environment = {
        "PATH": stub_path(STUBS),
        "STUB_STATE": str(state_file),
        "TARGET_VERSION": "2",
        "VAULT_AUTH_PATH": "auth/kubernetes-dc1",
        "VAULT_ROLE": "consul-gossip-rotator",
        "SA_TOKEN_FILE": str(token),
        "CREDS_PATH": CREDS,
        "KV_MOUNT": "consul/kv",
        "KV_CURRENT": "consul/gossip",
        "KV_NEXT": "consul/gossip-next",
        "KV_FIELD": "key",
        "WAIT_SECONDS": "5",
        "POLL_SECONDS": "0",
        "CALL_SECONDS": "5",
        **env,
    }
    result = subprocess.run(
        ["sh", str(GOSSIP_SCRIPT)], env=environment, capture_output=True, text=True, timeout=60, check=False
    )
    return result, json.loads(state_file.read_text())


def operations(state: dict[str, Any]) -> list[list[str]]:
    """The logged operations without the repeated `-list` polls."""
    return [entry for entry in state["log"] if entry != ["list"]]


def test_rotation_runs_install_wait_use_kv_remove_in_that_order(tmp_path: Path) -> None:
    result, state = run(tmp_path, initial_state())
    assert result.returncode == 0, result.stderr
    assert operations(state) == [
        ["login"],
        ["creds", CREDS],
        ["install", NEW],
        ["use", NEW],
        ["kv-put", CURRENT, NEW],
        ["remove", OLD],
    ]
    assert state["keys"] == {NEW: 3} and state["primary"] == NEW
    assert state["kv"][CURRENT] == {"key": NEW}
    # it waited for the spread: the -use came after the listing that first showed [3/3]
    log = state["log"]
    assert log.index(["use", NEW]) > log.index(["install", NEW]) + 3


def test_a_rerun_after_success_changes_nothing(tmp_path: Path) -> None:
    done = initial_state(keys={NEW: 3}, primary=NEW)
    done["kv"][CURRENT] = {"key": NEW}
    result, state = run(tmp_path, done)
    assert result.returncode == 0, result.stderr
    assert operations(state) == [["login"], ["creds", CREDS], ["use", NEW]]
    assert state["keys"] == {NEW: 3} and state["kv"][CURRENT] == {"key": NEW}


def test_a_rerun_after_a_failure_between_use_and_kv_finishes_the_rotation(tmp_path: Path) -> None:
    # First run: KV write denied (the policy lacks update on the current key) -> fails after -use.
    denied_policy = {CREDS: ["read"], NEXT: ["read"], CURRENT: ["read"]}
    result, state = run(tmp_path, initial_state(vault_policy=denied_policy))
    assert result.returncode == 1
    assert "Code: 403" in result.stderr and "KV write failed" in result.stderr
    assert state["primary"] == NEW and state["keys"] == {OLD: 3, NEW: 3}  # working: every member holds both
    assert state["kv"][CURRENT] == {"key": OLD}
    assert ["remove", OLD] not in state["log"]
    # Second run with the right policy completes it.
    state["vault_policy"] = initial_state()["vault_policy"]
    state["log"] = []
    result, state = run(tmp_path, state)
    assert result.returncode == 0, result.stderr
    assert operations(state) == [
        ["login"],
        ["creds", CREDS],
        ["use", NEW],
        ["kv-put", CURRENT, NEW],
        ["remove", OLD],
    ]


def test_a_member_missing_the_key_times_out_before_use_and_leaves_the_old_primary(tmp_path: Path) -> None:
    result, state = run(tmp_path, initial_state(missing=1, spread=0), WAIT_SECONDS="1", POLL_SECONDS="0.1")
    assert result.returncode == 1
    assert "not every member holds the new key after 1s; the old primary key is still in use" in result.stderr
    assert f"  {NEW} [2/3]" in result.stderr  # the last listing is shown
    assert state["primary"] == OLD and state["kv"][CURRENT] == {"key": OLD}
    assert [op[0] for op in operations(state)] == ["login", "creds", "install"]


def test_a_hung_consul_call_is_bounded_and_the_wait_times_out(tmp_path: Path) -> None:
    state = initial_state(hang="list")
    # The limit applies to every call, the Vault stubs' too (Python start-up, about 20 ms with the interpreter
    # first on PATH): 1 s failed them on a loaded machine while a version manager's shim started each stub.
    # The stub hangs 60 s, so 3 s still proves the bound.
    result, state = run(tmp_path, state, CALL_SECONDS="3")
    assert result.returncode == 1
    assert "consul keyring -list failed; nothing was changed" in result.stderr
    assert state["primary"] == OLD and state["keys"] == {OLD: 3}


def test_a_consul_token_without_keyring_write_is_refused_with_consuls_403(tmp_path: Path) -> None:
    result, state = run(tmp_path, initial_state(creds={CREDS: "read-token"}))
    assert result.returncode == 1
    assert (
        "error: Unexpected response code: 403 (Permission denied: token with AccessorID 'accessor-read-token' "
        "lacks permission 'keyring:write')"
    ) in result.stderr
    assert "install failed; the old primary key is still in use" in result.stderr
    assert state["keys"] == {OLD: 3} and state["primary"] == OLD and state["kv"][CURRENT] == {"key": OLD}


def test_a_vault_policy_without_the_creds_path_stops_before_touching_consul(tmp_path: Path) -> None:
    result, state = run(tmp_path, initial_state(vault_policy={NEXT: ["read"], CURRENT: ["read", "update"]}))
    assert result.returncode == 1
    assert f"Error reading {CREDS}: Error making API request." in result.stderr
    assert "Code: 403. Errors:\n\n* permission denied" in result.stderr
    assert [op[0] for op in state["log"]] == ["login", "vault-denied"]


def test_a_next_key_of_another_version_is_refused(tmp_path: Path) -> None:
    state = initial_state()
    state["kv"][NEXT] = {"key": NEW, "version": "3"}
    result, state = run(tmp_path, state)
    assert result.returncode == 1
    assert "holds version 3, not 2; nothing was changed" in result.stderr
    assert state["keys"] == {OLD: 3}


def test_the_script_passes_shellcheck() -> None:
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck is not on PATH (CI installs it: apt-get install -y shellcheck)")
    result = subprocess.run(
        [shellcheck, "-x", "-s", "sh", str(GOSSIP_SCRIPT)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("missing_field", ["TARGET_VERSION", "CREDS_PATH", "KV_NEXT"])
def test_missing_configuration_stops_before_any_call(tmp_path: Path, missing_field: str) -> None:
    result, state = run(tmp_path, initial_state(), **{missing_field: ""})
    assert result.returncode != 0
    assert state["log"] == []
