"""Under mocks: the secrets engine and the rotation Jobs (gossip key, bootstrap token) the program registers for
each version step.

The stack's previous ``rotationVersions`` output is what the mocked ``StackReference`` to itself returns.
"""

from __future__ import annotations

from typing import Any

import pytest

from secure_mesh.offline import program_run as engine
from secure_mesh.rotation.documents import RotationVersionError
from tests.harness import (
    PROJECT_DIR,
    ProgramRun,
    RegisteredResource,
    _collect_mock_outputs,
    _main,
    deep_merge,
    load_stack_config,
)
from tests.pki.helpers import settle_failed_run
from tests.pki.recorded import recorded_mocks

ENGINE = {"enabled": True}
ROTATION_TYPES = {
    "random:index/randomBytes:RandomBytes",
    "vault:kv/secretV2:SecretV2",
    "kubernetes:core/v1:ConfigMap",
    "kubernetes:batch/v1:Job",
    "kubernetes:rbac.authorization.k8s.io/v1:Role",
    "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",
}
BOTH_AT_ONE = {"gossipKeyVersion": 1, "bootstrapTokenVersion": 1, "serverTlsGeneration": 1, "connectRootGeneration": 1}
"""Every version the dev stack with the engine records (the server chain's issuing generation in every stack)."""


def config(version: int | None = None, key: str = "gossipKeyVersion") -> dict[str, Any]:
    rotation: dict[str, Any] = {"consulSecretsEngine": ENGINE}
    if version is not None:
        rotation[key] = version
    return deep_merge(
        load_stack_config("dev"),
        {"consul": {"address": "https://localhost:8501"}, "rotation": rotation},
    )


def _mocks(deployed: dict[str, Any] | None) -> dict[str, Any]:
    return recorded_mocks(deployed)


_RUNS: dict[tuple[Any, ...], ProgramRun] = {}
"""Successful runs by their arguments, shared by this file's tests and the policy pack's (treat as read-only)."""


def run(version: int | None, deployed: dict[str, Any] | None, key: str = "gossipKeyVersion") -> ProgramRun:
    cache_key = ("dev", version, key, tuple(sorted((deployed or {}).items())), deployed is None)
    if cache_key not in _RUNS:
        mocks = _mocks(deployed)
        _RUNS[cache_key] = engine.run_program(_main, PROJECT_DIR, config(version, key), None, "test", False, mocks)
    return _RUNS[cache_key]


def fail(
    version: int, deployed: dict[str, Any], key: str = "gossipKeyVersion"
) -> tuple[BaseException, list[RegisteredResource]]:
    """A run that must fail, then the clean-up ``tests.pki.helpers.expect_failure`` explains."""
    error, registered = engine.run_program_expecting_failure(
        _main, PROJECT_DIR, config(version, key), None, _mocks(deployed)
    )
    settle_failed_run()
    return error, registered


def under_rotation(run_: ProgramRun, component: str = "gossip-rotation") -> list[RegisteredResource]:
    return [r for r in run_.resources if component in r.urn]


def urn_of(run_: ProgramRun, type_: str, suffix: str) -> str:
    return next(r.urn for r in run_.resources if r.type == type_ and r.name.endswith(suffix))


@pytest.fixture(scope="module")
def first() -> ProgramRun:
    return run(None, None)


@pytest.fixture(scope="module")
def second() -> ProgramRun:
    return run(2, {"gossipKeyVersion": 1})


def test_version_one_registers_the_engine_but_nothing_of_the_rotations(first: ProgramRun) -> None:
    assert [r for r in under_rotation(first) if r.custom] == []
    assert [r for r in under_rotation(first, "bootstrap-token-rotation") if r.custom] == []
    assert first.outputs["rotationVersions"] == BOTH_AT_ONE


