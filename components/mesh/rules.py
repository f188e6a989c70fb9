"""The rules every intention graph must keep, as plain functions: one implementation for every entry point.

Three callers share them, so a rule cannot hold on one path and not on another:

* the settings check (:func:`secure_mesh.settings.consistency.check_consistency`, ``mesh.intentions[]``) calls the
  per-rule functions (:func:`not_declared`, :func:`second_rule`, :func:`action_or_permissions`,
  :func:`l7_protocol`, :func:`permission_problems`, ...) with settings key paths;
* :meth:`secure_mesh.mesh.graph.IntentionGraph.validate` (the graph built from settings) and
* :class:`secure_mesh.mesh.component.MeshIntentions` (a graph written by hand: Python, YAML, the component package)
  call :func:`graph_problems`, which applies the same functions to the graph's plain data types.

What Consul itself refuses, and where (hashicorp/consul, agent/structs/config_entry_intentions.go,
``ServiceIntentionsConfigEntry.validate``, unless noted; consul-k8s v2.0.3
control-plane/api/v1alpha1/serviceintentions_types.go ``ServiceIntentions.Validate`` refuses the same for the
custom resources):

* an entry without sources ("At least one source is required");
* a source with both an action and permissions, or with neither ("Action must be omitted if Permissions are
  specified", "Action must be set to 'allow' or 'deny'");
* two sources with the same name and peer ("Sources[%d] defines %q more than once");
* a name or peer holding ``*`` other than the whole wildcard ``validateIntentionWildcards``; "wildcard character
  '*' cannot be used with partial values", "cannot use wildcard '*' in peer");
* permissions on a wildcard destination ("Permissions cannot be specified on intentions with wildcarded
  destinations") and on a destination whose protocol is not http, http2 or grpc (agent/consul/state/
  config_entry.go ``validateProposedConfigEntryInGraph``: "has protocol %q, which is incompatible with L7
  intentions permissions"; a wildcard destination skips this check);
* a permission whose path does not start with ``/``, that names both an exact path and a prefix ("should only
  contain at most one of PathExact, PathPrefix, or PathRegex"), that matches nothing in particular ("HTTP
  should not be empty"), or whose methods are not HTTP methods or repeat one ("Methods contains an invalid
  method", "Methods contains %q more than once");
* a service-defaults entry named ``*`` or nothing (agent/structs/config_entry.go ``ServiceConfigEntry.Validate``).

This project adds its own (the settings path always had them): service, source and peer names are DNS labels
(they name Kubernetes objects: the ``ServiceDefaults`` resource is named after its service); every destination
and every local source is a declared service (a typo would otherwise register an intention for a service that
does not exist; a source naming a peer lives in the peer's cluster and is not declared here); one entry per
destination (each is one config entry and one resource); no intention from a service to itself; exactly one
``*`` → ``*`` deny and no other rule naming ``*`` (INT-DEFAULT-DENY, INT-NO-WILDCARD-ALLOW); request paths
without ``*`` or whitespace.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from ..naming import check_dns_label
from ..vocabulary import HTTP_METHODS, HTTP_PATH_PATTERN, L7_PROTOCOLS, IntentionAction, Protocol
from .model import WILDCARD, DestinationEntry, HttpMatch, JwtProviderEntry, JwtRequirement, SourceRule

PROTOCOLS = tuple(protocol.value for protocol in Protocol)
"""The protocols a service may declare (service-defaults ``protocol``), in the order messages list them."""
WILDCARD_RULE = "exactly one '*' → '*' deny is required and no other rule may name '*'"
"""INT-DEFAULT-DENY and INT-NO-WILDCARD-ALLOW in one sentence."""
ACTION_OR_PERMISSIONS = "give exactly one of 'action' (L4 allow/deny) or 'permissions' (L7 rules)"
SELF_INTENTION = "a service does not need an intention to reach itself"
EMPTY_PERMISSIONS = "is empty; list at least one rule or use action"
EMPTY_SOURCES = "is empty; Consul requires at least one source per intentions entry: add a rule or drop the entry"

_PATH = re.compile(HTTP_PATH_PATTERN)


class GraphError(ValueError):
    """An intention graph that breaks the rules above, one line per broken rule."""


@dataclass(frozen=True)
class GraphProblem:
    """One broken rule: where (a field path the caller understands), what is wrong and what is allowed."""

    path: str
    message: str
    origin: str = ""
    """The rule's own ``origin`` (a settings key path) when the problem is about one rule."""

    def __str__(self) -> str:
        where = f"{self.path} ({self.origin})" if self.origin else self.path
        return f"{where}: {self.message}"


