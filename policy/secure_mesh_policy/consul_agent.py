"""Consul settings that enter around the chart's typed keys: agent extra-config JSON, exposed services, chart pins.

The consul-k8s chart (2.0.3) writes ``server.extraConfig`` / ``client.extraConfig`` verbatim into
``extra-from-values.json``, which the agent loads *after* the chart's own configuration
(charts/consul/templates/server-config-configmap.yaml, client-config-configmap.yaml), so any agent
option there overrides what ``global.tls`` and ``global.acls`` say. The chart's own TLS configuration
sets ``ports.http: -1`` (``httpsOnly``) and ``ports.grpc: -1`` with ``grpc_tls: 8502``; a port set back to a
number opens a plain-text listener.

The same weakness can come in through a hand-written Kubernetes ``Service`` in front of the servers or
the UI, and through a chart release that floats (a version range, or no version), which makes every
rule that reads the pinned chart's defaults meaningless.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from . import types as t
from .chart import ConsulValues, is_consul_release
from .documents import parse_json_text, value_at
from .framework import UNSET, Res, Setting, as_int, as_list, is_seq, resource_rule

EXTRA_CONFIG_KEYS = ("server.extraConfig", "client.extraConfig")
"""Free-form agent configuration in the chart's values (JSON strings, loaded after the chart's own)."""

PINNED_CONSUL_CHART = "2.0.3"
CHART_VERSION_SETTING = Setting(
    "consulChartVersion",
    "string",
    PINNED_CONSUL_CHART,
    "The consul-k8s chart version the pack's chart defaults and contract are read from.",
)
_EXACT_VERSION = re.compile(r"^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")

WEAK_TLS_VERSIONS = frozenset({"tlsv1_0", "tlsv1_1", "tls10", "tls11"})
"""Consul's names for TLS versions below 1.2 (``TLSv1_0`` style, and the legacy ``tls10`` style)."""
PLAIN_PORTS = ("http", "grpc")
"""Agent ports that serve without TLS when set to a port number (``-1`` disables them)."""
EXPOSING_SERVICE_TYPES = frozenset({"LoadBalancer", "NodePort"})
CONSUL_API_PORTS = frozenset({8500, 8501, 8502, 8503})
"""Consul's HTTP, HTTPS, gRPC and gRPC-TLS ports (chart defaults)."""


def _is_false(value: Any) -> bool:
    return value is False or (isinstance(value, str) and value.strip().lower() == "false")


def _walk(data: Any, path: str = "") -> Iterator[tuple[str, str, Any]]:
    """Every (dotted path, key, value) of a JSON-like tree."""
    if isinstance(data, Mapping):
        for key in data:
            value = data[key]
            here = f"{path}.{key}" if path else str(key)
            yield here, str(key), value
            yield from _walk(value, here)
    elif is_seq(data):
        for index, item in enumerate(as_list(data)):
            yield from _walk(item, f"{path}[{index}]")


def _parent(path: str) -> str:
    """The dotted path of a setting's block, list indexes dropped: Consul decodes a block written as a list of one
    map (HCL's JSON form, ``{"ports": [{"http": 8500}]}``) like the map itself (agent/config uses
    lib/decode.HookWeakDecodeFromSlice), so ``ports[0].http`` is ``ports.http``.
    """
    path = re.sub(r"\[\d+\]", "", path)
    return path.rsplit(".", 1)[0].lower() if "." in path else ""


def _port_number(value: Any) -> int | None:
    """A port value as an int (``-1`` included), None when it is not a number."""
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value.strip())
    return None if isinstance(value, str) else as_int(value)


def _opens_port(value: Any) -> bool:
    """A port setting that opens a listener: any number but ``-1`` (Consul's "disabled")."""
    number = _port_number(value)
    return number is not None and number >= 0


_TOKEN_KEY = re.compile(r"^acl_(\w+_)?token$")


