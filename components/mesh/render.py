"""Layer 3: the intention graph rendered as plain documents, for either delivery to Consul.

* consul-k8s custom resources (``consul.hashicorp.com/v1alpha1`` ``ServiceIntentions``,
  ``ServiceDefaults``, ``ProxyDefaults`` and ``Mesh``), applied through Kubernetes and reconciled by the
  chart's controller;
* Consul config entries (``service-intentions``, ``service-defaults``, ``proxy-defaults``, ``mesh``)
  written through the Consul provider, as the keyword arguments of ``ConfigEntryServiceIntentions`` /
  ``ConfigEntryServiceDefaults`` / ``ConfigEntry``.

One entry per destination holding all its sources, plus the ``*`` destination with the ``*`` deny; one
mesh-wide ``mesh`` entry and one ``global`` proxy-defaults entry. Every value is plain data, so the
policy pack can check intentions and the mesh settings during preview.
"""

from __future__ import annotations

import json
from typing import Any

from ..vocabulary import Protocol
from .model import WILDCARD, DestinationEntry, HttpMatch, JwtProviderEntry, JwtRequirement, SourceRule

CRD_API_VERSION = "consul.hashicorp.com/v1alpha1"
DEFAULT_DENY_RESOURCE_NAME = "default-deny"
"""Kubernetes name of the ``*`` destination's ServiceIntentions ('*' is not a valid object name)."""
ENTERPRISE_SCOPE = "default"
"""The Consul Enterprise namespace and partition config entries live in (set to avoid perpetual diffs)."""
MESH_ENTRY_NAME = "mesh"
"""The only name Consul gives the mesh entry (``structs.MeshConfigMesh``); the consul-k8s webhook refuses any
other name for a ``Mesh`` resource and a second one (control-plane/api/v1alpha1/mesh_webhook.go, v2.0.3)."""
PROXY_DEFAULTS_NAME = "global"
"""The only proxy-defaults entry Consul uses (``structs.ProxyConfigGlobal``); the consul-k8s webhook refuses other
names (control-plane/api/v1alpha1/proxydefaults_webhook.go, v2.0.3)."""
MUTUAL_TLS_MODE = "strict"
"""``MutualTLSMode`` on proxy-defaults and every service-defaults: only mTLS reaches a sidecar's public listener.
Consul accepts "", "strict" and "permissive" (agent/structs/config_entry.go ``MutualTLSMode``)."""
MESH_TLS_MIN_VERSION = "TLSv1_3"
"""Minimum TLS version of mesh traffic, incoming and outgoing. Every mesh proxy is Envoy, which speaks TLS 1.3;
Consul accepts ``TLS_AUTO``, ``TLSv1_0`` … ``TLSv1_3`` (types/tls.go; consul-k8s mesh_types.go validates the same)."""


def mesh_spec(peer_through_mesh_gateways: bool = False) -> dict[str, Any]:
    """What the mesh entry says, in the consul-k8s ``Mesh`` spec's field names (crd-meshes.yaml, chart 2.0.3).

    * ``transparentProxy.meshDestinationsOnly``: transparent proxies reach only services in Consul's catalog,
      never an arbitrary IP outside the mesh;
    * ``allowEnablingPermissiveMutualTLS: false``: Consul refuses any *change* to ``MutualTLSMode=permissive`` in
      proxy-defaults or service-defaults ("cannot set MutualTLSMode=permissive because
      AllowEnablingPermissiveMutualTLS=false in the mesh config entry", agent/consul/state/config_entry.go
      ``checkMutualTLSMode``);
    * ``tls.incoming``/``tls.outgoing.tlsMinVersion``: the floor for mTLS between proxies;
    * on a peering member, ``peering.peerThroughMeshGateways``: the servers' peering control plane goes through the
      mesh gateways, and a peering token then advertises the gateways' addresses — so the entry must exist before
      any token is generated (Consul docs ``east-west/mesh-gateway/cluster-peer.mdx`` "Modes"; consul-k8s
      ``PeeringMeshConfig`` in control-plane/api/v1alpha1/mesh_types.go).
    """
    spec: dict[str, Any] = {
        "allowEnablingPermissiveMutualTLS": False,
        "tls": {
            "incoming": {"tlsMinVersion": MESH_TLS_MIN_VERSION},
            "outgoing": {"tlsMinVersion": MESH_TLS_MIN_VERSION},
        },
        "transparentProxy": {"meshDestinationsOnly": True},
    }
    if peer_through_mesh_gateways:
        spec["peering"] = {"peerThroughMeshGateways": True}
    return spec


