"""AppOnboarding alone: built from hand-written Args (no settings, no layout, no stack file) under mocks.

Whole inputs of an app's policy, role, database connection and role, the watcher's and the gateway's key
objects, the exported annotations; each dependency carried by the data it follows (the auth mount's path, the
policy's name, the database mount's path, the connection's name, the KV mount's path, the release's status);
and the wire (dict) form the component provider host passes building exactly the same resources.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pulumi
import pulumi_consul as consul
import pulumi_kubernetes as kubernetes
import pulumi_vault as vault
import pytest

from secure_mesh.onboarding.component import (
    AppArgs,
    AppDatabaseArgs,
    AppOnboarding,
    AppOnboardingArgs,
    AppRouteArgs,
    CatalogWatcherArgs,
    ChartReleaseArgs,
    GatewayArgs,
    GatewayVsoArgs,
    VaultClientArgs,
)
from secure_mesh.vocabulary import DatabaseTlsMode, GatewayCertificateDelivery
from tests.consul.helpers import recorded_shape, run_alone, to_wire
from tests.harness import ProgramRun

NAME = "lab-onboarding"
POLICY = "vault:index/policy:Policy"
ROLE = "vault:kubernetes/authBackendRole:AuthBackendRole"
CONNECTION = "vault:database/secretBackendConnection:SecretBackendConnection"
DB_ROLE = "vault:database/secretBackendRole:SecretBackendRole"
VAULT_CA = "-----BEGIN CERTIFICATE-----\nMIIBvault-stand-in\n-----END CERTIFICATE-----\n"
CONSUL_CA = "-----BEGIN CERTIFICATE-----\nMIIBconsul-stand-in\n-----END CERTIFICATE-----\n"
ROOT = {"shop": {"username": "root-shop", "password": "pw-shop"}, "ledger": {"username": "root-l", "password": "pw-l"}}
SHOP_ANNOTATIONS = {"vault.hashicorp.com/agent-inject": "true", "vault.hashicorp.com/role": "app-shop"}
CREATE = ("CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}';",)
REVOKE = ('DROP ROLE IF EXISTS "{{name}}";',)
ROTATE = ("ALTER ROLE \"{{name}}\" WITH PASSWORD '{{password}}';",)

VAULT = VaultClientArgs(
    address="https://vault.lab:8200",
    auth_path="k8s-lab",
    audience="vault",
    dedicated_audience=True,
    ca_secret_name="vault-ca",
    ca_secret_key="tls.crt",
    ca_cert_pem=VAULT_CA,
)
SHOP = AppArgs(
    name="shop",
    namespace="shop",
    service_account="shop-sa",
    auth_role="app-shop",
    policy="lab-app-shop",
    kv_read_paths=("kv/data/apps/shop/key",),
    annotations=SHOP_ANNOTATIONS,
    database=AppDatabaseArgs(
        connection_name="shop-main",
        role_name="app-shop",
        creds_path="db/creds/app-shop",
        database_name="main",
        port=5432,
        creation_statements=CREATE,
        revocation_statements=REVOKE,
        root_rotation_statements=ROTATE,
        default_ttl=600,
        max_ttl=1800,
        root_password_version=2,
        root_password_version_setting="apps[0].database.rootPasswordVersion",
        rotate_root_path="db/rotate-root/shop-main",
        connection_config_path="db/config/shop-main",
        static_host="pg.lab",
    ),
    route=AppRouteArgs(
        hostname="shop.lab.example", path_prefix="/", service="shop", service_port=8080, http_route="shop-route"
    ),
)
LEDGER = AppArgs(
    name="ledger",
    namespace="money",
    service_account="ledger",
    auth_role="app-ledger",
    policy="lab-app-ledger",
    kv_read_paths=(),
    annotations={},
    database=AppDatabaseArgs(
        connection_name="ledger-books",
        role_name="app-ledger",
        creds_path="db/creds/app-ledger",
        database_name="books",
        port=5432,
        creation_statements=CREATE,
        revocation_statements=REVOKE,
        root_rotation_statements=ROTATE,
        default_ttl=300,
        max_ttl=3600,
        root_password_version=1,
        root_password_version_setting="apps[1].database.rootPasswordVersion",
        rotate_root_path="db/rotate-root/ledger-books",
        connection_config_path="db/config/ledger-books",
        ssl_mode=DatabaseTlsMode.VERIFY_CA,
        consul_service="orders-db",  # tests/mocks/onboarding.py: node-a 10.0.0.11:6432 is the first instance
        follows_catalog=True,
        watcher=CatalogWatcherArgs(
            workload="ledger-watcher",
            auth_role="db-address-ledger",
            policy="lab-db-address-ledger",
            consul_policy="lab-db-address-ledger",
            consul_token_name="watchers/ledger/consul-token",
            consul_token_path="kv/data/watchers/ledger/consul-token",
        ),
    ),
)
GATEWAY = GatewayArgs(
    name="edge",
    namespace="consul",
    listener_secret="edge-tls",
    policy="lab-edge",
    auth_role="edge",
    login_service_account="edge-certificate",
    pki_mount="pki-gw",
    pki_role="edge",
    leaf_ttl="72h",
    leaf_ttl_seconds=72 * 3600,
    certificate_delivery=GatewayCertificateDelivery.VSO,
    vso=GatewayVsoArgs(
        release=ChartReleaseArgs(name="vso", namespace="vso", values={"defaultVaultConnection": {"enabled": False}}),
        vault_connection="edge-vault",
        vault_ca_secret="edge-vault-ca",
    ),
)


def _args(upstream: dict[str, Any], **overrides: Any) -> AppOnboardingArgs:
    fields: dict[str, Any] = {
        "apps": (SHOP, LEDGER),
        "vault": VAULT,
        "kubernetes_auth_mount": upstream["auth"].path,
        "datacenter": "lab",
        "consul_namespace": "consul",
        "consul_server_service": "lab-consul-server",
        "consul_release": upstream["release"].status.apply(lambda status: status.status if status else "deployed"),
        "consul_ca_pem": CONSUL_CA,
        "kv_mount": upstream["kv"].path,
        "database_mount": "db",
        "database_root_credentials": pulumi.Output.secret(ROOT),
        "gateway": GATEWAY,
        "consul_template_image": "hashicorp/consul-template:0.40.0",
        "vault_agent_image": "hashicorp/vault:1.19.0",
        "protect": True,
    }
    fields.update(overrides)
    return AppOnboardingArgs(**fields)


def _build(wire: bool, **overrides: Any) -> tuple[ProgramRun, list[AppOnboarding]]:
    built: list[AppOnboarding] = []

    def program() -> None:
        upstream = {
            "auth": vault.AuthBackend("stand-in-auth", type="kubernetes", path="k8s-lab"),
            "kv": vault.Mount("stand-in-kv", path="kv", type="kv-v2"),
            "release": kubernetes.helm.v3.Release("stand-in-release", chart="consul", namespace="consul"),
        }
        provider = consul.Provider("stand-in-consul", address="https://consul.lab:8501")
        args = _args(upstream, **overrides)
        built.append(
            AppOnboarding(NAME, to_wire(args) if wire else args, pulumi.ResourceOptions(providers=[provider]))
        )

    return run_alone(program), built


@pytest.fixture(scope="module")
def alone() -> tuple[ProgramRun, AppOnboarding]:
    run, built = _build(wire=False)
    return run, built[0]


def _names(run: ProgramRun, urns: Any) -> set[str]:
    return {run.by_urn(urn).name for urn in urns}


def test_an_apps_policy_and_role_whole(alone: tuple[ProgramRun, AppOnboarding]) -> None:
    run, _ = alone
    policy = run.one(POLICY, f"{NAME}-app-shop-policy")
    assert policy.inputs["name"] == "lab-app-shop"
    assert json.loads(policy.inputs["policy"]) == {
        "path": {
            "auth/token/lookup-self": {"capabilities": ["read"]},
            "auth/token/renew-self": {"capabilities": ["update"]},
            "db/creds/app-shop": {"capabilities": ["read"]},
            "kv/data/apps/shop/key": {"capabilities": ["read"]},
        }
    }
    assert set(policy.inputs) == {"name", "policy"}
    assert not policy.dependencies, "Vault checks no path a policy names: nothing to wait for"
    role = run.one(ROLE, f"{NAME}-app-shop-role")
    assert role.inputs == {
        "backend": "k8s-lab",
        "roleName": "app-shop",
        "boundServiceAccountNames": ["shop-sa"],
        "boundServiceAccountNamespaces": ["shop"],
        "audience": "vault",
        "aliasNameSource": "serviceaccount_uid",
        "tokenTtl": 3600,
        "tokenMaxTtl": 14400,
        "tokenPolicies": ["lab-app-shop"],
        "tokenNoDefaultPolicy": True,
    }
    assert _names(run, role.dependencies) == {"stand-in-auth", f"{NAME}-app-shop-policy"}
    assert _names(run, role.property_dependencies["backend"]) == {"stand-in-auth"}, "the auth mount is the data"
    assert _names(run, role.property_dependencies["tokenPolicies"]) == {f"{NAME}-app-shop-policy"}


def test_an_apps_database_connection_and_role_whole(alone: tuple[ProgramRun, AppOnboarding]) -> None:
    run, _ = alone
    connection = run.one(CONNECTION, f"{NAME}-shop-db-connection")
    assert connection.inputs == {
        "backend": "db",
        "name": "shop-main",
        "pluginName": "postgresql-database-plugin",
        "allowedRoles": ["app-shop"],
        "verifyConnection": True,
        "rootRotationStatements": list(ROTATE),
        "postgresql": {
            "connectionUrl": "postgresql://{{username}}:{{password}}@pg.lab:5432/main?sslmode=verify-full",
            "username": "root-shop",
            "passwordWo": "pw-shop",
            "passwordWoVersion": 2,
        },
    }
    assert "postgresql" in connection.secret_inputs, "the root credentials stay secret"
    assert _names(run, connection.dependencies) == {f"{NAME}-database", f"{NAME}-shop-db-root-version"}
    role = run.one(DB_ROLE, f"{NAME}-shop-db-role")
    assert role.inputs == {
        "backend": "db",
        "name": "app-shop",
        "dbName": "shop-main",
        "creationStatements": list(CREATE),
        "revocationStatements": list(REVOKE),
        "defaultTtl": 600,
        "maxTtl": 1800,
    }
    assert _names(run, role.property_dependencies["backend"]) == {f"{NAME}-database"}
    assert _names(run, role.property_dependencies["dbName"]) == {f"{NAME}-shop-db-connection"}
    mount = run.one("vault:index/mount:Mount", f"{NAME}-database")
    assert mount.inputs == {
        "path": "db",
        "type": "database",
        "description": "Dynamic database credentials for onboarded applications",
        "defaultLeaseTtlSeconds": 1800,
        "maxLeaseTtlSeconds": 3600,
    }
    rotation = run.one("vault:generic/endpoint:Endpoint", f"{NAME}-shop-db-rotate-root")
    assert rotation.inputs == {
        "path": "db/rotate-root/shop-main",
        "dataJson": '{"root_password_version": 2}',
        "disableRead": True,
        "disableDelete": True,
    }


def test_a_catalog_database_and_its_watcher(alone: tuple[ProgramRun, AppOnboarding]) -> None:
    run, _ = alone
    connection = run.one(CONNECTION, f"{NAME}-ledger-db-connection")
    assert connection.inputs["postgresql"]["connectionUrl"] == (
        "postgresql://{{username}}:{{password}}@10.0.0.11:6432/books?sslmode=verify-ca"
    )
    assert connection.ignore_changes == ("postgresql.connectionUrl",)
    # The catalog look-up waits for the release, and the address it returns carries that dependency.
    assert _names(run, connection.property_dependencies["postgresql"]) == {"stand-in-release"}
    token_kv = run.one("vault:kv/secretV2:SecretV2", f"{NAME}-ledger-db-address-watcher-consul-token-kv")
    assert token_kv.inputs["mount"] == "kv" and token_kv.inputs["name"] == "watchers/ledger/consul-token"
    assert _names(run, token_kv.property_dependencies["mount"]) == {"stand-in-kv"}, "the KV mount is the data"
    assert _names(run, run.one(
        "consul:index/aclPolicy:AclPolicy", f"{NAME}-ledger-db-address-watcher-consul-policy"
    ).dependencies) == {"stand-in-release"}
    acl = run.one("consul:index/aclPolicy:AclPolicy", f"{NAME}-ledger-db-address-watcher-consul-policy")
    assert acl.provider.startswith(run.one("pulumi:providers:consul").urn), "the Consul provider comes from opts"
    config = run.one("kubernetes:core/v1:ConfigMap", f"{NAME}-ledger-db-address-watcher-config")
    assert _names(run, config.dependencies) == {"stand-in-release"}, "Consul's namespace exists with the release"
    assert config.inputs["metadata"] == {"name": "ledger-watcher", "namespace": "consul"}
    assert config.inputs["data"]["consul-ca.pem"] == CONSUL_CA
    assert 'address    = "lab-consul-server.consul.svc:8501"' in config.inputs["data"]["config.hcl"]
    assert '{{- with service "orders-db@lab" -}}' in config.inputs["data"]["address.ctmpl"]
    policy = json.loads(run.one(POLICY, f"{NAME}-ledger-db-address-watcher-policy").inputs["policy"])
    assert policy["path"]["db/config/ledger-books"] == {
        "allowed_parameters": {"connection_url": ["*/books?sslmode=verify-ca"]},
        "capabilities": ["update"],
    }
    deployment = run.one("kubernetes:apps/v1:Deployment", f"{NAME}-ledger-db-address-watcher")
    pod = deployment.inputs["spec"]["template"]["spec"]
    assert [c["image"] for c in (*pod["initContainers"], *pod["containers"])] == [
        "hashicorp/vault:1.19.0",
        "hashicorp/consul-template:0.40.0",
    ]


def test_the_gateway_waits_for_the_release_and_its_routes_for_the_gateway(
    alone: tuple[ProgramRun, AppOnboarding],
) -> None:
    run, _ = alone
    gateway = run.one("kubernetes:gateway.networking.k8s.io/v1:Gateway", f"{NAME}-gateway")
    assert _names(run, gateway.dependencies) == {"stand-in-release"}
    route = run.one("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute", f"{NAME}-shop-route")
    assert route.inputs["metadata"] == {"name": "shop-route", "namespace": "shop"}
    assert route.inputs["spec"]["parentRefs"] == [{"name": "edge", "namespace": "consul", "sectionName": "https"}]
    assert _names(run, route.dependencies) == {"stand-in-release", f"{NAME}-gateway"}
    pki = run.one("kubernetes:secrets.hashicorp.com/v1beta1:VaultPKISecret", f"{NAME}-gateway-certificate")
    assert pki.inputs["spec"]["mount"] == "pki-gw" and pki.inputs["spec"]["role"] == "edge"
    assert pki.inputs["spec"]["commonName"] == "shop.lab.example" and pki.inputs["spec"]["expiryOffset"] == "24h"
    role = run.one(ROLE, f"{NAME}-gateway-role")
    assert role.inputs["boundServiceAccountNames"] == ["edge-certificate"]
    assert role.inputs["boundServiceAccountNamespaces"] == ["consul"]


def test_outputs_and_protection(alone: tuple[ProgramRun, AppOnboarding]) -> None:
    run, onboarding = alone
    resolved = {
        key: pulumi.runtime.sync_await._sync_await(getattr(onboarding, key).future())
        for key in AppOnboarding.__annotations__
    }
    assert resolved == {
        "app_roles": {"shop": "app-shop", "ledger": "app-ledger"},
        "app_policies": {"shop": "lab-app-shop", "ledger": "lab-app-ledger"},
        "app_annotations": {"shop": SHOP_ANNOTATIONS, "ledger": {}},
        "database_creds_paths": {"shop": "db/creds/app-shop", "ledger": "db/creds/app-ledger"},
        "database_mount_path": "db",
        "gateway_name": "edge",
        "gateway_listener_secret": "edge-tls",
    }
    component = run.one("secure-mesh:index:AppOnboarding")
    mine = [r for r in run.resources if r.parent == component.urn]
    assert mine and all(r.protect for r in mine), "protect: every child inherits it from the component"


def test_without_databases_or_gateway_only_identities() -> None:
    run, built = _build(wire=False, apps=(dataclasses.replace(LEDGER, database=None),), gateway=None)
    component = run.one("secure-mesh:index:AppOnboarding")
    assert sorted(r.name for r in run.resources if r.parent == component.urn) == [
        f"{NAME}-app-ledger-policy",
        f"{NAME}-app-ledger-role",
        f"{NAME}-money-vault-ca",
    ]
    keys = ("database_mount_path", "gateway_name", "gateway_listener_secret", "database_creds_paths")
    empty = {key: pulumi.runtime.sync_await._sync_await(getattr(built[0], key).future()) for key in keys}
    assert empty == dict(zip(keys, ("", "", "", {}), strict=True)), "empty, not missing, without databases or gateway"


def test_the_wire_form_builds_the_same_resources(alone: tuple[ProgramRun, AppOnboarding]) -> None:
    run, _ = alone
    wire_run, _ = _build(wire=True)
    assert recorded_shape(wire_run) == recorded_shape(run)