def dns_label(name: object) -> str | None:
    """Why ``name`` is not a DNS label (a service, source or peer name), or None."""
    if not isinstance(name, str):
        return f"{name!r} is not a name; expected a string"
    try:
        check_dns_label(name)
    except ValueError as error:
        return str(error)
    return None


def protocol(value: object) -> str | None:
    """Why ``value`` is not a protocol a service may declare, or None."""
    if isinstance(value, str) and value in PROTOCOLS:
        return None
    return f"{value!r} is not a protocol; allowed: {', '.join(PROTOCOLS)}"


def not_declared(name: str, declared: Iterable[str], where: str) -> str:
    """The message for a name that is not among the declared services (listed in ``where``)."""
    return f"'{name}' is not a service in {where}; declared: {', '.join(sorted(declared)) or 'none'}"


def second_rule(source: str, destination: str, peer: str | None = None) -> str:
    """The message for a second rule for one (source, destination) pair."""
    named = f"{source} (peer {peer})" if peer is not None else source
    return f"a second rule for {named} → {destination}; merge them into one"


def action_or_permissions(has_action: bool, has_permissions: bool) -> str | None:
    """Why a rule's action and permissions do not fit (exactly one is required), or None."""
    return None if has_action != has_permissions else ACTION_OR_PERMISSIONS


def l7_protocol(destination: str, protocol_value: str) -> str | None:
    """Why L7 permissions cannot go on ``destination`` with ``protocol_value``, or None."""
    if protocol_value in L7_PROTOCOLS:
        return None
    return f"L7 permissions need an http, http2 or grpc destination; '{destination}' is '{protocol_value}'"


def permission_problems(
    path_exact: str | None,
    path_prefix: str | None,
    methods: Sequence[str],
    fields: tuple[str, str, str] = ("pathExact", "pathPrefix", "methods"),
) -> Iterator[tuple[str, str]]:
    """What is wrong with one L7 permission, as (sub-path under the permission, message) pairs.

    ``fields`` are the caller's names of the exact path, prefix and methods (camelCase in settings, the
    Python field names in :class:`~secure_mesh.mesh.model.HttpMatch`).
    """
    exact_field, prefix_field, methods_field = fields
    for field, value in ((exact_field, path_exact), (prefix_field, path_prefix)):
        if value is not None and not (isinstance(value, str) and _PATH.match(value)):
            yield (
                f".{field}",
                f"{value!r} is not a request path; expected '/' followed by anything but '*' and whitespace",
            )
    if path_exact is not None and path_prefix is not None:
        yield "", f"give at most one of {exact_field} and {prefix_field}"
    if path_exact is None and path_prefix is None and not methods:
        yield "", f"matches everything; give {exact_field}, {prefix_field} or {methods_field}, or use action"
    for index, method in enumerate(methods):
        if method not in HTTP_METHODS:
            yield f".{methods_field}[{index}]", f"{method!r} is not an HTTP method; allowed: {', '.join(HTTP_METHODS)}"
    repeated = sorted(m for m, n in Counter(methods).items() if n > 1)
    if repeated:
        yield f".{methods_field}", f"lists {', '.join(repeated)} more than once; Consul refuses repeated methods"


def _kind(rule: SourceRule) -> str:
    return rule.action.value if isinstance(rule.action, IntentionAction) else "permissions"


