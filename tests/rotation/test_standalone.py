"""ConsulSecretsEngine and GossipKeyRotation alone: built from hand-written Args under mocks (no settings, no
layout, no stack file), with stand-in resources for what other components compute.

Whole inputs of every resource, the Consul provider reaching the engine's Consul resources through ``opts``, the
dependencies the data carries (the role's mount, the next key's KV mount, the Job waiting for the engine's role
and the Consul release), the version check, the outputs, and the wire (dict) form building the same resources.
"""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from typing import Any

import pulumi
import pulumi_consul as consul
import pulumi_kubernetes as kubernetes
import pulumi_vault as vault
import pytest
from pulumi.runtime.sync_await import _sync_await

from secure_mesh.rotation.component import (
    GOSSIP_SCRIPT,
    SCRIPT_LIB,
    ConsulSecretsEngine,
    ConsulSecretsEngineArgs,
    EngineRoleArgs,
    GossipKeyRotation,
    GossipKeyRotationArgs,
)
from secure_mesh.rotation.documents import GossipJobArgs, gossip_job
from tests.consul.helpers import recorded_shape, run_alone, to_wire
from tests.harness import ProgramRun
from tests.mocks.identities import mock_random_bytes

CA_PEM = "-----BEGIN CERTIFICATE-----\nMIIBstand-in\n-----END CERTIFICATE-----\n"
ENGINE = ConsulSecretsEngineArgs(
    mount="lab/acl",
    consul_address="consul.lab.svc:8501",
    server_ca_pem=CA_PEM,
    engine_policy="lab-engine",
    roles=(
        EngineRoleArgs(name="reader", consul_policy="lab-reader", rules='acl = "read"\n', ttl=600, max_ttl=1200),
        EngineRoleArgs(name="keyring", consul_policy="lab-keyring", rules='keyring = "write"\n', ttl=300, max_ttl=900),
    ),
    default_lease_ttl_seconds=300,
    protect=True,
)
JOB = GossipJobArgs(
    namespace="mesh",
    service_account="lab-rotator",
    vault_address="https://vault.lab:8200",
    vault_auth_path="k8s-lab",
    audience="vault",
    creds_path="lab/acl/creds/keyring",
    kv_mount="lab/kv",
    kv_current="c/gossip",
    kv_next="c/gossip-next",
    kv_field="key",
    consul_https_address="consul.mesh.svc:8501",
    consul_image="hashicorp/consul:1.22.0",
    vault_image="hashicorp/vault:1.20.0",
    active_deadline_seconds=600,
)


def _engine_program(args: Any, built: list[ConsulSecretsEngine]) -> None:
    provider = consul.Provider("stand-in-consul", address="consul.lab.svc:8501", scheme="https")
    built.append(ConsulSecretsEngine("lab-engine", args, pulumi.ResourceOptions(providers=[provider])))


def _engine(args: Any) -> tuple[ProgramRun, ConsulSecretsEngine]:
    built: list[ConsulSecretsEngine] = []
    return run_alone(lambda: _engine_program(args, built)), built[0]


@pytest.fixture(scope="module")
def engine_alone() -> tuple[ProgramRun, ConsulSecretsEngine]:
    return _engine(ENGINE)


def test_the_engine_whole_inputs_and_its_consul_resources_use_the_provider_from_opts(
    engine_alone: tuple[ProgramRun, ConsulSecretsEngine],
) -> None:
    run, _ = engine_alone
    mine = {r.name: r for r in run.resources if r.custom and r.name.startswith("lab-engine-")}
    description = "secure-mesh: Vault's Consul secrets engine ({})"
    assert {name: r.inputs for name, r in mine.items()} == {
        "lab-engine-engine-acl-policy": {
            "name": "lab-engine",
            "rules": 'acl = "write"\n',
            "description": description.format("engine"),
        },
        "lab-engine-reader-acl-policy": {
            "name": "lab-reader",
            "rules": 'acl = "read"\n',
            "description": description.format("reader"),
        },
        "lab-engine-keyring-acl-policy": {
            "name": "lab-keyring",
            "rules": 'keyring = "write"\n',
            "description": description.format("keyring"),
        },
        "lab-engine-engine-token": {
            "description": "secure-mesh: Vault's Consul secrets engine (acl = write; not the bootstrap token)",
            "policies": ["lab-engine"],
            "local": False,
        },
        "lab-engine-backend": {
            "path": "lab/acl",
            "description": "Consul ACL tokens for operators, the Consul provider and rotation Jobs (short-lived)",
            "address": "consul.lab.svc:8501",
            "scheme": "https",
            "caCert": CA_PEM,
            "tokenWo": "secret-of-lab-engine-engine-token-id",  # the token's SecretID, read by its AccessorID
            "tokenWoVersion": 1,
            "bootstrap": False,
            "defaultLeaseTtlSeconds": 300,
            "maxLeaseTtlSeconds": 1200,  # the longest role's max_ttl
        },
        "lab-engine-reader-role": {
            "backend": "lab/acl",
            "name": "reader",
            "consulPolicies": ["lab-reader"],
            "ttl": 600,
            "maxTtl": 1200,
        },
        "lab-engine-keyring-role": {
            "backend": "lab/acl",
            "name": "keyring",
            "consulPolicies": ["lab-keyring"],
            "ttl": 300,
            "maxTtl": 900,
        },
    }
    backend = mine["lab-engine-backend"]
    assert "tokenWo" in backend.secret_inputs and backend.protect
    assert [name for name, r in mine.items() if r.protect] == ["lab-engine-backend"]
    for name, resource in mine.items():
        on_consul = "stand-in-consul" in resource.provider
        assert on_consul == resource.type.startswith("consul:"), (name, resource.provider)
    name_of = {r.urn: r.name for r in run.resources}
    role = mine["lab-engine-keyring-role"]
    assert {name_of[u] for u in role.property_dependencies["backend"]} == {"lab-engine-backend"}
    assert {name_of[u] for u in role.property_dependencies["consulPolicies"]} == {"lab-engine-keyring-acl-policy"}