def agent_config_findings(data: Any) -> Iterator[tuple[str, Any, str, str]]:
    """(path, value, problem, fix) for each weakening agent option in one parsed agent configuration."""
    for path, key, value in _walk(data):
        name, parent = key.lower(), _parent(path)
        if name.startswith("verify_") and _is_false(value):
            yield path, value, "turns TLS verification off", "remove it (global.tls.verify sets verification)"
        elif name == "tls_min_version" and str(value).lower() in WEAK_TLS_VERSIONS:
            yield path, value, "allows TLS below 1.2", "remove it, or use TLSv1_2/TLSv1_3"
        elif parent.endswith("ports") and name in PLAIN_PORTS and _opens_port(value):
            yield path, value, "opens a plain-text listener", f"remove it (the chart sets ports.{name} to -1)"
        elif name in ("down_policy", "acl_down_policy") and str(value).lower() == "allow":
            yield path, value, "allows every request while ACLs cannot be resolved", "remove it (extend-cache)"
        elif (parent.endswith("acl.tokens") or _TOKEN_KEY.match(name)) and not isinstance(value, Mapping):
            yield path, "<redacted>", "an ACL token in plain Helm values", "remove it; tokens come from Vault"
        elif parent.endswith("auto_encrypt") and name in ("allow_tls", "tls") and _is_false(value):
            yield path, value, "auto-encrypt off: clients get no TLS certificate", "remove it (enableAutoEncrypt)"


@resource_rule(
    "CSL-EXTRA-CONFIG",
    checks="No agent extraConfig (server.extraConfig, client.extraConfig) turns off a verify_* option (top level "
    "or in a tls {defaults|internal_rpc|https|grpc} block), allows TLS below 1.2, opens the plain-text http or "
    "grpc port, sets the ACL down policy to allow, carries an ACL token, or turns auto-encrypt off, in blocks "
    "written as maps or as HCL's lists of one map; extraConfig is valid JSON; no agent configuration comes from a "
    "loaded extraVolume or from valueYamlFiles the pack cannot read.",
    why="consul-k8s 2.0.3 loads extraConfig after the chart's own agent configuration, so these keys silently "
    "override global.tls (verify, httpsOnly, ports.http/grpc = -1) and global.acls.",
    fix="Remove the override from server.extraConfig/client.extraConfig and use the chart's typed keys "
    "(global.tls.*, global.acls.*).",
    types=(t.HELM_RELEASE,),
)
def csl_extra_config(res: Res, config: Mapping[str, Any]) -> Iterator[str]:
    """Agent options smuggled through extraConfig do not weaken TLS, ports, ACLs or auto-encrypt."""
    if not is_consul_release(res):
        return
    values = ConsulValues.of(res)
    files = as_list(res.get("valueYamlFiles"))
    if files:
        yield res.finding(
            "valueYamlFiles", f"{len(files)} file(s)", "values the pack cannot read", "give every value in values"
        )
    for agent in ("server", "client"):
        for index, volume in enumerate(as_list(value_at(values.values, f"{agent}.extraVolumes"))):
            if isinstance(volume, Mapping) and str(volume.get("load", "")).lower() == "true":
                yield res.finding(
                    f"values.{agent}.extraVolumes[{index}].load",
                    volume.get("load"),
                    "agent configuration loaded from a volume, past the values the pack checks",
                    "put the options in extraConfig",
                )
    for key in EXTRA_CONFIG_KEYS:
        raw = value_at(values.values, key)
        if raw is UNSET:
            continue
        data, error = parse_json_text(raw)
        if error:
            yield res.finding(f"values.{key}", raw, error, "write extraConfig as a JSON string")
            continue
        for path, value, problem, fix in agent_config_findings(data):
            yield res.finding(f"values.{key}.{path}", value, problem, fix)


# ------------------------------------------------------------------------------------------ exposure

UI_SERVICE_TYPE = "ui.service.type"
EXPOSE_SERVERS = "server.exposeService.enabled"
"""``"-"`` (the chart default) means: enabled when ``global.adminPartitions.enabled`` (values.yaml, chart 2.0.3)."""


HOST_EXPOSURE = {
    "server.exposeGossipAndRPCPorts": "binds the servers' RPC and gossip ports on the nodes' addresses",
    "client.exposeGossipPorts": "binds the clients' gossip ports on the nodes' addresses",
    "client.hostNetwork": "runs clients on the host network: their API ports listen on the nodes' addresses",
}
"""Values that put Consul agent ports on the Kubernetes nodes' own addresses (values.yaml, chart 2.0.3)."""


def _exposes_servers(values: ConsulValues) -> tuple[bool, Any]:
    given = value_at(values.values, EXPOSE_SERVERS)
    if given is UNSET or given == "-":
        partitions = value_at(values.values, "global.adminPartitions.enabled")
        return partitions is True, given
    return given is True or (isinstance(given, str) and given.lower() == "true"), given


