"""Mesh bypass rules: permissive mTLS, non-mesh destinations, weak mesh TLS, missing mesh entries, open gateways,
and pods whose traffic passes around their sidecar.

The mesh-wide settings live in Consul config entries that reach Consul three ways, all read here into one
shape (kind, name, spec):

* consul-k8s custom resources (``kubernetes:consul.hashicorp.com/<version>:<Kind>``, whether declared with
  ``apiextensions.CustomResource`` or from YAML): ``Mesh``, ``ProxyDefaults``, ``ServiceDefaults``,
  ``TerminatingGateway``;
* ``consul.ConfigEntry`` with a ``kind`` and a ``configJson`` document in Consul's API field names;
* ``consul.ConfigEntryServiceDefaults``.

Field names are compared without case and underscores, so ``mutualTLSMode`` (CRD), ``MutualTLSMode`` (API),
``mutualTlsMode`` (Pulumi) and ``mutual_tls_mode`` (HCL alias) are one field.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from . import types as t
from .chart import is_consul_release
from .documents import parse_json_text
from .framework import Res, StackView, as_list, resource_rule, stack_rule

Finding = tuple[str, str | None]

MESH, PROXY_DEFAULTS, SERVICE_DEFAULTS, TERMINATING_GATEWAY = (
    "mesh",
    "proxy-defaults",
    "service-defaults",
    "terminating-gateway",
)
CRD_KINDS = {
    "Mesh": MESH,
    "ProxyDefaults": PROXY_DEFAULTS,
    "ServiceDefaults": SERVICE_DEFAULTS,
    "TerminatingGateway": TERMINATING_GATEWAY,
}
STRONG_TLS = ("tlsv1_2", "tlsv1_3")
"""Minimum mesh TLS versions accepted (Consul's values: TLS_AUTO, TLSv1_0 … TLSv1_3; types/tls.go)."""
WEAK_TLS = ("tlsv1_0", "tlsv1_1")


def _key(name: Any) -> str:
    return str(name).replace("_", "").replace("-", "").lower()


def field(data: Any, *path: str) -> Any:
    """A nested field, matching each key without case or underscores (None when absent)."""
    for name in path:
        if not isinstance(data, Mapping):
            return None
        wanted = _key(name)
        data = next((data[k] for k in data if _key(k) == wanted), None)
    return data


def _crd_kind(type_token: str) -> str | None:
    group_version, _, kind = type_token.rpartition(":")
    if not group_version.startswith(f"kubernetes:{t.CONSUL_CRD_GROUP}/"):
        return None
    return CRD_KINDS.get(kind)


@dataclass
class ConfigDoc:
    """One Consul config entry as declared: its kind, name, spec and the property path the spec sits at."""

    res: Res
    kind: str
    name: str
    spec: Any
    prefix: str


def read_config(res: Res) -> ConfigDoc | None:
    """The mesh, proxy-defaults, service-defaults or terminating-gateway entry a resource declares, if any."""
    crd_kind = _crd_kind(res.type)
    if crd_kind is not None:
        return ConfigDoc(res, crd_kind, str(field(res.get("metadata"), "name") or ""), res.get("spec", {}), "spec")
    if res.type == t.CONSUL_CONFIG_ENTRY:
        kind = str(res.get("kind", "")).lower()
        if kind not in (MESH, PROXY_DEFAULTS, SERVICE_DEFAULTS, TERMINATING_GATEWAY):
            return None
        data, _ = parse_json_text(res.get("configJson"))
        return ConfigDoc(res, kind, str(res.get("name", "")), data or {}, "configJson")
    if res.type == t.CONSUL_SERVICE_DEFAULTS:
        return ConfigDoc(res, SERVICE_DEFAULTS, str(res.get("name", "")), res.props, "")
    return None


def _at(doc: ConfigDoc, *path: str) -> str:
    return ".".join(p for p in (doc.prefix, *path) if p)


def _is_true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


@resource_rule(
    "MESH-MTLS-STRICT",
    checks="No service-defaults or proxy-defaults (custom resource, config entry or ConfigEntryServiceDefaults) "
    "sets mutualTLSMode permissive or exposes plain-text paths (expose.paths); no mesh entry sets "
    "allowEnablingPermissiveMutualTLS true.",
    why="Consul mTLS docs: permissive mode and expose paths let non-mTLS traffic reach the application past "
    "intentions; AllowEnablingPermissiveMutualTLS=false makes Consul refuse any change to permissive "
    "(agent/consul/state/config_entry.go checkMutualTLSMode).",
    fix="Set mutualTLSMode: strict (or leave it unset), remove expose paths, and keep "
    "allowEnablingPermissiveMutualTLS: false in the mesh entry.",
    types=None,
)
def mesh_mtls_strict(res: Res, config: Mapping[str, Any]) -> Iterator[str]:
    """Only mTLS reaches a sidecar."""
    doc = read_config(res)
    if doc is None:
        return
    if doc.kind in (SERVICE_DEFAULTS, PROXY_DEFAULTS):
        mode = field(doc.spec, "mutualTLSMode")
        if str(mode or "").lower() == "permissive":
            yield res.finding(_at(doc, "mutualTLSMode"), mode, "accepts plain-text connections", "set strict")
        exposes = field(doc.spec, "expose") or field(doc.spec, "exposes")  # Pulumi's list is ``exposes``
        for index, expose in enumerate(as_list(exposes)):
            paths = as_list(field(expose, "paths"))
            if paths:
                where = _at(doc, "exposes", str(index)) if doc.prefix == "" else _at(doc, "expose")
                yield res.finding(f"{where}.paths", paths, "plain-text paths past mTLS and intentions", "remove them")
    elif doc.kind == MESH:
        allow = field(doc.spec, "allowEnablingPermissiveMutualTLS")
        if _is_true(allow):
            yield res.finding(
                _at(doc, "allowEnablingPermissiveMutualTLS"), allow, "lets any service turn permissive", "set false"
            )


@resource_rule(
    "MESH-DESTINATIONS",
    checks="The mesh entry sets transparentProxy.meshDestinationsOnly true; no terminating gateway links the "
    "wildcard service '*'.",
    why="Consul mesh entry docs: without meshDestinationsOnly a transparent proxy forwards to any IP outside the "
    "catalog, bypassing intentions; a '*' terminating gateway makes every external destination reachable.",
    fix="Set transparentProxy.meshDestinationsOnly: true; list each external service of a terminating gateway.",
    types=None,
)
def mesh_destinations(res: Res, config: Mapping[str, Any]) -> Iterator[str]:
    """Proxies reach only catalog destinations."""
    doc = read_config(res)
    if doc is None:
        return
    if doc.kind == MESH:
        only = field(doc.spec, "transparentProxy", "meshDestinationsOnly")
        if not _is_true(only):
            yield res.finding(
                _at(doc, "transparentProxy.meshDestinationsOnly"),
                only,
                "transparent proxies reach destinations outside the mesh",
                "set true",
            )
    elif doc.kind == TERMINATING_GATEWAY:
        for index, service in enumerate(as_list(field(doc.spec, "services"))):
            if str(field(service, "name") or "") == "*":
                yield res.finding(
                    _at(doc, f"services[{index}].name"), "*", "links every service to the gateway", "name each service"
                )


@resource_rule(
    "MESH-TLS-VERSION",
    checks="The mesh entry sets tls.incoming.tlsMinVersion and tls.outgoing.tlsMinVersion to TLSv1_2 or TLSv1_3, "
    "and no tlsMaxVersion below TLSv1_2.",
    why="Consul mesh entry docs: the floor of mesh mTLS is otherwise Envoy's build default; TLS 1.0/1.1 are "
    "deprecated (RFC 8996).",
    fix="Set tls.incoming.tlsMinVersion and tls.outgoing.tlsMinVersion: TLSv1_3 (or TLSv1_2).",
    types=None,
)
def mesh_tls_version(res: Res, config: Mapping[str, Any]) -> Iterator[str]:
    """Mesh mTLS is at least TLS 1.2 both ways."""
    doc = read_config(res)
    if doc is None or doc.kind != MESH:
        return
    for direction in ("incoming", "outgoing"):
        minimum = field(doc.spec, "tls", direction, "tlsMinVersion")
        if str(minimum or "").lower() not in STRONG_TLS:
            yield res.finding(
                _at(doc, f"tls.{direction}.tlsMinVersion"), minimum, "no TLS 1.2+ floor", "set TLSv1_3 or TLSv1_2"
            )
        maximum = field(doc.spec, "tls", direction, "tlsMaxVersion")
        if str(maximum or "").lower() in WEAK_TLS:
            yield res.finding(_at(doc, f"tls.{direction}.tlsMaxVersion"), maximum, "caps TLS below 1.2", "remove it")


def _is_secondary(release: Res) -> bool:
    """A WAN-federation secondary datacenter: ``global.federation`` names another primary datacenter."""
    values = release.get("values", {})
    federation = field(field(values, "global"), "federation")
    primary = field(federation, "primaryDatacenter")
    datacenter = field(field(values, "global"), "datacenter") or "dc1"
    return _is_true(field(federation, "enabled")) and bool(primary) and primary != datacenter


@stack_rule(
    "MESH-ENTRY",
    checks="A stack that deploys Consul (standalone or a federation's primary datacenter) declares exactly one mesh "
    "entry and exactly one proxy-defaults entry (named global), across both renderings; a secondary datacenter's "
    "stack declares neither.",
    why="Consul keeps one mesh and one global proxy-defaults entry per federation (writes are forwarded to the "
    "primary datacenter): a second declaration fights the first on every update and deletes it on destroy, and "
    "without one the mesh runs on Consul's permissive defaults.",
    fix="Declare the Mesh and the global ProxyDefaults once, in the primary (or standalone) stack's intentions "
    "rendering.",
)
def mesh_entry(view: StackView, config: Mapping[str, Any]) -> Iterator[Finding]:
    """One owner per mesh-wide entry."""
    docs = [d for d in (read_config(r) for r in view.resources) if d is not None]
    releases = [r for r in view.resources if is_consul_release(r)]
    owning = [r for r in releases if not _is_secondary(r)]
    for kind, name in ((MESH, "mesh"), (PROXY_DEFAULTS, "global")):
        found = [d for d in docs if d.kind == kind]
        if releases and not owning:
            for doc in found:
                yield (
                    doc.res.finding(
                        "kind", kind, "declared by a secondary datacenter's stack", "declare it in the primary's"
                    ),
                    doc.res.urn,
                )
            continue
        if not found and owning:
            anchor = min(owning, key=lambda r: r.urn)
            yield (
                anchor.finding("values", "<no entry>", f"no {kind} entry declared for this Consul", f"declare {kind}"),
                anchor.urn,
            )
        for doc in found[1:] if len(found) > 1 else []:
            yield (
                doc.res.finding("kind", kind, f"{len(found)} {kind} entries in the stack", "keep exactly one"),
                doc.res.urn,
            )
        for doc in found:
            if doc.name != name:
                yield (
                    doc.res.finding("name", doc.name, f"Consul uses only the {kind} entry named {name!r}", name),
                    doc.res.urn,
                )


def _is_gateway(res: Res) -> bool:
    return res.type.startswith(f"kubernetes:{t.GATEWAY_API_GROUP}/") and res.type.endswith(":Gateway")


@resource_rule(
    "MESH-GATEWAY-ROUTES",
    checks="No Gateway API Gateway listener accepts routes from every namespace (allowedRoutes.namespaces.from "
    "All, or Selector with an empty selector).",
    why="Gateway API: a listener open to all namespaces lets any namespace attach an HTTPRoute and publish its "
    "service through the gateway, around the mesh's intentions on who is routed.",
    fix="Use from: Same, or from: Selector naming the routed apps' namespaces.",
    types=None,
)
def mesh_gateway_routes(res: Res, config: Mapping[str, Any]) -> Iterator[str]:
    """Gateways accept routes only from named namespaces."""
    if not _is_gateway(res):
        return
    for index, listener in enumerate(as_list(field(res.get("spec", {}), "listeners"))):
        namespaces = field(listener, "allowedRoutes", "namespaces")
        source = str(field(namespaces, "from") or "Same")
        where = f"spec.listeners[{index}].allowedRoutes.namespaces"
        if source == "All":
            yield res.finding(f"{where}.from", source, "routes from every namespace", "use Same or a Selector")
        elif source == "Selector":
            selector = field(namespaces, "selector")
            labels, expressions = field(selector, "matchLabels"), field(selector, "matchExpressions")
            if not (isinstance(labels, Mapping) and labels) and not as_list(expressions):
                yield res.finding(
                    f"{where}.selector", selector, "an empty selector matches every namespace", "name the namespaces"
                )


# ------------------------------------------------------------------------------------ transparent proxy

TPROXY = "connectInject.transparentProxy.defaultEnabled"
TPROXY_ANNOTATION = "consul.hashicorp.com/transparent-proxy"
BYPASS_ANNOTATIONS = (
    "consul.hashicorp.com/transparent-proxy-exclude-inbound-ports",
    "consul.hashicorp.com/transparent-proxy-exclude-outbound-ports",
    "consul.hashicorp.com/transparent-proxy-exclude-outbound-cidrs",
    "consul.hashicorp.com/transparent-proxy-exclude-uids",
)
"""consul-k8s annotations that let traffic pass the sidecar.

From control-plane/connect-inject/constants/annotations_and_labels.go (v2.0.3)."""
INJECT_ANNOTATION = "consul.hashicorp.com/connect-inject"
WORKLOAD_TEMPLATES = {
    "kubernetes:core/v1:Pod": (),
    "kubernetes:apps/v1:Deployment": ("spec", "template"),
    "kubernetes:apps/v1:StatefulSet": ("spec", "template"),
    "kubernetes:apps/v1:DaemonSet": ("spec", "template"),
    "kubernetes:apps/v1:ReplicaSet": ("spec", "template"),
    "kubernetes:batch/v1:Job": ("spec", "template"),
    "kubernetes:batch/v1:CronJob": ("spec", "jobTemplate", "spec", "template"),
}
"""Where each workload kind keeps its pod template (the pod's own metadata for a Pod)."""


def _is_false(value: Any) -> bool:
    return value is False or (isinstance(value, str) and value.strip().lower() == "false")


@resource_rule(
    "MESH-TPROXY",
    checks="Transparent proxy stays on: the Consul chart keeps connectInject.transparentProxy.defaultEnabled, no "
    "meshed workload (pod template of a Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job or CronJob) or "
    "Namespace label turns consul.hashicorp.com/transparent-proxy off, and no meshed pod excludes inbound or "
    "outbound ports, CIDRs or UIDs from the proxy.",
    why="consul-k8s transparent proxy docs: without it, or with exclusions, traffic reaches the application's port "
    "or leaves the pod without passing the sidecar, so neither mTLS nor intentions nor meshDestinationsOnly apply.",
    fix="Leave transparent proxy on and remove the transparent-proxy-exclude-* annotations; route external traffic "
    "through a terminating gateway.",
    types=None,
)
def mesh_tproxy(res: Res, config: Mapping[str, Any]) -> Iterator[str]:
    """Every meshed pod's traffic passes its sidecar."""
    if is_consul_release(res):
        values = res.get("values", {})
        enabled = field(field(field(values, "connectInject"), "transparentProxy"), "defaultEnabled")
        if _is_false(enabled):
            yield res.finding(f"values.{TPROXY}", enabled, "pods get no transparent proxy", "remove it (true)")
        return
    if res.type == "kubernetes:core/v1:Namespace":
        labels = field(res.get("metadata", {}), "labels")
        value = labels.get(TPROXY_ANNOTATION) if isinstance(labels, Mapping) else None
        if _is_false(value):
            yield res.finding(f"metadata.labels['{TPROXY_ANNOTATION}']", value, "turns transparent proxy off", "remove")
        return
    path = WORKLOAD_TEMPLATES.get(res.type)
    if path is None:
        return
    template: Any = res.props
    for key in path:
        template = field(template, key)
    annotations = field(field(template, "metadata"), "annotations")
    if not isinstance(annotations, Mapping) or _is_false(annotations.get(INJECT_ANNOTATION)):
        return  # not in the mesh at all: nothing to bypass
    where = ".".join((*path, "metadata", "annotations"))
    if _is_false(annotations.get(TPROXY_ANNOTATION)):
        yield res.finding(
            f"{where}['{TPROXY_ANNOTATION}']", annotations.get(TPROXY_ANNOTATION), "pod bypasses its sidecar", "remove"
        )
    for name in BYPASS_ANNOTATIONS:
        if annotations.get(name):
            yield res.finding(f"{where}['{name}']", annotations.get(name), "traffic passes around the sidecar", "drop")
