"""The mesh's intentions: one typed graph, rendered as Consul config entries or consul-k8s custom resources.

``consul.intentionsRendering`` picks the delivery: ``config-entries`` writes through the Consul provider
(which the platform hands down), ``crds`` applies custom resources through Kubernetes, whose controller
comes with the Consul chart (so the platform passes the Consul release as ``depends_on``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as kubernetes

from ..consul.component import passed_dependencies
from ..layout import Layout
from ..settings import IntentionsRendering, Settings
from .graph import IntentionGraph, build_graph
from .render import (
    config_entry_service_defaults,
    config_entry_service_intentions,
    crd_service_defaults,
    crd_service_intentions,
    intentions_resource_name,
)


@dataclass(frozen=True)
class MeshIntentionsArgs:
    """Inputs of :class:`MeshIntentions`."""

    settings: Settings
    layout: Layout


class MeshIntentions(pulumi.ComponentResource):
    """The intention graph rendered as config entries or CRDs, plus each service's protocol."""

    ready: list[pulumi.Resource]
    """The rendered intentions and service defaults (what onboarding may wait for)."""
    graph: IntentionGraph
    """The graph the resources were rendered from."""
    rendering: IntentionsRendering

    def __init__(self, name: str, args: MeshIntentionsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("secure-mesh:mesh:MeshIntentions", name, None, opts)
        settings, layout = args.settings, args.layout
        self.graph = build_graph(settings)
        self.rendering = settings.consul.intentions_rendering
        # A component's depends_on does not hold back its children: each child lists them itself.
        child = pulumi.ResourceOptions(parent=self, depends_on=passed_dependencies(opts))
        if self.rendering is IntentionsRendering.CRDS:
            self.ready = self._crds(name, layout.consul_namespace, child)
        else:
            self.ready = self._config_entries(name, settings.consul.enterprise, child)
        self.register_outputs({"rendering": self.rendering.value})

    def _crds(self, name: str, namespace: str, child: pulumi.ResourceOptions) -> list[pulumi.Resource]:
        def custom_resource(resource_name: str, document: dict[str, Any]) -> pulumi.Resource:
            return kubernetes.apiextensions.CustomResource(
                resource_name,
                api_version=document["apiVersion"],
                kind=document["kind"],
                metadata=document["metadata"],
                spec=document["spec"],
                opts=child,
            )

        created = [
            custom_resource(f"{name}-{service}-defaults", crd_service_defaults(service, protocol, namespace))
            for service, protocol in self.graph.services.items()
        ]
        for entry in self.graph.entries:
            document = crd_service_intentions(entry, namespace)
            created.append(custom_resource(f"{name}-{document['metadata']['name']}", document))
        return created

    def _config_entries(self, name: str, enterprise: bool, child: pulumi.ResourceOptions) -> list[pulumi.Resource]:
        import pulumi_consul as consul  # only config-entry stacks need it (~0.2 s of import; issue 9)

        created: list[pulumi.Resource] = []
        for service, protocol in self.graph.services.items():
            created.append(
                consul.ConfigEntryServiceDefaults(
                    f"{name}-{service}-defaults",
                    **config_entry_service_defaults(service, protocol, enterprise),
                    opts=child,
                )
            )
        for entry in self.graph.entries:
            created.append(
                consul.ConfigEntryServiceIntentions(
                    f"{name}-{intentions_resource_name(entry.destination)}",
                    **config_entry_service_intentions(entry, enterprise),
                    opts=child,
                )
            )
        return created
