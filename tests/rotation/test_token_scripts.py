"""The token rotation Jobs' scripts (bootstrap token; replication token in the primary and in a secondary) against
stub `consul`/`vault`/`curl` that fail like the real ones.

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

from secure_mesh.rotation.component import REPLICATION_ROLL_SCRIPT, TOKEN_SCRIPT
from secure_mesh.rotation.documents import REPLICATION_ROLL_ANNOTATION, REPLICATION_TOKEN_POLICY, ROLL_ANNOTATION
from tests.stub_path import stub_path

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


def run(
    tmp_path: Path, state: dict[str, Any], script: Path = TOKEN_SCRIPT, **env: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    state_file = tmp_path / "state.json"
    state_file.write_text(json.dumps(state))
    (tmp_path / "token").write_text("eyJ.sa.token")
    (tmp_path / "kube-token").write_text("kube.sa.token")
    (tmp_path / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\n")
    environment = {
        "PATH": stub_path(STUBS),
        "STUB_STATE": str(state_file),
        "JOB_NAME": "bootstrap-token-rotate-v2",
        "TOKEN_POLICY": "global-management",
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
    environment = {k: v for k, v in environment.items() if v is not None}
    result = subprocess.run(
        ["sh", str(script)], env=environment, capture_output=True, text=True, timeout=90, check=False
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
        ["kv-put", CURRENT, NEW, "2", "accessor-old"],
        ["kube-patch", {ROLL_ANNOTATION: "2"}],
        ["acl-delete", "accessor-old"],
    ]
    assert sorted(state["acl_tokens"]) == sorted([NEW, ROTATOR])
    assert state["acl_tokens"][NEW] == {
        "accessor": "accessor-3",
        "policies": ["global-management"],
        "description": "secure-mesh bootstrap-token-rotate v2",
    }
    assert state["kv"][CURRENT] == {"token": NEW, "version": "2", "replaced-accessor": "accessor-old"}
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
    assert "KV holds the new token, the old one stays valid" in result.stderr
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
    assert "token create failed; the old token is still the one in KV" in result.stderr
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
    assert "is empty: no token to replace; nothing was changed" in result.stderr


def test_a_next_token_of_another_version_is_refused(tmp_path: Path) -> None:
    state = initial_state()
    state["kv"][NEXT] = {"token": NEW, "version": "3"}
    result, state = run(tmp_path, state)
    assert result.returncode == 1
    assert "holds version 3, not 2; nothing was changed" in result.stderr
    assert operations(state) == [["login"], ["creds", CREDS]]


def test_a_hung_kubernetes_api_is_bounded(tmp_path: Path) -> None:
    # The stub hangs 60 s; 3 s bounds it and leaves the calls before it room on a loaded machine.
    result, state = run(tmp_path, initial_state(hang="kube"), CALL_SECONDS="3")
    assert result.returncode == 1
    assert "cannot read StatefulSet consul/consul-server" in result.stderr
    assert OLD in state["acl_tokens"]


def test_deleting_before_the_roll_would_let_a_server_recreate_the_old_token(tmp_path: Path) -> None:
    """The stub's failure mode is real enough to catch a wrong order: delete while a server still renders OLD."""
    state_file = tmp_path / "state.json"
    state = initial_state()
    state_file.write_text(json.dumps(state))
    env = {**os.environ, "PATH": stub_path(STUBS), "STUB_STATE": str(state_file),
           "CONSUL_HTTP_TOKEN": ROTATOR}
    subprocess.run(["consul", "acl", "token", "delete", "-accessor-id=accessor-old"], env=env, check=True,
                   capture_output=True)
    after = json.loads(state_file.read_text())
    assert after["recreated"] == "accessor-old" and OLD in after["acl_tokens"]


