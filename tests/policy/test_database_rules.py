"""The database rules over the resources the program really registers (the onboarding stack, dev and prod).

Passing: the onboarding stack as registered. Violating: the same stack with exactly one fault: the rotation
endpoint removed, on another path or namespace, or without its dependency on the connection; the
connection's sslmode weakened, missing, doubled, in keyword/value form, or its CA removed; a plugin the
pack cannot check.
"""

from __future__ import annotations

from typing import Any

import pytest
from secure_mesh_policy import types as t
from secure_mesh_policy.database import sslmodes

import tests.policy.conftest  # noqa: F401  - puts policy/ on sys.path
from tests.onboarding.stacks import DATABASE_CA_PEM, onboarding_run
from tests.policy.support import Subject, check_stack, private_subjects, resource_args

CONNECTION = "secure-mesh-onboarding-orders-db-connection"
ROTATION = "secure-mesh-onboarding-orders-db-rotate-root"
CATALOG_URL = "postgresql://{{username}}:{{password}}@10.0.0.11:6432/orders?sslmode=verify-full"


def subjects(stack: str) -> list[Subject]:
    """A private copy of the onboarding stack's resources as the policy engine sees them."""
    return private_subjects(onboarding_run(stack).resources)


def named(found: list[Subject], name: str) -> Subject:
    matches = [s for s in found if s.name == name]
    assert len(matches) == 1, name
    return matches[0]


def tls_findings(connection: Subject, config: dict[str, Any] | None = None) -> list[str]:
    from tests.policy.support import RULES

    messages: list[str] = []
    RULES["db-tls"].policy.validate(
        resource_args(connection, config), lambda message, urn=None: messages.append(message)
    )
    return messages


# ------------------------------------------------------------------------------------- root rotation


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_registered_stack_rotates_every_connection(stack: str) -> None:
    found = subjects(stack)
    assert named(found, ROTATION).props["path"] == "consul/database/rotate-root/orders-orders"
    assert check_stack("db-root-rotation", found) == []


def test_a_connection_without_a_rotation_endpoint_is_caught() -> None:
    found = [s for s in subjects("dev") if s.name != ROTATION]
    connection = named(found, CONNECTION)
    assert check_stack("db-root-rotation", found) == [
        (
            f"SecretBackendConnection '{CONNECTION}': name = 'orders-orders': no vault.generic.Endpoint writes "
            "'consul/database/rotate-root/orders-orders', so Vault never rotates this connection's root password. "
            "Fix: add a generic Endpoint on 'consul/database/rotate-root/orders-orders' that depends on this "
            "connection",
            connection.urn,
        )
    ]


@pytest.mark.parametrize(
    "change",
    [
        {"path": "consul/database/rotate-root/billing-billing"},
        {"path": "consul/database/config/orders-orders"},
        {"path": "other/rotate-root/orders-orders"},
        {"namespace": "team-a"},
    ],
    ids=["another-connection", "not-rotate-root", "another-mount", "another-namespace"],
)
def test_an_endpoint_elsewhere_does_not_count(change: dict[str, str]) -> None:
    found = subjects("dev")
    rotation = named(found, ROTATION)
    rotation.props = {**rotation.props, **change}
    findings = check_stack("db-root-rotation", found)
    assert [urn for _, urn in findings] == [named(found, CONNECTION).urn]
    assert "Vault never rotates this connection's root password" in findings[0][0]


def test_equivalent_paths_with_slashes_count() -> None:
    found = subjects("dev")
    rotation = named(found, ROTATION)
    rotation.props = {**rotation.props, "path": "/consul/database/rotate-root/orders-orders/"}
    assert check_stack("db-root-rotation", found) == []


def test_a_rotation_that_does_not_wait_for_the_connection_is_caught() -> None:
    found = subjects("prod")
    rotation = named(found, ROTATION)
    rotation.dependencies = []
    findings = check_stack("db-root-rotation", found)
    assert [urn for _, urn in findings] == [rotation.urn]
    assert f"does not depend on the connection '{CONNECTION}'" in findings[0][0]
    assert "Fix: pass depends_on=[connection]" in findings[0][0]


