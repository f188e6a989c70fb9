"""The pure intention graph: what it holds for the stacks, and the rules every graph must keep."""

from __future__ import annotations

import dataclasses

import pytest

from secure_mesh.mesh.graph import (
    DEFAULT_DENY,
    WILDCARD,
    AccessKind,
    DestinationEntry,
    GraphError,
    HttpMatch,
    IntentionGraph,
    SourceRule,
    build_graph,
)
from secure_mesh.mesh.render import (
    config_entry_service_intentions,
    crd_service_intentions,
    intentions_resource_name,
)
from secure_mesh.mesh.rules import ACTION_OR_PERMISSIONS, WILDCARD_RULE
from secure_mesh.settings import IntentionAction, Protocol
from secure_mesh.settings.models import L7_PROTOCOLS
from tests.consul.helpers import stack_settings

ALLOW, DENY = IntentionAction.ALLOW, IntentionAction.DENY
SERVICES = {"web": Protocol.HTTP, "api": Protocol.GRPC, "db": Protocol.TCP}
POST = (HttpMatch(path_prefix="/v1/", methods=("POST",)),)


def _graph(*entries: DestinationEntry, services: dict[str, Protocol] | None = None) -> IntentionGraph:
    return IntentionGraph(services=services or SERVICES, entries=entries)


DENY_ALL = DestinationEntry(WILDCARD, (DEFAULT_DENY,))


def test_dev_graph_holds_explicit_intentions_app_upstreams_and_one_default_deny() -> None:
    graph = build_graph(stack_settings("dev"))
    assert graph.entries == (
        DestinationEntry("api", (SourceRule("web", ALLOW, origin="apps[0].upstreams[0]"),)),
        DestinationEntry(
            "ledger",
            (
                SourceRule("api", ALLOW, origin="apps[1].upstreams[0]"),
                SourceRule("web", DENY, origin="mesh.intentions[1]"),
            ),
        ),
        DestinationEntry(
            "payments",
            (
                SourceRule(
                    "api",
                    permissions=(HttpMatch(path_prefix="/payments.v1.Payments/", methods=("POST",)),),
                    origin="mesh.intentions[0]",
                ),
            ),
        ),
        DestinationEntry("web", (SourceRule("api-gateway", ALLOW, origin="apps[0].route"),)),
        DENY_ALL,
    )
    assert dict(graph.services) == {"api": "http", "ledger": "tcp", "payments": "grpc", "web": "http"}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_stack_graphs_keep_the_rules(stack: str) -> None:
    graph = build_graph(stack_settings(stack))
    wildcard = [(e.destination, r) for e in graph.entries for r in e.sources if WILDCARD in (e.destination, r.source)]
    assert wildcard == [(WILDCARD, DEFAULT_DENY)], "exactly one '*' → '*' deny, and nothing else names '*'"
    for entry in graph.entries:
        for rule in entry.sources:
            assert (rule.action is None) != (rule.permissions is None), f"{rule.source} → {entry.destination}"
            if rule.permissions is not None:
                assert graph.services[entry.destination] in L7_PROTOCOLS, f"L7 on {entry.destination}"


def test_an_explicit_intention_wins_over_an_app_upstream() -> None:
    settings = stack_settings(
        "dev",
        {
            "mesh": {
                "services": [
                    {"name": "web", "protocol": "http"},
                    {"name": "api", "protocol": "http"},
                    {"name": "ledger", "protocol": "tcp"},
                ],
                "intentions": [{"source": "web", "destination": "api", "permissions": [{"pathPrefix": "/public/"}]}],
            },
            "pki": {"chains": {"gateway": {"domains": ["apps.secure-mesh.test"]}}},
        },
    )
    access = build_graph(settings).access("web", "api")
    assert access.kind is AccessKind.L7, "the app's upstream must not widen an explicit L7 intention to allow"
    assert access.permissions == (HttpMatch(path_prefix="/public/"),)


def test_undeclared_pairs_are_denied() -> None:
    graph = build_graph(stack_settings("dev"))
    assert graph.access("payments", "web").kind is AccessKind.DENY
    assert graph.access("ledger", "api").describe() == "deny"


