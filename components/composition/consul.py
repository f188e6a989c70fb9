"""Settings and layout → the Args of the Consul-side components: the cluster, the intentions, the peering.

The layout stays the single author of names; the pure builders (:mod:`secure_mesh.consul.helm_values`,
:mod:`secure_mesh.consul.vault_injector`, :mod:`secure_mesh.mesh.graph`, :mod:`secure_mesh.topology.documents`)
turn settings into plain documents here, and the components only see the results.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence

import pulumi

from ..consul.component import ConsulClusterArgs, VaultCaArgs, VaultInjectorArgs
from ..consul.connect_ca import connect_ca_api_config
from ..consul.helm_values import VAULT_ROLE_KEYS, build_consul_values, get_value
from ..consul.vault_injector import VAULT_CHART_VERSION, build_vault_injector_values, needs_vault_injector
from ..layout import CONSUL_CHART_NAME, CONSUL_CHART_REPOSITORY, VAULT_CHART_NAME, VAULT_CHART_REPOSITORY, Layout
from ..mesh.component import MeshIntentionsArgs
from ..mesh.graph import build_graph
from ..settings import Settings
from ..topology.component import ClusterPeeringArgs, MeshGatewayArgs, PeerArgs
from ..topology.documents import PEERING_MESH_GATEWAY_MODE, exports_by_service, is_peering, with_peer_sources
from ..topology.federation import FederationSecondaryArgs, PrimaryNames
from ..vocabulary import KvSecret, TopologyMode

VAULT_BACKEND = "global.secretsBackend.vault"
AUTH_METHOD_PATH_KEY = f"{VAULT_BACKEND}.connectCA.authMethodPath"
"""Where the chart takes the Kubernetes auth mount Consul's servers log in with for the mesh CA."""
KV_SECRET_VALUE_KEYS: dict[KvSecret, str] = {
    KvSecret.GOSSIP: "global.gossipEncryption.secretName",
    KvSecret.BOOTSTRAP_TOKEN: "global.acls.bootstrapToken.secretName",
    KvSecret.REPLICATION_TOKEN: "global.acls.replicationToken.secretName",
    KvSecret.PARTITION_TOKEN: "global.acls.partitionToken.secretName",
    KvSecret.LICENSE: "global.enterpriseLicense.secretName",
    KvSecret.SNAPSHOT_AGENT: "server.snapshotAgent.configSecret.secretName",
}
"""The values key naming each KV-v2 secret's API path (``<mount>/data/<name>``) that the chart's agents read."""


def consul_vault_values(
    values: Mapping[str, object],
    role_names: pulumi.Input[Mapping[str, str]] | None,
    auth_mount_path: pulumi.Input[str] | None,
    kv_paths: pulumi.Input[Mapping[str, str]] | None = None,
) -> dict[str, pulumi.Input[str]]:
    """The values keys Vault components compute, by dotted key path: only keys the builder set.

    Each identity's Kubernetes-auth role name (``global.secretsBackend.vault.<identity>Role``, from
    ``role_names`` keyed by identity), the auth mount's path (``connectCA.authMethodPath``) and each KV
    secret's path (``kv_paths`` keyed by secret): the chart's pods log in with them and read those secrets at
    start-up, so the release waits for the resources behind these Outputs. A key an Output map does not name
    keeps the builder's plain value. (A handful of applies per stack, none per service.)
    """
    computed: dict[str, pulumi.Input[str]] = {}
    sources: list[tuple[pulumi.Input[Mapping[str, str]] | None, dict[str, str]]] = [
        (role_names, {identity.value: f"{VAULT_BACKEND}.{name}" for identity, name in VAULT_ROLE_KEYS.items()}),
        (kv_paths, {secret.value: key for secret, key in KV_SECRET_VALUE_KEYS.items()}),
    ]
    for outputs, keys in sources:
        if outputs is None:
            continue
        for item, key in keys.items():
            plain = get_value(values, key)
            if plain is not None:
                computed[key] = pulumi.Output.from_input(outputs).apply(_entry(item, str(plain)))
    if auth_mount_path is not None and get_value(values, AUTH_METHOD_PATH_KEY) is not None:
        computed[AUTH_METHOD_PATH_KEY] = auth_mount_path
    return computed


def _entry(item: str, default: str) -> Callable[[Mapping[str, str]], str]:
    """The apply that picks ``item`` from an Output map, or keeps ``default`` when the map does not name it."""

    def pick(mapping: Mapping[str, str]) -> str:
        return str((mapping or {}).get(item, default))

    return pick