# ---------------------------------------------------------------------------------------------- TLS


def test_the_registered_prod_connection_verifies_tls_fully() -> None:
    connection = named(subjects("prod"), CONNECTION)
    assert connection.props["postgresql"]["connectionUrl"] == CATALOG_URL
    assert connection.props["postgresql"]["tlsCa"] == DATABASE_CA_PEM
    assert tls_findings(connection) == []


def _with_postgresql(stack: str, **changes: Any) -> Subject:
    connection = named(subjects(stack), CONNECTION)
    block = {**connection.props["postgresql"], **changes}
    connection.props = {**connection.props, "postgresql": {k: v for k, v in block.items() if v is not None}}
    return connection


WEAK_URLS = [
    (CATALOG_URL.replace("verify-full", "require"), "sslmode=require does not verify both"),
    (CATALOG_URL.replace("verify-full", "verify-ca"), "sslmode=verify-ca does not verify both"),
    (CATALOG_URL.replace("verify-full", "disable"), "sslmode=disable does not verify both"),
    (CATALOG_URL.replace("?sslmode=verify-full", ""), "no sslmode: the driver's default 'prefer'"),
    (CATALOG_URL + "&sslmode=disable", "sslmode is given 2 times (verify-full, disable)"),
    ("host=10.0.0.11 port=6432 dbname=orders sslmode=require", "sslmode=require does not verify both"),
    ("host=10.0.0.11 dbname=orders", "no sslmode"),
]


@pytest.mark.parametrize(("url", "problem"), WEAK_URLS)
def test_unverified_tls_in_prod_is_caught(url: str, problem: str) -> None:
    findings = tls_findings(_with_postgresql("prod", connectionUrl=url))
    assert len(findings) == 1, findings
    assert findings[0].startswith(
        f"SecretBackendConnection '{CONNECTION}': postgresql.connectionUrl = {url!r}: {problem}"
    )
    assert findings[0].endswith(". Fix: set exactly one sslmode=verify-full")


def test_a_keyword_value_dsn_with_verify_full_passes() -> None:
    dsn = "host=10.0.0.11 port=6432 dbname=orders sslmode='verify-full'"
    assert tls_findings(_with_postgresql("prod", connectionUrl=dsn)) == []


@pytest.mark.parametrize("ca", [None, "", "not a pem"])
def test_a_prod_connection_without_the_database_ca_is_caught(ca: str | None) -> None:
    findings = tls_findings(_with_postgresql("prod", tlsCa=ca))
    assert len(findings) == 1
    assert findings[0].startswith(f"SecretBackendConnection '{CONNECTION}': postgresql.tlsCa = ")
    assert "no database CA" in findings[0]


def test_another_plugin_in_prod_is_reported_not_passed() -> None:
    connection = named(subjects("prod"), CONNECTION)
    connection.props = {**connection.props, "mysql": {"connectionUrl": "{{username}}:{{password}}@tcp(db:3306)/"}}
    findings = tls_findings(connection)
    assert len(findings) == 1 and "cannot verify the TLS settings of a mysql connection" in findings[0]


def test_dev_may_relax_tls_but_the_environment_setting_overrides_the_stack_name() -> None:
    relaxed = _with_postgresql("dev", connectionUrl=CATALOG_URL.replace("verify-full", "disable"), tlsCa=None)
    assert tls_findings(relaxed) == []
    assert len(tls_findings(relaxed, {"environment": "prod"})) == 2


def test_sslmode_parsing_covers_both_connection_string_forms() -> None:
    assert sslmodes(CATALOG_URL) == ["verify-full"]
    assert sslmodes("postgres://u@h/db?sslmode=require&sslmode=verify-full") == ["require", "verify-full"]
    assert sslmodes("host=h sslmode = 'verify-ca' user=u") == ["verify-ca"]
    assert sslmodes("host=h user=u") == []
    assert t.DB_CONNECTION == "vault:database/secretBackendConnection:SecretBackendConnection"
