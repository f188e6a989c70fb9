"""Every invalid setting fails before any resource is registered, naming the key path, value and what is allowed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi
import pytest

from secure_mesh.settings import SettingsError, load_settings
from tests.harness import deep_merge, load_stack_config, run_program_expecting_failure

DEV = load_stack_config("dev")

Mutation = Callable[[dict[str, Any]], dict[str, Any]]


def merge(override: dict[str, Any]) -> Mutation:
    return lambda config: deep_merge(config, override)


def set_list(key: str, index: int, field: str, value: Any) -> Mutation:
    def mutate(config: dict[str, Any]) -> dict[str, Any]:
        items = [dict(item) for item in config[key]]
        items[index][field] = value
        return {**config, key: items}

    return mutate


def set_mesh(field: str, value: Any) -> Mutation:
    return lambda config: {**config, "mesh": {**config["mesh"], field: value}}


def drop(key: str) -> Mutation:
    return lambda config: {k: v for k, v in config.items() if k != key}


SERVICES = DEV["mesh"]["services"]

# (case id, mutation of the dev stack's config, key path the error must name, text the message must contain)
CASES: list[tuple[str, Mutation, str, str]] = [
    # wrong types
    ("replicas-as-string", merge({"consul": {"serverReplicas": "3"}}), "consul.serverReplicas", "valid integer"),
    ("levels-as-float", merge({"pki": {"chains": {"server": {"levels": 2.5}}}}), "pki.chains.server.levels", "integer"),
    ("enterprise-as-string", merge({"consul": {"enterprise": "yes"}}), "consul.enterprise", "valid boolean"),
    ("vault-not-an-object", lambda c: {**c, "vault": "http://vault:8200"}, "vault", "object"),
    ("apps-not-a-list", lambda c: {**c, "apps": {"name": "web"}}, "apps", "valid array"),
    # unknown keys and typos
    (
        "typo-in-chain-key",
        merge({"pki": {"chains": {"server": {"leafMaxTTL": "720h"}}}}),
        "pki.chains.server.leafMaxTTL",
        "unknown key 'leafMaxTTL'; did you mean 'leafMaxTtl'? allowed keys here: levels, intermediateTtls, leafTtl, "
        "leafMaxTtl",
    ),
    (
        "typo-in-vault-key",
        merge({"vault": {"adress": "http://x:8200"}}),
        "vault.adress",
        "unknown key 'adress'; did you mean 'address'? allowed keys here: address",
    ),
    (
        "unknown-top-level-key",
        lambda c: {**c, "consol": {}},
        "consol",
        "unknown key 'consol'; did you mean 'consul'? allowed keys: apps, consul",
    ),
    (
        "license-in-plain-config",
        lambda c: {**c, "consulLicense": "02MV4..."},
        "consulLicense",
        "it is a secret: set it with --secret",
    ),
    (
        "unknown-chain",
        merge({"pki": {"chains": {"mesh": {"levels": 1}}}}),
        "pki.chains.mesh",
        "allowed keys here: server, connect, gateway, webhook",
    ),
    # durations
    (
        "duration-without-unit",
        merge({"pki": {"chains": {"server": {"leafMaxTtl": "720"}}}}),
        "pki.chains.server.leafMaxTtl",
        "units s, m, h",
    ),
    ("duration-in-days", merge({"pki": {"rootTtl": "3650d"}}), "pki.rootTtl", "units s, m, h"),
    ("zero-ttl", merge({"pki": {"chains": {"server": {"leafTtl": "0h"}}}}), "pki.chains.server.leafTtl", "zero"),
    (
        "negative-ttl",
        merge({"pki": {"chains": {"gateway": {"leafTtl": "-1h"}}}}),
        "pki.chains.gateway.leafTtl",
        "positive duration",
    ),
    # TTL cascade
    (
        "leaf-outlives-intermediate",
        merge({"pki": {"chains": {"server": {"leafMaxTtl": "30000h"}}}}),
        "pki.chains.server.leafMaxTtl",
        "must be shorter than pki.chains.server.intermediateTtls[1]",
    ),
    (
        "intermediate-outlives-root",
        merge({"pki": {"rootTtl": "17000h"}}),
        "pki.chains.server.intermediateTtls[0]",
        "must be shorter than pki.rootTtl",
    ),
    (
        "ttl-count-mismatch",
        merge({"pki": {"chains": {"server": {"intermediateTtls": ["40000h"]}}}}),
        "pki.chains.server.intermediateTtls",
        "levels is 2",
    ),
    (
        "leaf-ttl-above-max",
        merge({"pki": {"chains": {"gateway": {"leafTtl": "800h"}}}}),
        "pki.chains.gateway.leafTtl",
        "must not exceed leafMaxTtl",
    ),
    (
        "consul-intermediate-too-long",
        merge({"pki": {"consulIntermediateTtl": "30000h"}}),
        "pki.consulIntermediateTtl",
        "must be shorter than",
    ),
    (
        "levels-out-of-range",
        merge({"pki": {"chains": {"connect": {"levels": 4}}}}),
        "pki.chains.connect.levels",
        "less than or equal to 3",
    ),
    # enums
    ("unknown-environment", lambda c: {**c, "environment": "production"}, "environment", "'dev', 'staging' or 'prod'"),
    ("unknown-custody", merge({"pki": {"rootCustody": "hsm"}}), "pki.rootCustody", "'vault', 'external' or 'aws-kms'"),
    (
        "unknown-protocol",
        set_mesh("services", [*SERVICES[:-1], {"name": "ledger", "protocol": "udp"}]),
        "mesh.services[3].protocol",
        "'tcp', 'http'",
    ),
    (
        "key-bits-for-type",
        merge({"pki": {"keyType": "rsa", "keyBits": 256}}),
        "pki.keyBits",
        "allowed: 2048, 4096",
    ),
    ("unpinned-chart", merge({"consul": {"chartVersion": "1.9.0"}}), "consul.chartVersion", "'2.0.3'"),
    # DNS names and lengths
    (
        "bad-gateway-domain",
        merge({"pki": {"chains": {"gateway": {"domains": ["*.example.com"]}}}}),
        "pki.chains.gateway.domains[0]",
        "not a DNS name",
    ),
    (
        "uppercase-namespace",
        merge({"kubernetes": {"consulNamespace": "Consul"}}),
        "kubernetes.consulNamespace",
        "not a DNS label",
    ),
    ("over-long-release-name", merge({"consul": {"releaseName": "r" * 60}}), "consul.releaseName", "at most 53"),
    (
        "over-long-service-name",
        set_mesh("services", [*SERVICES, {"name": "s" * 64}]),
        "mesh.services[4].name",
        "at most 63",
    ),
    ("bad-mount-prefix", merge({"vault": {"mountPrefix": "/consul/"}}), "vault.mountPrefix", "not a Vault path prefix"),
    ("vault-address-not-url", merge({"vault": {"address": "vault:8200"}}), "vault.address", "not an http(s) URL"),
    # empty lists where one is needed
    (
        "gateway-without-domains",
        merge({"pki": {"chains": {"gateway": {"domains": []}}}}),
        "pki.chains.gateway.domains",
        "at least one DNS domain",
    ),
    (
        "empty-permissions",
        set_mesh("intentions", [{"source": "api", "destination": "payments", "permissions": []}]),
        "mesh.intentions[0].permissions",
        "is empty",
    ),
    # duplicates
    (
        "duplicate-service",
        set_mesh("services", [*SERVICES, {"name": "web"}]),
        "mesh.services[4].name",
        "declared more than once",
    ),
    (
        "duplicate-service-account",
        lambda c: {**c, "apps": [c["apps"][0], {**c["apps"][1], "namespace": "web", "serviceAccount": "web"}]},
        "apps[1].serviceAccount",
        "already another app's identity",
    ),
    (
        "duplicate-intention",
        set_mesh(
            "intentions", [*DEV["mesh"]["intentions"], {"source": "web", "destination": "ledger", "action": "allow"}]
        ),
        "mesh.intentions[2]",
        "a second rule for web → ledger",
    ),
    # dangling references
    (
        "intention-to-undeclared",
        set_mesh("intentions", [{"source": "web", "destination": "billing", "action": "allow"}]),
        "mesh.intentions[0].destination",
        "'billing' is not a service in mesh.services",
    ),
    (
        "app-unknown-upstream",
        set_list("apps", 0, "upstreams", ["search"]),
        "apps[0].upstreams[0]",
        "'search' is not a service",
    ),
    ("app-unknown-service", set_list("apps", 1, "service", "orders"), "apps[1].service", "'orders' is not a service"),
    (
        "route-outside-gateway-domains",
        set_list("apps", 0, "route", {"hostname": "web.example.org"}),
        "apps[0].route.hostname",
        "not within the gateway's domains",
    ),
    # intention semantics
    (
        "wildcard-intention",
        set_mesh("intentions", [{"source": "*", "destination": "api", "action": "allow"}]),
        "mesh.intentions[0].source",
        "'*' is not allowed",
    ),
    (
        "action-and-permissions",
        set_mesh(
            "intentions",
            [{"source": "web", "destination": "api", "action": "allow", "permissions": [{"pathPrefix": "/"}]}],
        ),
        "mesh.intentions[0]",
        "exactly one of 'action'",
    ),
    (
        "l7-on-tcp",
        set_mesh("intentions", [{"source": "web", "destination": "ledger", "permissions": [{"pathPrefix": "/"}]}]),
        "mesh.intentions[0].permissions",
        "'ledger' is 'tcp'",
    ),
    (
        "upstream-contradicts-deny",
        set_list("apps", 0, "upstreams", ["ledger"]),
        "apps[0].upstreams[0]",
        "contradicts the deny intention web → ledger",
    ),
    (
        "snapshot-agent-without-enterprise",
        merge({"consul": {"snapshotAgent": {"enabled": True}}}),
        "consul.snapshotAgent.enabled",
        "Consul Enterprise feature",
    ),
    (
        "enterprise-with-oss-image",
        merge({"consul": {"enterprise": True}, "images": {"consul": "hashicorp/consul:1.22"}}),
        "images.consul",
        "not a Consul Enterprise image",
    ),
    # custody and production rules
    ("kms-without-settings", merge({"pki": {"rootCustody": "aws-kms"}}), "pki.awsKms", "is required"),
    (
        "external-settings-with-vault-custody",
        merge({"pki": {"external": {}}}),
        "pki.external",
        "only used with rootCustody 'external'",
    ),
    (
        "prod-even-replicas",
        merge({"environment": "prod", "consul": {"serverReplicas": 2}}),
        "consul.serverReplicas",
        "odd number of at least 3",
    ),
    ("prod-vault-root", lambda c: {**c, "environment": "prod"}, "pki.rootCustody", "for dev and staging only"),
    (
        "prod-plain-http",
        merge({"environment": "prod", "vault": {"address": "http://vault.vault.svc.cluster.local:8200"}}),
        "vault.address",
        "is plain http, allowed only with environment 'dev'",
    ),
    (
        "external-vault-without-ca",
        merge({"vault": {"placement": "external"}}),
        "vault.kubernetesCaCertPem",
        "is required when vault.placement is 'external'",
    ),
    (
        "enterprise-without-license",
        merge({"consul": {"enterprise": True}, "images": {"consul": "hashicorp/consul-enterprise:1.22-ent"}}),
        "consulLicense",
        "is required as a secret",
    ),
    (
        "config-entries-without-address",
        merge({"consul": {"intentionsRendering": "config-entries"}}),
        "consul.address",
        "is required when consul.intentionsRendering is 'config-entries'",
    ),
    ("missing-vault", drop("vault"), "vault", "is required but missing"),
    (
        "private-key-as-ca",
        merge({"vault": {"tls": {"caCertPem": "-----BEGIN PRIVATE KEY-----\nabc\n"}}}),
        "vault.tls.caCertPem",
        "a private key must never be in stack configuration",
    ),
]


def test_there_are_at_least_thirty_distinct_cases() -> None:
    assert len({case_id for case_id, *_ in CASES}) == len(CASES) >= 30


@pytest.mark.parametrize(("case_id", "mutate", "path", "fragment"), CASES, ids=[c[0] for c in CASES])
def test_invalid_setting_names_its_key_path(case_id: str, mutate: Mutation, path: str, fragment: str) -> None:
    config = mutate(DEV)
    with pytest.raises(SettingsError) as caught:
        load_settings(config)
    problems = {p.path: p.message for p in caught.value.problems}
    assert path in problems, f"{case_id}: expected a problem at {path}, got {caught.value}"
    assert fragment in problems[path], f"{case_id}: {problems[path]!r} lacks {fragment!r}"
    assert f"secure-mesh:{path}: " in str(caught.value)


@pytest.mark.parametrize(
    ("case_id", "mutate", "path"),
    [(c[0], c[1], c[2]) for c in CASES[::6]],
    ids=[c[0] for c in CASES[::6]],
)
def test_program_stops_cleanly_before_registering_anything(case_id: str, mutate: Mutation, path: str) -> None:
    error, registered = run_program_expecting_failure(mutate(DEV))
    assert isinstance(error, pulumi.RunError), f"{case_id}: {type(error).__name__} would print a traceback"
    assert f"secure-mesh:{path}: " in str(error)
    assert registered == [], f"{case_id}: registered {registered} before rejecting the config"


def test_all_problems_are_reported_at_once() -> None:
    config = deep_merge(
        DEV,
        {
            "consul": {"serverReplicas": 2, "enterprise": True},
            "images": {"consul": "hashicorp/consul-enterprise:1.22-ent"},
            "environment": "prod",
            "vault": {"address": "http://vault.vault.svc.cluster.local:8200"},
        },
    )
    with pytest.raises(SettingsError) as caught:
        load_settings(config)
    assert {"consul.serverReplicas", "consulLicense", "vault.address", "pki.rootCustody"} <= set(caught.value.paths)