def test_the_engine_has_its_own_acl_write_token_over_https_and_never_bootstraps(first: ProgramRun) -> None:
    backend = first.one("vault:consul/secretBackend:SecretBackend")
    assert backend.inputs["scheme"] == "https"
    assert backend.inputs["bootstrap"] is False
    assert backend.inputs["address"] == "consul-consul-server.consul.svc:8501"
    assert backend.inputs["path"] == "consul/acl"
    assert backend.inputs["caCert"].startswith("-----BEGIN CERTIFICATE-----")
    assert "tokenWo" in backend.secret_inputs and "token" not in backend.inputs
    policy = first.one("consul:index/aclPolicy:AclPolicy", name="secure-mesh-consul-secrets-engine-engine-acl-policy")
    assert policy.inputs["rules"] == 'acl = "write"\n'
    token = first.one("consul:index/aclToken:AclToken")
    assert token.inputs["policies"] == [policy.inputs["name"]]
    # The engine's token comes from the Consul provider: a policy and token, never the bootstrap secret.
    assert token.provider.startswith("urn:") and "::consul::" in token.provider


def test_the_engine_roles_are_short_lived_and_least_privilege(first: ProgramRun) -> None:
    roles = {r.inputs["name"]: r.inputs for r in first.of_type("vault:consul/secretBackendRole:SecretBackendRole")}
    assert {name: (role["ttl"], role["maxTtl"]) for name, role in roles.items()} == {
        "operator": (3600, 28800),
        "pulumi": (1800, 7200),
        "gossip-rotator": (900, 1800),
        "acl-rotator": (900, 1800),
    }
    rules = {
        r.inputs["name"]: r.inputs["rules"] for r in first.of_type("consul:index/aclPolicy:AclPolicy")
    }
    assert rules[roles["gossip-rotator"]["consulPolicies"][0]] == 'keyring = "write"\n'
    assert rules[roles["acl-rotator"]["consulPolicies"][0]] == 'acl = "write"\n'


def test_raising_to_two_creates_exactly_the_key_the_secret_the_script_and_the_job(
    first: ProgramRun, second: ProgramRun
) -> None:
    before = {r.urn for r in first.resources}
    added = sorted((r.type, r.name) for r in second.resources if r.urn not in before)
    assert added == [
        ("kubernetes:batch/v1:Job", "secure-mesh-gossip-rotation-job-v2"),
        ("kubernetes:core/v1:ConfigMap", "secure-mesh-gossip-rotation-script-v2"),
        ("kubernetes:core/v1:ServiceAccount", "secure-mesh-gossip-rotation-service-account"),
        ("random:index/randomBytes:RandomBytes", "secure-mesh-gossip-rotation-key-v2"),
        ("vault:index/policy:Policy", "secure-mesh-gossip-rotation-policy"),
        ("vault:kubernetes/authBackendRole:AuthBackendRole", "secure-mesh-gossip-rotation-auth-role"),
        ("vault:kv/secretV2:SecretV2", "secure-mesh-gossip-rotation-next"),
    ]
    assert second.outputs["rotationVersions"] == {**BOTH_AT_ONE, "gossipKeyVersion": 2}


def test_the_job_depends_on_everything_it_reads(second: ProgramRun) -> None:
    job = second.one("kubernetes:batch/v1:Job")
    wanted = {
        urn_of(second, "vault:kv/secretV2:SecretV2", "gossip-rotation-next"),
        urn_of(second, "kubernetes:core/v1:ConfigMap", "script-v2"),
        urn_of(second, "kubernetes:core/v1:ServiceAccount", "gossip-rotation-service-account"),
        urn_of(second, "vault:kubernetes/authBackendRole:AuthBackendRole", "gossip-rotation-auth-role"),
        urn_of(second, "vault:consul/secretBackendRole:SecretBackendRole", "gossip-rotator-role"),
        urn_of(second, "kubernetes:helm.sh/v3:Release", "consul-release"),
    }
    assert wanted <= set(job.dependencies)
    assert job.inputs["metadata"]["name"] == "gossip-rotate-v2"
    config_map = second.one("kubernetes:core/v1:ConfigMap", name="secure-mesh-gossip-rotation-script-v2")
    assert config_map.inputs["metadata"]["name"] == "gossip-rotate-v2" and config_map.inputs["immutable"] is True


