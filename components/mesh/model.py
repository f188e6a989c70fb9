"""The intention graph's plain data types, free of the settings models: what :class:`MeshIntentions` takes.

:mod:`.graph` builds these from settings (the composition calls it); :mod:`.render` turns them into config
entries and custom resources; :class:`~secure_mesh.mesh.component.MeshIntentionsArgs` carries them, so they are
``...Args``-shaped frozen dataclasses (field types Pulumi's analyzer can put in a schema, docstrings per field).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..vocabulary import IntentionAction

WILDCARD = "*"
"""Consul's wildcard service name: the ``*`` destination holds the one default deny."""


@dataclass(frozen=True)
class HttpMatch:
    """One L7 allow rule: a path match (exact or prefix) and optional methods."""

    path_exact: str | None = None
    """The exact request path this rule allows (``pathExact``)."""
    path_prefix: str | None = None
    """The request path prefix this rule allows (``pathPrefix``)."""
    methods: Sequence[str] = ()
    """The HTTP methods allowed; empty allows any method."""

    def describe(self) -> str:
        """A short readable form, e.g. ``POST prefix /payments.v1.Payments/``."""
        parts = [",".join(self.methods)] if self.methods else ["ANY"]
        if self.path_exact is not None:
            parts.append(f"exact {self.path_exact}")
        if self.path_prefix is not None:
            parts.append(f"prefix {self.path_prefix}")
        return " ".join(parts)


@dataclass(frozen=True)
class SourceRule:
    """What one source gets at a destination: an L4 action, or L7 permissions (never both)."""

    source: str
    """The calling service's name (``*`` only in the default deny)."""
    action: IntentionAction | None = None
    """The L4 action (allow or deny); None when ``permissions`` decide per request."""
    permissions: Sequence[HttpMatch] | None = None
    """L7 allow rules (the destination must speak http, http2 or grpc); None for an L4 rule."""
    origin: str = ""
    """Where the rule comes from (a settings key path), for error messages and review."""
    peer: str | None = None
    """The peered cluster the source lives in (``topology.peers[].exports``); None for this cluster's services."""


@dataclass(frozen=True)
class DestinationEntry:
    """Everything that may call one destination: one config entry or custom resource per destination."""

    destination: str
    """The called service's name (``*`` for the default deny's entry)."""
    sources: Sequence[SourceRule]
    """Who may call it and how, one rule per source."""


DEFAULT_DENY = SourceRule(WILDCARD, IntentionAction.DENY, origin="built-in default deny")
"""The one ``*`` → ``*`` deny every graph ends with (INT-DEFAULT-DENY)."""
