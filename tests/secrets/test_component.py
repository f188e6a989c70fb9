"""The ConsulSecrets component under mocks: the KV-v2 mount, each secret, secrecy and durability."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest

from tests.conftest import stack_run
from tests.harness import ProgramRun, RegisteredResource, layout_of_run
from tests.identities.variants import LICENSE_TEXT, everything_run
from tests.mocks.identities import mock_random_bytes

COMPONENT = "secure-mesh:index:ConsulSecrets"
MOUNT = "vault:index/mount:Mount"
BACKEND = "vault:kv/secretBackendV2:SecretBackendV2"
SECRET = "vault:kv/secretV2:SecretV2"
RANDOM = "random:index/randomBytes:RandomBytes"


def _secrets(run: ProgramRun) -> dict[str, RegisteredResource]:
    component = run.one(COMPONENT)
    return {r.inputs["name"]: r for r in run.of_type(SECRET) if r.parent == component.urn}


def _data(resource: RegisteredResource) -> dict[str, Any]:
    return json.loads(resource.inputs["dataJson"])


def test_kv_mount_is_version_2(any_stack: ProgramRun) -> None:
    mount = any_stack.one(MOUNT, "secure-mesh-secrets-kv")
    assert mount.inputs["path"] == layout_of_run(any_stack).kv_mount
    assert mount.inputs["type"] == "kv"
    assert mount.inputs["options"] == {"version": "2"}
    assert "pulumi:providers:vault::" in mount.provider, f"{mount.name} must use the explicit Vault provider"


def test_kv_config_keeps_history_forever(any_stack: ProgramRun) -> None:
    backend = any_stack.one(BACKEND, "secure-mesh-secrets-kv-config")
    kv_mount = layout_of_run(any_stack).kv_mount
    assert backend.inputs == {"mount": kv_mount, "maxVersions": 10, "deleteVersionAfter": 0, "casRequired": False}
    assert any_stack.one(MOUNT, "secure-mesh-secrets-kv").urn in backend.dependencies


def test_dev_holds_gossip_and_bootstrap_token_only(dev_run: ProgramRun) -> None:
    assert sorted(_secrets(dev_run)) == ["consul/bootstrap-token", "consul/gossip"]


def test_the_snapshot_agent_config_is_stored_when_enabled(prod_run: ProgramRun) -> None:
    assert "consul/snapshot-agent" not in _secrets(prod_run), "OSS prod has no snapshot agent to configure"
    secrets = _secrets(everything_run())
    config = json.loads(_data(secrets["consul/snapshot-agent"])["config"])
    assert config == {"snapshot_agent": {"snapshot": {"interval": "30m", "retain": 48}}}


def test_every_secret_is_a_secret_input_kept_on_delete(any_stack: ProgramRun) -> None:
    backend = any_stack.one(BACKEND, "secure-mesh-secrets-kv-config")
    # everything-on is the dev stack's settings (mount prefix `consul`).
    for run, kv_mount in ((any_stack, layout_of_run(any_stack).kv_mount), (everything_run(), "consul/kv")):
        for name, resource in _secrets(run).items():
            assert "dataJson" in resource.secret_inputs, f"{resource.name}: data_json must be a Pulumi secret"
            assert resource.inputs["mount"] == kv_mount, resource.name
            assert resource.inputs["deleteAllVersions"] is False, f"{resource.name} must keep its history on delete"
            assert name.startswith("consul/"), resource.name
    for resource in _secrets(any_stack).values():
        assert backend.urn in resource.dependencies, f"{resource.name} must wait for the KV config"


def test_gossip_key_is_32_random_bytes_from_random_bytes(dev_run: ProgramRun) -> None:
    source = dev_run.one(RANDOM, "secure-mesh-secrets-gossip-key")
    assert source.inputs == {"length": 32}, f"{source.name}: no keepers, so the key never regenerates"
    gossip = _secrets(dev_run)["consul/gossip"]
    key = _data(gossip)["key"]
    assert len(base64.b64decode(key, validate=True)) == 32
    assert base64.b64decode(key) == mock_random_bytes(source.name, 32), "the key must be the random resource's bytes"
    assert source.urn in gossip.property_dependencies["dataJson"]


def test_auto_bootstrap_token_is_stored_empty_and_never_rewritten(dev_run: ProgramRun) -> None:
    token = _secrets(dev_run)["consul/bootstrap-token"]
    assert _data(token) == {"token": ""}
    assert token.inputs["disableRead"] is True, f"{token.name}: the real token must never be read into state"
    assert token.ignore_changes == ("dataJson",), f"{token.name}: later runs must not overwrite the written token"
    assert not dev_run.of_type(RANDOM) or all("bootstrap" not in r.name for r in dev_run.of_type(RANDOM))


def test_generated_tokens_are_uuids_from_random_bytes() -> None:
    run = everything_run()
    secrets = _secrets(run)
    for name, purpose in (("consul/bootstrap-token", "bootstrap-token"), ("consul/partition-token", "partition-token")):
        source = run.one(RANDOM, f"secure-mesh-secrets-{purpose}-bytes")
        assert source.inputs == {"length": 16}, source.name
        resource = secrets[name]
        value = _data(resource)["token"]
        expected = str(uuid.UUID(bytes=mock_random_bytes(source.name, 16), version=4))
        assert value == expected, f"{resource.name}: token must be formatted from {source.name}"
        assert value == value.lower() and uuid.UUID(value).version == 4
        assert source.urn in resource.property_dependencies["dataJson"]
        assert "disableRead" not in resource.inputs and resource.ignore_changes == (), resource.name
    assert not run.of_type("random:index/randomUuid:RandomUuid"), "a RandomUuid's id is its value: never use it"


def test_the_license_comes_from_secret_config() -> None:
    secrets = _secrets(everything_run())
    assert _data(secrets["consul/license"]) == {"license": LICENSE_TEXT}
    assert "consul/replication-token" not in secrets, "only a federation primary holds a replication token"


def test_a_federation_secondary_holds_no_consul_secret_of_its_own() -> None:
    # It reads the primary's gossip key and replication token (the WAN pool has one key; the primary's
    # server-acl-init created the token) and bootstraps no ACLs: its KV mount is for its apps only.
    run = stack_run("fed-secondary")
    assert _secrets(run) == {}
    assert not [r.name for r in run.of_type(RANDOM) if r.parent == run.one(COMPONENT).urn]
    assert run.one(MOUNT, "secure-mesh-secrets-kv").inputs["path"] == "consul-dc2/kv"


@pytest.mark.parametrize("run_name", ["dev", "everything-on"])
def test_secret_values_appear_nowhere_in_plain_inputs(run_name: str, dev_run: ProgramRun) -> None:
    run = dev_run if run_name == "dev" else everything_run()
    values = [
        value
        for resource in _secrets(run).values()
        for value in _data(resource).values()
        if value and not value.startswith("{")
    ]
    assert values, "expected generated or configured secret values"
    for resource in run.resources:
        plain = {k: v for k, v in resource.inputs.items() if k not in resource.secret_inputs}
        text = json.dumps(plain)
        for value in values:
            assert value not in text, f"{resource.name} carries a secret value in a plain input"


def test_protected_in_prod_only(dev_run: ProgramRun, prod_run: ProgramRun) -> None:
    for run, expected in ((prod_run, True), (dev_run, False)):
        durable = [run.one(MOUNT, "secure-mesh-secrets-kv"), *_secrets(run).values(), *run.of_type(RANDOM)]
        for resource in durable:
            if resource.parent == run.one(COMPONENT).urn:
                assert resource.protect is expected, f"{resource.name}: protect should be {expected}"


def test_consul_release_waits_for_every_secret(dev_run: ProgramRun) -> None:
    consul = dev_run.one("secure-mesh:index:ConsulCluster")
    for resource in [dev_run.one(MOUNT, "secure-mesh-secrets-kv"), *_secrets(dev_run).values()]:
        assert resource.urn in consul.dependencies, f"the Consul release must wait for {resource.name}"


def test_children_are_parented_and_use_explicit_providers(any_stack: ProgramRun) -> None:
    children = any_stack.children_of(any_stack.one(COMPONENT))
    # A federation secondary holds no Consul secret (test_a_federation_secondary_holds_no_consul_secret_of_its_own).
    held = {MOUNT, BACKEND} if layout_of_run(any_stack).is_federation_secondary else {MOUNT, BACKEND, SECRET, RANDOM}
    assert {r.type for r in children} >= held
    for child in children:
        assert child.name.startswith("secure-mesh-secrets-"), child.name
        provider = child.type.split(":", 1)[0]
        assert f"pulumi:providers:{provider}::" in child.provider, f"{child.name} uses provider {child.provider!r}"