def test_the_next_key_is_a_secret_with_its_version(second: ProgramRun) -> None:
    secret = second.one("vault:kv/secretV2:SecretV2", name="secure-mesh-gossip-rotation-next")
    assert secret.inputs["name"] == "consul/gossip-next" and secret.inputs["mount"] == "consul/kv"
    # write-only (never in the KV resource's state) and a secret on its way
    assert "dataJsonWo" in secret.secret_inputs and "dataJson" not in secret.inputs
    assert sorted(__import__("json").loads(secret.inputs["dataJsonWo"])) == ["key", "version"]
    assert secret.inputs["dataJsonWoVersion"] == 2
    gossip = second.one("vault:kv/secretV2:SecretV2", name="secure-mesh-secrets-gossip")
    assert gossip.ignore_changes == ("dataJson",) or gossip.ignore_changes == ("data_json",)


def test_raising_again_replaces_the_job_with_the_next_versions(second: ProgramRun) -> None:
    third = run(3, {"gossipKeyVersion": 2})
    names = lambda r: {(x.type, x.name) for x in r.resources if x.type in ROTATION_TYPES and "gossip-rotation" in x.urn}  # noqa: E731
    assert names(second) - names(third) == {
        ("kubernetes:batch/v1:Job", "secure-mesh-gossip-rotation-job-v2"),
        ("kubernetes:core/v1:ConfigMap", "secure-mesh-gossip-rotation-script-v2"),
        ("random:index/randomBytes:RandomBytes", "secure-mesh-gossip-rotation-key-v2"),
    }
    assert names(third) - names(second) == {
        ("kubernetes:batch/v1:Job", "secure-mesh-gossip-rotation-job-v3"),
        ("kubernetes:core/v1:ConfigMap", "secure-mesh-gossip-rotation-script-v3"),
        ("random:index/randomBytes:RandomBytes", "secure-mesh-gossip-rotation-key-v3"),
    }


def test_rerunning_the_deployed_version_keeps_the_same_job(second: ProgramRun) -> None:
    again = run(2, {"gossipKeyVersion": 2})
    def shapes(run_: ProgramRun) -> list[tuple[str, str, Any]]:
        return sorted(((r.type, r.name, r.inputs) for r in under_rotation(run_)), key=lambda t: (t[0], t[1]))

    assert shapes(again) == shapes(second)


@pytest.mark.parametrize(
    ("requested", "deployed", "message"),
    [
        (1, 2, "secure-mesh:rotation.gossipKeyVersion: 1 is lower than the deployed version 2"),
        (2, 3, "secure-mesh:rotation.gossipKeyVersion: 2 is lower than the deployed version 3"),
        (4, 2, "secure-mesh:rotation.gossipKeyVersion: 4 skips version(s) 3..3 after the deployed version 2"),
        (9, 1, "secure-mesh:rotation.gossipKeyVersion: 9 skips version(s) 2..8 after the deployed version 1"),
    ],
)
def test_lowering_or_skipping_is_refused_and_nothing_of_the_rotation_is_created(
    requested: int, deployed: int, message: str
) -> None:
    error, registered = fail(requested, {"gossipKeyVersion": deployed})
    # Pulumi re-raises an apply's error as a ValueError holding its text; the text names the error.
    assert f"RotationVersionError: {message}" in str(error)
    assert str(RotationVersionError(message)) == f"RotationVersionError: {message}"
    # The run got as far as the rotation component, but nothing behind the check was registered.
    assert any(r.type == "secure-mesh:index:GossipKeyRotation" for r in registered)
    assert not [r for r in registered if r.type in ROTATION_TYPES and "gossip-rotation" in r.urn]


