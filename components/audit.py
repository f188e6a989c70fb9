"""Vault's audit trail: the audit device this stack enables (``vault.audit``), on by default in prod.

Every request and response Vault serves is then written to the device, with every secret value (and, with
``hmac_accessor``, every token accessor) replaced by its HMAC-SHA256, so the log tells who did what without
holding what they read. ``log_raw`` is never set: a raw audit log is a copy of every secret. The device
types and options are Vault's (Vault docs, "Audit devices": file, socket, syslog; common options
``hmac_accessor``, ``log_raw``, ``format``). Audit devices are server-wide and need ``sudo`` on
``sys/audit/<path>`` (Vault API docs, ``/sys/audit``); once one is enabled, Vault refuses a request it
cannot audit, so the default ``file`` device writes to ``stdout`` (Vault's own log stream), which never
fills a disk.

Production stacks protect the device (deleting it silently ends the trail). The policy pack checks a
production stack has one and that none logs raw values or throws entries away (``VLT-AUDIT``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_vault as vault

from .layout import Layout
from .settings import Settings
from .settings.models import AuditDeviceType

DEFAULT_FILE_PATH = "stdout"
COMMON_OPTIONS = {"format": "json", "hmac_accessor": "true", "log_raw": "false"}
"""Options every device gets: JSON entries, accessors HMAC'd, never raw values."""


def audit_enabled(settings: Settings) -> bool:
    """Whether the stack enables an audit device: ``vault.audit.enabled``, else on in prod only."""
    enabled = settings.vault.audit.enabled
    return settings.is_production if enabled is None else enabled


def audit_options(settings: Settings) -> dict[str, str]:
    """The device's ``options`` exactly as Vault takes them (strings), for the configured type."""
    audit = settings.vault.audit
    options = dict(COMMON_OPTIONS)
    if audit.type is AuditDeviceType.FILE:
        options["file_path"] = audit.file_path or DEFAULT_FILE_PATH
    elif audit.type is AuditDeviceType.SOCKET:
        if audit.address is None:  # settings refuse it; kept for callers that build Settings by hand
            raise ValueError("vault.audit.address is required for a socket audit device")
        options["address"] = audit.address
        options["socket_type"] = audit.socket_type.value
    else:
        if audit.facility is not None:
            options["facility"] = audit.facility
        if audit.tag is not None:
            options["tag"] = audit.tag
    return options


def audit_device_args(settings: Settings, layout: Layout) -> dict[str, Any]:
    """The keyword arguments of ``vault.Audit`` for this stack's device."""
    return {
        "path": layout.audit_device_path,
        "type": settings.vault.audit.type.value,
        "description": f"secure-mesh audit trail (Consul datacenter {layout.datacenter})",
        "options": audit_options(settings),
    }


@dataclass(frozen=True)
class VaultAuditArgs:
    """Inputs of :class:`VaultAudit`."""

    settings: Settings
    layout: Layout


class VaultAudit(pulumi.ComponentResource):
    """The stack's Vault audit device (none when ``vault.audit`` leaves it off)."""

    device: vault.Audit | None
    path: str | None
    """The device's path under ``sys/audit``, or None when no device is enabled."""

    def __init__(self, name: str, args: VaultAuditArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("secure-mesh:audit:VaultAudit", name, None, opts)
        settings, layout = args.settings, args.layout
        self.device = None
        self.path = None
        if audit_enabled(settings):
            self.path = layout.audit_device_path
            self.device = vault.Audit(
                f"{name}-device",
                **audit_device_args(settings, layout),
                opts=pulumi.ResourceOptions(parent=self, protect=settings.is_production),
            )
        self.register_outputs({"path": self.path})
