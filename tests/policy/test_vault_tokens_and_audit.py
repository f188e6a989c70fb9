"""VLT-NO-DEFAULT-POLICY and VLT-AUDIT on the real resource shapes the program registers, and one change each."""

from __future__ import annotations

from typing import Any

import pytest
from secure_mesh_policy.tokens import NO_DEFAULT_POLICY_TYPES, TOKEN_NO_DEFAULT_POLICY_TYPES

from tests.policy.support import check, check_stack, parse_finding, subject
from tests.policy.test_stack_rules import drop, named, stack_subjects

ROLE = "vault:kubernetes/authBackendRole:AuthBackendRole"
AUDIT = "vault:index/audit:Audit"
TOKEN = "vault:index/token:Token"
AUDIT_DEVICE = "secure-mesh-audit-device"


def _roles(stack: str) -> list[Any]:
    return [s for s in stack_subjects(stack) if s.type == ROLE]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_registered_role_passes(stack: str) -> None:
    roles = _roles(stack)
    assert len(roles) >= 6
    for role in roles:
        assert check("vlt-no-default-policy", ROLE, role.props, name=role.name, stack=stack) == [], role.name


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"tokenNoDefaultPolicy": None}, "tokenNoDefaultPolicy = <unset>: every token it issues also gets"),
        ({"tokenNoDefaultPolicy": False}, "tokenNoDefaultPolicy = False"),
        ({"tokenPolicies": ["consul-eu-west-1-server", "default"]}, "lists the default policy explicitly"),
    ],
)
def test_a_registered_role_with_the_default_policy_is_caught(change: dict[str, Any], fragment: str) -> None:
    role = next(r for r in _roles("prod") if r.props["roleName"] == "consul-server")
    props = {k: v for k, v in {**role.props, **change}.items() if v is not None}
    messages = check("vlt-no-default-policy", ROLE, props, name=role.name, stack="prod")
    assert len(messages) == 1 and fragment in messages[0], messages
    assert f"'{role.name}'" in messages[0] and "Fix: " in messages[0]


def test_roles_of_every_auth_method_and_direct_tokens_are_covered() -> None:
    jwt_role = {"backend": "jwt", "roleName": "ci", "roleType": "jwt", "userClaim": "sub", "tokenPolicies": ["ci"]}
    assert check("vlt-no-default-policy", "vault:jwt/authBackendRole:AuthBackendRole", jwt_role)
    assert not check(
        "vlt-no-default-policy", "vault:jwt/authBackendRole:AuthBackendRole", {**jwt_role, "tokenNoDefaultPolicy": True}
    )
    token = {"policies": ["ci"], "ttl": "1h", "renewable": False}
    assert "noDefaultPolicy = <unset>" in check("vlt-no-default-policy", TOKEN, token)[0]
    assert not check("vlt-no-default-policy", TOKEN, {**token, "noDefaultPolicy": True})
    assert ROLE in TOKEN_NO_DEFAULT_POLICY_TYPES and TOKEN in NO_DEFAULT_POLICY_TYPES
    assert len(set(TOKEN_NO_DEFAULT_POLICY_TYPES)) == len(TOKEN_NO_DEFAULT_POLICY_TYPES) == 21


def test_the_flag_arriving_as_a_string_counts() -> None:
    role = next(r for r in _roles("prod") if r.props["roleName"] == "consul-server")
    assert not check("vlt-no-default-policy", ROLE, {**role.props, "tokenNoDefaultPolicy": "true"})
    assert check("vlt-no-default-policy", ROLE, {**role.props, "tokenNoDefaultPolicy": "false"})


# ---------------------------------------------------------------------------------------- audit


def _prod_device() -> dict[str, Any]:
    return dict(named(stack_subjects("prod"), AUDIT_DEVICE).props)


def test_the_registered_prod_audit_device_passes() -> None:
    assert check("vlt-audit", AUDIT, _prod_device(), stack="prod") == []


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"log_raw": "true"}, "options.log_raw = 'true': the log holds every secret in plain text"),
        ({"log_raw": True}, "options.log_raw = True"),
        ({"hmac_accessor": "false"}, "options.hmac_accessor = 'false': token accessors are logged in the clear"),
        ({"file_path": "discard"}, "options.file_path = 'discard': the device throws every entry away"),
    ],
)
def test_an_audit_device_that_leaks_or_discards_is_caught(options: dict[str, Any], fragment: str) -> None:
    device = _prod_device()
    device["options"] = {**device["options"], **options}
    messages = check("vlt-audit", AUDIT, device, name=AUDIT_DEVICE, stack="prod")
    assert len(messages) == 1 and fragment in messages[0], messages


def test_vaults_defaults_pass_when_options_are_left_out() -> None:
    assert check("vlt-audit", AUDIT, {"type": "syslog", "options": {}}) == []
    assert check("vlt-audit", AUDIT, {"type": "socket", "options": {"address": "logs:9090"}}) == []


def test_prod_stack_with_an_audit_device_passes_and_without_one_is_caught() -> None:
    prod = stack_subjects("prod")
    assert check_stack("vlt-audit-stack", prod) == []
    without = drop(prod, AUDIT_DEVICE)
    found = check_stack("vlt-audit-stack", without)
    assert [urn for _, urn in found] == [named(without, "secure-mesh-identities-kubernetes-auth").urn]
    assert "configures Vault but enables no audit device" in found[0][0]


def test_dev_may_go_without_unless_the_pack_requires_it_everywhere() -> None:
    dev = stack_subjects("dev")
    assert not [s for s in dev if s.type == AUDIT]
    assert check_stack("vlt-audit-stack", dev) == []
    assert len(check_stack("vlt-audit-stack", dev, {"requireAudit": "always"})) == 1
    assert check_stack("vlt-audit-stack", drop(stack_subjects("prod"), AUDIT_DEVICE), {"requireAudit": "never"}) == []
    assert len(check_stack("vlt-audit-stack", dev, {"environment": "prod"})) == 1


@pytest.mark.parametrize("options", [None, "file_path=discard", ["discard"]])
def test_a_device_whose_options_are_not_a_map_is_read_as_vaults_defaults(options: Any) -> None:
    """A careless registration (options unset or not a map) is read as no options, never a crash of the pack."""
    assert check("vlt-audit", AUDIT, {"type": "file", "options": options}, stack="prod") == []


def test_without_an_auth_mount_the_first_vault_resource_is_blamed() -> None:
    """The finding names the auth mount when there is one (above); otherwise the first Vault resource, in order."""
    mounts = [
        subject("vault:index/mount:Mount", name, {"path": name, "type": "kv"}, "prod") for name in ("kv-a", "kv-b")
    ]
    found = check_stack("vlt-audit-stack", mounts)
    assert [urn for _, urn in found] == [mounts[0].urn]
    assert [parse_finding(message).name for message, _ in found] == ["kv-a"]
    assert check_stack("vlt-audit-stack", [subject("kubernetes:core/v1:Namespace", "ns", {}, "prod")]) == []
