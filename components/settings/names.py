"""Name types that settings accept: Kubernetes/DNS labels, DNS names and Vault path prefixes."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

from ..naming import DNS_LABEL_HELP as DNS_LABEL_HELP  # re-exported: the label rule lives outside the settings
from ..naming import LABEL_RE
from ..naming import check_dns_label as check_dns_label

_VAULT_SEGMENT_RE = re.compile(r"^[a-z0-9]([a-z0-9_-]*[a-z0-9])?$")

DNS_NAME_HELP = "a DNS name of dot-separated labels (lowercase letters, digits, '-'), at most 253 characters"
VAULT_PREFIX_HELP = (
    "one or more '/'-separated segments of lowercase letters, digits, '-' and '_', "
    "without leading or trailing '/', at most 64 characters"
)


def check_dns_name(value: str) -> str:
    """Accept a DNS name such as ``consul`` or ``api.example.com`` (no wildcard, no trailing dot)."""
    if len(value) > 253:
        raise ValueError(f"'{value[:40]}…' is {len(value)} characters long; expected at most 253")
    labels = value.split(".")
    if not value or any(not LABEL_RE.match(label) or len(label) > 63 for label in labels):
        raise ValueError(f"'{value}' is not a DNS name; expected {DNS_NAME_HELP}")
    return value


def check_vault_prefix(value: str) -> str:
    """Accept a Vault mount path prefix such as ``consul`` or ``platform/consul``."""
    if len(value) > 64 or not value or any(not _VAULT_SEGMENT_RE.match(s) for s in value.split("/")):
        raise ValueError(f"'{value}' is not a Vault path prefix; expected {VAULT_PREFIX_HELP}")
    return value


DnsLabel = Annotated[str, AfterValidator(check_dns_label)]
DnsName = Annotated[str, AfterValidator(check_dns_name)]
VaultPrefix = Annotated[str, AfterValidator(check_vault_prefix)]