def test_engine_outputs(engine_alone: tuple[ProgramRun, ConsulSecretsEngine]) -> None:
    _, engine = engine_alone
    resolved = {key: _sync_await(getattr(engine, key).future()) for key in ConsulSecretsEngine.__annotations__}
    assert resolved == {
        "mount": "lab/acl",
        "creds_paths": {"reader": "lab/acl/creds/reader", "keyring": "lab/acl/creds/keyring"},
    }


def test_the_engine_wire_form_builds_the_same_resources(engine_alone: tuple[ProgramRun, ConsulSecretsEngine]) -> None:
    run, _ = engine_alone
    wire_run, _ = _engine(to_wire(ENGINE))
    assert recorded_shape(wire_run) == recorded_shape(run)


def test_an_engine_without_roles_is_refused() -> None:
    with pytest.raises(ValueError, match=r"ConsulSecretsEngineArgs\.roles: at least one role"):
        _engine(replace(ENGINE, roles=()))


# ------------------------------------------------------------------------------------------------ rotation


def _rotation_program(
    version: int, deployed: dict[str, int] | None, wire: bool, built: list[GossipKeyRotation]
) -> None:
    """Stand-ins for what the other components compute: the auth mount, the KV mount, the engine role, the release."""
    auth = vault.AuthBackend("stand-in-auth", type="kubernetes", path="k8s-lab")
    kv = vault.Mount("stand-in-kv", path="lab/kv", type="kv", options={"version": "2"})
    engine_role = vault.consul.SecretBackendRole("stand-in-engine-role", backend="lab/acl", name="keyring")
    release = kubernetes.helm.v3.Release("stand-in-release", name="consul", chart="consul")
    args = GossipKeyRotationArgs(
        version=version,
        job=JOB,
        policy_name="lab-rotator",
        token_ttl=900,
        auth_mount_path=auth.path,
        kv_mount=kv.path,
        server_ca_pem=CA_PEM,
        engine_role=engine_role.name,
        consul_release=release.name,
        deployed=deployed,
        protect=True,
    )
    built.append(GossipKeyRotation("lab-rotation", to_wire(args) if wire else args))


def _rotation(
    version: int, deployed: dict[str, int] | None, wire: bool = False
) -> tuple[ProgramRun, GossipKeyRotation]:
    built: list[GossipKeyRotation] = []
    return run_alone(lambda: _rotation_program(version, deployed, wire, built)), built[0]


@pytest.fixture(scope="module")
def rotation_alone() -> tuple[ProgramRun, GossipKeyRotation]:
    return _rotation(2, {"gossipKeyVersion": 1})


