"""Each render-time rule of the pinned chart (contract §2): the builder rejects the combination first."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from secure_mesh.consul.chart_keys import CHART_KEYS, REMOVED_KEYS, TOP_LEVEL_SECTIONS, is_removed
from secure_mesh.consul.helm_values import ChartValuesError, build_consul_values, check_chart_rules
from tests.consul.helpers import settings_and_layout

VAULT = "global.secretsBackend.vault"


def _dev_values() -> dict[str, Any]:
    settings, layout = settings_and_layout("dev")
    return build_consul_values(settings, layout)


DEV = _dev_values()


def _set(values: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    node = values
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value


def _drop(values: dict[str, Any], path: str) -> None:
    *parents, leaf = path.split(".")
    node = values
    for part in parents:
        node = node[part]
    del node[leaf]


def _with(*changes: tuple[str, Any]) -> Callable[[dict[str, Any]], None]:
    """A mutation: set each (path, value); the value DROP removes the key."""

    def mutate(values: dict[str, Any]) -> None:
        for path, value in changes:
            if value is DROP:
                _drop(values, path)
            else:
                _set(values, path, value)

    return mutate


DROP = object()

CASES: dict[str, tuple[Callable[[dict[str, Any]], None], str, str]] = {
    # name: (mutation, the key the error must name, a phrase of the message)
    "vault+tls without the server CA": (
        _with(("global.tls.caCert", DROP)),
        "global.tls.caCert.secretName",
        "Vault with TLS",
    ),
    "server certificate without its CA": (
        _with(("global.tls.enabled", False), ("global.tls.caCert", DROP)),
        "global.tls.caCert.secretName",
        "server.serverCert",
    ),
    "clients without auto-encrypt": (
        _with(("client.enabled", True), (f"{VAULT}.consulClientRole", "c"), ("global.tls.enableAutoEncrypt", False)),
        "global.tls.enableAutoEncrypt",
        "clients",
    ),
    "clients without the CA role": (
        _with(("client.enabled", True), (f"{VAULT}.consulClientRole", "c"), (f"{VAULT}.consulCARole", DROP)),
        f"{VAULT}.consulCARole",
        "server CA",
    ),
    "clients without their own role": (
        _with(("client.enabled", True)),
        f"{VAULT}.consulClientRole",
        "gossip",
    ),
    "webhook role without its certificates": (
        _with((f"{VAULT}.connectInject", DROP)),
        f"{VAULT}.connectInject.caCert.secretName",
        "go together",
    ),
    "webhook certificate without the role": (
        _with((f"{VAULT}.connectInjectRole", DROP)),
        f"{VAULT}.connectInjectRole",
        "go together",
    ),
    "webhook certificates without TLS": (
        _with(("global.tls.enabled", False)),
        f"{VAULT}.connectInjectRole",
        "only work with global.tls.enabled",
    ),
    "mesh CA without its intermediate path": (
        _with((f"{VAULT}.connectCA.intermediatePKIPath", DROP)),
        f"{VAULT}.connectCA.intermediatePKIPath",
        "address, rootPKIPath and intermediatePKIPath",
    ),
    "mesh CA without its address": (
        _with((f"{VAULT}.connectCA.address", "")),
        f"{VAULT}.connectCA.address",
        "renders only with",
    ),
    "gossip name without key": (
        _with(("global.gossipEncryption.secretKey", DROP)),
        "global.gossipEncryption.secretKey",
        "both or neither",
    ),
    "bootstrap key without name": (
        _with(("global.acls.bootstrapToken.secretName", DROP)),
        "global.acls.bootstrapToken.secretName",
        "both or neither",
    ),
    "gossip auto-generation with Vault": (
        _with(("global.gossipEncryption.autoGenerate", True)),
        "global.gossipEncryption.autoGenerate",
        "does not work with the Vault backend",
    ),
    "system ACLs without a token path": (
        _with(("global.acls.bootstrapToken", DROP)),
        "global.acls.bootstrapToken.secretName",
        "bootstrap (or replication) token",
    ),
    "system ACLs without the acl-init role": (
        _with((f"{VAULT}.manageSystemACLsRole", DROP)),
        f"{VAULT}.manageSystemACLsRole",
        "server-acl-init",
    ),
    "no server role": (
        _with((f"{VAULT}.consulServerRole", DROP)),
        f"{VAULT}.consulServerRole",
        "servers log in",
    ),
    "KV path without /data/": (
        _with(("global.gossipEncryption.secretName", "consul/kv/consul/gossip")),
        "global.gossipEncryption.secretName",
        "/data/",
    ),
    "server CA that is not a CA endpoint": (
        _with(("global.tls.caCert.secretName", "consul/server/pki_int2/issue/consul-server")),
        "global.tls.caCert.secretName",
        "/cert/ca",
    ),
    "server certificate that is not an issue endpoint": (
        _with(("server.serverCert.secretName", "consul/server/pki_int2/cert/ca")),
        "server.serverCert.secretName",
        "issue endpoint",
    ),
    "snapshot agent without its config": (
        _with(("server.snapshotAgent.enabled", True)),
        "server.snapshotAgent.configSecret.secretName",
        "snapshot agent",
    ),
    "licence without autoload": (
        _with(
            ("global.enterpriseLicense.secretName", "consul/kv/data/consul/license"),
            ("global.enterpriseLicense.secretKey", "license"),
            ("global.enterpriseLicense.enableLicenseAutoload", False),
        ),
        "global.enterpriseLicense.enableLicenseAutoload",
        "must stay true",
    ),
    "federation without mesh gateways": (
        _with(("global.federation.enabled", True), ("global.federation.primaryDatacenter", "dc0")),
        "meshGateway.enabled",
        "federation",
    ),
    "agent annotations as a map": (
        _with((f"{VAULT}.agentAnnotations", {"vault.hashicorp.com/auth-path": "auth/x"})),
        f"{VAULT}.agentAnnotations.vault.hashicorp.com/auth-path",
        "not a key of the pinned chart",
    ),
    "additional config that is not JSON": (
        _with((f"{VAULT}.connectCA.additionalConfig", "leaf_cert_ttl = 72h")),
        f"{VAULT}.connectCA.additionalConfig",
        "not valid JSON",
    ),
    "template braces in additional config": (
        _with((f"{VAULT}.connectCA.additionalConfig", '{"x": "{{ .Release.Name }}"}')),
        f"{VAULT}.connectCA.additionalConfig",
        "tpl",
    ),
    "removed snapshot-agent role": (
        _with((f"{VAULT}.consulSnapshotAgentRole", "consul-snapshot")),
        f"{VAULT}.consulSnapshotAgentRole",
        "removed",
    ),
    "removed controller block": (
        _with(("controller.enabled", True)),
        "controller.enabled",
        "removed",
    ),
    "misspelt key": (
        _with(("global.tls.httpOnly", True)),
        "global.tls.httpOnly",
        "silently ignore",
    ),
}


def test_the_built_values_pass_every_rule() -> None:
    check_chart_rules(DEV)


@pytest.mark.parametrize("case", sorted(CASES))
def test_rule_rejects_with_the_key_named(case: str) -> None:
    mutate, key, phrase = CASES[case]
    values = copy.deepcopy(DEV)
    mutate(values)
    with pytest.raises(ChartValuesError) as raised:
        check_chart_rules(values)
    assert raised.value.key == key, f"{case}: error names {raised.value.key!r}: {raised.value}"
    assert phrase in str(raised.value), f"{case}: unclear message: {raised.value}"
    assert str(raised.value).startswith("Consul chart 2.0.3 values: "), str(raised.value)
    assert isinstance(raised.value, ValueError)


def test_removed_keys_are_not_in_the_pinned_key_list() -> None:
    assert not [key for key in CHART_KEYS if is_removed(key)]
    assert "global.secretsBackend.vault.consulSnapshotAgentRole" in REMOVED_KEYS
    assert is_removed("controller.enabled") and is_removed("global.secretsBackend.vault.controller.caCert.secretName")
    assert not is_removed("connectInject.apiGateway.manageExternalCRDs"), "only the old top-level apiGateway is gone"


def test_every_listed_key_lives_in_a_top_level_section_of_the_chart() -> None:
    sections = {key.split(".", 1)[0] for key in CHART_KEYS}
    assert sections <= TOP_LEVEL_SECTIONS, sections - TOP_LEVEL_SECTIONS