@resource_rule(
    "CSL-EXPOSE",
    checks="Consul's UI and API stay inside the cluster: ui.service.type is not LoadBalancer or NodePort, "
    "ui.ingress.enabled is not true, server.exposeService is off (explicitly or through admin partitions), "
    "server.exposeGossipAndRPCPorts, client.exposeGossipPorts and client.hostNetwork are not true, and no "
    "Kubernetes Service of type LoadBalancer/NodePort selects Consul's server or UI pods or serves ports "
    "8500-8503.",
    why="Consul security model: the HTTP API (which the UI is) is an administrative interface; exposing it "
    "outside the cluster puts ACL tokens and the API within reach of the network.",
    fix="Leave ui.service.type unset (ClusterIP), ui.ingress and server.exposeService disabled; reach Consul with "
    "kubectl port-forward svc/<fullname>-server 8501.",
    types=(t.HELM_RELEASE, t.K8S_SERVICE),
)
def csl_expose(res: Res, config: Mapping[str, Any]) -> Iterator[str]:
    """No Consul API or UI service outside the cluster."""
    if res.type == t.K8S_SERVICE:
        yield from _service_exposure(res)
        return
    if not is_consul_release(res):
        return
    values = ConsulValues.of(res)
    ui_type = value_at(values.values, UI_SERVICE_TYPE)
    if ui_type in EXPOSING_SERVICE_TYPES:
        yield res.finding(f"values.{UI_SERVICE_TYPE}", ui_type, "exposes Consul's UI and API", "leave it unset")
    ingress = value_at(values.values, "ui.ingress.enabled")
    if ingress is True:
        yield res.finding("values.ui.ingress.enabled", ingress, "exposes Consul's UI and API", "set it to false")
    for key, what in HOST_EXPOSURE.items():
        given_host = value_at(values.values, key)
        if given_host is True or (isinstance(given_host, str) and given_host.lower() == "true"):
            yield res.finding(f"values.{key}", given_host, what, "set it to false (the chart default)")
    exposed, given = _exposes_servers(values)
    if exposed:
        yield res.finding(
            f"values.{EXPOSE_SERVERS}",
            given,
            "a LoadBalancer service in front of Consul's servers (HTTPS API, gRPC)",
            "set server.exposeService.enabled: false",
        )


def _service_exposure(res: Res) -> Iterator[str]:
    spec = res.get("spec", {})
    kind = spec.get("type") if isinstance(spec, Mapping) else None
    if kind not in EXPOSING_SERVICE_TYPES:
        return
    selector = spec.get("selector") or {}
    selects_consul = isinstance(selector, Mapping) and (
        selector.get("app") == "consul" and selector.get("component") in (None, "server", "ui")
    )
    ports = {as_int(p.get("port")) for p in as_list(spec.get("ports")) if isinstance(p, Mapping)}
    ports |= {as_int(p.get("targetPort")) for p in as_list(spec.get("ports")) if isinstance(p, Mapping)}
    if selects_consul or ports & CONSUL_API_PORTS:
        yield res.finding("spec.type", kind, "exposes Consul's API outside the cluster", "use ClusterIP")


# --------------------------------------------------------------------------------------- chart pins


@resource_rule(
    "CSL-CHART-PIN",
    checks="Every Helm release and Helm chart names one exact chart version (no range, no missing version); the "
    "Consul chart is exactly the version the pack reads its defaults from (consulChartVersion, 2.0.3).",
    why="A version range or a missing version installs whatever the repository serves next: unreviewed values "
    "defaults, and rules that check the wrong chart.",
    fix="Set version to an exact release (consul: 2.0.3).",
    types=(t.HELM_RELEASE, t.HELM_CHART_V4),
    settings=(CHART_VERSION_SETTING,),
)
def csl_chart_pin(res: Res, config: Mapping[str, Any]) -> Iterator[str]:
    """Charts are pinned to one exact version."""
    version = res.get("version")
    text = str(version).strip() if version is not None else ""
    if not _EXACT_VERSION.match(text):
        yield res.finding("version", version, "not one exact chart version", "set an exact version (x.y.z)")
        return
    chart = str(res.get("chart", "")).rstrip("/").rsplit("/", 1)[-1]
    wanted = str(config.get("consulChartVersion") or PINNED_CONSUL_CHART)
    if chart == "consul" and text.lstrip("v") != wanted:
        yield res.finding("version", version, f"the pack's chart contract is for {wanted}", f"set version: {wanted}")