# --- the bootstrap token rotation (rotation.bootstrapTokenVersion) ------------------------------------------------
TOKEN = "bootstrapTokenVersion"


@pytest.fixture(scope="module")
def token_second() -> ProgramRun:
    return run(2, {"gossipKeyVersion": 1, TOKEN: 1}, TOKEN)


def test_raising_the_token_version_creates_exactly_its_identity_role_secret_id_script_and_job(
    first: ProgramRun, token_second: ProgramRun
) -> None:
    before = {r.urn for r in first.resources}
    added = sorted((r.type, r.name) for r in token_second.resources if r.urn not in before)
    prefix = "secure-mesh-bootstrap-token-rotation"
    assert added == [
        ("kubernetes:batch/v1:Job", f"{prefix}-job-v2"),
        ("kubernetes:core/v1:ConfigMap", f"{prefix}-script-v2"),
        ("kubernetes:core/v1:ServiceAccount", f"{prefix}-service-account"),
        ("kubernetes:rbac.authorization.k8s.io/v1:Role", f"{prefix}-restart-role"),
        ("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", f"{prefix}-restart-binding"),
        ("random:index/randomBytes:RandomBytes", f"{prefix}-secret-id-v2"),
        ("vault:index/policy:Policy", f"{prefix}-policy"),
        ("vault:kubernetes/authBackendRole:AuthBackendRole", f"{prefix}-auth-role"),
        ("vault:kv/secretV2:SecretV2", f"{prefix}-next"),
    ]
    assert token_second.outputs["rotationVersions"] == {**BOTH_AT_ONE, TOKEN: 2}


def test_the_token_job_is_the_stacks_document_and_waits_for_everything_it_uses(token_second: ProgramRun) -> None:
    from secure_mesh.layout import Layout
    from secure_mesh.rotation.plan import RotationNames, stack_bootstrap_token_job
    from secure_mesh.settings import load_settings

    job = token_second.one("kubernetes:batch/v1:Job")
    expected = stack_bootstrap_token_job(RotationNames(Layout(load_settings(config(2, TOKEN)))), 2)
    assert {"metadata": job.inputs["metadata"], "spec": job.inputs["spec"]} == expected
    wanted = {
        urn_of(token_second, "vault:kv/secretV2:SecretV2", "bootstrap-token-rotation-next"),
        urn_of(token_second, "kubernetes:core/v1:ConfigMap", "bootstrap-token-rotation-script-v2"),
        urn_of(token_second, "kubernetes:core/v1:ServiceAccount", "bootstrap-token-rotation-service-account"),
        urn_of(token_second, "vault:kubernetes/authBackendRole:AuthBackendRole", "bootstrap-token-rotation-auth-role"),
        urn_of(token_second, "kubernetes:rbac.authorization.k8s.io/v1:Role", "restart-role"),
        urn_of(token_second, "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", "restart-binding"),
        urn_of(token_second, "vault:consul/secretBackendRole:SecretBackendRole", "acl-rotator-role"),
        urn_of(token_second, "kubernetes:helm.sh/v3:Release", "consul-release"),
    }
    assert wanted <= set(job.dependencies)


def test_the_token_jobs_kubernetes_role_may_only_read_and_patch_the_server_statefulset(
    token_second: ProgramRun,
) -> None:
    role = token_second.one("kubernetes:rbac.authorization.k8s.io/v1:Role")
    binding = token_second.one("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding")
    account = "consul-consul-bootstrap-token-rotator"
    assert role.inputs["metadata"] == {"name": account, "namespace": "consul"}
    assert role.inputs["rules"] == [
        {"apiGroups": ["apps"], "resources": ["statefulsets"], "resourceNames": ["consul-consul-server"],
         "verbs": ["get", "patch"]}
    ]
    assert binding.inputs["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": account}
    assert binding.inputs["subjects"] == [{"kind": "ServiceAccount", "name": account, "namespace": "consul"}]


