"""The Vault audit device: on by default in prod with exactly these inputs, protected; off by default in dev."""

from __future__ import annotations

from typing import Any

import pytest

from secure_mesh.audit import VaultAuditArgs, audit_options
from secure_mesh.composition.vault import audit_args, audit_enabled
from tests.harness import ProgramRun, deep_merge, load_stack_config, run_program
from tests.identities.variants import layout_for, settings_for

AUDIT = "vault:index/audit:Audit"
COMPONENT = "secure-mesh:index:VaultAudit"


def _args(stack: str, override: dict[str, Any]) -> VaultAuditArgs:
    layout = layout_for(stack, override)
    return audit_args(layout.settings, layout)


def test_prod_enables_a_protected_file_audit_device_to_stdout(prod_run: ProgramRun) -> None:
    device = prod_run.one(AUDIT)
    assert device.inputs == {
        "path": "secure-mesh-eu-west-1",
        "type": "file",
        "description": "secure-mesh audit trail (Consul datacenter eu-west-1)",
        "options": {"file_path": "stdout", "format": "json", "hmac_accessor": "true", "log_raw": "false"},
    }
    assert device.protect, "deleting the prod audit device silently ends the trail"
    assert device.parent == prod_run.one(COMPONENT).urn
    assert "pulumi:providers:vault::" in device.provider


def test_dev_has_no_audit_device_unless_asked(dev_run: ProgramRun) -> None:
    assert dev_run.of_type(AUDIT) == []
    assert len(dev_run.of_type(COMPONENT)) == 1, "the component is there, empty"
    run = run_program(deep_merge(load_stack_config("dev"), {"vault": {"audit": {"enabled": True}}}))
    device = run.one(AUDIT)
    assert device.inputs["options"] == {
        "file_path": "stdout",
        "format": "json",
        "hmac_accessor": "true",
        "log_raw": "false",
    }
    assert not device.protect, "dev relaxes durability"


def test_prod_may_turn_it_off_explicitly() -> None:
    assert not audit_enabled(settings_for("prod", {"vault": {"audit": {"enabled": False}}}))
    assert audit_enabled(settings_for("prod"))
    assert not audit_enabled(settings_for("dev"))


@pytest.mark.parametrize(
    ("audit", "expected"),
    [
        ({"filePath": "/vault/audit/audit.log"}, {"file_path": "/vault/audit/audit.log"}),
        ({"type": "socket", "address": "logs.internal:9090"}, {"address": "logs.internal:9090", "socket_type": "tcp"}),
        (
            {"type": "socket", "address": "/run/audit.sock", "socketType": "unix"},
            {"address": "/run/audit.sock", "socket_type": "unix"},
        ),
        ({"type": "syslog"}, {}),
        ({"type": "syslog", "facility": "LOCAL0", "tag": "vault-prod"}, {"facility": "LOCAL0", "tag": "vault-prod"}),
    ],
)
def test_options_per_device_type(audit: dict[str, Any], expected: dict[str, str]) -> None:
    options = audit_options(_args("prod", {"vault": {"audit": audit}}))
    assert options == {"format": "json", "hmac_accessor": "true", "log_raw": "false", **expected}