INVALID: dict[str, tuple[IntentionGraph, str]] = {
    "no default deny": (
        _graph(DestinationEntry("web", (SourceRule("api", ALLOW),))),
        f"intentions: {WILDCARD_RULE}; found: none",
    ),
    "two default denies": (
        _graph(DENY_ALL, DestinationEntry(WILDCARD, (SourceRule(WILDCARD, DENY),))),
        f"intentions[1].sources[0]: * → * (deny) is not allowed: {WILDCARD_RULE}\n"
        "intentions[1].destination: '*' already has an entry (intentions[0]); one entry per destination: merge their "
        "sources",
    ),
    "allow from *": (
        _graph(DestinationEntry("web", (SourceRule(WILDCARD, ALLOW),)), DENY_ALL),
        f"intentions[0].sources[0]: * → web (allow) is not allowed: {WILDCARD_RULE}",
    ),
    "allow to *": (
        _graph(DestinationEntry(WILDCARD, (DEFAULT_DENY, SourceRule("web", ALLOW)))),
        f"intentions[0].sources[1]: web → * (allow) is not allowed: {WILDCARD_RULE}",
    ),
    "default allow": (
        _graph(DestinationEntry(WILDCARD, (SourceRule(WILDCARD, ALLOW),))),
        f"intentions: {WILDCARD_RULE}; found: * → * (allow)\n"
        f"intentions[0].sources[0]: * → * (allow) is not allowed: {WILDCARD_RULE}",
    ),
    "L7 on tcp": (
        _graph(DestinationEntry("db", (SourceRule("web", permissions=POST),)), DENY_ALL),
        "intentions[0].sources[0].permissions: L7 permissions need an http, http2 or grpc destination; 'db' is 'tcp'",
    ),
    "action and permissions": (
        _graph(DestinationEntry("web", (SourceRule("api", ALLOW, POST),)), DENY_ALL),
        f"intentions[0].sources[0]: {ACTION_OR_PERMISSIONS}",
    ),
    "neither action nor permissions": (
        _graph(DestinationEntry("web", (SourceRule("api"),)), DENY_ALL),
        f"intentions[0].sources[0]: {ACTION_OR_PERMISSIONS}",
    ),
    "empty permissions": (
        _graph(DestinationEntry("web", (SourceRule("api", permissions=()),)), DENY_ALL),
        "intentions[0].sources[0].permissions: is empty; list at least one rule or use action",
    ),
    "undeclared destination": (
        _graph(DestinationEntry("cache", (SourceRule("web", ALLOW),)), DENY_ALL),
        "intentions[0].destination: 'cache' is not a service in services; declared: api, db, web",
    ),
    "undeclared source": (
        _graph(DestinationEntry("web", (SourceRule("cron", ALLOW),)), DENY_ALL),
        "intentions[0].sources[0].source: 'cron' is not a service in services; declared: api, db, web",
    ),
    "two entries for one destination": (
        _graph(
            DestinationEntry("web", (SourceRule("api", ALLOW),)),
            DestinationEntry("web", (SourceRule("db", ALLOW),)),
            DENY_ALL,
        ),
        "intentions[1].destination: 'web' already has an entry (intentions[0]); one entry per destination: merge "
        "their sources",
    ),
    "two rules for one pair": (
        _graph(DestinationEntry("web", (SourceRule("api", ALLOW), SourceRule("api", DENY))), DENY_ALL),
        "intentions[0].sources[1]: a second rule for api → web; merge them into one",
    ),
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_invalid_graph_is_rejected(case: str) -> None:
    graph, message = INVALID[case]
    with pytest.raises(GraphError) as raised:
        graph.validate()
    assert str(raised.value) == message, case


def test_every_broken_rule_is_reported_with_its_origin_in_order() -> None:
    # One entry breaking every per-rule check, each rule carrying the settings key it came from: the message names
    # the field path and the origin of every rule; a '*' source first in the entry does not stop the checks of the
    # rules after it; a rule twice (with or without a peer) is reported at the second one only.
    get_put_twice = (HttpMatch(path_prefix="/v1/", methods=("GET", "GET", "PUT", "PUT")),)
    graph = _graph(
        DestinationEntry(
            "web",
            (
                SourceRule(WILDCARD, DENY, origin="mesh.intentions[0]"),
                SourceRule("cron", ALLOW, origin="apps[3].upstreams[1]"),
                SourceRule("Bad_Name", ALLOW, origin="mesh.intentions[1]"),
                SourceRule("api", ALLOW, peer="Peer_1", origin="mesh.intentions[2]"),
                SourceRule("web", ALLOW, origin="mesh.intentions[3]"),
                SourceRule("api", ALLOW, origin="apps[1].upstreams[0]"),
                SourceRule("api", DENY, origin="mesh.intentions[4]"),
                SourceRule("api", ALLOW, peer="east", origin="mesh.intentions[5]"),
                SourceRule("api", ALLOW, peer="east", permissions=get_put_twice, origin="mesh.intentions[6]"),
            ),
        ),
        DestinationEntry(
            "db",
            (
                SourceRule("api", permissions=(), origin="mesh.intentions[7]"),
                SourceRule("web", origin="mesh.intentions[8]"),
            ),
        ),
        DestinationEntry(WILDCARD, (SourceRule(WILDCARD, ALLOW, origin="mesh.intentions[9]"),)),
    )
    with pytest.raises(GraphError) as raised:
        graph.validate()
    label = (
        "is not a DNS label; expected lowercase letters, digits and '-', starting and ending with a letter or digit, "
        "at most 63 characters"
    )
    assert str(raised.value).splitlines() == [
        f"intentions: {WILDCARD_RULE}; found: * → web (deny), * → * (allow)",
        f"intentions[0].sources[0] (mesh.intentions[0]): * → web (deny) is not allowed: {WILDCARD_RULE}",
        f"intentions[2].sources[0] (mesh.intentions[9]): * → * (allow) is not allowed: {WILDCARD_RULE}",
        "intentions[0].sources[1].source (apps[3].upstreams[1]): 'cron' is not a service in services; declared: api, "
        "db, web",
        f"intentions[0].sources[2].source (mesh.intentions[1]): 'Bad_Name' {label}",
        f"intentions[0].sources[3].peer (mesh.intentions[2]): 'Peer_1' {label}",
        "intentions[0].sources[4].source (mesh.intentions[3]): a service does not need an intention to reach itself",
        "intentions[0].sources[6] (mesh.intentions[4]): a second rule for api → web; merge them into one",
        "intentions[0].sources[8] (mesh.intentions[6]): a second rule for api (peer east) → web; merge them into one",
        f"intentions[0].sources[8] (mesh.intentions[6]): {ACTION_OR_PERMISSIONS}",
        "intentions[0].sources[8].permissions[0].methods (mesh.intentions[6]): lists GET, PUT more than once; Consul "
        "refuses repeated methods",
        "intentions[1].sources[0].permissions (mesh.intentions[7]): L7 permissions need an http, http2 or grpc "
        "destination; 'db' is 'tcp'",
        "intentions[1].sources[0].permissions (mesh.intentions[7]): is empty; list at least one rule or use action",
        f"intentions[1].sources[1] (mesh.intentions[8]): {ACTION_OR_PERMISSIONS}",
    ]


def test_nothing_declared_is_said_so() -> None:
    graph = IntentionGraph(services={}, entries=(DestinationEntry("web", (SourceRule("cron", ALLOW, origin="o"),)),))
    with pytest.raises(GraphError) as raised:
        graph.validate()
    assert str(raised.value).splitlines() == [
        f"intentions: {WILDCARD_RULE}; found: none",
        "intentions[0].destination: 'web' is not a service in services; declared: none",
        "intentions[0].sources[0].source (o): 'cron' is not a service in services; declared: none",
    ]


def test_l7_is_fine_on_http2_and_grpc() -> None:
    services = {"a": Protocol.HTTP2, "b": Protocol.GRPC, "c": Protocol.HTTP}
    for destination in services:
        source = next(s for s in services if s != destination)
        _graph(
            DestinationEntry(destination, (SourceRule(source, permissions=POST),)), DENY_ALL, services=services
        ).validate()


def test_renderers_put_all_sources_of_a_destination_in_one_document() -> None:
    entry = DestinationEntry("web", (SourceRule("api", ALLOW), SourceRule("db", permissions=POST)))
    crd = crd_service_intentions(entry, "consul")
    assert crd["spec"] == {
        "destination": {"name": "web"},
        "sources": [
            {"name": "api", "action": "allow"},
            {"name": "db", "permissions": [{"action": "allow", "http": {"pathPrefix": "/v1/", "methods": ["POST"]}}]},
        ],
    }
    assert crd["metadata"] == {"name": "web-intentions", "namespace": "consul"}
    assert config_entry_service_intentions(entry, enterprise=False) == {
        "name": "web",
        "sources": [
            {"name": "api", "type": "consul", "action": "allow"},
            {
                "name": "db",
                "type": "consul",
                "permissions": [{"action": "allow", "https": [{"path_prefix": "/v1/", "methods": ["POST"]}]}],
            },
        ],
    }
    assert intentions_resource_name(WILDCARD) == "default-deny"


def test_graph_values_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULT_DENY.action = ALLOW  # type: ignore[misc]


def test_the_api_gateway_may_reach_exactly_the_routed_apps() -> None:
    from secure_mesh.layout import Layout
    from secure_mesh.settings import load_settings
    from tests.harness import load_stack_config

    graph = build_graph(load_settings(load_stack_config("dev")))
    gateway = Layout.gateway_name
    assert dict(graph.gateways) == {gateway: Protocol.HTTP}
    assert gateway not in graph.services, "the gateway gets no service defaults"
    reachable = {d for d in graph.services if graph.access(gateway, d).kind is AccessKind.ALLOW}
    assert reachable == {"web"}, "dev routes only the web app"
