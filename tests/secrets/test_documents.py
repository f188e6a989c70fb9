"""What Consul's KV secrets contain and which ones a stack holds (pure)."""

from __future__ import annotations

import json
import uuid

import pytest

from secure_mesh.composition.vault import secrets_args
from secure_mesh.layout import KV_FIELDS, KvSecret
from secure_mesh.secrets.documents import (
    KV_DELETE_VERSION_AFTER,
    KV_MAX_VERSIONS,
    kv_data,
    snapshot_agent_config,
    uuid_from_random_hex,
)
from secure_mesh.settings import SettingsError, load_settings
from tests.harness import deep_merge, load_stack_config
from tests.identities.variants import EVERYTHING_ON, layout_for
from tests.onboarding.stacks import PLACEHOLDER_DIGEST


def test_uuid_is_lowercase_version_4_from_the_random_bytes() -> None:
    token = uuid_from_random_hex("FF" * 16)
    assert token == "ffffffff-ffff-4fff-bfff-ffffffffffff"
    zero = uuid_from_random_hex("00" * 16)
    assert zero == "00000000-0000-4000-8000-000000000000"
    parsed = uuid.UUID(uuid_from_random_hex("0123456789abcdef0123456789abcdef"))
    assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
    assert str(parsed) == "01234567-89ab-4def-8123-456789abcdef"


def test_uuid_refuses_the_wrong_number_of_bytes() -> None:
    with pytest.raises(ValueError, match="expected 16 random bytes, got 32"):
        uuid_from_random_hex("00" * 32)


def test_kv_data_uses_the_field_the_chart_reads() -> None:
    assert json.loads(kv_data(KV_FIELDS[KvSecret.GOSSIP], "k")) == {"key": "k"}
    assert json.loads(kv_data(KV_FIELDS[KvSecret.BOOTSTRAP_TOKEN], "")) == {"token": ""}
    assert json.loads(kv_data(KV_FIELDS[KvSecret.LICENSE], "lic")) == {"license": "lic"}
    assert json.loads(kv_data(KV_FIELDS[KvSecret.SNAPSHOT_AGENT], "{}")) == {"config": "{}"}


def test_snapshot_agent_config_follows_the_settings() -> None:
    enterprise = {
        # Production names images by digest.
        "images": {"consul": "hashicorp/consul-enterprise:1.22-ent" + PLACEHOLDER_DIGEST},
        "consul": {
            "enterprise": True,
            "snapshotAgent": {"enabled": True, "retain": 72},
        }
    }
    for stack, override, expected in (
        ("prod", enterprise, {"interval": "1h", "retain": 72}),
        ("dev", EVERYTHING_ON, {"interval": "30m", "retain": 48}),
    ):
        layout = layout_for(stack, override)
        agent = secrets_args(layout.settings, layout, license="lic").snapshot_agent
        assert agent is not None
        assert json.loads(snapshot_agent_config(agent.interval, agent.retain)) == {
            "snapshot_agent": {"snapshot": expected}
        }


def test_kv_mount_keeps_history() -> None:
    assert KV_MAX_VERSIONS >= 5
    assert KV_DELETE_VERSION_AFTER == 0


@pytest.mark.parametrize(
    ("stack", "override", "expected"),
    [
        ("dev", None, (KvSecret.GOSSIP, KvSecret.BOOTSTRAP_TOKEN)),
        ("prod", None, (KvSecret.GOSSIP, KvSecret.BOOTSTRAP_TOKEN)),
        (
            "dev",
            EVERYTHING_ON,
            (
                KvSecret.GOSSIP,
                KvSecret.BOOTSTRAP_TOKEN,
                KvSecret.PARTITION_TOKEN,
                KvSecret.LICENSE,
                KvSecret.SNAPSHOT_AGENT,
            ),
        ),
        ("dev", {"consul": {"primaryDatacenter": "dc1"}}, (KvSecret.GOSSIP, KvSecret.BOOTSTRAP_TOKEN)),
        ("fed-primary", None, (KvSecret.GOSSIP, KvSecret.BOOTSTRAP_TOKEN, KvSecret.REPLICATION_TOKEN)),
        # A secondary reads the primary's gossip key and replication token and bootstraps nothing.
        ("fed-secondary", None, ()),
    ],
)
def test_which_secrets_a_stack_holds(stack: str, override: dict | None, expected: tuple[KvSecret, ...]) -> None:
    assert layout_for(stack, override).kv_secrets == expected


def test_the_older_secondary_switch_and_its_secret_are_refused_with_the_way_forward() -> None:
    # consul.primaryDatacenter + consulReplicationToken made a "secondary" with its own gossip key, server CA and
    # connect root, which cannot federate; the settings now point to topology.mode 'federation-secondary'.
    config = deep_merge(load_stack_config("dev"), {"consul": {"primaryDatacenter": "dc0"}})
    with pytest.raises(SettingsError) as caught:
        load_settings(config, frozenset({"consulReplicationToken"}))
    assert caught.value.paths == ["consul.primaryDatacenter", "consulReplicationToken"]
    assert "topology.mode 'federation-secondary' with topology.primaryStack" in caught.value.problems[0].message
    assert "is no longer read" in caught.value.problems[1].message
    assert "pulumi config rm secure-mesh:consulReplicationToken" in caught.value.problems[1].message
    with pytest.raises(SettingsError) as alone:
        load_settings(load_stack_config("dev"), frozenset({"consulReplicationToken"}))
    assert alone.value.paths == ["consulReplicationToken"]


def test_the_composition_refuses_a_missing_secret_config_value_naming_its_key() -> None:
    layout = layout_for("dev", EVERYTHING_ON)  # Enterprise
    assert secrets_args(layout.settings, layout, license="lic").license == "lic"
    with pytest.raises(ValueError, match="Consul Enterprise needs the consulLicense secret"):
        secrets_args(layout.settings, layout, license=None)