def proxy_defaults_spec(mesh_gateway_mode: str | None = None) -> dict[str, Any]:
    """What the global proxy-defaults entry says (consul-k8s ``ProxyDefaults`` field names, crd-proxydefaults.yaml).

    ``mutualTLSMode: strict``; no global protocol (each service's protocol is its own service-defaults), no
    ``expose`` paths (they bypass mTLS). A peering member adds ``meshGateway.mode`` (``local``: a sidecar's traffic
    to a peer leaves through this cluster's own gateway; ``none`` does not work for peering — Consul docs
    ``east-west/mesh-gateway/cluster-peer.mdx``).
    """
    spec: dict[str, Any] = {"mutualTLSMode": MUTUAL_TLS_MODE}
    if mesh_gateway_mode is not None:
        spec["meshGateway"] = {"mode": mesh_gateway_mode}
    return spec


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


def _crd_jwt(requirement: JwtRequirement) -> dict[str, Any]:
    """A permission's ``jwt`` (consul-k8s ``IntentionJWTRequirement``: ``providers[].name``/``verifyClaims``)."""
    claims = [{"path": list(claim.path), "value": claim.value} for claim in requirement.claims]
    return {"providers": [{"name": requirement.provider, "verifyClaims": claims}]}


def _crd_permission(match: HttpMatch) -> dict[str, Any]:
    permission: dict[str, Any] = {"action": "allow", "http": _crd_http(match)}
    if match.jwt is not None:
        permission["jwt"] = _crd_jwt(match.jwt)
    return permission


def _crd_source(rule: SourceRule) -> dict[str, Any]:
    source: dict[str, Any] = {"name": rule.source}
    if rule.peer is not None:
        source["peer"] = rule.peer
    if rule.permissions is not None:
        source["permissions"] = [_crd_permission(match) for match in rule.permissions]
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
        "spec": {"protocol": protocol.value, "mutualTLSMode": MUTUAL_TLS_MODE},
    }


JWKS_DISCOVERY_TYPE = "STRICT_DNS"
"""How a proxy resolves the key set's host. Consul's default, but spelled out: the consul-k8s webhook refuses a
``jwksCluster`` whose ``discoveryType`` is empty ("unsupported jwks cluster discovery type",
control-plane/api/v1alpha1/jwtprovider_types.go ``ClusterDiscoveryType.validate``, v2.0.3)."""


def jwt_provider_spec(provider: JwtProviderEntry) -> dict[str, Any]:
    """The ``JWTProvider`` spec (consul-k8s jwtprovider_types.go field names): issuer, audiences, a remote key set
    fetched before a proxy's listener is activated (``fetchAsynchronously: false``: Envoy activates it once the first
    fetch completed, successfully or not; without keys every token is refused) whose server is verified with the
    provider's CA. Without ``tlsCertificates`` Envoy would not verify the server's
    certificate at all ("If not specified and a peer certificate is presented it will not be verified").
    """
    return {
        "issuer": provider.issuer,
        "audiences": list(provider.audiences),
        "jsonWebKeySet": {
            "remote": {
                "uri": provider.jwks_uri,
                "cacheDuration": provider.cache_duration,
                "fetchAsynchronously": False,
                "jwksCluster": {
                    "discoveryType": JWKS_DISCOVERY_TYPE,
                    "tlsCertificates": {"trustedCA": {"inlineString": provider.jwks_ca_pem}},
                },
            }
        },
    }


def crd_jwt_provider(provider: JwtProviderEntry, namespace: str) -> dict[str, Any]:
    """The ``JWTProvider`` custom resource of one provider (named after it; a global entry, one per name)."""
    return {
        "apiVersion": CRD_API_VERSION,
        "kind": "JWTProvider",
        "metadata": {"name": provider.name, "namespace": namespace},
        "spec": jwt_provider_spec(provider),
    }


WAIT_FOR_SYNCED = {"pulumi.com/waitFor": "condition=Synced"}
"""Makes pulumi-kubernetes (4.18+) wait until the consul-k8s controller reports the entry written to Consul
(condition ``Synced`` True, control-plane/api/common/configentry.go ``ConditionSynced``): the peering token must
not be generated before Consul has the mesh entry."""


