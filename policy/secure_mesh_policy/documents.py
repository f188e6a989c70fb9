"""Readers for the documents resources carry: Vault durations, Vault JSON policies, Helm values by key path.

Vault policy documents are parsed (JSON, Vault's own alternative to HCL) and matched with Vault's
path rules, never grepped; Helm values are walked by dotted key path with the pinned chart's defaults.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .framework import UNSET, as_list, is_seq
from .vaultpaths import Acl, Pattern

# ------------------------------------------------------------------------------------- durations

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def duration_seconds(value: Any) -> int | None:
    """A Vault duration (``72h``, ``1h30m``, ``8760h``, ``3600``, ``3600s``) in seconds; None if unset or unreadable."""
    if value is None or value is UNSET or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value)
    text = str(value).strip()
    if not text:
        return None
    if text.isdigit():
        return int(text)
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return int(sum(float(n) * _UNIT_SECONDS[u] for n, u in parts))


def human(seconds: int) -> str:
    """Seconds as the shortest Vault duration (``720h``, ``30m``)."""
    if seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    if seconds % 60 == 0:
        return f"{seconds // 60}m"
    return f"{seconds}s"


# -------------------------------------------------------------------------------------- helm values

CONSUL_CHART_DEFAULTS: dict[str, Any] = {
    "global.tls.enabled": False,
    "global.tls.verify": True,
    "global.tls.httpsOnly": True,
    "global.tls.enableAutoEncrypt": False,
    "global.acls.manageSystemACLs": False,
    "global.gossipEncryption.autoGenerate": False,
    "global.secretsBackend.vault.enabled": False,
    "global.secretsBackend.vault.connectCA.authMethodPath": "kubernetes",
    "connectInject.aclBindingRuleSelector": "serviceaccount.name!=default",
    "server.replicas": 1,
    "server.disruptionBudget.enabled": True,
    "server.snapshotAgent.enabled": False,
    "client.enabled": False,
}
"""The consul chart 2.0.3 defaults of every key the rules read (Helm applies them when a key is unset)."""


def value_at(values: Any, dotted: str) -> Any:
    """The Helm value at a dotted key path, or :data:`UNSET` when any part of the path is missing."""
    node = values
    for key in dotted.split("."):
        if not isinstance(node, Mapping) or not any(k == key for k in node):
            return UNSET
        node = node[key]
        if node is None:
            return UNSET
    return node


def effective(values: Any, dotted: str) -> Any:
    """The value Helm will use: the given one, else the pinned chart's default (or :data:`UNSET`)."""
    given = value_at(values, dotted)
    return CONSUL_CHART_DEFAULTS.get(dotted, UNSET) if given is UNSET else given


def walk(values: Any, prefix: str = "") -> Iterable[tuple[str, Any]]:
    """Every scalar in a values tree with its dotted key path (list items as ``key[i]``)."""
    if isinstance(values, Mapping):
        for key in values:
            yield from walk(values[key], f"{prefix}.{key}" if prefix else str(key))
    elif is_seq(values):
        for index, item in enumerate(as_list(values)):
            yield from walk(item, f"{prefix}[{index}]")
    else:
        yield prefix, values


def parse_json_text(text: Any) -> tuple[Any, str | None]:
    """A JSON document held in a string value (``extraConfig``, ``additionalConfig``): (data, error)."""
    if text is UNSET or text is None:
        return {}, None
    if isinstance(text, Mapping):
        return text, None
    try:
        return json.loads(str(text)), None
    except json.JSONDecodeError as error:
        return None, f"not valid JSON ({error.msg} at line {error.lineno} column {error.colno})"


def find_keys(data: Any, names: Iterable[str]) -> list[tuple[str, Any]]:
    """Every (key, value) anywhere in a JSON-like tree whose key is one of ``names`` (case-insensitive)."""
    wanted = {n.lower() for n in names}
    found: list[tuple[str, Any]] = []
    if isinstance(data, Mapping):
        for key in data:
            value = data[key]
            if str(key).lower() in wanted:
                found.append((str(key), value))
            found.extend(find_keys(value, names))
    elif is_seq(data):
        for item in as_list(data):
            found.extend(find_keys(item, names))
    return found


