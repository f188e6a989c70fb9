"""Dynamic database credentials: exact statements and TTLs, the connection's inputs (verified TLS), secrets and the
catalog look-up. Root rotation and the database settings are in test_database_rotation.py and
test_database_settings.py."""

from __future__ import annotations

import pytest

from secure_mesh.onboarding.database import (
    CatalogLookupError,
    pick_catalog_instance,
    postgresql_connection_url,
    root_credentials,
)
from secure_mesh.onboarding.plan import database_plan
from tests.harness import run_program
from tests.onboarding.stacks import (
    DATABASE_CA_PEM,
    ROOT_CREDENTIALS,
    onboarding_config,
    onboarding_layout,
    onboarding_run,
    secrets,
)

CONNECTION = "vault:database/secretBackendConnection:SecretBackendConnection"
ROLE = "vault:database/secretBackendRole:SecretBackendRole"
MOUNT = "vault:index/mount:Mount"
CATALOG_URL = "postgresql://{{username}}:{{password}}@10.0.0.11:6432/orders?sslmode=verify-full"

CREATION = [
    "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}' "
    "NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;",
    'GRANT CONNECT ON DATABASE "orders" TO "{{name}}";',
    'GRANT USAGE ON SCHEMA public TO "{{name}}";',
    'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{{name}}";',
    'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "{{name}}";',
]
REVOCATION = [
    'REVOKE ALL PRIVILEGES ON ALL SEQUENCES IN SCHEMA public FROM "{{name}}";',
    'REVOKE ALL PRIVILEGES ON ALL TABLES IN SCHEMA public FROM "{{name}}";',
    'REVOKE USAGE ON SCHEMA public FROM "{{name}}";',
    'REVOKE CONNECT ON DATABASE "orders" FROM "{{name}}";',
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{{name}}';",
    'DROP ROLE IF EXISTS "{{name}}";',
]


def test_connection_url_templates_the_credentials_and_verifies_tls_fully_by_default() -> None:
    url = postgresql_connection_url("db.internal", 5433, "orders")
    assert url == "postgresql://{{username}}:{{password}}@db.internal:5433/orders?sslmode=verify-full"
    relaxed = postgresql_connection_url("localhost", 5432, "orders", "disable")
    assert relaxed == "postgresql://{{username}}:{{password}}@localhost:5432/orders?sslmode=disable"


def test_mount_is_a_database_engine_capped_at_the_longest_credential() -> None:
    mount = onboarding_run().one(MOUNT, "secure-mesh-onboarding-database")
    assert mount.inputs["path"] == "consul/database"
    assert mount.inputs["type"] == "database"
    assert mount.inputs["maxLeaseTtlSeconds"] == 4 * 3600
    assert mount.inputs["defaultLeaseTtlSeconds"] == 3600


def test_connection_is_registered_whole_with_verified_tls_rotation_statements_and_only_its_role() -> None:
    connection = onboarding_run().one(CONNECTION, "secure-mesh-onboarding-orders-db-connection")
    assert connection.inputs == {
        "backend": "consul/database",
        "name": "orders-orders",
        "pluginName": "postgresql-database-plugin",
        "allowedRoles": ["app-orders"],
        "verifyConnection": True,
        "rootRotationStatements": ["ALTER ROLE \"{{name}}\" WITH PASSWORD '{{password}}';"],
        "postgresql": {
            "connectionUrl": CATALOG_URL,
            "username": "vault-root",
            "passwordWo": "s3cret-root-pw",
            "passwordWoVersion": 1,
            "tlsCa": DATABASE_CA_PEM,
        },
    }, "only the write-only password (a readable one would drift once Vault rotates it); no automated rotation"
    assert "postgresql" in connection.secret_inputs, "the root credentials must be a secret input"


