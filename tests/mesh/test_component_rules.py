"""MeshIntentions refuses a hand-built graph that breaks a rule, before anything is registered (issue 15).

The rules are the settings path's (secure_mesh.mesh.rules, shared) plus what Consul and consul-k8s refuse at write
time (agent/structs/config_entry_intentions.go ``validate``; consul-k8s v2.0.3 serviceintentions_types.go
``Validate``). Each rule: the exact message, with the offending entry first, after a valid one and last; a
boundary graph that keeps every rule builds, compared as whole resource inputs.
"""

from __future__ import annotations

import gc
from collections.abc import Sequence
from typing import Any, cast

import pulumi
import pulumi_kubernetes as kubernetes
import pytest

from secure_mesh.mesh.component import MeshIntentions, MeshIntentionsArgs
from secure_mesh.mesh.model import DEFAULT_DENY, DestinationEntry, HttpMatch, SourceRule
from secure_mesh.mesh.rules import (
    ACTION_OR_PERMISSIONS,
    EMPTY_PERMISSIONS,
    EMPTY_SOURCES,
    SELF_INTENTION,
    WILDCARD_RULE,
    GraphError,
)
from secure_mesh.naming import DNS_LABEL_HELP
from secure_mesh.offline import program_run as engine
from secure_mesh.vocabulary import HTTP_METHODS, IntentionAction
from tests.consul.helpers import run_alone, to_wire
from tests.harness import PROJECT_DIR, _collect_mock_outputs

ALLOW, DENY = IntentionAction.ALLOW, IntentionAction.DENY
LONGEST = "a" * 63  # the longest DNS label
SERVICES = {"web": "http", "api": "http2", "ledger": "grpc", "db": "tcp", "spare": "http", "vault-db": "tcp",
            LONGEST: "grpc"}
DECLARED = f"{LONGEST}, api, db, ledger, spare, vault-db, web"
GATEWAYS = ("api-gateway",)
EVERY_METHOD = tuple(HTTP_METHODS)

# Boundaries every rule must let through: a peer source with a local service's name (another cluster's service),
# a peer source named like its destination (not an intention to itself), each of the nine methods once, the
# shortest path, a match by methods alone, the longest name, a gateway source, the '*' entry not last.
VALID: tuple[DestinationEntry, ...] = (
    DestinationEntry(
        "api",
        (
            SourceRule("web", permissions=(
                HttpMatch(path_exact="/", methods=EVERY_METHOD),
                HttpMatch(path_prefix="/v1/"),
                HttpMatch(methods=("GET",)),
            )),
            SourceRule("web", ALLOW, peer="east"),
            SourceRule("api", DENY, peer="east"),
            SourceRule("api-gateway", ALLOW),
        ),
    ),
    DestinationEntry("*", (DEFAULT_DENY,)),
    DestinationEntry("db", (SourceRule("api", ALLOW), SourceRule(LONGEST, DENY))),
    DestinationEntry(LONGEST, (SourceRule("ledger", permissions=(HttpMatch(path_prefix="/x.v1.X/"),)),)),
)
ALL_BUT_DENY = tuple(entry for entry in VALID if entry.destination != "*")
L7 = (HttpMatch(path_prefix="/"),)


def _args(intentions: Sequence[DestinationEntry], **fields: Any) -> MeshIntentionsArgs:
    return MeshIntentionsArgs(
        **{"services": SERVICES, "intentions": tuple(intentions), "gateways": GATEWAYS, **fields}
    )


def _refusal(args: Any) -> str:
    with pytest.raises(GraphError) as raised:
        MeshIntentions("mesh", args)
    return str(raised.value)


