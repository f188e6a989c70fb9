"""Vault database secrets engine: root credentials Vault has rotated, and TLS to the database that Vault verifies.

``DB-ROOT-ROTATION`` (stack): ``root_rotation_statements`` only tell Vault *how* to rotate; a connection's
root password is rotated only when something writes ``<mount>/rotate-root/<name>`` (Vault API,
"Rotate root credentials"). Every connection must have a ``vault.generic.Endpoint`` on exactly that path,
in the same namespace, that depends on the connection (so it runs after the connection is written).

``DB-TLS`` (resource, production): the PostgreSQL connection URL sets ``sslmode=verify-full`` exactly once
(libpq/pgx default ``prefer`` falls back to plain text; ``require`` does not check the certificate;
``verify-ca`` does not check the host name) and the connection carries the database's CA in ``tls_ca``.
A connection of any other plugin block cannot be checked by this pack and is reported in production
rather than passed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from . import types as t
from .framework import ENVIRONMENT_SETTING, UNSET, Res, StackView, is_production, norm_path, resource_rule, stack_rule

Finding = tuple[str, str | None]

VERIFY_FULL = "verify-full"
PLUGIN_BLOCKS = (
    "cassandra",
    "couchbase",
    "elasticsearch",
    "hana",
    "influxdb",
    "mongodb",
    "mongodbatlas",
    "mssql",
    "mysql",
    "mysqlAurora",
    "mysqlLegacy",
    "mysqlRds",
    "oracle",
    "postgresql",
    "redis",
    "redisElasticache",
    "redshift",
    "snowflake",
)
"""The plugin blocks of ``vault.database.SecretBackendConnection`` in pulumi-vault 7.14 (camelCase engine names)."""

_DSN_SSLMODE = re.compile(r"(?:^|\s)sslmode\s*=\s*(?:'([^']*)'|(\S*))")


def sslmodes(connection_url: str) -> list[str]:
    """Every ``sslmode`` a PostgreSQL connection string sets, URL or keyword/value form, in order."""
    text = connection_url.strip()
    if text.startswith(("postgres://", "postgresql://")):
        return [value for key, value in parse_qsl(urlsplit(text).query, keep_blank_values=True) if key == "sslmode"]
    return [quoted or bare for quoted, bare in _DSN_SSLMODE.findall(text)]


def rotate_root_path(connection: Res) -> str:
    """The Vault path that rotates a connection's root password: ``<backend>/rotate-root/<name>``."""
    return f"{norm_path(connection.get('backend'))}/rotate-root/{norm_path(connection.get('name'))}"


def _namespace(res: Res) -> str:
    return norm_path(res.get("namespace") or "")


@stack_rule(
    "DB-ROOT-ROTATION",
    checks="Every Vault database connection has a vault.generic.Endpoint that writes <backend>/rotate-root/<name> "
    "(in the connection's namespace) and depends on the connection, so Vault rotates the root password right "
    "after the connection is written.",
    why="Vault database secrets engine API, 'Rotate root credentials': root_rotation_statements only say how to "
    "rotate; until rotate-root is called, the password from config (and state history) still works.",
    fix="Register a vault.generic.Endpoint(path='<backend>/rotate-root/<name>', disable_read=True, "
    "disable_delete=True, data_json=<the root password version>) with depends_on=[connection].",
)
def db_root_rotation(view: StackView, config: Mapping[str, Any]) -> Iterator[Finding]:
    """Each connection's root password is rotated by Vault once it is configured."""
    endpoints = view.of(t.GENERIC_ENDPOINT)
    for connection in view.of(t.DB_CONNECTION):
        path, namespace = rotate_root_path(connection), _namespace(connection)
        matching = [e for e in endpoints if norm_path(e.get("path")) == path and _namespace(e) == namespace]
        if not matching:
            yield (
                connection.finding(
                    "name",
                    connection.get("name"),
                    f"no vault.generic.Endpoint writes {path!r}"
                    + (f" in namespace {namespace!r}" if namespace else "")
                    + ", so Vault never rotates this connection's root password",
                    f"add a generic Endpoint on {path!r} that depends on this connection",
                ),
                connection.urn,
            )
            continue
        if not any(connection.urn in e.dependencies for e in matching):
            for endpoint in matching:
                yield (
                    endpoint.finding(
                        "dependsOn",
                        [str(d) for d in endpoint.dependencies],
                        f"does not depend on the connection {connection.name!r}, so it may run before the "
                        "connection exists (Vault: unknown connection) or before a new root password is written",
                        "pass depends_on=[connection]",
                    ),
                    endpoint.urn,
                )


@resource_rule(
    "DB-TLS",
    checks="In production, a Vault database connection verifies the database's TLS certificate and host name: the "
    "PostgreSQL URL sets sslmode=verify-full exactly once and tls_ca holds the database's CA; a connection of any "
    "other plugin is reported, because this pack cannot check its TLS.",
    why="libpq sslmode docs: prefer/allow fall back to plain text, require skips certificate checks, verify-ca "
    "skips the host name; Vault's PostgreSQL plugin takes the CA as tls_ca (Vault 1.18+, hashicorp/vault#28024).",
    fix="Use postgresql://{{username}}:{{password}}@<host>:<port>/<db>?sslmode=verify-full and set "
    "postgresql.tls_ca to the database CA's PEM (apps[].database.tls.caCertPem).",
    types=(t.DB_CONNECTION,),
    settings=(ENVIRONMENT_SETTING,),
)
def db_tls(res: Res, config: Mapping[str, Any]) -> Iterator[str]:
    """Vault talks to the database over TLS it verifies."""
    if not is_production(config, res.urn):
        return
    for block in PLUGIN_BLOCKS:
        if block != "postgresql" and res.get(block) is not None:
            yield res.finding(
                block,
                "{...}",
                f"the pack cannot verify the TLS settings of a {block} connection in production",
                "use the postgresql plugin (the program's only engine), or teach this rule the plugin's TLS fields",
            )
    postgresql = res.get("postgresql")
    if not isinstance(postgresql, Mapping):
        return
    ca = postgresql["tlsCa"] if any(k == "tlsCa" for k in postgresql) else None
    if not ca or "BEGIN CERTIFICATE" not in str(ca):
        yield res.finding(
            "postgresql.tlsCa",
            ca if ca else UNSET,
            "no database CA: Vault verifies the certificate against its own system trust store, if at all",
            "set postgresql.tls_ca to the PEM of the CA that signed the database's certificate",
        )
    url = postgresql["connectionUrl"] if any(k == "connectionUrl" for k in postgresql) else None
    modes = sslmodes(str(url or ""))
    if modes == [VERIFY_FULL]:
        return
    if not modes:
        problem = "no sslmode: the driver's default 'prefer' falls back to plain text"
    elif len(modes) > 1:
        problem = f"sslmode is given {len(modes)} times ({', '.join(modes)}); which one applies depends on the parser"
    else:
        problem = f"sslmode={modes[0]} does not verify both the database's certificate and its host name"
    yield res.finding("postgresql.connectionUrl", url, problem, "set exactly one sslmode=verify-full")