def test_the_next_token_is_a_secret_uuid_with_its_version(token_second: ProgramRun) -> None:
    import json
    import uuid

    secret = token_second.one("vault:kv/secretV2:SecretV2", name="secure-mesh-bootstrap-token-rotation-next")
    assert (secret.inputs["mount"], secret.inputs["name"]) == ("consul/kv", "consul/bootstrap-token-next")
    assert "dataJsonWo" in secret.secret_inputs and "dataJson" not in secret.inputs
    assert secret.inputs["dataJsonWoVersion"] == 2
    data = json.loads(secret.inputs["dataJsonWo"])
    assert sorted(data) == ["token", "version"] and data["version"] == "2"
    assert str(uuid.UUID(data["token"])) == data["token"]


@pytest.mark.parametrize(
    ("acl_bootstrap", "ignored"), [("generated", ("dataJson",)), ("auto", ("dataJson",))]
)
def test_after_a_token_rotation_the_program_never_writes_the_bootstrap_secret_again(
    acl_bootstrap: str, ignored: tuple[str, ...]
) -> None:
    def secret(version: int) -> RegisteredResource:
        cfg = deep_merge(config(version, TOKEN), {"consul": {"aclBootstrap": acl_bootstrap}})
        run_ = engine.run_program(_main, PROJECT_DIR, cfg, None, "test", False, _mocks({TOKEN: 1}))
        return run_.one("vault:kv/secretV2:SecretV2", name="secure-mesh-secrets-bootstrap-token")

    rotated = secret(2)
    assert tuple(rotated.ignore_changes) in (ignored, ("data_json",))
    assert rotated.inputs["disableRead"] is True  # a refresh never reads the Job's token into state
    if acl_bootstrap == "generated":  # before the rotation the program owns the generated token
        before = secret(1)
        assert not before.ignore_changes and "disableRead" not in before.inputs


@pytest.mark.parametrize(
    ("requested", "deployed", "message"),
    [
        (1, 2, "secure-mesh:rotation.bootstrapTokenVersion: 1 is lower than the deployed version 2"),
        (4, 2, "secure-mesh:rotation.bootstrapTokenVersion: 4 skips version(s) 3..3 after the deployed version 2"),
    ],
)
def test_lowering_or_skipping_the_token_version_is_refused_before_its_resources(
    requested: int, deployed: int, message: str
) -> None:
    error, registered = fail(requested, {TOKEN: deployed}, TOKEN)
    assert f"RotationVersionError: {message}" in str(error)
    assert any(r.type == "secure-mesh:index:BootstrapTokenRotation" for r in registered)
    assert not [r for r in registered if r.type in ROTATION_TYPES and "bootstrap-token-rotation" in r.urn]


# --- the replication token rotation (rotation.replicationTokenVersion), WAN federation ---------------------------
REPLICATION = "replicationTokenVersion"
PRIMARY_STACK = "acme/secure-mesh/fed-primary"
PRIMARY_ENGINE = {
    "consul": {"address": "https://consul-dc1.example.com:8501"},
    "rotation": {"consulSecretsEngine": {"enabled": True, "consulAddress": "consul-dc1.example.com:8501"}},
}


def federation_run(stack: str, version: int, deployed: dict[str, Any], fail_: bool = False) -> Any:
    """The fed-primary or fed-secondary stack at a replication token version; the primary with the engine.

    A successful run is computed once per arguments (see :data:`_RUNS`); a failing one every time.
    """
    cache_key = (stack, version, REPLICATION, tuple(sorted(deployed.items())), False)
    if not fail_ and cache_key in _RUNS:
        return _RUNS[cache_key]
    result = _federation_run(stack, version, deployed, fail_)
    if not fail_:
        _RUNS[cache_key] = result
    return result


