"""Durations as Vault and Consul write them (``72h``, ``30m``, ``1h30m``), and their length in seconds."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600}
_DURATION_RE = re.compile(r"^(?:\d+[smh])+$")
_PART_RE = re.compile(r"(\d+)([smh])")

DURATION_HELP = "a positive duration such as '30m', '72h' or '8760h' (units s, m, h)"


def duration_seconds(text: str) -> int:
    """Return the length of a Vault-style duration in seconds; raise ValueError if it is not one."""
    if not isinstance(text, str) or not _DURATION_RE.match(text):
        raise ValueError(f"expected {DURATION_HELP}")
    total = sum(int(number) * _UNIT_SECONDS[unit] for number, unit in _PART_RE.findall(text))
    if total <= 0:
        raise ValueError(f"expected {DURATION_HELP}; zero is not allowed")
    return total


def _validate(text: str) -> str:
    duration_seconds(text)
    return text


Duration = Annotated[str, AfterValidator(_validate)]
"""A settings field holding a positive Vault-style duration string."""


def format_duration(seconds: int) -> str:
    """Write a length in seconds the way Vault and Consul do (``216h``, ``1h30m``, ``45s``)."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "") + (f"{secs}s" if secs else "")
    return text or "0s"
