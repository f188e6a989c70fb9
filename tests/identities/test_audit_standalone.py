"""VaultAudit alone: built from hand-written Args under mocks (no settings, no layout, no stack file).

Whole inputs of the device per type (the secure options are not settable: never raw, accessors HMAC'd), its
protection, the output, a socket device without an address refused before anything is registered, and the wire
(dict) form building exactly the same resources.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from pulumi.runtime.sync_await import _sync_await

from secure_mesh.audit import VaultAudit, VaultAuditArgs
from secure_mesh.vocabulary import AuditDeviceType, AuditSocketType
from tests.consul.helpers import recorded_shape, run_alone, to_wire
from tests.harness import ProgramRun

ARGS = VaultAuditArgs(
    path="lab-audit",
    description="the lab's audit trail",
    type=AuditDeviceType.SOCKET,
    address="logs.lab:9090",
    socket_type=AuditSocketType.UDP,
    protect=True,
)
SECURE = {"format": "json", "hmac_accessor": "true", "log_raw": "false"}


def _build(args: Any) -> tuple[ProgramRun, VaultAudit]:
    built: list[VaultAudit] = []
    return run_alone(lambda: built.append(VaultAudit("lab-audit", args))), built[0]


def _device(run: ProgramRun) -> dict[str, Any]:
    (device,) = [r for r in run.resources if r.custom]
    assert device.name == "lab-audit-device" and device.parent == run.one("secure-mesh:index:VaultAudit").urn
    return device.inputs


@pytest.mark.parametrize(
    ("change", "options"),
    [
        ({}, {"address": "logs.lab:9090", "socket_type": "udp"}),
        ({"type": AuditDeviceType.FILE, "address": None}, {"file_path": "stdout"}),
        ({"type": AuditDeviceType.FILE, "file_path": "/vault/audit/lab.log"}, {"file_path": "/vault/audit/lab.log"}),
        ({"type": AuditDeviceType.SYSLOG, "facility": "LOCAL3", "tag": "lab"}, {"facility": "LOCAL3", "tag": "lab"}),
        ({"type": AuditDeviceType.SYSLOG}, {}),
    ],
)
def test_the_device_whole_inputs_per_type(change: dict[str, Any], options: dict[str, str]) -> None:
    args = replace(ARGS, **change)
    run, audit = _build(args)
    assert _device(run) == {
        "path": "lab-audit",
        "type": args.type.value,
        "description": "the lab's audit trail",
        "options": {**SECURE, **options},
    }
    assert [r.protect for r in run.resources if r.custom] == [True]
    assert _sync_await(audit.path.future()) == "lab-audit"


def test_disabled_registers_only_the_component_and_an_empty_path() -> None:
    run, audit = _build(replace(ARGS, enabled=False))
    assert [r.type for r in run.resources] == ["secure-mesh:index:VaultAudit"]
    assert _sync_await(audit.path.future()) == ""


def test_a_socket_device_needs_an_address() -> None:
    with pytest.raises(ValueError, match=r"VaultAuditArgs\.address is required for a socket audit device"):
        _build(replace(ARGS, address=None))


def test_the_wire_form_builds_the_same_resources() -> None:
    run, _ = _build(ARGS)
    wire = to_wire(ARGS)
    assert wire["type"] == "socket" and wire["socket_type"] == "udp"
    wire_run, _ = _build(wire)
    assert recorded_shape(wire_run) == recorded_shape(run)
