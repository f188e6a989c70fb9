"""Invalid intention graphs fail in settings, before any resource, with errors naming the key."""

from __future__ import annotations

import pytest

from secure_mesh.settings import SettingsError
from tests.consul.helpers import stack_settings

SERVICES = [
    {"name": "web", "protocol": "http"},
    {"name": "api", "protocol": "http"},
    {"name": "payments", "protocol": "grpc"},
    {"name": "ledger", "protocol": "tcp"},
]


def _mesh(*intentions: dict) -> dict:
    return {"mesh": {"services": SERVICES, "intentions": list(intentions)}}


CASES = {
    "wildcard source": (
        _mesh({"source": "*", "destination": "api", "action": "allow"}),
        "mesh.intentions[0].source",
        "the single '*' → '*' deny is built in",
    ),
    "wildcard destination": (
        _mesh({"source": "web", "destination": "*", "action": "allow"}),
        "mesh.intentions[0].destination",
        "'*' is not allowed",
    ),
    "L7 on tcp": (
        _mesh({"source": "web", "destination": "ledger", "permissions": [{"pathPrefix": "/"}]}),
        "mesh.intentions[0].permissions",
        "L7 permissions need an http, http2 or grpc destination; 'ledger' is 'tcp'",
    ),
    "action and permissions": (
        _mesh({"source": "web", "destination": "api", "action": "allow", "permissions": [{"pathPrefix": "/"}]}),
        "mesh.intentions[0]",
        "give exactly one of 'action' (L4 allow/deny) or 'permissions' (L7 rules)",
    ),
    "unknown service": (
        _mesh({"source": "web", "destination": "cache", "action": "allow"}),
        "mesh.intentions[0].destination",
        "'cache' is not a service in mesh.services",
    ),
    "upstream contradicting a deny": (
        _mesh({"source": "web", "destination": "api", "action": "deny"}),
        "apps[0].upstreams[0]",
        "contradicts the deny intention web → api",
    ),
    "two rules for one pair": (
        _mesh(
            {"source": "api", "destination": "payments", "action": "allow"},
            {"source": "api", "destination": "payments", "action": "deny"},
        ),
        "mesh.intentions[1]",
        "a second rule for api → payments",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_invalid_mesh_settings_name_the_key(case: str) -> None:
    override, path, phrase = CASES[case]
    with pytest.raises(SettingsError) as raised:
        stack_settings("dev", override)
    matching = [p for p in raised.value.problems if p.path == path]
    assert matching, f"{case}: no problem at {path}; got {[str(p) for p in raised.value.problems]}"
    assert any(phrase in p.message for p in matching), f"{case}: {[str(p) for p in matching]}"