def _is_default_deny(destination: str, rule: SourceRule) -> bool:
    return (
        destination == WILDCARD
        and rule.source == WILDCARD
        and rule.action is IntentionAction.DENY
        and rule.permissions is None
        and rule.peer is None
    )


def graph_problems(
    services: Mapping[str, object],
    entries: Sequence[DestinationEntry],
    gateways: Collection[str] = (),
    prefix: str = "",
    jwt_providers: Sequence[JwtProviderEntry] = (),
) -> list[GraphProblem]:
    """Every broken rule of a graph, in order: services, gateways, JWT providers, the wildcard rule, then entry by
    entry.

    ``services`` maps each declared service to its protocol (a :class:`Protocol` or its value; anything else is
    reported). ``gateways`` are sources that are not services (no service-defaults). ``jwt_providers`` are the
    providers permissions may require tokens of. Each path starts with ``prefix`` (``MeshIntentionsArgs.`` for the
    component) followed by ``services``, ``gateways``, ``jwt_providers[i]`` or ``intentions[i].sources[j]...``.
    """
    problems: list[GraphProblem] = []

    def report(path: str, message: str | None, origin: str = "") -> None:
        if message is not None:
            problems.append(GraphProblem(prefix + path, message, origin))

    protocols: dict[str, str] = {}
    for service, value in services.items():
        report(f"services.{service}", dns_label(service))
        report(f"services.{service}", protocol(value))
        if protocol(value) is None:
            protocols[service] = str(value)
    for index, gateway in enumerate(gateways):
        report(f"gateways[{index}]", dns_label(gateway))
        if gateway in services:
            report(f"gateways[{index}]", f"'{gateway}' is also in services; a name is a service or a gateway")
    local_sources = {*services, *gateways}
    declared_where = f"{prefix}services" + (f" or {prefix}gateways" if prefix else "")
    for index, provider in enumerate(jwt_providers):
        for sub, message in jwt_provider_problems(provider):
            report(f"jwt_providers[{index}]{sub}", message)
    provider_names = [provider.name for provider in jwt_providers]
    for name in sorted({name for name in provider_names if provider_names.count(name) > 1}):
        report("jwt_providers", f"'{name}' is declared more than once; one provider per name")

    wildcard = [
        (i, j, entry.destination, rule)
        for i, entry in enumerate(entries)
        for j, rule in enumerate(entry.sources)
        if WILDCARD in (entry.destination, rule.source)
    ]
    default_deny = next(((i, j) for i, j, dest, rule in wildcard if _is_default_deny(dest, rule)), None)
    if default_deny is None:
        found = ", ".join(f"{rule.source} → {dest} ({_kind(rule)})" for _, _, dest, rule in wildcard)
        report("intentions", f"{WILDCARD_RULE}; found: {found or 'none'}")
    for i, j, dest, rule in wildcard:
        if (i, j) != default_deny:
            report(
                f"intentions[{i}].sources[{j}]",
                f"{rule.source} → {dest} ({_kind(rule)}) is not allowed: {WILDCARD_RULE}",
                rule.origin,
            )

    first_entry: dict[str, int] = {}
    for i, entry in enumerate(entries):
        base = f"intentions[{i}]"
        destination = entry.destination
        if destination in first_entry:
            report(
                f"{base}.destination",
                f"'{destination}' already has an entry (intentions[{first_entry[destination]}]); one entry per "
                "destination: merge their sources",
            )
        first_entry.setdefault(destination, i)
        if destination != WILDCARD:
            label = dns_label(destination)
            report(f"{base}.destination", label)
            if label is None and destination not in services:
                report(f"{base}.destination", not_declared(destination, services, f"{prefix}services"))
        if not entry.sources:
            report(f"{base}.sources", EMPTY_SOURCES)
        seen: set[tuple[str, str | None]] = set()
        for j, rule in enumerate(entry.sources):
            path = f"{base}.sources[{j}]"
            if WILDCARD in (destination, rule.source):
                continue  # the wildcard rule above covers every rule naming '*'
            label = dns_label(rule.source)
            report(f"{path}.source", label, rule.origin)
            if rule.peer is not None:
                report(f"{path}.peer", dns_label(rule.peer), rule.origin)
            elif label is None and rule.source not in local_sources:
                # A peer's service lives in the peer's cluster; a local source must be declared here.
                report(f"{path}.source", not_declared(rule.source, local_sources, declared_where), rule.origin)
            if rule.peer is None and rule.source == destination:
                report(f"{path}.source", SELF_INTENTION, rule.origin)
            key = (rule.source, rule.peer)
            if key in seen:
                report(path, second_rule(rule.source, destination, rule.peer), rule.origin)
            seen.add(key)
            report(path, action_or_permissions(rule.action is not None, rule.permissions is not None), rule.origin)
            if rule.permissions is None:
                continue
            if destination in protocols:
                report(f"{path}.permissions", l7_protocol(destination, protocols[destination]), rule.origin)
            if not rule.permissions:
                report(f"{path}.permissions", EMPTY_PERMISSIONS, rule.origin)
            for k, match in enumerate(rule.permissions):
                for sub, message in _match_problems(match):
                    report(f"{path}.permissions[{k}]{sub}", message, rule.origin)
                if match.jwt is not None:
                    for sub, message in jwt_requirement_problems(match.jwt, provider_names, f"{prefix}jwt_providers"):
                        report(f"{path}.permissions[{k}].jwt{sub}", message, rule.origin)
    return problems