def _federation_run(stack: str, version: int, deployed: dict[str, Any], fail_: bool) -> Any:
    from tests.conftest import stack_run

    override: dict[str, Any] = {"rotation": {REPLICATION: version}}
    if stack == "fed-primary":
        override = deep_merge(override, PRIMARY_ENGINE)
    primary_outputs = dict(stack_run("fed-primary").outputs)

    def reference(_: str, inputs: dict[str, Any]) -> dict[str, Any]:
        if inputs["name"] == PRIMARY_STACK:
            return {"outputs": primary_outputs, "secretOutputNames": []}
        return {"outputs": {"rotationVersions": deployed}}

    mocks = {**_collect_mock_outputs(), "pulumi:pulumi:StackReference": reference}
    cfg = deep_merge(load_stack_config(stack), override)
    if fail_:
        result = engine.run_program_expecting_failure(_main, PROJECT_DIR, cfg, None, mocks)
        settle_failed_run()
        return result
    return engine.run_program(_main, PROJECT_DIR, cfg, None, "test", False, mocks)


@pytest.fixture(scope="module")
def primary_rotating() -> ProgramRun:
    return federation_run("fed-primary", 2, {REPLICATION: 1})


@pytest.fixture(scope="module")
def secondary_rotating() -> ProgramRun:
    return federation_run("fed-secondary", 2, {REPLICATION: 1})


