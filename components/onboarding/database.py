"""Layer 3: dynamic database credentials as plain data: connection URL, TLS, statements, TTLs, root rotation.

Vault's database secrets engine holds one connection per app database and one role per app. The role's
creation statements create a short-lived login role that can only connect to the app's database and
use the tables of its ``public`` schema (no DDL, no other database, no superuser); revocation takes
those grants back and drops the role.

Root credentials: the connection's ``root_rotation_statements`` only tell Vault *how* to change the root
password. The program makes Vault *do* it: a write to ``<mount>/rotate-root/<connection>`` (Vault's
"Rotate root credentials" endpoint) right after the connection is created and again whenever
``rootPasswordVersion`` changes (``Layout.database_rotate_root_path``, :func:`rotate_root_data`). From then on only
Vault knows the root password; the one in config no longer works. On Vault Enterprise 1.19+ Vault can
also rotate on its own (:func:`automated_rotation_inputs`).

TLS: the URL carries ``sslmode`` (``verify-full`` unless a dev stack relaxes it), and the database's CA
goes in the connection's ``tls_ca`` field (Vault 1.18+, the PEM itself, not a file path on the Vault
server as ``sslrootcert`` in the URL would be).

The connection URL carries ``{{username}}``/``{{password}}`` templates that Vault fills from the
connection's own fields; the password is never part of the URL (a templated URL is what Vault's
root rotation needs). The host and port are either static settings or the address of a Consul catalog
instance chosen by :func:`pick_catalog_instance`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from .args import AppDatabaseArgs

POSTGRESQL_PLUGIN = "postgresql-database-plugin"
VERIFY_FULL = "verify-full"
"""The only ``sslmode`` that verifies both the database's certificate chain and its host name (libpq docs)."""


def postgresql_connection_url(host: str, port: int | str, database_name: str, ssl_mode: str = VERIFY_FULL) -> str:
    """The templated connection URL: Vault substitutes the root username and password, never stored in it."""
    return f"postgresql://{{{{username}}}}:{{{{password}}}}@{host}:{port}/{database_name}?sslmode={ssl_mode}"


def rotate_root_data(root_password_version: int) -> str:
    """What the rotation endpoint writes: only the version, so a new version is a changed input and runs it again.

    ``rotate-root`` takes no body parameters; Vault ignores unknown ones with the warning "Endpoint ignored
    these unrecognized parameters" (sdk/framework/backend.go), so the version is harmless to Vault and
    is the input whose change makes the provider write the path again.
    """
    return json.dumps({"root_password_version": root_password_version}, sort_keys=True)


def root_rotation_statements() -> tuple[str, ...]:
    """What Vault runs to rotate the root password (``{{name}}`` is the root user, ``{{password}}`` the new one)."""
    return ("ALTER ROLE \"{{name}}\" WITH PASSWORD '{{password}}';",)


def creation_statements(db: str) -> tuple[str, ...]:
    """Least privilege for the app's dynamic users: log in until expiry, connect to database ``db``, use its tables."""
    return (
        "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}' "
        "NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;",
        f'GRANT CONNECT ON DATABASE "{db}" TO "{{{{name}}}}";',
        'GRANT USAGE ON SCHEMA public TO "{{name}}";',
        'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{{name}}";',
        'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "{{name}}";',
    )


def revocation_statements(db: str) -> tuple[str, ...]:
    """Take back every grant of :func:`creation_statements`, end the user's sessions and drop it."""
    return (
        'REVOKE ALL PRIVILEGES ON ALL SEQUENCES IN SCHEMA public FROM "{{name}}";',
        'REVOKE ALL PRIVILEGES ON ALL TABLES IN SCHEMA public FROM "{{name}}";',
        'REVOKE USAGE ON SCHEMA public FROM "{{name}}";',
        f'REVOKE CONNECT ON DATABASE "{db}" FROM "{{{{name}}}}";',
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{{name}}';",
        'DROP ROLE IF EXISTS "{{name}}";',
    )


def connection_url(database: AppDatabaseArgs, host: str, port: int | str) -> str:
    """The connection URL of ``database`` at an address (static or from the catalog)."""
    return postgresql_connection_url(host, port, database.database_name, database.ssl_mode.value)


def static_connection_url(database: AppDatabaseArgs) -> str | None:
    """The connection URL when the address is static (known during preview)."""
    if database.static_host is None:
        return None
    return connection_url(database, database.static_host, database.port)


def automated_rotation_inputs(database: AppDatabaseArgs) -> dict[str, Any]:
    """The connection's automated-rotation arguments (Vault Enterprise 1.19+), only those the settings give.

    Settings refuse them unless ``vault.enterprise`` is true: terraform-provider-vault sends them only to an
    Enterprise 1.19+ server and silently drops them otherwise (resource_database_secret_backend_connection.go).
    """
    given = {
        "rotation_period": database.rotation_period,
        "rotation_schedule": database.rotation_schedule,
        "rotation_window": database.rotation_window,
    }
    return {key: value for key, value in given.items() if value is not None}


class CatalogLookupError(ValueError):
    """The Consul catalog has no usable instance of a database's service."""


def pick_catalog_instance(service: str, instances: Sequence[Mapping[str, Any]]) -> tuple[str, int]:
    """Host and port of the instance to connect to: the first by node name and id, so the choice is stable.

    ``instances`` are the ``services`` of ``consul.get_service`` (``address``, ``port``, ``node_name``,
    ``id``). An empty service address means the node's address (Consul's own rule).
    """
    usable = [i for i in instances if (i.get("address") or i.get("node_address")) and str(i.get("port") or "0") != "0"]
    if not usable:
        raise CatalogLookupError(
            f"Consul service '{service}' has no instance with an address and port in the catalog; register the "
            "database in Consul (or use a static host) and run `pulumi up` again"
        )
    chosen = sorted(usable, key=lambda i: (str(i.get("node_name") or ""), str(i.get("id") or "")))[0]
    return str(chosen.get("address") or chosen.get("node_address")), int(str(chosen["port"]))


def root_credentials(app: str, credentials: Mapping[str, Any]) -> tuple[str, str]:
    """An app's ``(username, password)`` from the ``databaseRootCredentials`` object; errors never show values."""
    entry = credentials.get(app)
    if not isinstance(entry, Mapping):
        raise ValueError(f"databaseRootCredentials.{app}: missing; set {{username, password}} for app '{app}'")
    username, password = entry.get("username"), entry.get("password")
    for field, value in (("username", username), ("password", password)):
        if not isinstance(value, str) or not value:
            raise ValueError(f"databaseRootCredentials.{app}.{field}: must be a non-empty string")
    return str(username), str(password)
