"""ConsulSecrets alone: built from hand-written Args (no settings, no layout, no stack file) under mocks.

Whole inputs of every resource (the mount, its config, each secret with its value, the random sources), the
dependencies the data carries (config ← mount, secrets ← config), secrecy, the outputs, Args refused before
anything is registered, and the wire (dict) form building exactly the same resources.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import replace
from typing import Any

import pulumi
import pytest
from pulumi.runtime.sync_await import _sync_await

from secure_mesh.secrets.component import ConsulSecrets, ConsulSecretsArgs, KvSecretArgs, SnapshotAgentArgs
from secure_mesh.vocabulary import AclBootstrap, KvSecret
from tests.consul.helpers import recorded_shape, run_alone, to_wire
from tests.harness import ProgramRun
from tests.mocks.identities import mock_random_bytes

LICENSE = "02MV4UU43BK5HGYYTOJZWFQMTMNNEWU33JJ-stand-in"
REPLICATION = "6d1a4bd6-0000-4000-8000-00000000cafe"
ARGS = ConsulSecretsArgs(
    kv_mount="lab/kv",
    secrets=(
        KvSecretArgs(KvSecret.GOSSIP, "c/gossip", "key"),
        KvSecretArgs(KvSecret.BOOTSTRAP_TOKEN, "c/bootstrap", "token"),
        KvSecretArgs(KvSecret.PARTITION_TOKEN, "c/partition", "token"),
        KvSecretArgs(KvSecret.REPLICATION_TOKEN, "c/replication", "token"),
        KvSecretArgs(KvSecret.LICENSE, "c/license", "license"),
        KvSecretArgs(KvSecret.SNAPSHOT_AGENT, "c/snapshot", "config"),
    ),
    acl_bootstrap=AclBootstrap.GENERATED,
    snapshot_agent=SnapshotAgentArgs(interval="15m", retain=12),
    license=LICENSE,
    replication_token=REPLICATION,
    protect=True,
)
MINIMAL = ConsulSecretsArgs(
    kv_mount="lab/kv",
    secrets=(
        KvSecretArgs(KvSecret.GOSSIP, "c/gossip", "key"),
        KvSecretArgs(KvSecret.BOOTSTRAP_TOKEN, "c/bootstrap", "token"),
    ),
)


def _uuid(resource_name: str) -> str:
    return str(uuid.UUID(bytes=mock_random_bytes(resource_name, 16), version=4))


def _build(args: Any) -> tuple[ProgramRun, ConsulSecrets]:
    """Run the component alone; ``args`` is the Args, their wire form, or a function making them in the program."""
    built: list[ConsulSecrets] = []

    def program() -> None:
        built.append(ConsulSecrets("lab-secrets", args() if callable(args) else args))

    return run_alone(program), built[0]


@pytest.fixture(scope="module")
def alone() -> tuple[ProgramRun, ConsulSecrets]:
    return _build(ARGS)


def test_every_resource_with_its_whole_inputs(alone: tuple[ProgramRun, ConsulSecrets]) -> None:
    run, _ = alone
    gossip = base64.b64encode(mock_random_bytes("lab-secrets-gossip-key", 32)).decode()
    kept = {"deleteAllVersions": False}

    def secret(name: str, field: str, value: str) -> dict[str, Any]:
        return {"mount": "lab/kv", "name": name, "dataJson": json.dumps({field: value}), **kept}

    assert {r.name: r.inputs for r in run.resources if r.custom} == {
        "lab-secrets-kv": {
            "path": "lab/kv",
            "type": "kv",
            "options": {"version": "2"},
            "description": "Consul's secrets (gossip key, ACL tokens, license, snapshot agent config); KV version 2",
        },
        "lab-secrets-kv-config": {"mount": "lab/kv", "maxVersions": 10, "deleteVersionAfter": 0, "casRequired": False},
        "lab-secrets-gossip-key": {"length": 32},
        "lab-secrets-bootstrap-token-bytes": {"length": 16},
        "lab-secrets-partition-token-bytes": {"length": 16},
        "lab-secrets-gossip": secret("c/gossip", "key", gossip),
        "lab-secrets-bootstrap-token": secret("c/bootstrap", "token", _uuid("lab-secrets-bootstrap-token-bytes")),
        "lab-secrets-partition-token": secret("c/partition", "token", _uuid("lab-secrets-partition-token-bytes")),
        "lab-secrets-replication-token": secret("c/replication", "token", REPLICATION),
        "lab-secrets-license": secret("c/license", "license", LICENSE),
        "lab-secrets-snapshot-agent": secret(
            "c/snapshot", "config", json.dumps({"snapshot_agent": {"snapshot": {"interval": "15m", "retain": 12}}})
        ),
    }


def test_secrets_are_secret_protected_and_wait_for_the_configured_mount(
    alone: tuple[ProgramRun, ConsulSecrets],
) -> None:
    run, _ = alone
    name_of = {r.urn: r.name for r in run.resources}
    config = next(r for r in run.resources if r.name == "lab-secrets-kv-config")
    assert {name_of[u] for u in config.property_dependencies["mount"]} == {"lab-secrets-kv"}
    assert config.protect and next(r for r in run.resources if r.name == "lab-secrets-kv").protect
    stored = [r for r in run.resources if r.type == "vault:kv/secretV2:SecretV2"]
    assert len(stored) == 6
    for resource in stored:
        assert resource.secret_inputs == {"dataJson"}, resource.name
        assert resource.protect, resource.name
        assert {name_of[u] for u in resource.property_dependencies["mount"]} == {"lab-secrets-kv-config"}
        assert resource.ignore_changes == (), resource.name
    assert all(r.protect for r in run.resources if r.type.startswith("random:")), "generated values are kept"


def test_outputs(alone: tuple[ProgramRun, ConsulSecrets]) -> None:
    _, secrets = alone
    resolved = {key: _sync_await(getattr(secrets, key).future()) for key in ConsulSecrets.__annotations__}
    assert resolved == {
        "kv_mount": "lab/kv",
        "kv_paths": {
            "gossip": "lab/kv/data/c/gossip",
            "bootstrap-token": "lab/kv/data/c/bootstrap",
            "partition-token": "lab/kv/data/c/partition",
            "replication-token": "lab/kv/data/c/replication",
            "license": "lab/kv/data/c/license",
            "snapshot-agent": "lab/kv/data/c/snapshot",
        },
    }
    assert _sync_await(secrets.gossip_key.is_secret()), "the generated gossip key stays a secret Output"


def test_automatic_bootstrap_stores_an_empty_token_once_and_a_rotated_gossip_key_is_left_alone() -> None:
    run, secrets = _build(replace(MINIMAL, gossip_key_rotated=True))
    stored = {r.name: r for r in run.resources if r.type == "vault:kv/secretV2:SecretV2"}
    bootstrap, gossip = stored["lab-secrets-bootstrap-token"], stored["lab-secrets-gossip"]
    assert bootstrap.inputs["dataJson"] == json.dumps({"token": ""})
    assert bootstrap.inputs["disableRead"] is True and bootstrap.ignore_changes == ("dataJson",)
    assert gossip.inputs["disableRead"] is True and gossip.ignore_changes == ("dataJson",)
    assert secrets.bootstrap_token is None
    assert [r.name for r in run.resources if r.type.startswith("random:")] == ["lab-secrets-gossip-key"]
    assert not any(r.protect for r in run.resources), "protect is off unless asked"


def test_a_federation_primary_generates_the_replication_token_and_never_reads_it_back() -> None:
    args = replace(MINIMAL, secrets=(*MINIMAL.secrets, ARGS.secrets[3]), generate_replication_token=True)
    run, secrets = _build(args)
    token = next(r for r in run.resources if r.name == "lab-secrets-replication-token")
    assert token.inputs["dataJson"] == json.dumps({"token": _uuid("lab-secrets-replication-token-bytes")})
    assert token.inputs["disableRead"] is True
    assert secrets.replication_token is not None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"secrets": MINIMAL.secrets[:1]}, "ConsulSecretsArgs.secrets: bootstrap-token is required"),
        ({"secrets": (*MINIMAL.secrets, MINIMAL.secrets[0])}, "ConsulSecretsArgs.secrets: gossip given more than once"),
        ({"secrets": (*MINIMAL.secrets, ARGS.secrets[4])}, "ConsulSecretsArgs.license is required when secrets holds"),
        (
            {"secrets": (*MINIMAL.secrets, ARGS.secrets[3])},
            "ConsulSecretsArgs.replication_token is required when secrets holds replication-token",
        ),
        ({"secrets": (*MINIMAL.secrets, ARGS.secrets[5])}, "ConsulSecretsArgs.snapshot_agent is required"),
        (
            {"generate_replication_token": True, "replication_token": REPLICATION},
            "give replication_token or generate_replication_token, not both",
        ),
    ],
)
def test_incomplete_args_are_refused_before_anything_is_registered(change: dict[str, Any], message: str) -> None:
    errors: list[str] = []

    def program() -> None:
        try:
            ConsulSecrets("lab-secrets", replace(MINIMAL, **change))
        except ValueError as error:
            errors.append(str(error))

    run = run_alone(program)
    assert len(errors) == 1 and message in errors[0], errors
    assert [r for r in run.resources if r.custom] == []


def test_the_wire_form_builds_the_same_resources(alone: tuple[ProgramRun, ConsulSecrets]) -> None:
    run, _ = alone
    wire = to_wire(ARGS)
    assert wire["secrets"][0] == {"secret": "gossip", "name": "c/gossip", "field": "key"}
    assert wire["acl_bootstrap"] == "generated"
    wire_run, _ = _build(wire)
    assert recorded_shape(wire_run) == recorded_shape(run)


def test_an_input_license_stays_secret_end_to_end() -> None:
    run, _ = _build(lambda: replace(ARGS, license=pulumi.Output.secret(LICENSE)))
    license_secret = next(r for r in run.resources if r.name == "lab-secrets-license")
    assert license_secret.inputs["dataJson"] == json.dumps({"license": LICENSE})
    assert "dataJson" in license_secret.secret_inputs
