"""Layer 3: the mesh's intentions as one typed graph, built from settings as plain Python data.

The graph holds the declared services with their protocols and, per destination, the sources allowed
or denied (L4 ``action``) or allowed per request (L7 ``permissions``), plus exactly one ``*`` → ``*``
deny. Rules come from ``mesh.intentions`` and from each app's ``upstreams`` (an allow from the app's
service to each upstream); an explicit intention wins for its pair. Both renderings (Consul config
entries, consul-k8s custom resources) are made from the same graph, and :meth:`IntentionGraph.matrix`
states what each call between declared services gets, so both can be checked against one meaning.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property

from ..layout import Layout
from ..settings import IntentionAction, Protocol, Settings
from ..settings.models import HttpPermission, IntentionSettings, JwtRequirementSettings
from ..vocabulary import JWT_NAMESPACE_CLAIM, JWT_SERVICE_ACCOUNT_CLAIM, JwtProviderKind
from .model import (
    DEFAULT_DENY,
    WILDCARD,
    DestinationEntry,
    HttpMatch,
    JwtClaim,
    JwtProviderEntry,
    JwtRequirement,
    SourceRule,
)
from .rules import GraphError, graph_problems

__all__ = [
    "DEFAULT_DENY",
    "WILDCARD",
    "Access",
    "AccessKind",
    "DestinationEntry",
    "GraphError",
    "HttpMatch",
    "IntentionGraph",
    "SourceRule",
    "build_graph",
    "http_match",
]


def http_match(permission: HttpPermission, jwt: JwtRequirement | None = None) -> HttpMatch:
    """The match of one ``mesh.intentions[].permissions[]`` entry (with its JWT requirement, if it has one)."""
    return HttpMatch(
        path_exact=permission.path_exact,
        path_prefix=permission.path_prefix,
        methods=tuple(permission.methods),
        jwt=jwt,
    )


def jwt_requirement(
    settings: Settings, intention: IntentionSettings, requirement: JwtRequirementSettings
) -> JwtRequirement:
    """A permission's JWT requirement as proxies check it. A ``vault-identity`` provider's tokens carry the calling
    app's service account and namespace (the role's template copies them from the Kubernetes auth alias), so the
    requirement starts with those two claims, bound to the one app whose service is the intention's source.
    """
    claims = [JwtClaim(path=tuple(claim.path), value=claim.value) for claim in requirement.claims]
    provider = next((p for p in settings.mesh.jwt_providers if p.name == requirement.provider), None)
    callers = [app for app in settings.apps if app.service == intention.source]
    if provider is not None and provider.kind is JwtProviderKind.VAULT_IDENTITY and len(callers) == 1:
        (app,) = callers
        claims[:0] = [
            JwtClaim(path=(JWT_SERVICE_ACCOUNT_CLAIM,), value=app.service_account),
            JwtClaim(path=(JWT_NAMESPACE_CLAIM,), value=app.namespace),
        ]
    return JwtRequirement(provider=requirement.provider, claims=tuple(claims))


def jwt_provider_entries(settings: Settings, layout: Layout) -> tuple[JwtProviderEntry, ...]:
    """Every ``mesh.jwtProviders`` entry as proxies use it: a ``vault-identity`` provider's key set is Vault's,
    verified with Vault's CA; a ``remote`` one's is given with its CA.
    """
    entries = []
    for provider in settings.mesh.jwt_providers:
        names = layout.jwt_provider(provider)
        if provider.kind is JwtProviderKind.VAULT_IDENTITY:
            ca = settings.vault.tls.ca_cert_pem or ""
        else:
            ca = provider.jwks_ca_cert_pem or ""
        entries.append(
            JwtProviderEntry(
                name=names.name,
                issuer=names.issuer,
                jwks_uri=names.jwks_uri,
                jwks_ca_pem=ca,
                audiences=names.audiences,
                cache_duration=provider.jwks_cache_duration,
            )
        )
    return tuple(entries)


class AccessKind(StrEnum):
    """What a call from one service to another gets."""

    ALLOW = "allow"
    DENY = "deny"
    L7 = "l7"


@dataclass(frozen=True)
class Access:
    """The outcome for one (source, destination) pair: allow, deny, or allowed per request by L7 rules."""

    kind: AccessKind
    permissions: tuple[HttpMatch, ...] = ()

    def describe(self) -> str:
        """``allow``, ``deny`` or ``l7[POST prefix /x; GET exact /y]``."""
        if self.kind is AccessKind.L7:
            return "l7[" + "; ".join(p.describe() for p in self.permissions) + "]"
        return self.kind.value

    @classmethod
    def of(cls, rule: SourceRule) -> Access:
        """The access a single rule grants."""
        if rule.permissions is not None:
            return cls(AccessKind.L7, tuple(rule.permissions))
        return cls(AccessKind.ALLOW if rule.action is IntentionAction.ALLOW else AccessKind.DENY)


@dataclass(frozen=True)
class IntentionGraph:
    """The declared services and, per destination (``*`` included), who may call them and how."""

    services: Mapping[str, Protocol]
    entries: tuple[DestinationEntry, ...]
    gateways: Mapping[str, Protocol] = field(default_factory=dict)
    """Gateways that may appear as sources (the API gateway towards routed apps); they get no service defaults."""
    jwt_providers: tuple[JwtProviderEntry, ...] = ()
    """The JWT providers permissions may require tokens of (``mesh.jwtProviders``)."""

    @cached_property
    def _rules(self) -> dict[str, dict[str, SourceRule]]:
        """Rules by destination, then source: constant-time look-ups on large meshes."""
        return {entry.destination: {rule.source: rule for rule in entry.sources} for entry in self.entries}

    def entry(self, destination: str) -> DestinationEntry | None:
        """The entry of one destination, if it has any rule."""
        return next((e for e in self.entries if e.destination == destination), None)

    def validate(self) -> None:
        """Raise :class:`GraphError` naming every broken rule (the shared rules of :mod:`.rules`)."""
        problems = graph_problems(self.services, self.entries, tuple(self.gateways), jwt_providers=self.jwt_providers)
        if problems:
            raise GraphError("\n".join(str(problem) for problem in problems))

    def access(self, source: str, destination: str) -> Access:
        """What a call from ``source`` to ``destination`` gets (an exact rule, else the default deny)."""
        rule = self._rules.get(destination, {}).get(source)
        return Access.of(rule) if rule is not None else Access(AccessKind.DENY)

    def matrix(self) -> dict[tuple[str, str], Access]:
        """The access of every ordered pair of distinct declared services."""
        names = sorted(self.services)
        return {(s, d): self.access(s, d) for s in names for d in names if s != d}


def build_graph(settings: Settings) -> IntentionGraph:
    """The intention graph of a stack: explicit intentions, app upstreams as allows, and the one default deny."""
    services = {service.name: service.protocol for service in settings.mesh.services}
    rules: dict[str, dict[str, SourceRule]] = {}
    for index, intention in enumerate(settings.mesh.intentions):
        permissions = (
            tuple(
                http_match(p, None if p.jwt is None else jwt_requirement(settings, intention, p.jwt))
                for p in intention.permissions
            )
            if intention.permissions is not None
            else None
        )
        rules.setdefault(intention.destination, {})[intention.source] = SourceRule(
            source=intention.source,
            action=intention.action,
            permissions=permissions,
            origin=f"mesh.intentions[{index}]",
        )
    for a_index, app in enumerate(settings.apps):
        for u_index, upstream in enumerate(app.upstreams):
            sources = rules.setdefault(upstream, {})
            if app.service not in sources:  # an explicit intention for the pair wins
                sources[app.service] = SourceRule(
                    source=app.service,
                    action=IntentionAction.ALLOW,
                    origin=f"apps[{a_index}].upstreams[{u_index}]",
                )
    gateways: dict[str, Protocol] = {}
    routed = [(index, app) for index, app in enumerate(settings.apps) if app.route is not None]
    if settings.consul.api_gateway and routed:
        # The API gateway is a source like any other under default deny: it may reach exactly the routed apps.
        gateway = Layout.gateway_name
        gateways[gateway] = Protocol.HTTP
        for index, app in routed:
            rules.setdefault(app.service, {}).setdefault(
                gateway, SourceRule(source=gateway, action=IntentionAction.ALLOW, origin=f"apps[{index}].route")
            )
    entries = [
        DestinationEntry(destination, tuple(sources[s] for s in sorted(sources)))
        for destination, sources in sorted(rules.items())
    ]
    entries.append(DestinationEntry(WILDCARD, (DEFAULT_DENY,)))
    graph = IntentionGraph(
        services=dict(sorted(services.items())),
        entries=tuple(entries),
        gateways=gateways,
        jwt_providers=jwt_provider_entries(settings, Layout(settings)),
    )
    graph.validate()
    return graph