def test_the_script_passes_shellcheck() -> None:
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck is not on PATH (CI installs it: apt-get install -y shellcheck)")
    scripts = [TOKEN_SCRIPT, REPLICATION_ROLL_SCRIPT]
    # -x: follow the sourced rotation-lib.sh (the scripts' source-path directive names their own directory).
    result = subprocess.run(
        [shellcheck, "-x", "-s", "sh", *map(str, scripts)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("missing_field", ["TARGET_VERSION", "CREDS_PATH", "TOKEN_POLICY", "KUBE_CA_FILE"])
def test_missing_configuration_stops_before_any_call(tmp_path: Path, missing_field: str) -> None:
    result, state = run(tmp_path, initial_state(), **{missing_field: ""})
    assert result.returncode != 0
    assert state["log"] == []


# --- the replication token: the primary's Job waits for the secondaries' acknowledgements -----------------------
RCURRENT, RNEXT = "consul-dc1/kv/data/consul/replication-token", "consul-dc1/kv/data/consul/replication-token-next"
ACK = "consul-dc1/kv/data/consul/replication-token-ack-"
ACK2, ACK3 = f"{ACK}dc2", f"{ACK}dc3"
RCREDS = "consul-dc1/acl/creds/acl-rotator"


def primary_state(**changes: Any) -> dict[str, Any]:
    """The primary: OLD is the replication token in KV; both secondaries acknowledged version 2 already."""
    state = initial_state(
        acl_tokens={
            OLD: {"accessor": "accessor-old", "policies": [REPLICATION_TOKEN_POLICY]},
            ROTATOR: {"accessor": "accessor-rotator", "policies": ["acl:write"]},
        },
        servers_render=[],
        login_role="consul-replication-token-rotator",
        vault_policy={
            RCREDS: ["read"],
            RNEXT: ["read"],
            RCURRENT: ["create", "read", "update"],
            ACK2: ["read"],
            ACK3: ["read"],
        },
        creds={RCREDS: ROTATOR},
        kv={
            RCURRENT: {"token": OLD},
            RNEXT: {"token": NEW, "version": "2"},
            ACK2: {"version": "2"},
            ACK3: {"version": "2"},
        },
        kv_current_path=RCURRENT,
    )
    state.update(changes)
    return state


PRIMARY_ENV = {
    "JOB_NAME": "replication-token-rotate-v2",
    "TOKEN_POLICY": REPLICATION_TOKEN_POLICY,
    "VAULT_ROLE": "consul-replication-token-rotator",
    "CREDS_PATH": RCREDS,
    "KV_MOUNT": "consul-dc1/kv",
    "KV_CURRENT": "consul/replication-token",
    "KV_NEXT": "consul/replication-token-next",
    "ACK_NAMES": "consul/replication-token-ack-dc2 consul/replication-token-ack-dc3",
    "ACK_SECONDS": "5",
    "STATEFULSET": "",
}


def test_the_primary_creates_the_replication_token_then_deletes_the_old_once_every_secondary_acknowledged(
    tmp_path: Path,
) -> None:
    result, state = run(tmp_path, primary_state(), **PRIMARY_ENV)
    assert result.returncode == 0, result.stderr
    assert operations(state) == [
        ["login"],
        ["creds", RCREDS],
        ["acl-create", NEW, REPLICATION_TOKEN_POLICY],
        ["kv-put", RCURRENT, NEW, "2", "accessor-old"],
        ["acl-delete", "accessor-old"],
    ]
    assert state["acl_tokens"][NEW]["policies"] == [REPLICATION_TOKEN_POLICY] and OLD not in state["acl_tokens"]
    assert "consul/replication-token-ack-dc3 acknowledged version 2" in result.stderr
    assert not [op for op in state["log"] if op[0] == "kube-patch"]  # the primary restarts nothing


def test_the_primary_keeps_the_old_token_until_the_last_secondary_acknowledges(tmp_path: Path) -> None:
    state = primary_state()
    state["kv"][ACK3] = {"version": "1"}  # dc3 acknowledged only the previous rotation
    result, state = run(tmp_path, state, **{**PRIMARY_ENV, "ACK_SECONDS": "1", "POLL_SECONDS": "0.1"})
    assert result.returncode == 1
    assert (
        "consul-dc1/kv/consul/replication-token-ack-dc3 has not acknowledged version 2 after 1s (run that "
        "secondary's `pulumi up` with this version); the old token stays valid"
    ) in result.stderr
    assert OLD in state["acl_tokens"] and state["kv"][RCURRENT]["token"] == NEW
    # Once dc3 acknowledges, the same Job version finishes: no second create, no second KV write.
    state["kv"][ACK3] = {"version": "2"}
    state["log"] = []
    result, state = run(tmp_path, state, **PRIMARY_ENV)
    assert result.returncode == 0, result.stderr
    assert operations(state) == [["login"], ["creds", RCREDS], ["acl-delete", "accessor-old"]]


def test_the_primarys_job_without_acknowledgement_grants_is_refused_by_vault(tmp_path: Path) -> None:
    state = primary_state()
    del state["vault_policy"][ACK2]
    result, state = run(tmp_path, state, **{**PRIMARY_ENV, "ACK_SECONDS": "1", "POLL_SECONDS": "0.1"})
    assert result.returncode == 1 and "replication-token-ack-dc2 has not acknowledged" in result.stderr
    assert ["vault-denied", ACK2] in state["log"] and OLD in state["acl_tokens"]


def test_a_token_job_with_neither_a_statefulset_nor_acknowledgements_refuses_to_start(tmp_path: Path) -> None:
    result, state = run(tmp_path, primary_state(), **{**PRIMARY_ENV, "ACK_NAMES": ""})
    assert result.returncode == 2
    assert "set STATEFULSET (restart the servers) or ACK_NAMES (wait for the secondaries)" in result.stderr
    assert state["log"] == []


# --- the replication token: a secondary's Job ----------------------------------------------------------------------
def secondary_state(**changes: Any) -> dict[str, Any]:
    """A secondary: the primary's KV already names NEW at version 2; NEW resolves here; servers render OLD."""
    state = initial_state(
        acl_tokens={
            OLD: {"accessor": "accessor-old", "policies": [REPLICATION_TOKEN_POLICY]},
            NEW: {"accessor": "accessor-new", "policies": [REPLICATION_TOKEN_POLICY]},
        },
        login_path="auth/kubernetes-dc2/login",
        login_role="consul-replication-token-rotator",
        vault_policy={RCURRENT: ["read"], ACK2: ["create", "update"]},
        creds={},
        kv={RCURRENT: {"token": NEW, "version": "2", "replaced-accessor": "accessor-old"}},
        kv_current_path=RCURRENT,
    )
    state.update(changes)
    return state


SECONDARY_ENV = {
    "JOB_NAME": "replication-token-rotate-v2",
    "VAULT_AUTH_PATH": "auth/kubernetes-dc2",
    "VAULT_ROLE": "consul-replication-token-rotator",
    "KV_MOUNT": "consul-dc1/kv",
    "KV_CURRENT": "consul/replication-token",
    "ACK_NAME": "consul/replication-token-ack-dc2",
    "ROLL_ANNOTATION": REPLICATION_ROLL_ANNOTATION,
    "WAIT_SECONDS": "5",
}


def run_secondary(tmp_path: Path, state: dict[str, Any], **env: str) -> tuple[Any, dict[str, Any]]:
    return run(tmp_path, state, REPLICATION_ROLL_SCRIPT, **{**SECONDARY_ENV, **env})


def test_a_secondary_checks_the_new_token_restarts_its_servers_then_acknowledges(tmp_path: Path) -> None:
    result, state = run_secondary(tmp_path, secondary_state())
    assert result.returncode == 0, result.stderr
    assert operations(state) == [
        ["login"],
        ["kube-patch", {REPLICATION_ROLL_ANNOTATION: "2"}],
        ["kv-put", ACK2, "2"],
    ]
    assert ["acl-read-self", "accessor-new"] in state["log"]  # checked before the restart
    assert state["log"].index(["acl-read-self", "accessor-new"]) < state["log"].index(
        ["kube-patch", {REPLICATION_ROLL_ANNOTATION: "2"}]
    )
    assert state["kv"][ACK2] == {"version": "2"} and state["servers_render"] == [NEW, NEW, NEW]
    assert not [op for op in state["log"] if op[0] in ("acl-create", "acl-delete")]  # a secondary deletes nothing


def test_a_secondary_before_the_primary_waits_then_stops_without_restarting(tmp_path: Path) -> None:
    state = secondary_state(kv={RCURRENT: {"token": OLD}})
    result, state = run_secondary(tmp_path, state, WAIT_SECONDS="1", POLL_SECONDS="0.1")
    assert result.returncode == 1
    assert (
        "consul-dc1/kv/consul/replication-token does not hold version 2 after 1s (run the primary's `pulumi up` "
        "with this version first); nothing was changed"
    ) in result.stderr
    assert not [op for op in state["log"] if op[0] in ("kube-patch", "kv-put")]


def test_a_secondary_that_does_not_know_the_new_token_does_not_restart(tmp_path: Path) -> None:
    state = secondary_state()
    del state["acl_tokens"][NEW]
    result, state = run_secondary(tmp_path, state)
    assert result.returncode == 1
    assert f"Error reading token: {ACL_NOT_FOUND}" in result.stderr
    assert "this datacenter's servers do not accept the new token" in result.stderr
    assert not [op for op in state["log"] if op[0] in ("kube-patch", "kv-put")]


def test_a_secondary_whose_acknowledgement_is_refused_fails_after_the_restart(tmp_path: Path) -> None:
    result, state = run_secondary(tmp_path, secondary_state(vault_policy={RCURRENT: ["read"]}))
    assert result.returncode == 1
    assert f"Error writing data to {ACK2}" in result.stderr
    assert "the acknowledgement was refused; the primary keeps the old token until it is written" in result.stderr
    assert ["kube-patch", {REPLICATION_ROLL_ANNOTATION: "2"}] in state["log"] and ACK2 not in state["kv"]