def test_the_rotation_whole_inputs(rotation_alone: tuple[ProgramRun, GossipKeyRotation]) -> None:
    run, _ = rotation_alone
    mine = {r.name: r for r in run.resources if r.custom and r.name.startswith("lab-rotation-")}
    key = base64.b64encode(mock_random_bytes("lab-rotation-key-v2", 32)).decode()
    manifest = gossip_job(JOB, 2)
    assert {name: r.inputs for name, r in mine.items()} == {
        "lab-rotation-policy": {
            "name": "lab-rotator",
            "policy": json.dumps(
                {
                    "path": {
                        "auth/token/lookup-self": {"capabilities": ["read"]},
                        "auth/token/renew-self": {"capabilities": ["update"]},
                        "lab/acl/creds/keyring": {"capabilities": ["read"]},
                        "lab/kv/data/c/gossip": {"capabilities": ["create", "read", "update"]},
                        "lab/kv/data/c/gossip-next": {"capabilities": ["read"]},
                    }
                },
                indent=2,
                sort_keys=True,
            ),
        },
        "lab-rotation-auth-role": {
            "backend": "k8s-lab",
            "roleName": "lab-rotator",
            "boundServiceAccountNames": ["lab-rotator"],
            "boundServiceAccountNamespaces": ["mesh"],
            "audience": "vault",
            "aliasNameSource": "serviceaccount_uid",
            "tokenTtl": 900,
            "tokenMaxTtl": 900,
            "tokenPolicies": ["lab-rotator"],
            "tokenNoDefaultPolicy": True,
        },
        "lab-rotation-service-account": {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": "lab-rotator", "namespace": "mesh"},
            "automountServiceAccountToken": False,
        },
        "lab-rotation-key-v2": {"length": 32},
        "lab-rotation-next": {
            "mount": "lab/kv",
            "name": "c/gossip-next",
            "dataJsonWo": json.dumps({"key": key, "version": "2"}, sort_keys=True),
            "dataJsonWoVersion": 2,
            "deleteAllVersions": False,
        },
        "lab-rotation-script-v2": {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "gossip-rotate-v2", "namespace": "mesh"},
            "data": {
                "gossip-rotate.sh": GOSSIP_SCRIPT.read_text(),
                "rotation-lib.sh": SCRIPT_LIB.read_text(),
                "consul-ca.pem": CA_PEM,
            },
            "immutable": True,
        },
        "lab-rotation-job-v2": {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": manifest["metadata"],
            "spec": manifest["spec"],
        },
    }
    env = {e["name"]: e["value"] for e in manifest["spec"]["template"]["spec"]["containers"][0]["env"]}
    named = ("VAULT_AUTH_PATH", "VAULT_ROLE", "CREDS_PATH", "KV_MOUNT", "KV_NEXT", "CONSUL_HTTP_ADDR")
    assert {k: env[k] for k in named} == {
        "VAULT_AUTH_PATH": "auth/k8s-lab",
        "VAULT_ROLE": "lab-rotator",
        "CREDS_PATH": "lab/acl/creds/keyring",
        "KV_MOUNT": "lab/kv",
        "KV_NEXT": "c/gossip-next",
        "CONSUL_HTTP_ADDR": "https://consul.mesh.svc:8501",
    }
    assert manifest["spec"]["activeDeadlineSeconds"] == 600
    assert "dataJsonWo" in mine["lab-rotation-next"].secret_inputs
    assert {name for name, r in mine.items() if r.protect} == {"lab-rotation-key-v2", "lab-rotation-next"}


def test_the_rotation_waits_for_what_it_writes_to_and_what_the_job_uses(
    rotation_alone: tuple[ProgramRun, GossipKeyRotation],
) -> None:
    run, _ = rotation_alone
    name_of = {r.urn: r.name for r in run.resources}

    def deps(name: str) -> set[str]:
        return {name_of[u] for u in next(r for r in run.resources if r.name == name).dependencies}

    role = next(r for r in run.resources if r.name == "lab-rotation-auth-role")
    assert {name_of[u] for u in role.property_dependencies["backend"]} == {"stand-in-auth"}
    assert deps("lab-rotation-auth-role") == {"stand-in-auth", "lab-rotation-policy"}
    assert deps("lab-rotation-next") == {"stand-in-kv", "lab-rotation-key-v2"}
    assert deps("lab-rotation-service-account") == {"stand-in-release"}
    assert deps("lab-rotation-script-v2") == {"stand-in-release"}
    assert deps("lab-rotation-job-v2") == {
        "stand-in-release",
        "stand-in-engine-role",
        "lab-rotation-next",
        "lab-rotation-script-v2",
        "lab-rotation-service-account",
        "lab-rotation-auth-role",
    }


def test_rotation_output_is_the_checked_version(rotation_alone: tuple[ProgramRun, GossipKeyRotation]) -> None:
    _, rotation = rotation_alone
    assert _sync_await(rotation.version.future()) == 2


def test_version_one_registers_nothing_but_the_component() -> None:
    run, rotation = _rotation(1, None)
    assert [r.name for r in run.resources if r.name.startswith("lab-rotation")] == ["lab-rotation"]
    assert _sync_await(rotation.version.future()) == 1


def test_the_rotation_wire_form_builds_the_same_resources(rotation_alone: tuple[ProgramRun, GossipKeyRotation]) -> None:
    run, _ = rotation_alone
    wire_run, _ = _rotation(2, {"gossipKeyVersion": 1}, wire=True)
    assert recorded_shape(wire_run) == recorded_shape(run)
