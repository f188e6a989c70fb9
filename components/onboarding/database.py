"""Layer 3: dynamic database credentials as plain data: connection URL template, statements, TTLs.

Vault's database secrets engine holds one connection per app database and one role per app. The role's
creation statements create a short-lived login role that can only connect to the app's database and
use the tables of its ``public`` schema (no DDL, no other database, no superuser); revocation takes
those grants back and drops the role. The connection's root credentials are rotated by Vault right
after setup (``root_rotation_statements``), so the password given in config works exactly once.

The connection URL carries ``{{username}}``/``{{password}}`` templates that Vault fills from the
connection's own fields; the password is never part of the URL. The host and port are either static
settings or the address of a Consul catalog instance chosen by :func:`pick_catalog_instance`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..layout import Layout
from ..settings import AppSettings, duration_seconds
from ..settings.models import AppDatabaseSettings

POSTGRESQL_PLUGIN = "postgresql-database-plugin"
POSTGRESQL_SSL_MODE = "require"
"""TLS to the database is required; Vault's connection fails rather than falling back to plain text."""


def postgresql_connection_url(host: str, port: int | str, database_name: str) -> str:
    """The templated connection URL: Vault substitutes the root username and password, never stored in it."""
    return f"postgresql://{{{{username}}}}:{{{{password}}}}@{host}:{port}/{database_name}?sslmode={POSTGRESQL_SSL_MODE}"


def root_rotation_statements() -> tuple[str, ...]:
    """What Vault runs to rotate the root password (``{{name}}`` is the root user, ``{{password}}`` the new one)."""
    return ("ALTER ROLE \"{{name}}\" WITH PASSWORD '{{password}}';",)


def creation_statements(database: AppDatabaseSettings) -> tuple[str, ...]:
    """Least privilege for the app's dynamic users: log in until expiry, connect to its database, use its tables."""
    db = database.database_name
    return (
        "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}' "
        "NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;",
        f'GRANT CONNECT ON DATABASE "{db}" TO "{{{{name}}}}";',
        'GRANT USAGE ON SCHEMA public TO "{{name}}";',
        'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{{name}}";',
        'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "{{name}}";',
    )


def revocation_statements(database: AppDatabaseSettings) -> tuple[str, ...]:
    """Take back every grant of :func:`creation_statements`, end the user's sessions and drop it."""
    db = database.database_name
    return (
        'REVOKE ALL PRIVILEGES ON ALL SEQUENCES IN SCHEMA public FROM "{{name}}";',
        'REVOKE ALL PRIVILEGES ON ALL TABLES IN SCHEMA public FROM "{{name}}";',
        'REVOKE USAGE ON SCHEMA public FROM "{{name}}";',
        f'REVOKE CONNECT ON DATABASE "{db}" FROM "{{{{name}}}}";',
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{{name}}';",
        'DROP ROLE IF EXISTS "{{name}}";',
    )


@dataclass(frozen=True)
class DatabasePlan:
    """Everything Vault is told about one app's database, as plain values (the address aside)."""

    app: str
    connection_name: str
    role_name: str
    database_name: str
    allowed_roles: tuple[str, ...]
    verify_connection: bool
    root_rotation_statements: tuple[str, ...]
    creation_statements: tuple[str, ...]
    revocation_statements: tuple[str, ...]
    default_ttl: int
    max_ttl: int
    root_password_version: int
    static_host: str | None
    port: int
    consul_service: str | None
    """The Consul catalog service to resolve host and port from at deploy time (instead of ``static_host``)."""

    def static_connection_url(self) -> str | None:
        """The connection URL when the address is static (known during preview)."""
        if self.static_host is None:
            return None
        return postgresql_connection_url(self.static_host, self.port, self.database_name)


def database_plan(layout: Layout, app: AppSettings) -> DatabasePlan:
    """The connection and role of an app's database."""
    if app.database is None:
        raise ValueError(f"app '{app.name}' has no database")
    database = app.database
    names = layout.app(app)
    return DatabasePlan(
        app=app.name,
        connection_name=layout.database_connection(app),
        role_name=names.database_role,
        database_name=database.database_name,
        allowed_roles=(names.database_role,),
        verify_connection=True,
        root_rotation_statements=root_rotation_statements(),
        creation_statements=creation_statements(database),
        revocation_statements=revocation_statements(database),
        default_ttl=duration_seconds(database.credential_ttl),
        max_ttl=duration_seconds(database.credential_max_ttl),
        root_password_version=database.root_password_version,
        static_host=database.address.host,
        port=database.address.port,
        consul_service=database.address.consul_service,
    )


def database_plans(layout: Layout) -> tuple[DatabasePlan, ...]:
    """The plans of every app that declares a database, in settings order."""
    return tuple(database_plan(layout, app) for app in layout.settings.apps if app.database is not None)


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