# (bad entry, where inside it, message): the entry is put first, after a valid one, and last.
ENTRY_RULES: dict[str, tuple[DestinationEntry, str, str]] = {
    "undeclared destination": (
        DestinationEntry("cache", (SourceRule("web", ALLOW),)),
        ".destination",
        f"'cache' is not a service in MeshIntentionsArgs.services; declared: {DECLARED}",
    ),
    "destination not a DNS label": (
        DestinationEntry("Spare", (SourceRule("web", ALLOW),)),
        ".destination",
        f"'Spare' is not a DNS label; expected {DNS_LABEL_HELP}",
    ),
    "partial wildcard destination": (  # Consul: "wildcard character '*' cannot be used with partial values"
        DestinationEntry("sp*", (SourceRule("web", ALLOW),)),
        ".destination",
        f"'sp*' is not a DNS label; expected {DNS_LABEL_HELP}",
    ),
    "destination name too long": (
        DestinationEntry("a" * 64, (SourceRule("web", ALLOW),)),
        ".destination",
        f"'{'a' * 64}' is 64 characters long; expected at most 63",
    ),
    "destination not a string": (  # what a YAML program could send: reported, not a crash
        DestinationEntry(cast(str, 5), (SourceRule("web", ALLOW),)),
        ".destination",
        "5 is not a name; expected a string",
    ),
    "L7 on an undeclared destination": (  # the name is the problem; no protocol to check the permissions against
        DestinationEntry("cache", (SourceRule("web", permissions=L7),)),
        ".destination",
        f"'cache' is not a service in MeshIntentionsArgs.services; declared: {DECLARED}",
    ),
    "no sources": (DestinationEntry("spare", ()), ".sources", EMPTY_SOURCES),
    "undeclared local source": (
        DestinationEntry("spare", (SourceRule("cron", ALLOW),)),
        ".sources[0].source",
        "'cron' is not a service in MeshIntentionsArgs.services or MeshIntentionsArgs.gateways; declared: "
        f"{LONGEST}, api, api-gateway, db, ledger, spare, vault-db, web",
    ),
    "source not a DNS label": (
        DestinationEntry("spare", (SourceRule("Web", ALLOW),)),
        ".sources[0].source",
        f"'Web' is not a DNS label; expected {DNS_LABEL_HELP}",
    ),
    "partial wildcard source": (
        DestinationEntry("spare", (SourceRule("w*", ALLOW),)),
        ".sources[0].source",
        f"'w*' is not a DNS label; expected {DNS_LABEL_HELP}",
    ),
    "peer source not a DNS label": (
        DestinationEntry("spare", (SourceRule("web_2", ALLOW, peer="east"),)),
        ".sources[0].source",
        f"'web_2' is not a DNS label; expected {DNS_LABEL_HELP}",
    ),
    "peer not a DNS label": (
        DestinationEntry("spare", (SourceRule("web", ALLOW, peer="East"),)),
        ".sources[0].peer",
        f"'East' is not a DNS label; expected {DNS_LABEL_HELP}",
    ),
    "wildcard in a peer": (  # Consul: "Peer: cannot use wildcard '*' in peer"
        DestinationEntry("spare", (SourceRule("web", ALLOW, peer="*"),)),
        ".sources[0].peer",
        f"'*' is not a DNS label; expected {DNS_LABEL_HELP}",
    ),
    "intention to itself": (
        DestinationEntry("spare", (SourceRule("spare", ALLOW),)),
        ".sources[0].source",
        SELF_INTENTION,
    ),
    "second rule for a pair": (  # Consul: "Sources[%d] defines %q more than once"
        DestinationEntry("spare", (SourceRule("web", ALLOW), SourceRule("web", DENY))),
        ".sources[1]",
        "a second rule for web → spare; merge them into one",
    ),
    "second rule for a peer's pair": (
        DestinationEntry("spare", (SourceRule("web", ALLOW, peer="east"), SourceRule("web", DENY, peer="east"))),
        ".sources[1]",
        "a second rule for web (peer east) → spare; merge them into one",
    ),
    "action and permissions": (  # Consul: "Action must be omitted if Permissions are specified"
        DestinationEntry("spare", (SourceRule("web", ALLOW, permissions=L7),)),
        ".sources[0]",
        ACTION_OR_PERMISSIONS,
    ),
    "neither action nor permissions": (  # Consul: "Action must be set to 'allow' or 'deny'"
        DestinationEntry("spare", (SourceRule("web"),)),
        ".sources[0]",
        ACTION_OR_PERMISSIONS,
    ),
    "L7 on a tcp destination": (  # Consul: "has protocol \"tcp\", which is incompatible with L7 intentions permissions"
        DestinationEntry("vault-db", (SourceRule("web", permissions=L7),)),
        ".sources[0].permissions",
        "L7 permissions need an http, http2 or grpc destination; 'vault-db' is 'tcp'",
    ),
    "empty permissions": (
        DestinationEntry("spare", (SourceRule("web", permissions=()),)),
        ".sources[0].permissions",
        EMPTY_PERMISSIONS,
    ),
    "exact path and prefix": (  # Consul: "should only contain at most one of PathExact, PathPrefix, or PathRegex"
        DestinationEntry("spare", (SourceRule("web", permissions=(HttpMatch(path_exact="/a", path_prefix="/b"),)),)),
        ".sources[0].permissions[0]",
        "give at most one of path_exact and path_prefix",
    ),
    "a match of everything": (  # Consul: "HTTP should not be empty"
        DestinationEntry("spare", (SourceRule("web", permissions=(HttpMatch(),)),)),
        ".sources[0].permissions[0]",
        "matches everything; give path_exact, path_prefix or methods, or use action",
    ),
    "exact path without a leading slash": (  # Consul: "PathExact doesn't start with '/'"
        DestinationEntry("spare", (SourceRule("web", permissions=(HttpMatch(path_exact="health"),)),)),
        ".sources[0].permissions[0].path_exact",
        "'health' is not a request path; expected '/' followed by anything but '*' and whitespace",
    ),
    "empty prefix": (  # Consul reads "" as no prefix: the rule would match every path
        DestinationEntry("spare", (SourceRule("web", permissions=(HttpMatch(path_prefix="", methods=("GET",)),)),)),
        ".sources[0].permissions[0].path_prefix",
        "'' is not a request path; expected '/' followed by anything but '*' and whitespace",
    ),
    "glob in a prefix": (
        DestinationEntry("spare", (SourceRule("web", permissions=(HttpMatch(path_prefix="/v1/*"),)),)),
        ".sources[0].permissions[0].path_prefix",
        "'/v1/*' is not a request path; expected '/' followed by anything but '*' and whitespace",
    ),
    "whitespace in an exact path": (
        DestinationEntry("spare", (SourceRule("web", permissions=(HttpMatch(path_exact="/a b"),)),)),
        ".sources[0].permissions[0].path_exact",
        "'/a b' is not a request path; expected '/' followed by anything but '*' and whitespace",
    ),
    "a method that is not one": (  # consul-k8s compares exact strings: 'get' is refused
        DestinationEntry("spare", (SourceRule("web", permissions=(HttpMatch(methods=("GET", "get")),)),)),
        ".sources[0].permissions[0].methods[1]",
        f"'get' is not an HTTP method; allowed: {', '.join(HTTP_METHODS)}",
    ),
    "a repeated method": (  # Consul: "Methods contains %q more than once"
        DestinationEntry("spare", (SourceRule("web", permissions=(HttpMatch(methods=("PUT", "GET", "PUT")),)),)),
        ".sources[0].permissions[0].methods",
        "lists PUT more than once; Consul refuses repeated methods",
    ),
    "an allow from '*'": (
        DestinationEntry("spare", (SourceRule("*", ALLOW),)),
        ".sources[0]",
        f"* → spare (allow) is not allowed: {WILDCARD_RULE}",
    ),
}


