"""Layer 3: what Consul's KV-v2 secrets contain, and how the KV mount is tuned, as plain Python.

Values are formatted exactly as the chart and Consul read them (contract §5): the gossip key is the
base64 of 32 random bytes; tokens are lowercase UUIDs under field ``token``; the license is text; the
snapshot agent config is one JSON document as a string. Every secret is a JSON object with a single
field (the layout's ``KV_FIELDS`` names it for this stack). No settings or layout here: the component imports it.
"""

from __future__ import annotations

import json
import uuid

GOSSIP_KEY_BYTES = 32
"""What ``consul keygen`` generates: 32 bytes (AES-256), base64-encoded."""
UUID_BYTES = 16

KV_MAX_VERSIONS = 10
"""Versions kept per secret (KV-VERSIONS: at least 5): a bad write can be rolled back."""
KV_DELETE_VERSION_AFTER = 0
"""Infrastructure secrets never expire on their own."""
KV_CAS_REQUIRED = False
"""Check-and-set stays optional: the chart's server-acl-init writes the bootstrap token back without a
``cas`` parameter, so a mount-wide ``cas_required`` would reject that write and break automatic ACL
bootstrap. The program itself never rewrites a secret with a new value (generated values are stable)."""

EMPTY_TOKEN = ""
"""The stored bootstrap token for automatic bootstrap: server-acl-init sees it empty and writes the real one."""


def kv_data(field: str, value: str) -> str:
    """The ``data_json`` of one KV secret: a JSON object with the secret's field, as the chart reads it."""
    return json.dumps({field: value}, sort_keys=True)


def uuid_from_random_hex(random_hex: str) -> str:
    """A lowercase RFC 4122 version-4 UUID from 16 random bytes given as hex (version and variant bits set).

    Consul takes any UUID as a token SecretID; formatting random bytes (a secret output) rather than
    using a UUID resource keeps the value out of resource ids, which are never secret.
    """
    raw = bytes.fromhex(random_hex)
    if len(raw) != UUID_BYTES:
        raise ValueError(f"expected {UUID_BYTES} random bytes, got {len(raw)}")
    return str(uuid.UUID(bytes=raw, version=4))


def snapshot_agent_config(interval: str, retain: int) -> str:
    """The snapshot agent's JSON config (the sidecar of the servers reads it from Vault as one string).

    Only the schedule and retention come from the stack; the chart supplies the agent's address, TLS and
    ACL login itself. Snapshots go to the agent's local path unless a storage block is added later.
    """
    document = {"snapshot_agent": {"snapshot": {"interval": interval, "retain": retain}}}
    return json.dumps(document, sort_keys=True)
