"""A stub ``vault`` CLI for ``vault write <path> k=v ...`` that refuses what Vault refuses, in Vault's words.

Order of checks, as in Vault: the token (none or unknown → 403 ``permission denied``), then the ACL of the
watcher's *rendered policy* (the capability a write needs is ``update`` on an existing connection and
``create`` on a missing one, because the config path has an existence check: vault
``builtin/logical/database/path_config_connection.go``; every parameter must be in ``allowed_parameters``
and its value must match one of the listed values, which may start and/or end with ``*``: vault
``vault/acl.go`` ``valueInParameterList`` → ``strutil.GlobbedStringsMatch``), then the database backend:
an update merges the given fields into the stored connection (``path_config_connection_ce.go``), an
empty ``connection_url`` is refused (``connection_url cannot be empty``, 400), and with
``verify_connection`` an address that does not accept a connection is refused (400) and nothing is stored.

The CLI prints errors as ``vault write`` does (``command/write.go``: ``Error writing data to <path>:
Error making API request.`` … ``Code: <n>. Errors:`` … ``* <error>``) and exits 2 for a refused request,
1 for a malformed ``k=v`` argument; success prints ``Success! Data written to: <path>`` and exits 0.
"""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path
from typing import Any

STUB = r"""
import json, os, sys
from urllib.parse import urlsplit

CONFIG = json.loads(open(os.environ["VAULT_STUB_CONFIG"]).read())
STATE_FILE = os.environ["VAULT_STUB_STATE"]
state = json.loads(open(STATE_FILE).read())
addr = os.environ.get("VAULT_ADDR", "https://127.0.0.1:8200")


def refuse(code, error, path):
    sys.stderr.write(
        f"Error writing data to {path}: Error making API request.\n\nURL: PUT {addr}/v1/{path}\n"
        f"Code: {code}. Errors:\n\n* {error}\n"
    )
    state["refused"].append({"path": path, "code": code, "error": error})
    open(STATE_FILE, "w").write(json.dumps(state))
    sys.exit(2)


def globbed(item, value):
    if item == "*":
        return True
    if len(item) > 1 and item.startswith("*") and item.endswith("*"):
        return item[1:-1] in value
    if item.startswith("*"):
        return value.endswith(item[1:])
    if item.endswith("*"):
        return value.startswith(item[:-1])
    return item == value


args = sys.argv[1:]
if len(args) < 2 or args[0] != "write":
    sys.stderr.write("stub: only `vault write <path> k=v...` is implemented\n")
    sys.exit(1)
path, pairs = args[1], args[2:]
params = {}
for pair in pairs:
    if "=" not in pair:
        sys.stderr.write(f'Failed to parse K=V data: invalid key/value pair "{pair}"\n')
        sys.exit(1)
    key, value = pair.split("=", 1)
    params[key] = value

token = os.environ.get("VAULT_TOKEN", "")
if not token or token not in CONFIG["tokens"]:
    refuse(403, "permission denied", path)
policy = CONFIG["tokens"][token]["path"]
connections = state["connections"]
needed = "update" if path in connections else "create"
rule = policy.get(path)
if rule is None or needed not in rule["capabilities"]:
    refuse(403, "permission denied", path)
allowed = rule.get("allowed_parameters")
if allowed:
    for key, value in params.items():
        if key not in allowed:
            refuse(403, "permission denied", path)
        if allowed[key] and not any(globbed(item, value) for item in allowed[key]):
            refuse(403, "permission denied", path)

connection = connections[path]
details = {**connection["connection_details"], **params}
if not details.get("connection_url"):
    refuse(400, "error creating database object: connection_url cannot be empty", path)
if connection["verify_connection"]:
    host = urlsplit(details["connection_url"].replace("{{username}}:{{password}}@", "u:p@")).hostname
    if host in CONFIG["unreachable"]:
        refuse(
            400,
            f"error creating database object: error verifying connection: failed to connect to `host={host}`: "
            "dial error (dial tcp: connect: connection refused)",
            path,
        )
connection["connection_details"] = details
state["writes"].append({"path": path, "params": params})
open(STATE_FILE, "w").write(json.dumps(state))
print(f"Success! Data written to: {path}")
"""


def install(directory: Path, tokens: dict[str, str], unreachable: tuple[str, ...] = ()) -> Path:
    """Write ``vault`` into ``directory``; ``tokens`` maps a token to the JSON policy text it carries."""
    config = {"tokens": {t: json.loads(text) for t, text in tokens.items()}, "unreachable": list(unreachable)}
    (directory / "vault-stub-config.json").write_text(json.dumps(config))
    script = directory / "vault"
    script.write_text(f"#!{sys.executable}\n{STUB}")
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return directory / "vault-stub-config.json"


def initial_state(path: str, connection_url: str) -> dict[str, Any]:
    """Vault's stored connection as the program created it (the root password already rotated by Vault)."""
    return {
        "connections": {
            path: {
                "plugin_name": "postgresql-database-plugin",
                "allowed_roles": ["app-orders"],
                "verify_connection": True,
                "root_credentials_rotate_statements": ["ALTER ROLE \"{{name}}\" WITH PASSWORD '{{password}}';"],
                "connection_details": {
                    "connection_url": connection_url,
                    "username": "vault-root",
                    "password": "rotated-by-vault",
                },
            }
        },
        "writes": [],
        "refused": [],
    }
