"""The DNS label rule, free of the settings models: settings and components (issue 15) check names with it."""

from __future__ import annotations

import re

LABEL_RE = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")

DNS_LABEL_HELP = "lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters"


def check_dns_label(value: str, max_length: int = 63) -> str:
    """Accept a single RFC 1123 label (a Kubernetes namespace, service account or Consul service name)."""
    if len(value) > max_length:
        raise ValueError(f"'{value}' is {len(value)} characters long; expected at most {max_length}")
    if not LABEL_RE.match(value):
        raise ValueError(f"'{value}' is not a DNS label; expected {DNS_LABEL_HELP}")
    return value
