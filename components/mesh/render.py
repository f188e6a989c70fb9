"""Layer 3: the intention graph rendered as plain documents, for either delivery to Consul.

* consul-k8s custom resources (``consul.hashicorp.com/v1alpha1`` ``ServiceIntentions`` and
  ``ServiceDefaults``), applied through Kubernetes and reconciled by the chart's controller;
* Consul config entries (``service-intentions``, ``service-defaults``) written through the Consul
  provider, as the keyword arguments of ``ConfigEntryServiceIntentions`` / ``ConfigEntryServiceDefaults``.

One entry per destination holding all its sources, plus the ``*`` destination with the ``*`` deny.
Every value is plain data, so the policy pack can check intentions during preview.
"""

from __future__ import annotations

from typing import Any

from ..settings import Protocol
from .graph import WILDCARD, DestinationEntry, HttpMatch, SourceRule

CRD_API_VERSION = "consul.hashicorp.com/v1alpha1"
DEFAULT_DENY_RESOURCE_NAME = "default-deny"
"""Kubernetes name of the ``*`` destination's ServiceIntentions ('*' is not a valid object name)."""
ENTERPRISE_SCOPE = "default"
"""The Consul Enterprise namespace and partition config entries live in (set to avoid perpetual diffs)."""


def intentions_resource_name(destination: str) -> str:
    """The Kubernetes object name of a destination's ServiceIntentions (never clashes with the default deny)."""
    return DEFAULT_DENY_RESOURCE_NAME if destination == WILDCARD else f"{destination}-intentions"


# -------------------------------------------------------------------------------------------- CRDs


def _crd_http(match: HttpMatch) -> dict[str, Any]:
    http: dict[str, Any] = {}
    if match.path_exact is not None:
        http["pathExact"] = match.path_exact
    if match.path_prefix is not None:
        http["pathPrefix"] = match.path_prefix
    if match.methods:
        http["methods"] = list(match.methods)
    return http


def _crd_source(rule: SourceRule) -> dict[str, Any]:
    source: dict[str, Any] = {"name": rule.source}
    if rule.permissions is not None:
        source["permissions"] = [{"action": "allow", "http": _crd_http(match)} for match in rule.permissions]
    elif rule.action is not None:
        source["action"] = rule.action.value
    return source


def crd_service_intentions(entry: DestinationEntry, namespace: str) -> dict[str, Any]:
    """The ``ServiceIntentions`` custom resource of one destination."""
    return {
        "apiVersion": CRD_API_VERSION,
        "kind": "ServiceIntentions",
        "metadata": {"name": intentions_resource_name(entry.destination), "namespace": namespace},
        "spec": {
            "destination": {"name": entry.destination},
            "sources": [_crd_source(rule) for rule in entry.sources],
        },
    }


def crd_service_defaults(service: str, protocol: Protocol, namespace: str) -> dict[str, Any]:
    """The ``ServiceDefaults`` custom resource of one service (its name is the service's name)."""
    return {
        "apiVersion": CRD_API_VERSION,
        "kind": "ServiceDefaults",
        "metadata": {"name": service, "namespace": namespace},
        "spec": {"protocol": protocol.value},
    }


# ---------------------------------------------------------------------------------- config entries


def _entry_http(match: HttpMatch) -> dict[str, Any]:
    http: dict[str, Any] = {}
    if match.path_exact is not None:
        http["path_exact"] = match.path_exact
    if match.path_prefix is not None:
        http["path_prefix"] = match.path_prefix
    if match.methods:
        http["methods"] = list(match.methods)
    return http


def _entry_source(rule: SourceRule, enterprise: bool) -> dict[str, Any]:
    source: dict[str, Any] = {"name": rule.source, "type": "consul"}
    if enterprise:
        source.update(namespace=ENTERPRISE_SCOPE, partition=ENTERPRISE_SCOPE)
    if rule.permissions is not None:
        source["permissions"] = [{"action": "allow", "https": [_entry_http(match)]} for match in rule.permissions]
    elif rule.action is not None:
        source["action"] = rule.action.value
    return source


def _scope(enterprise: bool) -> dict[str, str]:
    return {"namespace": ENTERPRISE_SCOPE, "partition": ENTERPRISE_SCOPE} if enterprise else {}


def config_entry_service_intentions(entry: DestinationEntry, enterprise: bool) -> dict[str, Any]:
    """Keyword arguments of ``consul.ConfigEntryServiceIntentions`` for one destination (snake_case)."""
    return {
        "name": entry.destination,
        **_scope(enterprise),
        "sources": [_entry_source(rule, enterprise) for rule in entry.sources],
    }


def config_entry_service_defaults(service: str, protocol: Protocol, enterprise: bool) -> dict[str, Any]:
    """Keyword arguments of ``consul.ConfigEntryServiceDefaults`` for one service (snake_case)."""
    # The provider requires an ``expose`` block; an empty one exposes nothing.
    return {"name": service, **_scope(enterprise), "protocol": protocol.value, "exposes": [{}]}
