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


def test_the_settings_path_keeps_its_messages_with_the_shared_rules() -> None:
    """The settings check calls the same rule functions as MeshIntentions (secure_mesh.mesh.rules): every message
    and key path is what the settings reported before the rules were shared."""
    override = _mesh(
        {"source": "web", "destination": "api", "permissions": [{"pathExact": "/a", "pathPrefix": "/b"}, {}]},
        {"source": "api", "destination": "payments", "permissions": []},
        {"source": "api", "destination": "payments", "action": "allow"},
        {"source": "web", "destination": "web", "action": "allow"},
        {"source": "web", "destination": "cache", "action": "deny"},
        {"source": "web", "destination": "ledger", "permissions": [{"methods": ["GET", "GET"]}]},
        {"source": "payments", "destination": "api"},
    )
    with pytest.raises(SettingsError) as raised:
        stack_settings("dev", override)
    mesh = [(p.path, p.message) for p in raised.value.problems if p.path.startswith("mesh.")]
    assert mesh == [
        ("mesh.intentions[0].permissions[0]", "give at most one of pathExact and pathPrefix"),
        (
            "mesh.intentions[0].permissions[1]",
            "matches everything; give pathExact, pathPrefix or methods, or use action",
        ),
        ("mesh.intentions[1].permissions", "is empty; list at least one rule or use action"),
        ("mesh.intentions[2]", "a second rule for api → payments; merge them into one"),
        ("mesh.intentions[3].destination", "a service does not need an intention to reach itself"),
        (
            "mesh.intentions[4].destination",
            "'cache' is not a service in mesh.services; declared: api, ledger, payments, web",
        ),
        ("mesh.intentions[5].permissions", "L7 permissions need an http, http2 or grpc destination; 'ledger' is 'tcp'"),
        ("mesh.intentions[5].permissions[0].methods", "lists GET more than once; Consul refuses repeated methods"),
        ("mesh.intentions[6]", "give exactly one of 'action' (L4 allow/deny) or 'permissions' (L7 rules)"),
    ]
