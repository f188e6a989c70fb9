"""Multi-cluster rules: peering tokens only as secrets, peering through mesh gateways, per-cluster Vault paths,
no plain-text replication token.

A peering token is a bearer credential: whoever holds it can establish a peering with the acceptor (Consul docs
``east-west/cluster-peering/establish``; it carries the acceptor's CA, server addresses and an establishment
secret). A replication token gives a secondary datacenter the primary's ACL replication rights. Both enter a
stack in ways a reviewer does not expect (a ConfigMap, an annotation, Helm values), so the rules look for them
by *content* in every resource, not only where the program puts them.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from . import types as t
from .chart import is_consul_release
from .documents import effective, value_at, walk
from .framework import ENVIRONMENT_SETTING, Res, StackView, as_int, is_production, resource_rule, stack_rule
from .mesh import MESH, PROXY_DEFAULTS, field, read_config

Finding = tuple[str, str | None]

PEERING_TOKEN = "consul:index/peeringToken:PeeringToken"
PEERING = "consul:index/peering:Peering"
PEERING_TOKEN_FIELDS = frozenset({"CA", "ServerAddresses", "ServerName", "PeerID", "EstablishmentSecret"})
"""The JSON fields of Consul's ``structs.PeeringToken`` (agent/structs/peering.go) a decoded token carries."""
_BASE64 = re.compile(r"^[A-Za-z0-9+/=_-]{80,}$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_REPLICATION_KEY = re.compile(r"(^|[._-])replication([._-]?token)?$", re.IGNORECASE)


def is_peering_token(value: Any) -> bool:
    """True for a string that decodes (base64) to Consul's peering-token JSON."""
    if not isinstance(value, str) or not _BASE64.match(value.strip()):
        return False
    try:
        decoded = json.loads(base64.b64decode(value.strip() + "=" * (-len(value.strip()) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return False
    return isinstance(decoded, dict) and len(PEERING_TOKEN_FIELDS & set(decoded)) >= 3


SCANNED_TYPES = frozenset(
    {
        t.HELM_RELEASE,
        t.CONFIG_MAP,
        "kubernetes:apps/v1:Deployment",
        "kubernetes:apps/v1:StatefulSet",
        "kubernetes:apps/v1:DaemonSet",
        "kubernetes:batch/v1:Job",
        "kubernetes:batch/v1:CronJob",
        "kubernetes:core/v1:Pod",
    }
)
"""Where a credential pasted in plain text is read by anyone who reads the object: Helm values, ConfigMaps,
workloads (annotations, env), plus every consul-k8s custom resource and Consul config entry (see
:func:`scanned`). Their properties come from config, so they are known during preview."""


def scanned(res: Res) -> bool:
    """Whether the plain-text credential rules look into a resource's properties."""
    return (
        res.type in SCANNED_TYPES
        or res.type.startswith(f"kubernetes:{t.CONSUL_CRD_GROUP}/")
        or res.type.startswith("consul:index/configEntry")
    )


def _embedded_tokens(res: Res) -> Iterator[str]:
    """Paths of peering tokens in a resource's properties, also inside JSON text and line-based annotations."""
    for path, value in walk(res.props):
        if not isinstance(value, str):
            continue
        candidates = [value, *re.split(r"[\s\"',:=]+", value)]
        if any(is_peering_token(candidate) for candidate in candidates):
            yield path


@stack_rule(
    "TOPO-PEERING-TOKEN-SECRET",
    checks="Every consul.PeeringToken declares its peeringToken output secret (additional_secret_outputs), and no "
    "Helm release, ConfigMap, workload, consul-k8s custom resource or Consul config entry carries a peering token "
    "(by content: base64 of Consul's token JSON); its only place is consul.Peering's peeringToken input (secret).",
    why="The peering token is a bearer credential for the acceptor cluster: a plain output lands in state and in "
    "every `pulumi stack output` unencrypted, and a token copied into a ConfigMap, an annotation or Helm values is "
    "readable by everyone who can read that object.",
    fix="Keep additional_secret_outputs=['peeringToken'] (pulumi-consul adds it), export the token only with "
    "pulumi.Output.secret and hand it straight to consul.Peering(peering_token=...).",
)
def topo_peering_token_secret(view: StackView, config: Mapping[str, Any]) -> Iterator[Finding]:
    """Tokens stay secret, and only where the dialer needs them."""
    for res in view.of(PEERING_TOKEN):
        if "peeringToken" not in res.additional_secret_outputs:
            yield (
                res.finding(
                    "additionalSecretOutputs",
                    list(res.additional_secret_outputs),
                    "the peering token would be stored and shown in plain text",
                    "add 'peeringToken' to additional_secret_outputs",
                ),
                res.urn,
            )
    for res in view.resources:
        if not scanned(res):
            continue
        for path in _embedded_tokens(res):
            yield (
                res.finding(path, "<peering token>", "holds a peering token", "pass it only to consul.Peering"),
                res.urn,
            )


def _peering_releases(view: StackView) -> list[Res]:
    return [
        r
        for r in view.resources
        if is_consul_release(r)
        and (
            effective(r.get("values", {}), "global.peering.enabled") is True
            or effective(r.get("values", {}), "global.federation.enabled") is True
        )
    ]


@stack_rule(
    "TOPO-MESH-GATEWAYS",
    checks="A Consul release with peering (or federation) on runs mesh gateways (meshGateway.enabled, 2+ replicas "
    "in prod); with peering, the stack's mesh entry sets peering.peerThroughMeshGateways, proxy-defaults sets "
    "meshGateway.mode local or remote, and every PeeringToken and Peering depends on the mesh entry.",
    why="Consul docs east-west/mesh-gateway/cluster-peer.mdx: a token generated before the mesh entry advertises "
    "the servers instead of the gateways, and mode 'none' does not route to peers; one gateway pod is a single "
    "point of failure for every peer.",
    fix="Set meshGateway.enabled with replicas >= 2, declare the mesh entry with peering.peerThroughMeshGateways: "
    "true, proxy-defaults meshGateway.mode: local, and make the token/peering depend on the mesh entry.",
    settings=(ENVIRONMENT_SETTING,),
)
def topo_mesh_gateways(view: StackView, config: Mapping[str, Any]) -> Iterator[Finding]:
    """Peers meet through gateways, configured before any token."""
    for release in _peering_releases(view):
        production = is_production(config, release.urn)
        values = release.get("values", {})
        if effective(values, "meshGateway.enabled") is not True:
            yield (
                release.finding(
                    "values.meshGateway.enabled", value_at(values, "meshGateway.enabled"), "no mesh gateways", "true"
                ),
                release.urn,
            )
        replicas = effective(values, "meshGateway.replicas")
        count = as_int(replicas)  # the engine sends numbers as floats (1.0)
        if production and count is not None and count < 2:
            yield (
                release.finding("values.meshGateway.replicas", replicas, "one gateway for every peer", ">= 2"),
                release.urn,
            )
        if effective(values, "global.peering.enabled") is not True:
            continue
        docs = [d for d in (read_config(r) for r in view.resources) if d is not None]
        meshes = [d for d in docs if d.kind == MESH]
        for doc in meshes:
            if field(doc.spec, "peering", "peerThroughMeshGateways") is not True:
                yield (
                    doc.res.finding(
                        f"{doc.prefix}.peering.peerThroughMeshGateways",
                        field(doc.spec, "peering", "peerThroughMeshGateways"),
                        "peering control traffic bypasses the mesh gateways",
                        "true",
                    ),
                    doc.res.urn,
                )
        for doc in (d for d in docs if d.kind == PROXY_DEFAULTS):
            mode = field(doc.spec, "meshGateway", "mode")
            if str(mode or "").lower() not in ("local", "remote"):
                yield (
                    doc.res.finding(
                        f"{doc.prefix}.meshGateway.mode", mode, "sidecars do not route to peers", "local"
                    ),
                    doc.res.urn,
                )
        mesh_urns = {d.res.urn for d in meshes}
        for res in view.of(PEERING_TOKEN, PEERING):
            if mesh_urns and not mesh_urns & set(res.dependencies):
                yield (
                    res.finding("dependsOn", "<no mesh entry>", "may run before the mesh entry exists", "depend on it"),
                    res.urn,
                )


@resource_rule(
    "TOPO-UNIQUE-PATHS",
    checks="A Consul release with peering or federation on uses a cluster's own Vault paths: a Kubernetes auth "
    "mount other than the shared default 'kubernetes', the same mount in connectCA.authMethodPath and the Vault "
    "agents' auth-path annotation, and a connect intermediate path that names the datacenter and differs from "
    "the root path.",
    why="One Vault serves many clusters: a shared auth mount lets one cluster's service accounts log in as another's, "
    "and two datacenters writing one intermediate mount overwrite each other's CA (hashicorp/consul#6819; "
    "hashicorp/consul-k8s PR #1029: authMethodPath and the agents' auth path must both be set).",
    fix="Give each cluster kubernetes-<datacenter> as its auth mount and <prefix>/connect/pki_consul_<datacenter> as "
    "its intermediate path (the layout's defaults).",
    types=(t.HELM_RELEASE,),
)
def topo_unique_paths(res: Res, config: Mapping[str, Any]) -> Iterator[str]:
    """Per-cluster names in a multi-cluster release."""
    if not is_consul_release(res):
        return
    values = res.get("values", {})
    if not (
        effective(values, "global.peering.enabled") is True or effective(values, "global.federation.enabled") is True
    ):
        return
    vault = "global.secretsBackend.vault"
    auth = str(value_at(values, f"{vault}.connectCA.authMethodPath") or "")
    if auth in ("", "kubernetes"):
        yield res.finding(
            f"values.{vault}.connectCA.authMethodPath", auth or None, "the shared default auth mount", "kubernetes-<dc>"
        )
    annotations = str(value_at(values, f"{vault}.agentAnnotations") or "")
    if auth and f"auth/{auth}" not in annotations:
        yield res.finding(
            f"values.{vault}.agentAnnotations",
            annotations or None,
            f"the Vault agents do not log in at auth/{auth}",
            f"add vault.hashicorp.com/auth-path: auth/{auth}",
        )
    datacenter = str(value_at(values, "global.datacenter") or "")
    intermediate = str(value_at(values, f"{vault}.connectCA.intermediatePKIPath") or "")
    root = str(value_at(values, f"{vault}.connectCA.rootPKIPath") or "")
    names_dc = datacenter and (datacenter in intermediate or datacenter.replace("-", "_") in intermediate)
    if not names_dc or intermediate == root:
        yield res.finding(
            f"values.{vault}.connectCA.intermediatePKIPath",
            intermediate or None,
            "not this datacenter's own intermediate mount",
            f"a path naming '{datacenter}', distinct from rootPKIPath",
        )


@stack_rule(
    "TOPO-NO-PLAINTEXT-REPLICATION-TOKEN",
    checks="No Helm release, ConfigMap, workload, consul-k8s custom resource or Consul config entry holds an ACL "
    "replication token in plain text: a UUID under a key named replication, replicationToken or "
    "replication_token, in a list under one, or under a token key of a replication map (the token belongs in a "
    "Vault KV-v2 secret only).",
    why="The replication token carries the primary's ACL replication rights; the chart reads it from Vault "
    "(global.acls.replicationToken.secretName/secretKey) and nothing else needs its value.",
    fix="Store the token only in the KV-v2 secret and point global.acls.replicationToken at it.",
)
def topo_replication_token(view: StackView, config: Mapping[str, Any]) -> Iterator[Finding]:
    """The replication token lives only in Vault."""
    for res in view.resources:
        if not scanned(res):
            continue
        for path, value in walk(res.props):
            # The key naming the value, with its parent: {replication: {token: ...}} names it as surely as
            # replicationToken does (list indexes dropped: replicationToken[0] is a replication token too).
            key = ".".join(part.split("[", 1)[0] for part in path.split(".")[-2:])
            if isinstance(value, str) and _UUID.match(value.strip()) and _REPLICATION_KEY.search(key):
                yield (
                    res.finding(path, "<uuid>", "a replication token in plain text", "keep it in Vault KV only"),
                    res.urn,
                )
