"""Canned outputs for the secrets and identities concern: random bytes, and the reviewer's token secret."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

REVIEWER_JWT = (
    "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6dmF1bHQtYXV0aDp2YXVsdC10b2tlbi1yZXZpZXdlciJ9.c2ln"
)
"""What the token controller would put in the reviewer's service-account-token secret (decoded)."""


def mock_random_bytes(name: str, length: int) -> bytes:
    """Deterministic 'random' bytes per resource name, as the real provider's state keeps them stable."""
    out = b""
    counter = 0
    while len(out) < length:
        out += hashlib.sha256(f"{name}:{counter}".encode()).digest()
        counter += 1
    return out[:length]


def _random_bytes(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    raw = mock_random_bytes(name, int(inputs["length"]))
    return {"base64": base64.b64encode(raw).decode(), "hex": raw.hex()}


def _secret(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    if inputs.get("type") != "kubernetes.io/service-account-token":
        return {}
    return {"data": {"token": base64.b64encode(REVIEWER_JWT.encode()).decode()}}


def _auth_backend(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """Vault names an auth mount's accessor ``auth_<type>_<8 hex>`` (vault ``vault/mount.go``,
    ``generateMountAccessor``); here the hex is derived from the resource name, so runs are repeatable."""
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return {"accessor": f"auth_{inputs.get('type', 'unknown')}_{digest}"}


OUTPUTS = {
    "vault:index/authBackend:AuthBackend": _auth_backend,
    "random:index/randomBytes:RandomBytes": _random_bytes,
    "kubernetes:core/v1:Secret": _secret,
}