# ------------------------------------------------------------------------------------ vault policies

CAPABILITIES = frozenset(
    {"create", "read", "update", "patch", "delete", "list", "sudo", "deny", "subscribe", "recover"}
)
REACH = frozenset({"create", "read", "update", "patch", "list", "delete", "sudo", "subscribe", "recover"})
"""Capabilities that let an identity touch a path at all (everything but ``deny``)."""


@dataclass(frozen=True)
class VaultPolicy:
    """A parsed Vault policy: path pattern → capabilities (``error`` when the document is unreadable)."""

    name: str
    rules: Mapping[str, frozenset[str]]
    error: str | None = None


def parse_policy(name: str, text: Any) -> VaultPolicy:
    """Parse a Vault policy in JSON syntax: ``{"path": {"<pattern>": {"capabilities": [...]}}}``."""
    if not isinstance(text, str) or not text.strip():
        return VaultPolicy(name, {}, "the policy document is empty or not a string")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        return VaultPolicy(name, {}, f"not a JSON policy ({error.msg}); write policies in Vault's JSON syntax")
    if not isinstance(document, dict) or not isinstance(document.get("path"), dict | list):
        return VaultPolicy(name, {}, 'expected a JSON object with a "path" object')
    entries: list[tuple[str, Any]] = []
    paths = document["path"]
    if isinstance(paths, dict):
        entries = list(paths.items())
    else:
        for item in paths:
            if not isinstance(item, dict):
                return VaultPolicy(name, {}, '"path" list items must be objects')
            entries.extend(item.items())
    rules: dict[str, set[str]] = {}
    for pattern, body in entries:
        if isinstance(body, list) and len(body) == 1:
            body = body[0]
        if not isinstance(body, dict) or not isinstance(body.get("capabilities"), list):
            return VaultPolicy(name, {}, f'path "{pattern}" has no "capabilities" list')
        rules.setdefault(str(pattern), set()).update(str(c) for c in body["capabilities"])
    return VaultPolicy(name, {p: frozenset(c) for p, c in rules.items()})


def is_glob(pattern: str) -> bool:
    """Whether a policy path uses Vault's ``*`` (trailing prefix) or ``+`` (one segment) wildcards."""
    return pattern.endswith("*") or "+" in pattern.split("/")


def literal_prefix(pattern: str) -> str:
    """The part of a pattern before its first wildcard (the whole pattern when it has none)."""
    cut = len(pattern)
    if pattern.endswith("*"):
        cut = len(pattern) - 1
    segments = pattern.split("/")
    offset = 0
    for segment in segments:
        if segment == "+":
            cut = min(cut, offset)
            break
        offset += len(segment) + 1
    return pattern[:cut]


def matches(pattern: str, path: str) -> bool:
    """Vault's path matching (see :mod:`.vaultpaths`): exact, ``+`` for one segment, a trailing ``*`` prefix."""
    return Pattern.parse(pattern).matches(path)


def merge(policies: Iterable[VaultPolicy]) -> dict[str, frozenset[str]]:
    """Several policies as one ACL, as Vault merges the policies of a token (same pattern: union; deny wins)."""
    merged: dict[str, set[str]] = {}
    for policy in policies:
        for pattern, capabilities in policy.rules.items():
            caps = merged.setdefault(pattern.lstrip("/"), set())
            if "deny" in caps:
                continue
            if "deny" in capabilities:
                caps.clear()
                caps.add("deny")
            else:
                caps.update(capabilities)
    return {p: frozenset(c) for p, c in merged.items()}


def acl_of(policies: Iterable[VaultPolicy]) -> Acl:
    """The merged ACL of a token carrying these policies, matched exactly as Vault does."""
    return Acl.of((p.name, p.rules) for p in policies)


def capabilities_on(acl: Mapping[str, frozenset[str]], path: str) -> frozenset[str]:
    """The capabilities a merged ACL grants on a request path (the deciding rule; ``deny`` means none)."""
    return Acl.of([("acl", acl)]).capabilities(path)


def names(values: Any) -> list[str]:
    """A list property as strings."""
    return [str(v) for v in as_list(values)]