JWT_NEEDS_CLAIMS = "needs at least one claim: any token the provider issues for its audiences would pass otherwise"
"""This project's rule: a JWT-authorized permission says whose token it wants, not only which issuer's."""


def jwt_requirement_problems(
    requirement: JwtRequirement, providers: Collection[str], declared_where: str
) -> Iterator[tuple[str, str]]:
    """A permission's JWT requirement: a declared provider (Consul refuses an intention naming a provider that does
    not exist, "Referenced JWT Provider does not exist"), at least one claim, each with a path of non-empty keys
    and a value (a claim without a path matches nothing Envoy can look up).
    """
    if requirement.provider not in providers:
        declared = ", ".join(sorted(providers)) or "none"
        yield ".provider", f"'{requirement.provider}' is not a provider in {declared_where}; declared: {declared}"
    if not requirement.claims:
        yield ".claims", JWT_NEEDS_CLAIMS
    for index, claim in enumerate(requirement.claims):
        if not claim.path or any(not key for key in claim.path):
            yield f".claims[{index}].path", f"{list(claim.path)} must list at least one key, none of them empty"
        if not claim.value:
            yield f".claims[{index}].value", "is empty; give the value the claim must hold"


def jwt_provider_problems(provider: JwtProviderEntry) -> Iterator[tuple[str, str]]:
    """One provider as proxies use it: a DNS-label name (it names a Kubernetes object), an issuer, a key set fetched
    over https and verified with a CA, and at least one audience.
    """
    label = dns_label(provider.name)
    if label is not None:
        yield ".name", label
    if not provider.jwks_uri.startswith("https://"):
        yield ".jwks_uri", f"'{provider.jwks_uri}' is not https: the key set decides which tokens are trusted"
    if "BEGIN CERTIFICATE" not in provider.jwks_ca_pem:
        yield ".jwks_ca_pem", "holds no PEM certificate: proxies verify the key set's server with it"
    if not provider.issuer:
        yield ".issuer", "is empty; give the iss the tokens carry"
    if not provider.audiences:
        yield ".audiences", "is empty; without an audience a proxy accepts the issuer's tokens minted for anyone"


def _match_problems(match: HttpMatch) -> Iterator[tuple[str, str]]:
    return permission_problems(
        match.path_exact, match.path_prefix, tuple(match.methods), ("path_exact", "path_prefix", "methods")
    )