@pytest.mark.parametrize("position", ["first", "after a valid one", "last"])
@pytest.mark.parametrize("case", sorted(ENTRY_RULES))
def test_each_entry_rule_is_refused_with_the_field_path(case: str, position: str) -> None:
    bad, where, message = ENTRY_RULES[case]
    index = {"first": 0, "after a valid one": 1, "last": len(VALID)}[position]
    intentions = [*VALID[:index], bad, *VALID[index:]]
    assert _refusal(_args(intentions)) == f"MeshIntentionsArgs.intentions[{index}]{where}: {message}"


def test_a_second_source_is_refused_wherever_it_sits_among_the_sources() -> None:
    sources = (SourceRule("api", ALLOW), SourceRule("ledger", DENY), SourceRule("api", DENY))
    assert _refusal(_args([DestinationEntry("spare", sources), *VALID])) == (
        "MeshIntentionsArgs.intentions[0].sources[2]: a second rule for api → spare; merge them into one"
    )
    bad_first = (SourceRule("web", permissions=(HttpMatch(),)), SourceRule("api", ALLOW))
    assert _refusal(_args([*VALID, DestinationEntry("spare", bad_first)])) == (
        f"MeshIntentionsArgs.intentions[{len(VALID)}].sources[0].permissions[0]: matches everything; give "
        "path_exact, path_prefix or methods, or use action"
    )