def test_the_primary_rotates_the_replication_token_waiting_for_each_listed_secondary(
    primary_rotating: ProgramRun,
) -> None:
    from secure_mesh.layout import Layout
    from secure_mesh.rotation.plan import RotationNames, stack_replication_token_job
    from secure_mesh.settings import load_settings

    job = primary_rotating.one("kubernetes:batch/v1:Job", name="secure-mesh-replication-token-rotation-job-v2")
    settings = load_settings(
        deep_merge(deep_merge(load_stack_config("fed-primary"), PRIMARY_ENGINE), {"rotation": {REPLICATION: 2}})
    )
    expected = stack_replication_token_job(RotationNames(Layout(settings)), 2)
    assert {"metadata": job.inputs["metadata"], "spec": job.inputs["spec"]} == expected
    env = {e["name"]: e["value"] for e in job.inputs["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["ACK_NAMES"] == "consul/replication-token-ack-dc2"  # topology.secondaries: [dc2]
    assert env["TOKEN_POLICY"] == "acl-replication-token" and "STATEFULSET" not in env
    assert primary_rotating.outputs["rotationVersions"][REPLICATION] == 2
    secret = primary_rotating.one("vault:kv/secretV2:SecretV2", name="secure-mesh-secrets-replication-token")
    assert tuple(secret.ignore_changes) in (("dataJson",), ("data_json",))
    # No Role: the primary restarts nothing (its servers do not use the replication token).
    assert not [r for r in primary_rotating.resources if "replication-token-rotation" in r.urn and "rbac" in r.type]


def test_the_secondary_restarts_its_servers_and_acknowledges_in_the_primarys_kv(
    secondary_rotating: ProgramRun,
) -> None:
    prefix = "secure-mesh-replication-token-rotation"
    added = sorted((r.type, r.name) for r in under_rotation(secondary_rotating, prefix) if r.custom)
    assert added == [
        ("kubernetes:batch/v1:Job", f"{prefix}-job-v2"),
        ("kubernetes:core/v1:ConfigMap", f"{prefix}-script-v2"),
        ("kubernetes:core/v1:ServiceAccount", f"{prefix}-service-account"),
        ("kubernetes:rbac.authorization.k8s.io/v1:Role", f"{prefix}-restart-role"),
        ("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", f"{prefix}-restart-binding"),
        ("vault:index/policy:Policy", f"{prefix}-policy"),
        ("vault:kubernetes/authBackendRole:AuthBackendRole", f"{prefix}-auth-role"),
    ]  # no new value: the primary rotates it
    policy = secondary_rotating.one("vault:index/policy:Policy", name=f"{prefix}-policy")
    assert "consul-dc1/kv/data/consul/replication-token-ack-dc2" in policy.inputs["policy"]
    job = secondary_rotating.one("kubernetes:batch/v1:Job")
    env = {e["name"]: e["value"] for e in job.inputs["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert (env["KV_MOUNT"], env["KV_CURRENT"], env["ACK_NAME"]) == (
        "consul-dc1/kv",
        "consul/replication-token",
        "consul/replication-token-ack-dc2",
    )
    assert "CREDS_PATH" not in env and "KV_NEXT" not in env
    assert env["ROLL_ANNOTATION"] == "secure-mesh/replication-token-version"
    assert secondary_rotating.outputs["rotationVersions"] == {REPLICATION: 2}


def test_the_secondarys_job_policy_reads_the_token_and_writes_only_its_acknowledgement(
    secondary_rotating: ProgramRun,
) -> None:
    from secure_mesh.layout import Layout
    from secure_mesh.rotation.plan import RotationNames, replication_token_rotator_policy
    from secure_mesh.settings import load_settings
    from secure_mesh.settings.federation import primary_settings

    settings = load_settings(deep_merge(load_stack_config("fed-secondary"), {"rotation": {REPLICATION: 2}}))
    layout = Layout(settings, primary_settings(settings, PROJECT_DIR))
    assert replication_token_rotator_policy(RotationNames(layout)).paths == {
        "auth/token/lookup-self": ["read"],
        "auth/token/renew-self": ["update"],
        "consul-dc1/kv/data/consul/replication-token": ["read"],
        "consul-dc1/kv/data/consul/replication-token-ack-dc2": ["create", "update"],
    }


@pytest.mark.parametrize("stack", ["fed-primary", "fed-secondary"])
def test_lowering_the_replication_token_version_is_refused_in_both_datacenters(stack: str) -> None:
    error, registered = federation_run(stack, 1, {REPLICATION: 2}, fail_=True)
    assert "RotationVersionError: secure-mesh:rotation.replicationTokenVersion: 1 is lower than the deployed" in str(
        error
    )
    assert any(r.type == "secure-mesh:index:ReplicationTokenRotation" for r in registered)
    assert not [r for r in registered if r.type in ROTATION_TYPES and "replication-token-rotation" in r.urn]


def test_raising_the_primarys_replication_version_creates_exactly_its_resources_and_the_job_waits_for_them(
    primary_rotating: ProgramRun,
) -> None:
    before = {r.urn for r in federation_run("fed-primary", 1, {REPLICATION: 1}).resources}
    prefix = "secure-mesh-replication-token-rotation"
    added = sorted((r.type, r.name) for r in primary_rotating.resources if r.urn not in before)
    assert added == [
        ("kubernetes:batch/v1:Job", f"{prefix}-job-v2"),
        ("kubernetes:core/v1:ConfigMap", f"{prefix}-script-v2"),
        ("kubernetes:core/v1:ServiceAccount", f"{prefix}-service-account"),
        ("random:index/randomBytes:RandomBytes", f"{prefix}-secret-id-v2"),
        ("vault:index/policy:Policy", f"{prefix}-policy"),
        ("vault:kubernetes/authBackendRole:AuthBackendRole", f"{prefix}-auth-role"),
        ("vault:kv/secretV2:SecretV2", f"{prefix}-next"),
    ]
    job = primary_rotating.one("kubernetes:batch/v1:Job", name=f"{prefix}-job-v2")
    wanted = {
        urn_of(primary_rotating, type_, suffix)
        for type_, suffix in [
            ("vault:kv/secretV2:SecretV2", f"{prefix}-next"),
            ("kubernetes:core/v1:ConfigMap", f"{prefix}-script-v2"),
            ("kubernetes:core/v1:ServiceAccount", f"{prefix}-service-account"),
            ("vault:kubernetes/authBackendRole:AuthBackendRole", f"{prefix}-auth-role"),
            ("vault:consul/secretBackendRole:SecretBackendRole", "acl-rotator-role"),
            ("kubernetes:helm.sh/v3:Release", "consul-release"),
        ]
    }
    assert wanted <= set(job.dependencies)
