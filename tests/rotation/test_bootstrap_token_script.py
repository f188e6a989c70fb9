"""The bootstrap token rotation Job's script against stub `consul`/`vault`/`curl` that fail like the real ones.

The stubs (``tests/rotation/stubs``) keep Consul's ACL tokens, Vault's KV, the servers' StatefulSet (with a
simulated controller) and what each server is configured with in one JSON file, and log every operation, so
each test asserts the whole sequence, not just the exit code. Upstream behaviour relied on:

- a leader re-creates a deleted management token it is still configured with (consul ``agent/consul/leader.go``
  ``initializeManagementToken``): the stub records it as "recreated";
- kubectl's StatefulSet rollout rule (kubectl ``pkg/polymorphichelpers/rollout_status.go``);
- deleting a token that does not exist succeeds in the primary (consul ``agent/consul/acl_endpoint.go``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from secure_mesh.rotation.component import BOOTSTRAP_TOKEN_SCRIPT
from secure_mesh.rotation.documents import ROLL_ANNOTATION

STUBS = Path(__file__).parent / "stubs"
OLD, NEW = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"
ROTATOR = "33333333-3333-4333-8333-333333333333"
CREDS = "consul/acl/creds/acl-rotator"
CURRENT, NEXT = "consul/kv/data/consul/bootstrap-token", "consul/kv/data/consul/bootstrap-token-next"
API = "https://kubernetes.default.svc"
ACL_NOT_FOUND = "Unexpected response code: 403 (ACL not found)"

pytestmark = pytest.mark.skipif(shutil.which("jq") is None, reason="jq is not on PATH (.ci/run installs it)")


def initial_state(**changes: Any) -> dict[str, Any]:
    """Three servers configured with OLD; KV holds OLD and NEXT=NEW at version 2; a Job allowed everything."""
    state: dict[str, Any] = {
        "acl_tokens": {
            OLD: {"accessor": "accessor-old", "policies": ["global-management"]},
            ROTATOR: {"accessor": "accessor-rotator", "policies": ["acl:write"]},
        },
        "consul_tokens": {},
        "servers_render": [OLD, OLD, OLD],
        "login_path": "auth/kubernetes-dc1/login",
        "login_role": "consul-bootstrap-token-rotator",
        "vault_token": "hvs.job",
        "vault_policy": {CREDS: ["read"], NEXT: ["read"], CURRENT: ["create", "read", "update"]},
        "creds": {CREDS: ROTATOR},
        "kv": {CURRENT: {"token": OLD}, NEXT: {"token": NEW, "version": "2"}},
        "kv_current_path": CURRENT,
        "kube": {
            "api": API,
            "token": "kube.sa.token",
            "service_account": "consul-bootstrap-token-rotator",
            "allowed_verbs": ["get", "patch"],
            "statefulset": {
                "metadata": {"name": "consul-server", "namespace": "consul", "generation": 1},
                "spec": {
                    "replicas": 3,
                    "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
                    "template": {"metadata": {"annotations": {"consul.hashicorp.com/config-checksum": "abc"}}},
                },
                "status": {
                    "observedGeneration": 1,
                    "replicas": 3,
                    "readyReplicas": 3,
                    "updatedReplicas": 3,
                    "currentRevision": "rev-1",
                    "updateRevision": "rev-1",
                },
            },
        },
        "log": [],
    }
    state.update(changes)
    return state


def run(tmp_path: Path, state: dict[str, Any], **env: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    state_file = tmp_path / "state.json"
    state_file.write_text(json.dumps(state))
    (tmp_path / "token").write_text("eyJ.sa.token")
    (tmp_path / "kube-token").write_text("kube.sa.token")
    (tmp_path / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\n")
    environment = {
        "PATH": f"{STUBS}:{os.environ['PATH']}",
        "STUB_STATE": str(state_file),
        "TARGET_VERSION": "2",
        "VAULT_AUTH_PATH": "auth/kubernetes-dc1",
        "VAULT_ROLE": "consul-bootstrap-token-rotator",
        "SA_TOKEN_FILE": str(tmp_path / "token"),
        "CREDS_PATH": CREDS,
        "KV_MOUNT": "consul/kv",
        "KV_CURRENT": "consul/bootstrap-token",
        "KV_NEXT": "consul/bootstrap-token-next",
        "KV_FIELD": "token",
        "NAMESPACE": "consul",
        "STATEFULSET": "consul-server",
        "ROLL_ANNOTATION": ROLL_ANNOTATION,
        "KUBE_API": API,
        "KUBE_TOKEN_FILE": str(tmp_path / "kube-token"),
        "KUBE_CA_FILE": str(tmp_path / "ca.crt"),
        "ROLLOUT_SECONDS": "10",
        "POLL_SECONDS": "0",
        "CALL_SECONDS": "5",
        **env,
    }
    result = subprocess.run(
        ["sh", str(BOOTSTRAP_TOKEN_SCRIPT)], env=environment, capture_output=True, text=True, timeout=90, check=False
    )
    return result, json.loads(state_file.read_text())


def operations(state: dict[str, Any]) -> list[list[Any]]:
    """The logged operations without the token look-ups (and their "ACL not found") and the rollout polls."""
    lookups = ("acl-read-self", "kube-get")
    return [
        entry
        for entry in state["log"]
        if entry[0] not in lookups and entry[:2] != ["consul-error", f"Error reading token: {ACL_NOT_FOUND}"]
    ]


def test_rotation_creates_writes_kv_rolls_the_servers_then_deletes_the_old_token(tmp_path: Path) -> None:
    result, state = run(tmp_path, initial_state())
    assert result.returncode == 0, result.stderr
    assert operations(state) == [
        ["login"],
        ["creds", CREDS],
        ["acl-create", NEW, "global-management"],
        ["kv-put", CURRENT, NEW, "accessor-old"],
        ["kube-patch", {ROLL_ANNOTATION: "2"}],
        ["acl-delete", "accessor-old"],
    ]
    assert sorted(state["acl_tokens"]) == sorted([NEW, ROTATOR])
    assert state["acl_tokens"][NEW]["policies"] == ["global-management"]
    assert state["kv"][CURRENT] == {"token": NEW, "replaced-accessor": "accessor-old"}
    assert state["servers_render"] == [NEW, NEW, NEW] and "recreated" not in state
    # It waited for the whole roll (every pod restarted and ready) before the delete.
    log = state["log"]
    assert log.index(["acl-delete", "accessor-old"]) > log.index(["kube-patch", {ROLL_ANNOTATION: "2"}]) + 4
    status = state["kube"]["statefulset"]["status"]
    assert status["updatedReplicas"] == 3 and status["currentRevision"] == status["updateRevision"] == "rev-2"


def test_a_rerun_after_success_changes_nothing_and_passes(tmp_path: Path) -> None:
    result, done = run(tmp_path, initial_state())
    assert result.returncode == 0, result.stderr
    done["log"] = []
    result, state = run(tmp_path, done)
    assert result.returncode == 0, result.stderr
    # The delete of an already deleted token succeeds in the primary (nothing to do): no patch, no create.
    assert operations(state) == [["login"], ["creds", CREDS], ["acl-delete", "accessor-old"]]
    assert state["kv"][CURRENT] == done["kv"][CURRENT] and "recreated" not in state


def test_a_rollout_that_never_finishes_times_out_and_keeps_the_old_token_valid(tmp_path: Path) -> None:
    result, state = run(tmp_path, initial_state(stuck=True), ROLLOUT_SECONDS="2", POLL_SECONDS="0.1")
    assert result.returncode == 1
    assert "the servers did not finish restarting after 2s (waiting: 1 pod(s) not ready)" in result.stderr
    assert "the old token stays valid" in result.stderr
    assert OLD in state["acl_tokens"] and NEW in state["acl_tokens"]
    assert not [op for op in state["log"] if op[0] == "acl-delete"]
    # A re-run once the pod recovers finishes the rotation without creating or writing again.
    state.update(stuck=False, log=[])
    result, state = run(tmp_path, state)
    assert result.returncode == 0, result.stderr
    assert operations(state) == [["login"], ["creds", CREDS], ["acl-delete", "accessor-old"]]
    assert OLD not in state["acl_tokens"] and "recreated" not in state


def test_a_role_that_may_not_patch_the_statefulset_fails_with_the_api_servers_message(tmp_path: Path) -> None:
    state = initial_state()
    state["kube"]["allowed_verbs"] = ["get"]
    result, state = run(tmp_path, state)
    assert result.returncode == 1
    assert (
        'statefulsets.apps \\"consul-server\\" is forbidden: User '
        '\\"system:serviceaccount:consul:consul-bootstrap-token-rotator\\" cannot patch resource '
        '\\"statefulsets\\" in API group \\"apps\\" in the namespace \\"consul\\"'
    ) in result.stderr
    assert "restart refused" in result.stderr and "the old one stays valid" in result.stderr
    # KV already names the new token, which exists; the old one was not deleted.
    assert state["kv"][CURRENT]["token"] == NEW and OLD in state["acl_tokens"]


def test_an_on_delete_statefulset_is_refused_before_any_patch(tmp_path: Path) -> None:
    state = initial_state()
    state["kube"]["statefulset"]["spec"]["updateStrategy"] = {"type": "OnDelete"}
    result, state = run(tmp_path, state)
    assert result.returncode == 1
    assert "updateStrategy OnDelete never restarts pods on a template change" in result.stderr
    assert not [op for op in state["log"] if op[0] in ("kube-patch", "acl-delete")]


def test_a_consul_token_without_acl_write_is_refused_with_consuls_403_before_kv(tmp_path: Path) -> None:
    state = initial_state()
    state["acl_tokens"][ROTATOR]["policies"] = ["keyring:write"]
    result, state = run(tmp_path, state)
    assert result.returncode == 1
    assert (
        "Failed to create new token: Unexpected response code: 403 (Permission denied: token with AccessorID "
        "'accessor-rotator' lacks permission 'acl:write')"
    ) in result.stderr
    assert "token create failed; the old token is still the bootstrap token" in result.stderr
    assert state["kv"][CURRENT] == {"token": OLD} and NEW not in state["acl_tokens"]


def test_a_kv_write_refused_leaves_the_old_token_in_kv_and_a_rerun_reuses_the_created_token(tmp_path: Path) -> None:
    result, state = run(tmp_path, initial_state(vault_policy={CREDS: ["read"], NEXT: ["read"], CURRENT: ["read"]}))
    assert result.returncode == 1
    assert "Code: 403" in result.stderr and "KV write failed; the old token is still in KV" in result.stderr
    assert state["kv"][CURRENT] == {"token": OLD} and NEW in state["acl_tokens"]
    assert not [op for op in state["log"] if op[0] in ("kube-patch", "acl-delete")]
    state.update(vault_policy=initial_state()["vault_policy"], log=[])
    result, state = run(tmp_path, state)
    assert result.returncode == 0, result.stderr
    assert [op[0] for op in operations(state)] == ["login", "creds", "kv-put", "kube-patch", "acl-delete"]


def test_a_token_in_kv_that_consul_does_not_know_stops_before_any_change(tmp_path: Path) -> None:
    state = initial_state()
    state["kv"][CURRENT] = {"token": "44444444-4444-4444-8444-444444444444"}
    result, state = run(tmp_path, state)
    assert result.returncode == 1
    assert f"Error reading token: {ACL_NOT_FOUND}" in result.stderr
    assert "is not a Consul token" in result.stderr
    assert operations(state) == [["login"], ["creds", CREDS]]
    assert sorted(state["acl_tokens"]) == sorted([OLD, ROTATOR])


def test_an_empty_bootstrap_secret_is_refused(tmp_path: Path) -> None:
    state = initial_state()
    state["kv"][CURRENT] = {"token": ""}
    result, state = run(tmp_path, state)
    assert result.returncode == 1
    assert "is empty: ACLs were never bootstrapped; nothing was changed" in result.stderr


def test_a_next_token_of_another_version_is_refused(tmp_path: Path) -> None:
    state = initial_state()
    state["kv"][NEXT] = {"token": NEW, "version": "3"}
    result, state = run(tmp_path, state)
    assert result.returncode == 1
    assert "holds version 3, not 2; nothing was changed" in result.stderr
    assert operations(state) == [["login"], ["creds", CREDS]]


def test_a_hung_kubernetes_api_is_bounded(tmp_path: Path) -> None:
    result, state = run(tmp_path, initial_state(hang="kube"), CALL_SECONDS="5")
    assert result.returncode == 1
    assert "cannot read StatefulSet consul/consul-server" in result.stderr
    assert OLD in state["acl_tokens"]


def test_deleting_before_the_roll_would_let_a_server_recreate_the_old_token(tmp_path: Path) -> None:
    """The stub's failure mode is real enough to catch a wrong order: delete while a server still renders OLD."""
    state_file = tmp_path / "state.json"
    state = initial_state()
    state_file.write_text(json.dumps(state))
    env = {**os.environ, "PATH": f"{STUBS}:{os.environ['PATH']}", "STUB_STATE": str(state_file),
           "CONSUL_HTTP_TOKEN": ROTATOR}
    subprocess.run(["consul", "acl", "token", "delete", "-accessor-id=accessor-old"], env=env, check=True,
                   capture_output=True)
    after = json.loads(state_file.read_text())
    assert after["recreated"] == "accessor-old" and OLD in after["acl_tokens"]


def test_the_script_passes_shellcheck() -> None:
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck is not on PATH (CI installs it: apt-get install -y shellcheck)")
    result = subprocess.run(
        [shellcheck, "-s", "sh", str(BOOTSTRAP_TOKEN_SCRIPT)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("missing_field", ["TARGET_VERSION", "CREDS_PATH", "STATEFULSET", "KUBE_CA_FILE"])
def test_missing_configuration_stops_before_any_call(tmp_path: Path, missing_field: str) -> None:
    result, state = run(tmp_path, initial_state(), **{missing_field: ""})
    assert result.returncode != 0
    assert state["log"] == []