@pytest.mark.parametrize("position", [0, 1, len(VALID)])
def test_a_second_entry_for_a_destination_is_refused_where_it_repeats(position: int) -> None:
    """One entry per destination: each is one config entry (Consul keys them by kind and name) and one resource."""
    extra = DestinationEntry("db", (SourceRule("web", ALLOW),))
    intentions = [*VALID[:position], extra, *VALID[position:]]
    first, second = sorted(i for i, entry in enumerate(intentions) if entry.destination == "db")
    assert _refusal(_args(intentions)) == (
        f"MeshIntentionsArgs.intentions[{second}].destination: 'db' already has an entry (intentions[{first}]); one "
        "entry per destination: merge their sources"
    )


def test_the_default_deny_is_required() -> None:
    assert _refusal(_args(ALL_BUT_DENY)) == f"MeshIntentionsArgs.intentions: {WILDCARD_RULE}; found: none"


def test_a_default_allow_is_refused() -> None:
    allow_all = DestinationEntry("*", (SourceRule("*", ALLOW),))
    assert _refusal(_args([*ALL_BUT_DENY, allow_all])) == (
        f"MeshIntentionsArgs.intentions: {WILDCARD_RULE}; found: * → * (allow)\n"
        f"MeshIntentionsArgs.intentions[3].sources[0]: * → * (allow) is not allowed: {WILDCARD_RULE}"
    )


@pytest.mark.parametrize(
    ("sources", "where", "shown"),
    [
        # Consul: "Permissions cannot be specified on intentions with wildcarded destinations"
        ((DEFAULT_DENY, SourceRule("web", permissions=L7)), "sources[1]", "web → * (permissions)"),
        ((SourceRule("web", ALLOW), DEFAULT_DENY), "sources[0]", "web → * (allow)"),
        ((DEFAULT_DENY, SourceRule("*", DENY, peer="east")), "sources[1]", "* → * (deny)"),
    ],
)
def test_nothing_but_the_one_deny_names_the_wildcard_destination(
    sources: tuple[SourceRule, ...], where: str, shown: str
) -> None:
    intentions = [*ALL_BUT_DENY, DestinationEntry("*", sources)]
    assert _refusal(_args(intentions)) == (
        f"MeshIntentionsArgs.intentions[3].{where}: {shown} is not allowed: {WILDCARD_RULE}"
    )


# Consul refuses service-defaults named '*' ("must be the name of a service, and not a wildcard") or nothing.
@pytest.mark.parametrize("name", ["Web", "*", "", "web.internal"])
def test_service_names_are_dns_labels(name: str) -> None:
    assert _refusal(_args(VALID, services={**SERVICES, name: "tcp"})) == (
        f"MeshIntentionsArgs.services.{name}: '{name}' is not a DNS label; expected {DNS_LABEL_HELP}"
    )


@pytest.mark.parametrize(
    ("gateways", "message"),
    [
        (("api-gateway", "Edge"), f"MeshIntentionsArgs.gateways[1]: 'Edge' is not a DNS label; expected "
         f"{DNS_LABEL_HELP}"),
        (("api-gateway", "web"), "MeshIntentionsArgs.gateways[1]: 'web' is also in services; a name is a service or a "
         "gateway"),
    ],
)
def test_gateways_are_dns_labels_and_not_services(gateways: tuple[str, ...], message: str) -> None:
    assert _refusal(_args(VALID, gateways=gateways)) == message


