"""Vault's audit trail: one audit device, from plain Args (the composition maps ``vault.audit`` to them; on by
default in prod).

Every request and response Vault serves is then written to the device, with every secret value (and, with
``hmac_accessor``, every token accessor) replaced by its HMAC-SHA256, so the log tells who did what without
holding what they read. ``log_raw`` is never set: a raw audit log is a copy of every secret. The device
types and options are Vault's (Vault docs, "Audit devices": file, socket, syslog; common options
``hmac_accessor``, ``log_raw``, ``format``). Audit devices are server-wide and need ``sudo`` on
``sys/audit/<path>`` (Vault API docs, ``/sys/audit``); once one is enabled, Vault refuses a request it
cannot audit, so the default ``file`` device writes to ``stdout`` (Vault's own log stream), which never
fills a disk.

``format``, ``hmac_accessor`` and ``log_raw`` are fixed (:data:`COMMON_OPTIONS`), not Args: a caller cannot turn
the HMAC off. Production stacks protect the device (deleting it silently ends the trail). The policy pack checks a
production stack has one and that none logs raw values or throws entries away (``VLT-AUDIT``).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_vault as vault

from .args import coerce_args
from .vocabulary import AuditDeviceType, AuditSocketType

TYPE_TOKEN = "secure-mesh:index:VaultAudit"
OLD_TYPE_TOKEN = "secure-mesh:audit:VaultAudit"
"""The token before issue 15: an alias keeps deployed stacks' URNs."""
DEFAULT_FILE_PATH = "stdout"
COMMON_OPTIONS = {"format": "json", "hmac_accessor": "true", "log_raw": "false"}
"""Options every device gets: JSON entries, accessors HMAC'd, never raw values (not settable through the Args)."""


@dataclass(frozen=True)
class VaultAuditArgs:
    """Inputs of :class:`VaultAudit`: whether a device is enabled, where, of which type, and its type's options."""

    path: str
    """Where the device is enabled (``sys/audit/<path>``)."""
    description: str
    """The device's description in Vault."""
    enabled: bool = True
    """False registers the component with no device (a stack that keeps its audit trail elsewhere)."""
    type: AuditDeviceType = AuditDeviceType.FILE
    """``file``, ``socket`` or ``syslog`` (Vault docs, "Audit devices")."""
    file_path: str | None = None
    """Type ``file``: ``stdout`` (the default: Vault's own log stream) or an absolute path on the Vault server."""
    address: str | None = None
    """Type ``socket`` (required there): ``host:port``, or a socket path with ``socket_type`` ``unix``."""
    socket_type: AuditSocketType = AuditSocketType.TCP
    """Type ``socket``: ``tcp``, ``udp`` or ``unix``."""
    facility: str | None = None
    """Type ``syslog``: the facility (Vault's default ``AUTH``)."""
    tag: str | None = None
    """Type ``syslog``: the tag (Vault's default ``vault``)."""
    protect: bool = False
    """Protect the device (production: deleting it silently ends the trail)."""


def audit_options(args: VaultAuditArgs) -> dict[str, str]:
    """The device's ``options`` exactly as Vault takes them (strings): the common ones, then the type's own."""
    options = dict(COMMON_OPTIONS)
    if args.type is AuditDeviceType.FILE:
        options["file_path"] = args.file_path or DEFAULT_FILE_PATH
    elif args.type is AuditDeviceType.SOCKET:
        if args.address is None:  # settings refuse it earlier; a hand-written Args gets the same message
            raise ValueError("VaultAuditArgs.address is required for a socket audit device")
        options["address"] = args.address
        options["socket_type"] = args.socket_type.value
    else:
        if args.facility is not None:
            options["facility"] = args.facility
        if args.tag is not None:
            options["tag"] = args.tag
    return options


class VaultAudit(pulumi.ComponentResource):
    """The stack's Vault audit device (none when ``enabled`` is false)."""

    path: pulumi.Output[str]
    """The device's path under ``sys/audit``, from the device itself; empty when no device is enabled."""

    def __init__(self, name: str, args: VaultAuditArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args = coerce_args(VaultAuditArgs, args)
        aliases = pulumi.ResourceOptions(aliases=[pulumi.Alias(type_=OLD_TYPE_TOKEN)])
        super().__init__(TYPE_TOKEN, name, None, pulumi.ResourceOptions.merge(opts, aliases))
        self.device: vault.Audit | None = None
        if args.enabled:
            self.device = vault.Audit(
                f"{name}-device",
                path=args.path,
                type=args.type.value,
                description=args.description,
                options=audit_options(args),
                opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
            )
        self.path = self.device.path if self.device is not None else pulumi.Output.from_input("")
        self.register_outputs({"path": self.path})
