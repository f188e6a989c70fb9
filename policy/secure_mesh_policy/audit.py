"""Vault's audit trail: production stacks enable an audit device, and no device logs raw values.

Vault writes every request and response to each enabled audit device, replacing secret values with
their HMAC-SHA256 unless ``log_raw`` is set; ``hmac_accessor`` (default true) does the same for token
accessors, and a ``file`` device with ``file_path=discard`` writes nothing (Vault docs, "Audit devices"
and "file audit device"). Options arrive as strings (``"true"``), as Vault's API takes them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from .framework import ENVIRONMENT_SETTING, Res, Setting, StackView, as_bool, is_production, resource_rule, stack_rule

Finding = tuple[str, str | None]

AUDIT = "vault:index/audit:Audit"
AUTH_BACKEND = "vault:index/authBackend:AuthBackend"

REQUIRE_AUDIT = Setting(
    "requireAudit",
    "string",
    "auto",
    "When a stack must enable a Vault audit device: 'auto' (production stacks, see environment), 'always', or "
    "'never' (the audit devices are managed outside this stack).",
)


def _options(res: Res) -> Mapping[str, Any]:
    options = res.get("options")
    return options if isinstance(options, Mapping) else {}


@resource_rule(
    "VLT-AUDIT",
    checks="No Vault audit device logs raw values (log_raw), leaves token accessors in the clear "
    "(hmac_accessor false) or discards its entries (file_path=discard).",
    why="Vault audit device docs: log_raw writes every secret in plain text to the log; hmac_accessor=false lets "
    "a log reader act on others' tokens; a discarding device is no trail at all.",
    fix="Leave log_raw unset or 'false', hmac_accessor 'true', and write to stdout, a file, a socket or syslog.",
    types=(AUDIT,),
)
def vlt_audit(res: Res, config: Mapping[str, Any]) -> Iterator[str]:
    """The audit device keeps secrets out of the log and keeps its entries."""
    options = _options(res)
    if as_bool(options.get("log_raw"), False):
        yield res.finding(
            "options.log_raw", options.get("log_raw"), "the log holds every secret in plain text", "remove log_raw"
        )
    if not as_bool(options.get("hmac_accessor"), True):
        yield res.finding(
            "options.hmac_accessor",
            options.get("hmac_accessor"),
            "token accessors are logged in the clear",
            "set hmac_accessor = 'true'",
        )
    if res.get("type") == "file" and str(options.get("file_path", "")).strip() == "discard":
        yield res.finding(
            "options.file_path", "discard", "the device throws every entry away", "write to 'stdout' or a file"
        )


@stack_rule(
    "VLT-AUDIT",
    part="stack",
    checks="A production stack that configures Vault enables at least one Vault audit device.",
    why="Issue 13 item 11: without an audit device nothing records who read which secret or issued which "
    "certificate; Vault docs: audit devices are the only record of requests.",
    fix="Enable vault.audit in the stack (on by default in prod), or set requireAudit = 'never' in the pack's "
    "config when the devices are managed elsewhere.",
    settings=(ENVIRONMENT_SETTING, REQUIRE_AUDIT),
)
def vlt_audit_stack(view: StackView, config: Mapping[str, Any]) -> Iterator[Finding]:
    """Production Vault configuration is audited."""
    mode = str(config.get("requireAudit") or "auto").lower()
    if mode == "never" or view.of(AUDIT):
        return
    vault = [r for r in view.resources if r.type.startswith("vault:")]
    if not vault:
        return
    # Blame the auth mount (the door the audited requests come through), else the first Vault resource.
    first = next((r for r in vault if r.type == AUTH_BACKEND), vault[0])
    if mode == "always" or is_production(config, first.urn):
        yield (
            first.finding(
                "audit",
                None,
                "the stack configures Vault but enables no audit device",
                "enable vault.audit (a file, socket or syslog device)",
            ),
            first.urn,
        )
