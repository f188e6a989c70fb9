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
class JwtClaim:
    """One claim a request's token must carry (Consul's ``VerifyClaims`` entry)."""

    path: Sequence[str]
    """The claim's path in the token's JSON, one key per nesting level."""
    value: str
    """The value the claim must equal (or contain, for a list claim)."""


@dataclass(frozen=True)
class JwtRequirement:
    """A permission's JWT requirement: the provider whose valid token the request must carry, and its claims."""

    provider: str
    """The name of a JWT provider of the mesh (``MeshIntentionsArgs.jwt_providers``)."""
    claims: Sequence[JwtClaim]
    """The claims the token must carry (at least one)."""


@dataclass(frozen=True)
class JwtProviderEntry:
    """A JWT provider as proxies use it: Consul's ``jwt-provider`` entry with a remote key set fetched over TLS."""

    name: str
    """The entry's name, which permissions' JWT requirements name."""
    issuer: str
    """The ``iss`` the tokens must carry."""
    jwks_uri: str
    """The https address of the key set every proxy fetches."""
    jwks_ca_pem: str
    """The CA (public PEM) the proxies verify the key set's server with."""
    audiences: Sequence[str]
    """The ``aud`` values accepted (at least one)."""
    cache_duration: str = "5m"
    """How long a proxy caches the key set (a Go duration, e.g. ``5m``)."""


@dataclass(frozen=True)
class HttpMatch:
    """One L7 allow rule: a path match (exact or prefix) and optional methods."""

    path_exact: str | None = None
    """The exact request path this rule allows (``pathExact``)."""
    path_prefix: str | None = None
    """The request path prefix this rule allows (``pathPrefix``)."""
    methods: Sequence[str] = ()
    """The HTTP methods allowed; empty allows any method."""
    jwt: JwtRequirement | None = None
    """Allow only requests that carry a valid token of this provider with these claims; None: no token needed."""

    def describe(self) -> str:
        """A short readable form, e.g. ``POST prefix /payments.v1.Payments/ jwt vault[k8s_namespace=shop]``."""
        parts = [",".join(self.methods)] if self.methods else ["ANY"]
        if self.path_exact is not None:
            parts.append(f"exact {self.path_exact}")
        if self.path_prefix is not None:
            parts.append(f"prefix {self.path_prefix}")
        if self.jwt is not None:
            claims = ",".join(f"{'.'.join(claim.path)}={claim.value}" for claim in self.jwt.claims)
            parts.append(f"jwt {self.jwt.provider}[{claims}]")
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
