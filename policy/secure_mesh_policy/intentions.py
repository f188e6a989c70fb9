"""Mesh intention rules, over both renderings: Consul config entries and consul-k8s ServiceIntentions resources.

Both renderings are read into one shape (destination, sources with action and L7 permissions), so
every rule holds whichever way the program sends intentions to Consul.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import types as t
from .chart import ConsulValues, is_consul_release
from .documents import parse_json_text
from .framework import Res, StackView, as_list, resource_rule, stack_rule

Finding = tuple[str, str | None]
L7_PROTOCOLS = ("http", "http2", "grpc")
INTENTION_TYPES = (t.CONSUL_INTENTIONS, t.CRD_SERVICE_INTENTIONS, t.CONSUL_CONFIG_ENTRY)


@dataclass
class Source:
    """One source of an intention entry."""

    name: str
    action: str | None
    permissions: list[Any] = field(default_factory=list)
    prop: str = ""


@dataclass
class Entry:
    """One intention entry: a destination and its sources."""

    res: Res
    destination: str
    sources: list[Source]


def _get(item: Any, *keys: str) -> Any:
    if not isinstance(item, Mapping):
        return None
    for key in keys:
        if any(k == key for k in item):
            return item[key]
    return None


def read_entry(res: Res) -> Entry | None:
    """The intention entry a resource declares, in either rendering (None for other resources)."""
    if res.type == t.CONSUL_INTENTIONS:
        destination, raw, prefix = res.get("name", ""), as_list(res.get("sources")), "sources"
    elif res.type == t.CRD_SERVICE_INTENTIONS:
        spec = res.get("spec", {})
        destination = _get(_get(spec, "destination"), "name") or ""
        raw, prefix = as_list(_get(spec, "sources")), "spec.sources"
    elif res.type == t.CONSUL_CONFIG_ENTRY and str(res.get("kind", "")) == "service-intentions":
        data, _ = parse_json_text(res.get("configJson"))
        destination, raw, prefix = res.get("name", ""), as_list(_get(data, "Sources", "sources")), "configJson.Sources"
    else:
        return None
    sources = [
        Source(
            name=str(_get(item, "name", "Name") or ""),
            action=(str(_get(item, "action", "Action")) if _get(item, "action", "Action") else None),
            permissions=as_list(_get(item, "permissions", "Permissions")),
            prop=f"{prefix}[{index}]",
        )
        for index, item in enumerate(raw)
    ]
    return Entry(res, str(destination), sources)


def _permission_action(permission: Any) -> str:
    return str(_get(permission, "action", "Action") or "").lower()


@resource_rule(
    "INT-NO-WILDCARD-ALLOW",
    checks="No intention allows from source '*' or to destination '*'; every allow names both services.",
    why="Consul intentions docs: a wildcard allow defeats default deny.",
    fix="Replace the wildcard with the named source/destination services.",
    types=INTENTION_TYPES,
)
def int_no_wildcard_allow(res: Res, config: Mapping[str, Any]) -> Iterator[str]:
    """Allows are between named services."""
    entry = read_entry(res)
    if entry is None:
        return
    for source in entry.sources:
        allows = (source.action or "").lower() == "allow" or any(
            _permission_action(p) == "allow" for p in source.permissions
        )
        if allows and "*" in (source.name, entry.destination):
            yield res.finding(
                f"{source.prop}.name",
                f"{source.name} -> {entry.destination}",
                "an allow intention with a wildcard side",
                "name both services",
            )


@resource_rule(
    "INT-L7",
    checks="An intention source has either an action or L7 permissions, never both; permissions have an action and "
    "an HTTP match; L7 permissions never use a wildcard source or destination.",
    why="Consul intentions docs: action and permissions are exclusive; wildcards are L4 only.",
    fix="Use 'action' for L4 rules and 'permissions' (each with action and http match) for L7 rules between named "
    "services.",
    types=INTENTION_TYPES,
)
def int_l7(res: Res, config: Mapping[str, Any]) -> Iterator[str]:
    """L7 permissions are well formed."""
    entry = read_entry(res)
    if entry is None:
        return
    for source in entry.sources:
        if not source.permissions:
            if not source.action:
                yield res.finding(f"{source.prop}.action", None, "neither an action nor permissions", "set action")
            continue
        if source.action:
            yield res.finding(
                f"{source.prop}.action",
                source.action,
                "set together with permissions",
                "remove action (permissions decide)",
            )
        if "*" in (source.name, entry.destination):
            yield res.finding(
                f"{source.prop}.permissions",
                f"{source.name} -> {entry.destination}",
                "L7 permissions with a wildcard side",
                "use L7 only between named services",
            )
        for index, permission in enumerate(source.permissions):
            if _permission_action(permission) not in ("allow", "deny"):
                yield res.finding(
                    f"{source.prop}.permissions[{index}].action",
                    _get(permission, "action", "Action"),
                    "a permission needs action allow or deny",
                    "set action",
                )
            http = _get(permission, "http", "https", "HTTP")
            if not as_list(http) and not isinstance(http, Mapping):
                yield res.finding(f"{source.prop}.permissions[{index}].http", None, "no HTTP match", "add a path match")


def destination_protocols(view: StackView) -> tuple[dict[str, str], str]:
    """Service → protocol from service-defaults in either rendering, and the global proxy-defaults protocol."""
    protocols: dict[str, str] = {}
    default = "tcp"
    for res in view.of(t.CONSUL_SERVICE_DEFAULTS):
        protocols[str(res.get("name"))] = str(res.get("protocol", "tcp")).lower()
    for res in view.of(t.CRD_SERVICE_DEFAULTS):
        metadata = res.get("metadata", {})
        protocols[str(_get(metadata, "name"))] = str(_get(res.get("spec", {}), "protocol") or "tcp").lower()
    for res in view.of(t.CONSUL_CONFIG_ENTRY):
        data, _ = parse_json_text(res.get("configJson"))
        if res.get("kind") == "service-defaults":
            protocols[str(res.get("name"))] = str(_get(data, "Protocol", "protocol") or "tcp").lower()
        elif res.get("kind") == "proxy-defaults":
            default = str(_get(_get(data, "Config", "config"), "protocol") or default).lower()
    for res in view.of(t.CRD_PROXY_DEFAULTS):
        default = str(_get(_get(res.get("spec", {}), "config"), "protocol") or default).lower()
    return protocols, default


@stack_rule(
    "INT-L7",
    part="stack",
    checks="L7 permissions only for destinations whose protocol (service-defaults, else proxy-defaults) is http, "
    "http2 or grpc.",
    why="Consul intentions docs: Consul rejects (or ignores) L7 intentions for tcp services.",
    fix="Declare service-defaults with the destination's L7 protocol, or use an L4 action.",
)
def int_l7_stack(view: StackView, config: Mapping[str, Any]) -> Iterator[Finding]:
    """L7 rules target L7 services."""
    protocols, default = destination_protocols(view)
    for res in view.of(*INTENTION_TYPES):
        entry = read_entry(res)
        if entry is None:
            continue
        protocol = protocols.get(entry.destination, default)
        for source in entry.sources:
            if source.permissions and protocol not in L7_PROTOCOLS:
                yield (
                    res.finding(
                        f"{source.prop}.permissions",
                        f"{source.name} -> {entry.destination}",
                        f"L7 permissions for a {protocol!r} destination",
                        "declare service-defaults with protocol http/http2/grpc",
                    ),
                    res.urn,
                )


@stack_rule(
    "INT-DEFAULT-DENY",
    checks="Exactly one '*' -> '*' deny intention across both renderings; none in a WAN-federation secondary's "
    "stack (every Consul release in it names another primary datacenter), whose primary's deny is the federation's.",
    why="Consul intentions docs: default deny is what makes every other intention an exception. Consul forwards a "
    "secondary's config-entry writes to the primary and replicates them everywhere; consul-k8s refuses an entry "
    "managed in another datacenter (control-plane/controllers/configentries/configentry_controller.go).",
    fix="Declare the single '*' -> '*' deny once (and no second copy in the other rendering), in the primary's stack "
    "of a federation.",
)
def int_default_deny(view: StackView, config: Mapping[str, Any]) -> Iterator[Finding]:
    """One default deny."""
    entries = [e for e in (read_entry(r) for r in view.of(*INTENTION_TYPES)) if e is not None]
    consul_present = any(is_consul_release(r) for r in view.resources)
    if not entries and not consul_present:
        return
    denies = [
        (e, s)
        for e in entries
        for s in e.sources
        if e.destination == "*" and s.name == "*" and (s.action or "").lower() == "deny"
    ]
    releases = [r for r in view.resources if is_consul_release(r)]
    if releases and all(ConsulValues.of(r).is_federation_secondary for r in releases):
        for entry, source in denies:
            yield (
                entry.res.finding(
                    f"{source.prop}",
                    "* -> * deny",
                    "declared by a federation secondary's stack: the primary's default deny is the federation's",
                    "declare it in the primary's stack only",
                ),
                entry.res.urn,
            )
        return
    if len(denies) == 1:
        return
    if not denies:
        # Registration order is not deterministic (the engine registers concurrently): blame the first by URN.
        anchor = (
            min((e.res for e in entries), key=lambda res: res.urn)
            if entries
            else next(r for r in view.resources if is_consul_release(r))
        )
        yield (
            anchor.finding(
                "sources",
                "<none>",
                "no '*' -> '*' deny intention in the stack",
                "declare one (destination '*', source '*', action deny)",
            ),
            anchor.urn,
        )
        return
    for entry, source in denies[1:]:
        yield (
            entry.res.finding(
                f"{source.prop}", "* -> * deny", f"{len(denies)} default-deny intentions", "keep exactly one"
            ),
            entry.res.urn,
        )


def _defaults_by_service(view: StackView) -> dict[str, list[Res]]:
    """Every service-defaults declaration by service name, in any rendering."""
    found: dict[str, list[Res]] = {}
    for res in view.of(t.CONSUL_SERVICE_DEFAULTS):
        found.setdefault(str(res.get("name")), []).append(res)
    for res in view.of(t.CRD_SERVICE_DEFAULTS):
        found.setdefault(str(_get(res.get("metadata", {}), "name")), []).append(res)
    for res in view.of(t.CONSUL_CONFIG_ENTRY):
        if res.get("kind") == "service-defaults":
            found.setdefault(str(res.get("name")), []).append(res)
    return found


def _reaches(view: StackView, start: Res, target: str) -> bool:
    """Whether ``start`` depends on the resource ``target`` (a URN), directly or through other resources."""
    seen: set[str] = set()
    queue = list(start.dependencies)
    while queue:
        urn = queue.pop()
        if urn == target:
            return True
        if urn in seen:
            continue
        seen.add(urn)
        found = view.by_urn(urn)
        if found is not None:
            queue.extend(found.dependencies)
    return False


@stack_rule(
    "INT-ORDER",
    checks="Every intentions entry with L7 permissions depends on each declaration of its destination's "
    "service-defaults in the stack (directly or through other resources).",
    why="Consul refuses an intentions entry with L7 permissions while its destination's protocol is tcp, and refuses "
    "deleting those service-defaults while the entry exists (agent/consul/state/config_entry.go): without the "
    "dependency, `pulumi up` can write the intentions first and `pulumi destroy` delete the defaults first.",
    fix="Give the intentions resource depends_on its destination's service-defaults resource.",
)
def int_order(view: StackView, config: Mapping[str, Any]) -> Iterator[Finding]:
    """L7 intentions are written after, and deleted before, their destination's defaults."""
    defaults = _defaults_by_service(view)
    for res in view.of(*INTENTION_TYPES):
        entry = read_entry(res)
        if entry is None or not any(source.permissions for source in entry.sources):
            continue
        for declared in defaults.get(entry.destination, []):
            if not _reaches(view, res, declared.urn):
                yield (
                    res.finding(
                        "dependencies",
                        declared.name,
                        f"not ordered after the service-defaults of {entry.destination!r}",
                        f"depend on '{declared.name}'",
                    ),
                    res.urn,
                )
