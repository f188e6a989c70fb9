"""The mesh's intentions: one typed graph, rendered as Consul config entries or consul-k8s custom resources.

``consul.intentionsRendering`` picks the delivery: ``config-entries`` writes through the Consul provider
(which the platform hands down), ``crds`` applies custom resources through Kubernetes, whose controller
comes with the Consul chart (so the platform passes the Consul release as ``depends_on``).

Besides the intentions and each service's defaults, the component owns the mesh-wide ``mesh`` entry and
the ``global`` proxy-defaults entry (see :mod:`.render`) — except in a WAN-federation secondary datacenter:
Consul forwards every config entry write to the primary datacenter and replicates the entries back
(agent/consul/config_endpoint.go ``Apply``/``Delete``), so those two belong to the primary's stack alone, and
destroying a secondary must not delete them for the whole federation. Each resource depends on the entries Consul
reads when it validates that resource's write or delete (agent/consul/state/config_entry.go,
``validateProposedConfigEntryInGraph``), so ``up`` writes them in an order Consul accepts and ``destroy``
deletes them in the reverse order:

* proxy-defaults and every service-defaults → the mesh entry (``checkMutualTLSMode`` reads it);
* every service-defaults → proxy-defaults (the service's discovery chain is compiled with it);
* every intentions entry with a named destination → that destination's service-defaults and proxy-defaults:
  the chain's protocol comes from them, and Consul refuses L7 permissions on a non-HTTP destination
  ("service ... has protocol tcp, which is incompatible with L7 intentions permissions") — on the intentions'
  write and on the defaults' delete alike. Deleting an intentions entry is never checked, and neither are the
  sources' defaults nor the mesh entry when an intentions entry is written (only JWT providers it names, and
  the program names none).

The consul-k8s controller does not order anything itself: it writes each resource to Consul, and on a
refusal marks it ``Synced=False`` and retries with back-off, keeping the finalizer of a resource whose delete
Consul refused (control-plane/controllers/configentries/configentry_controller.go, v2.0.3). The custom
resources get the same dependencies, so neither ``up`` nor ``destroy`` waits on those retries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_kubernetes as kubernetes

from ..consul.component import passed_dependencies
from ..layout import Layout
from ..settings import IntentionsRendering, Settings
from ..settings.topology import TopologyMode
from ..topology.documents import PEERING_MESH_GATEWAY_MODE, with_peer_sources
from .graph import WILDCARD, DestinationEntry, IntentionGraph, build_graph
from .render import (
    config_entry_mesh,
    config_entry_proxy_defaults,
    config_entry_service_defaults,
    config_entry_service_intentions,
    crd_mesh,
    crd_proxy_defaults,
    crd_service_defaults,
    crd_service_intentions,
    intentions_resource_name,
)

if TYPE_CHECKING:
    import pulumi_consul as consul  # imported where used (issue 9); here only for annotations


@dataclass(frozen=True)
class MeshIntentionsArgs:
    """Inputs of :class:`MeshIntentions`."""

    settings: Settings
    layout: Layout
    consul_provider: consul.Provider | None = None
    """The explicit Consul provider; required for the ``config-entries`` rendering."""


class MeshIntentions(pulumi.ComponentResource):
    """The intention graph, each service's defaults, the mesh entry and proxy-defaults, as config entries or CRDs."""

    ready: list[pulumi.Resource]
    """The rendered entries (what onboarding may wait for)."""
    graph: IntentionGraph
    """The graph the resources were rendered from."""
    entries: tuple[DestinationEntry, ...]
    """The graph's entries plus the sources that name a peer (``topology.peers[].exports``): what is rendered."""
    rendering: IntentionsRendering
    mesh: pulumi.Resource | None
    """The ``mesh`` entry (``Mesh`` resource or ``mesh`` config entry); None in a secondary datacenter."""
    proxy_defaults: pulumi.Resource | None
    """The ``global`` proxy-defaults entry; None in a secondary datacenter."""
    service_defaults: dict[str, pulumi.Resource]
    """Each declared service's defaults, by service name."""
    intentions: dict[str, pulumi.Resource]
    """Each destination's intentions entry, by destination (``*`` included)."""

    def __init__(self, name: str, args: MeshIntentionsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("secure-mesh:mesh:MeshIntentions", name, None, opts)
        settings, layout = args.settings, args.layout
        self.graph = build_graph(settings)
        self.entries = with_peer_sources(self.graph.entries, settings)
        self._peering = settings.topology.mode is TopologyMode.PEERING
        federation_primary = settings.topology.mode is TopologyMode.FEDERATION_PRIMARY
        # mesh-gateway mode local in the peering member, and in a federation's primary only (the secondary gets it
        # by replication; acceptance/tests/fixtures/bases/mesh-gateway/proxydefaults.yaml).
        self._gateway_mode = PEERING_MESH_GATEWAY_MODE if self._peering or federation_primary else None
        self.rendering = settings.consul.intentions_rendering
        # A component's depends_on does not hold back its children: each child lists them itself.
        self._upstream = passed_dependencies(opts)
        self._provider: pulumi.ProviderResource | None = None
        if self.rendering is IntentionsRendering.CONFIG_ENTRIES:
            if args.consul_provider is None:
                raise pulumi.RunError(
                    "consul.intentionsRendering 'config-entries' needs the Consul provider (consul.address)"
                )
            self._provider = args.consul_provider
        self.service_defaults = {}
        self.intentions = {}
        self.mesh = self.proxy_defaults = None
        self._owns_mesh_entries = not layout.is_secondary_datacenter
        if self.rendering is IntentionsRendering.CRDS:
            self._crds(name, layout.consul_namespace)
        else:
            self._config_entries(name, settings.consul.enterprise)
        self.ready = [*self._mesh_wide(), *self.service_defaults.values(), *self.intentions.values()]
        self.register_outputs({"rendering": self.rendering.value})

    def _mesh_wide(self) -> list[pulumi.Resource]:
        """The mesh and proxy-defaults entries this stack owns (none in a secondary datacenter)."""
        return [entry for entry in (self.mesh, self.proxy_defaults) if entry is not None]

    def _opts(self, after: Sequence[pulumi.Resource | None]) -> pulumi.ResourceOptions:
        """Child options: the caller's dependencies plus the entries Consul checks this one against."""
        needs = [*self._upstream, *(resource for resource in after if resource is not None)]
        return pulumi.ResourceOptions(parent=self, depends_on=needs, provider=self._provider)

    def _intention_needs(self, destination: str) -> list[pulumi.Resource | None]:
        """What an intentions entry's write (and its destination's defaults' delete) is validated against."""
        if destination == WILDCARD:
            return []  # Consul skips the protocol check for a wildcard destination
        return [self.service_defaults[destination], self.proxy_defaults]

    def _crds(self, name: str, namespace: str) -> None:
        def custom_resource(
            resource_name: str, document: dict[str, Any], after: Sequence[pulumi.Resource | None]
        ) -> Any:
            return kubernetes.apiextensions.CustomResource(
                resource_name,
                api_version=document["apiVersion"],
                kind=document["kind"],
                metadata=document["metadata"],
                spec=document["spec"],
                opts=self._opts(after),
            )

        if self._owns_mesh_entries:
            self.mesh = custom_resource(f"{name}-mesh", crd_mesh(namespace, self._peering), [])
            self.proxy_defaults = custom_resource(
                f"{name}-proxy-defaults", crd_proxy_defaults(namespace, self._gateway_mode), [self.mesh]
            )
        for service, protocol in self.graph.services.items():
            self.service_defaults[service] = custom_resource(
                f"{name}-{service}-defaults",
                crd_service_defaults(service, protocol, namespace),
                [self.mesh, self.proxy_defaults],
            )
        for entry in self.entries:
            document = crd_service_intentions(entry, namespace)
            self.intentions[entry.destination] = custom_resource(
                f"{name}-{document['metadata']['name']}", document, self._intention_needs(entry.destination)
            )

    def _config_entries(self, name: str, enterprise: bool) -> None:
        import pulumi_consul as consul  # only config-entry stacks need it (~0.2 s of import; issue 9)

        if self._owns_mesh_entries:
            self.mesh = consul.ConfigEntry(
                f"{name}-mesh", **config_entry_mesh(enterprise, self._peering), opts=self._opts([])
            )
            self.proxy_defaults = consul.ConfigEntry(
                f"{name}-proxy-defaults",
                **config_entry_proxy_defaults(enterprise, self._gateway_mode),
                opts=self._opts([self.mesh]),
            )
        for service, protocol in self.graph.services.items():
            self.service_defaults[service] = consul.ConfigEntryServiceDefaults(
                f"{name}-{service}-defaults",
                **config_entry_service_defaults(service, protocol, enterprise),
                opts=self._opts([self.mesh, self.proxy_defaults]),
            )
        for entry in self.entries:
            self.intentions[entry.destination] = consul.ConfigEntryServiceIntentions(
                f"{name}-{intentions_resource_name(entry.destination)}",
                **config_entry_service_intentions(entry, enterprise),
                opts=self._opts(self._intention_needs(entry.destination)),
            )