def crd_mesh(namespace: str, peering: bool = False) -> dict[str, Any]:
    """The cluster's one ``Mesh`` custom resource (a peering member's waits until Consul has it)."""
    metadata: dict[str, Any] = {"name": MESH_ENTRY_NAME, "namespace": namespace}
    if peering:
        metadata["annotations"] = dict(WAIT_FOR_SYNCED)
    return {"apiVersion": CRD_API_VERSION, "kind": "Mesh", "metadata": metadata, "spec": mesh_spec(peering)}


def crd_proxy_defaults(namespace: str, mesh_gateway_mode: str | None = None) -> dict[str, Any]:
    """The cluster's one ``ProxyDefaults`` custom resource (named ``global``)."""
    return {
        "apiVersion": CRD_API_VERSION,
        "kind": "ProxyDefaults",
        "metadata": {"name": PROXY_DEFAULTS_NAME, "namespace": namespace},
        "spec": proxy_defaults_spec(mesh_gateway_mode),
    }


EXPORTED_SERVICES_NAME = "default"
"""The exported-services entry is named after its admin partition; Consul OSS has only ``default``."""


def exported_services(exports: dict[str, list[str]]) -> list[dict[str, Any]]:
    """``{service: [peer, …]}`` as the entry's services, in consul-k8s field names (exportedservices_types.go)."""
    return [
        {"name": service, "consumers": [{"peer": peer} for peer in peers]} for service, peers in sorted(exports.items())
    ]


def crd_exported_services(exports: dict[str, list[str]], namespace: str) -> dict[str, Any]:
    """The ``ExportedServices`` custom resource: which of this cluster's services each peer may reach."""
    return {
        "apiVersion": CRD_API_VERSION,
        "kind": "ExportedServices",
        "metadata": {"name": EXPORTED_SERVICES_NAME, "namespace": namespace},
        "spec": {"services": exported_services(exports)},
    }


def config_entry_exported_services(exports: dict[str, list[str]], enterprise: bool) -> dict[str, Any]:
    """Keyword arguments of ``consul.ConfigEntry`` for the ``exported-services`` entry (Consul docs,
    ``reference/config-entry/exported-services.mdx``: ``Services[].Name``, ``Consumers[].Peer``).
    """
    services = _api_keys({"services": exported_services(exports)})["Services"]
    if enterprise:
        for service in services:
            service["Namespace"] = ENTERPRISE_SCOPE
    return {
        "kind": "exported-services",
        "name": EXPORTED_SERVICES_NAME,
        **({"partition": ENTERPRISE_SCOPE} if enterprise else {}),
        "config_json": json.dumps({"Services": services}, sort_keys=True),
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
    if rule.peer is not None:
        source["peer"] = rule.peer  # a peer source names no partition (Consul refuses both)
        if enterprise:
            source["namespace"] = ENTERPRISE_SCOPE
    elif enterprise:
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
    return {
        "name": service,
        **_scope(enterprise),
        "protocol": protocol.value,
        "mutual_tls_mode": MUTUAL_TLS_MODE,
        "exposes": [{}],
    }


def _api_keys(value: Any) -> Any:
    """A consul-k8s spec in the Consul HTTP API's field names (``tlsMinVersion`` → ``TLSMinVersion``).

    consul-k8s converts the same way (``ToConsul`` in control-plane/api/v1alpha1/mesh_types.go), so both
    renderings write the same entry.
    """
    special = {"tls": "TLS", "tlsMinVersion": "TLSMinVersion", "mutualTLSMode": "MutualTLSMode"}
    special["allowEnablingPermissiveMutualTLS"] = "AllowEnablingPermissiveMutualTLS"
    if isinstance(value, dict):
        return {special.get(k, k[:1].upper() + k[1:]): _api_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_api_keys(item) for item in value]
    return value


def config_entry_mesh(enterprise: bool, peering: bool = False) -> dict[str, Any]:
    """Keyword arguments of ``consul.ConfigEntry`` for the ``mesh`` entry (``config_json`` in API field names)."""
    return {
        "kind": "mesh",
        "name": MESH_ENTRY_NAME,
        **_scope(enterprise),
        "config_json": json.dumps(_api_keys(mesh_spec(peering)), sort_keys=True),
    }


def config_entry_proxy_defaults(enterprise: bool, mesh_gateway_mode: str | None = None) -> dict[str, Any]:
    """Keyword arguments of ``consul.ConfigEntry`` for the ``global`` proxy-defaults entry."""
    return {
        "kind": "proxy-defaults",
        "name": PROXY_DEFAULTS_NAME,
        **_scope(enterprise),
        "config_json": json.dumps(_api_keys(proxy_defaults_spec(mesh_gateway_mode)), sort_keys=True),
    }
