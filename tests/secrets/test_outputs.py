"""The attributes the lead exports: KV paths in Helm form, role names, and generated values that stay secret."""

from __future__ import annotations

import base64
from typing import Any

import pulumi
import pytest

from secure_mesh.composition.vault import identities_args, secrets_args
from secure_mesh.identities.component import VaultIdentities, reviewer_jwt_from_secret_data
from secure_mesh.layout import KvSecret
from secure_mesh.secrets.component import ConsulSecrets
from tests.harness import PROJECT, ProgramMocks, _collect_mock_outputs, _resolve
from tests.identities.variants import EVERYTHING_ON, LICENSE_TEXT, layout_for


def _build(override: dict[str, Any] | None) -> tuple[ConsulSecrets, VaultIdentities]:
    pulumi.runtime.set_mocks(ProgramMocks(_collect_mock_outputs()), project=PROJECT, stack="outputs", preview=False)
    layout = layout_for("dev", override)
    secrets = ConsulSecrets(
        "t-secrets",
        secrets_args(layout.settings, layout, license=pulumi.Output.secret(LICENSE_TEXT)),
    )
    identities = VaultIdentities("t-identities", identities_args(layout.settings, layout))
    return secrets, identities


def test_generated_values_are_secret_outputs() -> None:
    secrets, _ = _build(EVERYTHING_ON)
    for label, output in (
        ("gossip key", secrets.gossip_key),
        ("bootstrap token", secrets.bootstrap_token),
        ("partition token", secrets.partition_token),
    ):
        assert output is not None, label
        value, secret = _resolve(output)
        assert secret, f"{label} must be a secret Output"
        assert value, label
    assert secrets.gossip_key is not None
    gossip, _ = _resolve(secrets.gossip_key)
    assert len(base64.b64decode(gossip)) == 32


def test_auto_bootstrap_exposes_no_token() -> None:
    secrets, _ = _build(None)
    assert secrets.bootstrap_token is None, "with automatic bootstrap only Vault knows the token"
    assert secrets.partition_token is None


def test_helm_paths_and_role_names() -> None:
    secrets, identities = _build(EVERYTHING_ON)
    assert secrets.helm_paths == {
        KvSecret.GOSSIP: "consul/kv/data/consul/gossip",
        KvSecret.BOOTSTRAP_TOKEN: "consul/kv/data/consul/bootstrap-token",
        KvSecret.PARTITION_TOKEN: "consul/kv/data/consul/partition-token",
        KvSecret.LICENSE: "consul/kv/data/consul/license",
        KvSecret.SNAPSHOT_AGENT: "consul/kv/data/consul/snapshot-agent",
    }
    assert _resolve(secrets.kv_mount) == ("consul/kv", False)
    assert _resolve(secrets.kv_paths) == ({kind.value: path for kind, path in secrets.helm_paths.items()}, False)
    assert _resolve(identities.auth_mount_path) == ("kubernetes-dc1", False)
    assert _resolve(identities.role_names) == (
        {
            "server": "consul-server",
            "client": "consul-client",
            "server-acl-init": "consul-server-acl-init",
            "connect-injector": "consul-connect-injector",
            "ca-reader": "consul-ca-reader",
            "partition-init": "consul-partition-init",
        },
        False,
    )
    assert _resolve(identities.policy_names) == (
        {
            "server": "consul-dc1-server",
            "client": "consul-dc1-client",
            "server-acl-init": "consul-dc1-server-acl-init",
            "connect-injector": "consul-dc1-connect-injector",
            "ca-reader": "consul-dc1-ca-reader",
            "partition-init": "consul-dc1-partition-init",
            "mesh-ca": "consul-dc1-mesh-ca",
        },
        False,
    )
    assert set(identities.ready) >= {identities.auth, identities.auth_config, *identities.roles.values()}
    assert set(secrets.ready) >= {secrets.mount, secrets.backend, *secrets.secrets.values()}


def test_reviewer_jwt_decoding_and_missing_token() -> None:
    encoded = base64.b64encode(b"header.payload.sig").decode()
    assert reviewer_jwt_from_secret_data("vault-token-reviewer-token", {"token": encoded}) == "header.payload.sig"
    with pytest.raises(ValueError, match="vault-token-reviewer-token has no token yet"):
        reviewer_jwt_from_secret_data("vault-token-reviewer-token", {})