def consul_cluster_args(
    settings: Settings,
    layout: Layout,
    *,
    role_names: pulumi.Input[Mapping[str, str]] | None = None,
    auth_mount_path: pulumi.Input[str] | None = None,
    kv_paths: pulumi.Input[Mapping[str, str]] | None = None,
    server_ca_pem: pulumi.Input[str] | None = None,
    primary_gateways: pulumi.Input[Sequence[str]] | None = None,
) -> ConsulClusterArgs:
    """The :class:`ConsulClusterArgs` of a stack: chart pin, names, the built values and Vault's computed values."""
    values = build_consul_values(settings, layout)
    ca_pem = settings.vault.tls.ca_cert_pem
    vault_ca = (
        VaultCaArgs(pem=ca_pem, secret_name=layout.vault_ca_secret_name, secret_key=layout.vault_ca_secret_key)
        if ca_pem is not None
        else None
    )
    injector = (
        VaultInjectorArgs(
            namespace=layout.vault_namespace,
            release_name=layout.vault_injector_release_name,
            chart=VAULT_CHART_NAME,
            chart_version=VAULT_CHART_VERSION,
            chart_repository=VAULT_CHART_REPOSITORY,
            values=build_vault_injector_values(settings, layout),
        )
        if needs_vault_injector(settings)
        else None
    )
    return ConsulClusterArgs(
        namespace=layout.consul_namespace,
        release_name=layout.consul_release_name,
        chart=CONSUL_CHART_NAME,
        chart_version=settings.consul.chart_version,
        chart_repository=CONSUL_CHART_REPOSITORY,
        values=values,
        ui_service=layout.consul_ui_service,
        api_service=layout.consul_server_service,
        server_ca_path=layout.server_ca_path,
        protect=settings.is_production,
        vault_values=consul_vault_values(values, role_names, auth_mount_path, kv_paths),
        server_ca_pem=server_ca_pem,
        vault_ca=vault_ca,
        vault_injector=injector,
        primary_gateways=primary_gateways,
    )


def mesh_intentions_args(settings: Settings, layout: Layout) -> MeshIntentionsArgs:
    """The :class:`MeshIntentionsArgs` of a stack: the validated graph plus peer sources, and how to deliver it."""
    graph = build_graph(settings)
    mode = settings.topology.mode
    peering = mode is TopologyMode.PEERING
    # mesh-gateway mode local in a peering member, and in a federation's primary only (the secondary gets it by
    # replication; consul-k8s acceptance/tests/fixtures/bases/mesh-gateway/proxydefaults.yaml).
    gateway_mode = PEERING_MESH_GATEWAY_MODE if peering or mode is TopologyMode.FEDERATION_PRIMARY else None
    return MeshIntentionsArgs(
        services=dict(graph.services),
        intentions=with_peer_sources(graph.entries, settings),
        gateways=sorted(graph.gateways),
        rendering=settings.consul.intentions_rendering,
        namespace=layout.consul_namespace,
        owns_mesh_entries=not layout.is_secondary_datacenter,
        peer_through_mesh_gateways=peering,
        mesh_gateway_mode=gateway_mode,
        enterprise=settings.consul.enterprise,
        jwt_providers=graph.jwt_providers,
    )


def federation_secondary_args(layout: Layout) -> FederationSecondaryArgs:
    """A federation secondary's link to its primary: the primary's stack and its names as this stack computes them
    (from the primary's stack file, with the same layout).
    """
    primary = layout.federation_primary
    stack = layout.settings.topology.primary_stack
    if stack is None:  # pragma: no cover - the settings require it in a secondary
        raise ValueError("topology.primaryStack is required with topology.mode 'federation-secondary'")
    return FederationSecondaryArgs(
        primary_stack=stack,
        datacenter=layout.datacenter,
        expected=PrimaryNames(
            datacenter=primary.datacenter,
            connect_root_pki_path=primary.connect_root_pki_path,
            gossip_kv_path=primary.kv(KvSecret.GOSSIP).data_path,
            replication_token_kv_path=primary.kv(KvSecret.REPLICATION_TOKEN).data_path,
            server_ca_path=primary.server_ca_path,
            server_issue_path=layout.server_pki_issue_path,
        ),
    )


def mesh_gateway_args(layout: Layout, release_status: pulumi.Input[str]) -> MeshGatewayArgs:
    """The chart's mesh-gateway Service of this stack, read once the release reports ``release_status``."""
    return MeshGatewayArgs(
        namespace=layout.consul_namespace, service=layout.mesh_gateway_service, release_status=release_status
    )


def peering_enabled(settings: Settings) -> bool:
    """True when the stack builds :class:`~secure_mesh.topology.component.ClusterPeering` (a peering member)."""
    return is_peering(settings)


def cluster_peering_args(settings: Settings, layout: Layout, release_status: pulumi.Input[str]) -> ClusterPeeringArgs:
    """The :class:`ClusterPeeringArgs` of a peering member: its peers, exports and mesh gateway."""
    return ClusterPeeringArgs(
        peers=tuple(PeerArgs(name=peer.name, stack=peer.stack, role=peer.role) for peer in settings.topology.peers),
        datacenter=layout.datacenter,
        connect_root_pki_path=layout.connect_root_pki_path,
        mesh_gateway=mesh_gateway_args(layout, release_status),
        exports={service: tuple(peers) for service, peers in exports_by_service(settings).items()},
        rendering=settings.consul.intentions_rendering,
        namespace=layout.consul_namespace,
        enterprise=settings.consul.enterprise,
    )


def connect_ca_config_json(settings: Settings, layout: Layout) -> str:
    """The Connect CA configuration the Consul provider writes after bootstrap: the API form of the same values the
    release bootstraps it with (:func:`..consul.connect_ca.connect_ca_api_config`), as sorted JSON.
    """
    vault = build_consul_values(settings, layout)["global"]["secretsBackend"]["vault"]
    return json.dumps(connect_ca_api_config(vault), sort_keys=True)