def test_catalog_address_resolves_through_the_consul_provider_to_the_first_instance_by_node() -> None:
    run = onboarding_run()
    connection = run.one(CONNECTION, "secure-mesh-onboarding-orders-db-connection")
    # tests/mocks/onboarding.py lists node-b first; node-a has an empty service address (→ its node's address).
    assert connection.inputs["postgresql"]["connectionUrl"] == CATALOG_URL
    consul_providers = [r for r in run.resources if r.type == "pulumi:providers:consul"]
    assert len(consul_providers) == 1, "the catalog look-up needs the explicit Consul provider"
    assert consul_providers[0].inputs["address"] == "consul.dev.example:8501"


def test_role_has_least_privilege_statements_and_short_ttls() -> None:
    role = onboarding_run().one(ROLE, "secure-mesh-onboarding-orders-db-role")
    assert role.inputs == {
        "backend": "consul/database",
        "name": "app-orders",
        "dbName": "orders-orders",
        "creationStatements": CREATION,
        "revocationStatements": REVOCATION,
        "defaultTtl": 1800,
        "maxTtl": 14400,
    }
    plan = database_plan(onboarding_layout(), next(a for a in onboarding_layout().settings.apps if a.name == "orders"))
    assert list(plan.creation_statements) == CREATION
    assert not any("SUPERUSER " in s and "NOSUPERUSER" not in s for s in plan.creation_statements)


def test_static_address_is_plain_in_the_connection_url() -> None:
    config = onboarding_config()
    orders = config["apps"][-1]
    address = {"host": "orders-db.example.internal", "port": 6543}
    config["apps"][-1] = {**orders, "database": {**orders["database"], "address": address}}
    run = run_program(config, secrets=secrets(), stack="dev")
    connection = run.one(CONNECTION, "secure-mesh-onboarding-orders-db-connection")
    assert connection.inputs["postgresql"]["connectionUrl"] == (
        "postgresql://{{username}}:{{password}}@orders-db.example.internal:6543/orders?sslmode=verify-full"
    )


def test_dev_protects_nothing_and_prod_protects_the_mount_and_connection() -> None:
    dev = onboarding_run("dev")
    assert not any(r.protect for r in dev.resources if "onboarding" in r.name)
    prod = onboarding_run("prod")
    assert prod.one(MOUNT, "secure-mesh-onboarding-database").protect
    assert prod.one(CONNECTION, "secure-mesh-onboarding-orders-db-connection").protect


def test_catalog_instance_choice_is_stable_and_an_empty_catalog_fails_clearly() -> None:
    instances = [
        {"address": "10.0.0.2", "port": "5432", "node_name": "b", "id": "x"},
        {"address": "10.0.0.1", "port": "5433", "node_name": "a", "id": "y"},
    ]
    assert pick_catalog_instance("db", instances) == ("10.0.0.1", 5433)
    assert pick_catalog_instance("db", list(reversed(instances))) == ("10.0.0.1", 5433)
    with pytest.raises(CatalogLookupError, match="Consul service 'db' has no instance"):
        pick_catalog_instance("db", [])


def test_root_credentials_errors_name_the_key_but_never_the_value() -> None:
    assert root_credentials("orders", ROOT_CREDENTIALS) == ("vault-root", "s3cret-root-pw")
    with pytest.raises(ValueError, match=r"databaseRootCredentials\.orders\.password") as error:
        root_credentials("orders", {"orders": {"username": "vault-root", "password": ""}})
    assert "vault-root" not in str(error.value)
    with pytest.raises(ValueError, match=r"databaseRootCredentials\.billing: missing"):
        root_credentials("billing", ROOT_CREDENTIALS)


def test_root_password_never_reaches_outputs_or_plain_inputs() -> None:
    run = onboarding_run()
    for resource in run.resources:
        if resource.type == CONNECTION:
            continue
        assert "s3cret-root-pw" not in repr(resource.inputs), f"{resource} carries the root password"
    assert "s3cret-root-pw" not in repr(run.outputs)