def test_without_the_gateway_its_rule_is_an_undeclared_source() -> None:
    assert _refusal(_args(VALID, gateways=())) == (
        "MeshIntentionsArgs.intentions[0].sources[3].source: 'api-gateway' is not a service in "
        f"MeshIntentionsArgs.services or MeshIntentionsArgs.gateways; declared: {DECLARED}"
    )


def test_every_broken_rule_is_reported_at_once_in_order() -> None:
    services = {**SERVICES, "web": "https"}
    intentions = [DestinationEntry("cache", (SourceRule("web", ALLOW),)), *ALL_BUT_DENY]
    assert _refusal(_args(intentions, services=services)) == "\n".join([
        "MeshIntentionsArgs.services.web: 'https' is not a protocol; allowed: tcp, http, http2, grpc",
        f"MeshIntentionsArgs.intentions: {WILDCARD_RULE}; found: none",
        f"MeshIntentionsArgs.intentions[0].destination: 'cache' is not a service in MeshIntentionsArgs.services; "
        f"declared: {DECLARED}",
    ])


def test_the_wire_form_is_refused_the_same_way() -> None:
    """What a YAML program or another language sends (dicts, strings) meets the same rules and messages."""
    bad, where, message = ENTRY_RULES["L7 on a tcp destination"]
    assert _refusal(to_wire(_args([*VALID, bad]))) == f"MeshIntentionsArgs.intentions[{len(VALID)}]{where}: {message}"


def test_a_refused_graph_registers_nothing() -> None:
    """The component itself is not registered either: the check runs before ``ComponentResource.__init__``."""
    bad, _, _ = ENTRY_RULES["L7 on a tcp destination"]

    def program() -> None:
        kubernetes.core.v1.ConfigMap("stand-in-release", data={"stands": "in"})
        MeshIntentions("mesh", _args([*VALID, bad]))

    error, registered = engine.run_program_expecting_failure(program, PROJECT_DIR, {}, None, _collect_mock_outputs())
    gc.collect()
    assert "'vault-db' is 'tcp'" in str(error)
    assert [(r.type, r.name) for r in registered if r.type != "pulumi:pulumi:Stack"] == [
        ("kubernetes:core/v1:ConfigMap", "stand-in-release")
    ]


def test_the_boundary_graph_builds_every_entry() -> None:
    built: list[MeshIntentions] = []

    def program() -> None:
        built.append(MeshIntentions("mesh", _args(VALID, namespace="consul")))

    run = run_alone(program)
    intentions = {
        r.name: r.inputs["spec"] for r in run.resources if r.type.endswith(":ServiceIntentions")
    }
    every = list(EVERY_METHOD)
    assert intentions == {
        "mesh-api-intentions": {
            "destination": {"name": "api"},
            "sources": [
                {"name": "web", "permissions": [
                    {"action": "allow", "http": {"pathExact": "/", "methods": every}},
                    {"action": "allow", "http": {"pathPrefix": "/v1/"}},
                    {"action": "allow", "http": {"methods": ["GET"]}},
                ]},
                {"name": "web", "peer": "east", "action": "allow"},
                {"name": "api", "peer": "east", "action": "deny"},
                {"name": "api-gateway", "action": "allow"},
            ],
        },
        "mesh-default-deny": {"destination": {"name": "*"}, "sources": [{"name": "*", "action": "deny"}]},
        "mesh-db-intentions": {
            "destination": {"name": "db"},
            "sources": [{"name": "api", "action": "allow"}, {"name": LONGEST, "action": "deny"}],
        },
        f"mesh-{LONGEST}-intentions": {
            "destination": {"name": LONGEST},
            "sources": [{"name": "ledger", "permissions": [{"action": "allow", "http": {"pathPrefix": "/x.v1.X/"}}]}],
        },
    }
    defaults = {r.name: r.inputs["spec"] for r in run.resources if r.type.endswith(":ServiceDefaults")}
    assert defaults == {
        f"mesh-{service}-defaults": {"protocol": protocol, "mutualTLSMode": "strict"}
        for service, protocol in SERVICES.items()
    }, "gateways get no service-defaults"
    assert isinstance(built[0], pulumi.ComponentResource)
