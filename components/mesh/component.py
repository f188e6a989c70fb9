"""The mesh's intentions: one typed graph, rendered as Consul config entries or consul-k8s custom resources.

:class:`MeshIntentionsArgs` carries the graph as plain values (the services with their protocols, one entry per
destination); the composition builds them from settings (:func:`secure_mesh.mesh.graph.build_graph`). The
``rendering`` picks the delivery: ``config-entries`` writes through the Consul provider, which reaches the
component through its options (``providers=[consul]``, inherited by the children); ``crds`` applies custom
resources through Kubernetes, whose controller (and the CRDs' kinds) come with the Consul chart.

**The release is an explicit dependency.** Either delivery needs the running Consul release (its servers answer
the API; its controller reconciles the resources), and no property of a config entry or custom resource names
it, so the caller passes an output of the release as ``consul_release`` (a YAML or other-language program:
``ConsulCluster.status``) or the release itself as ``depends_on``, and every child waits for it (a component's
``depends_on`` does not hold back its children, so they list it themselves).

**Protocols are plain strings in the schema.** ``services`` maps each service to ``tcp``, ``http``, ``http2`` or
``grpc``. It is typed ``Mapping[str, str]``, not ``Mapping[str, Protocol]``: Pulumi's component provider host
(pulumi 3.272, ``pulumi/provider/experimental/component.py``, ``ComponentProvider.map_input_properties``)
converts an enum only where a property itself refers to it, and maps each value of a map or list whose items
are an enum as an object, so ``{web: http}`` would reach the component as ``{web: {}}``. The component checks
each value against :class:`~secure_mesh.vocabulary.Protocol` before registering anything (:func:`validated_services`)
and works with the enum from there; Python callers may pass ``Protocol`` members (a ``StrEnum``, so ``str``).

**The graph is checked before anything is registered**, with the rules the settings path applies
(:mod:`secure_mesh.mesh.rules`, one implementation for both): what Consul and consul-k8s refuse at write time
(L7 permissions on a non-HTTP destination, an action and permissions together, a repeated source, partial
wildcards, bad paths and methods, an entry without sources) and this project's rules (declared services, DNS-label
names, one entry per destination, exactly one ``*`` → ``*`` deny). Every broken rule is reported at once, one line
each, naming the field (``MeshIntentionsArgs.intentions[2].sources[0].permissions``), the value and what is allowed.

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
  sources' defaults nor the mesh entry when an intentions entry is written — only the JWT providers it names
  must exist ("Referenced JWT Provider does not exist", ``validateJWTProvidersExist``), so it also waits for
  those (``JWTProvider`` resources; deleting a provider is never checked).

The consul-k8s controller does not order anything itself: it writes each resource to Consul, and on a
refusal marks it ``Synced=False`` and retries with back-off, keeping the finalizer of a resource whose delete
Consul refused (control-plane/controllers/configentries/configentry_controller.go, v2.0.3). The custom
resources get the same dependencies, so neither ``up`` nor ``destroy`` waits on those retries.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as kubernetes

from ..args import coerce_args
from ..consul.component import passed_dependencies, waits_for
from ..vocabulary import IntentionsRendering, Protocol
from .model import WILDCARD, DestinationEntry, JwtProviderEntry
from .render import (
    MESH_ENTRY_NAME,
    PROXY_DEFAULTS_NAME,
    config_entry_mesh,
    config_entry_proxy_defaults,
    config_entry_service_defaults,
    config_entry_service_intentions,
    crd_jwt_provider,
    crd_mesh,
    crd_proxy_defaults,
    crd_service_defaults,
    crd_service_intentions,
    intentions_resource_name,
)
from .rules import GraphError, GraphProblem, graph_problems

TYPE = "secure-mesh:index:MeshIntentions"
"""The component's type token (what the component provider host registers)."""
OLD_TYPE = "secure-mesh:mesh:MeshIntentions"
"""The token deployed stacks recorded before issue 15; aliased so their URNs do not change."""
CONFIG_ENTRY_TYPE = "consul:index/configEntry:ConfigEntry"
ARGS_PREFIX = "MeshIntentionsArgs."
"""How errors name a field of the Args (``MeshIntentionsArgs.intentions[2].sources[0].permissions``)."""


@dataclass(frozen=True)
class MeshIntentionsArgs:
    """Inputs of :class:`MeshIntentions`: the intention graph as plain values and how to deliver it."""

    services: Mapping[str, str]
    """Every declared service and its protocol (``tcp``, ``http``, ``http2`` or ``grpc``; a ``Protocol`` member
    or its value): one service-defaults entry each."""
    intentions: Sequence[DestinationEntry]
    """One intentions entry per destination (peer sources included); the ``*`` entry holds the default deny."""
    gateways: Sequence[str] = ()
    """Sources that are not services of this mesh and get no service-defaults (the API gateway's service): a
    local source must be one of ``services`` or of these; a source naming a ``peer`` lives in that peer."""
    rendering: IntentionsRendering = IntentionsRendering.CRDS
    """Config entries through the Consul provider (from the options), or consul-k8s custom resources."""
    namespace: str = "consul"
    """The namespace of the custom resources (Consul's; unused by config entries)."""
    owns_mesh_entries: bool = True
    """Write the ``mesh`` and ``global`` proxy-defaults entries and the ``*`` intentions entry (the default deny);
    False in a WAN-federation secondary, where Consul forwards their writes to the primary datacenter, whose stack
    owns them (the ``*`` entry is still required here: the graph is validated whole)."""
    peer_through_mesh_gateways: bool = False
    """``mesh.peering.peerThroughMeshGateways`` (a cluster-peering member)."""
    mesh_gateway_mode: str | None = None
    """The proxy-defaults' ``meshGateway.mode`` (``local`` for a peering member or a federation primary)."""
    enterprise: bool = False
    """Consul Enterprise: config entries name the ``default`` partition and namespace."""
    jwt_providers: Sequence[JwtProviderEntry] = ()
    """The JWT providers L7 permissions may require tokens of: one ``JWTProvider`` resource each (``crds`` rendering
    only), written before every intentions entry that names it."""
    consul_release: pulumi.Input[str] | None = None
    """An output of the Consul release (its status or name): every entry waits for it (the servers answer the
    API; the chart's controller and CRDs reconcile the custom resources). Or pass the release as ``depends_on``."""


def validated_services(args: MeshIntentionsArgs) -> dict[str, Protocol]:
    """Each service's protocol as the enum, once the whole graph keeps every rule; raises before anything exists.

    The rules are those of the settings path (:func:`secure_mesh.mesh.rules.graph_problems`, the same function
    :meth:`~secure_mesh.mesh.graph.IntentionGraph.validate` calls), so a graph written by hand is refused for
    what Consul or consul-k8s would refuse at ``pulumi up``, and for what the settings would have refused.
    """
    problems = graph_problems(
        args.services,
        tuple(args.intentions),
        tuple(args.gateways),
        prefix=ARGS_PREFIX,
        jwt_providers=tuple(args.jwt_providers),
    )
    problems.extend(delivery_problems(args))
    if problems:
        raise GraphError("\n".join(str(problem) for problem in problems))
    return {service: Protocol(protocol) for service, protocol in args.services.items()}


JWT_NEEDS_CRDS = (
    "needs rendering 'crds': pulumi-consul's ConfigEntryServiceIntentions has no per-permission jwt, and writing "
    "the entry through the generic ConfigEntry instead would swap a destination's resource type (the old one's "
    "delete then removes the entry the new one wrote)"
)
JWT_PROVIDERS_NEED_OWNER = (
    "must be empty where the stack does not own the mesh-wide entries (a WAN-federation secondary): Consul "
    "forwards jwt-provider writes to the primary datacenter, whose stack owns them"
)


def delivery_problems(args: MeshIntentionsArgs) -> list[GraphProblem]:
    """What the chosen delivery cannot carry: per-permission JWT through config entries, providers in a secondary."""
    problems = []
    if args.rendering is IntentionsRendering.CONFIG_ENTRIES:
        for i, entry in enumerate(args.intentions):
            for j, rule in enumerate(entry.sources):
                for k, match in enumerate(rule.permissions or ()):
                    if match.jwt is not None:
                        path = f"{ARGS_PREFIX}intentions[{i}].sources[{j}].permissions[{k}].jwt"
                        problems.append(GraphProblem(path, JWT_NEEDS_CRDS, rule.origin))
    if args.jwt_providers and not args.owns_mesh_entries:
        problems.append(GraphProblem(f"{ARGS_PREFIX}jwt_providers", JWT_PROVIDERS_NEED_OWNER))
    return problems


def required_providers(entry: DestinationEntry) -> list[str]:
    """The JWT providers an entry's permissions name, in order of first use (Consul checks each exists)."""
    names: list[str] = []
    for rule in entry.sources:
        for match in rule.permissions or ():
            if match.jwt is not None and match.jwt.provider not in names:
                names.append(match.jwt.provider)
    return names


class MeshIntentions(pulumi.ComponentResource):
    """The intention graph, each service's defaults, the mesh entry and proxy-defaults, as config entries or CRDs."""

    rendering: pulumi.Output[str]
    """How the entries reached Consul: ``config-entries`` or ``crds``."""
    mesh_entry_name: pulumi.Output[str]
    """The ``mesh`` entry's name once written (empty where this stack does not own it)."""
    proxy_defaults_name: pulumi.Output[str]
    """The ``global`` proxy-defaults entry's name once written (empty where this stack does not own it)."""
    service_defaults_names: pulumi.Output[Sequence[str]]
    """The services whose service-defaults are written, once every one of them is."""
    intention_destinations: pulumi.Output[Sequence[str]]
    """The destinations whose intentions entries are written (``*`` included), once every one of them is."""

    def __init__(self, name: str, args: MeshIntentionsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args = coerce_args(MeshIntentionsArgs, args)
        services = validated_services(args)  # before any child (or the component itself) is registered
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(aliases=[pulumi.Alias(type_=OLD_TYPE)]))
        super().__init__(TYPE, name, None, opts)
        self.args = args
        # The `*` entry's default deny is mesh-wide like the mesh entry: in a WAN-federation secondary the primary's
        # replicates to every datacenter, and a second owner would be refused ("managed in different datacenter").
        self.entries: tuple[DestinationEntry, ...] = tuple(
            entry for entry in args.intentions if args.owns_mesh_entries or entry.destination != WILDCARD
        )
        """The entries rendered, in order (the ``*`` entry last; not in a federation secondary)."""
        self.services: dict[str, Protocol] = services
        """The services given defaults."""
        # A component's depends_on does not hold back its children: each child lists them itself.
        self._upstream: list[pulumi.Input[pulumi.Resource]] = [
            *passed_dependencies(opts),
            *waits_for(args.consul_release),
        ]
        if args.rendering is IntentionsRendering.CONFIG_ENTRIES and self.get_provider(CONFIG_ENTRY_TYPE) is None:
            raise pulumi.RunError(
                "MeshIntentions: the 'config-entries' rendering writes through Consul's API and needs the Consul "
                "provider in its options (providers=[consul_provider]); none was given"
            )
        self.service_defaults: dict[str, pulumi.Resource] = {}
        """Each declared service's defaults, by service name."""
        self.intentions: dict[str, pulumi.Resource] = {}
        """Each destination's intentions entry, by destination (``*`` included)."""
        self.mesh: pulumi.Resource | None = None
        """The ``mesh`` entry (``Mesh`` resource or ``mesh`` config entry); None in a secondary datacenter."""
        self.proxy_defaults: pulumi.Resource | None = None
        """The ``global`` proxy-defaults entry; None in a secondary datacenter."""
        self.jwt_providers: dict[str, pulumi.Resource] = {}
        """Each JWT provider's ``JWTProvider`` resource, by name."""
        if args.rendering is IntentionsRendering.CRDS:
            self._crds(name)
        else:
            self._config_entries(name)
        self.ready: list[pulumi.Resource] = [
            *self._mesh_wide(),
            *self.jwt_providers.values(),
            *self.service_defaults.values(),
            *self.intentions.values(),
        ]
        """The rendered entries (what a caller may wait for)."""

        self.rendering = pulumi.Output.from_input(args.rendering.value)
        self.mesh_entry_name = _name_once_written(self.mesh, MESH_ENTRY_NAME)
        self.proxy_defaults_name = _name_once_written(self.proxy_defaults, PROXY_DEFAULTS_NAME)
        self.service_defaults_names = _names_once_written(self.service_defaults)
        self.intention_destinations = _names_once_written(self.intentions)
        self.register_outputs(
            {
                "rendering": self.rendering,
                "meshEntryName": self.mesh_entry_name,
                "proxyDefaultsName": self.proxy_defaults_name,
                "serviceDefaultsNames": self.service_defaults_names,
                "intentionDestinations": self.intention_destinations,
            }
        )

    def _mesh_wide(self) -> list[pulumi.Resource]:
        """The mesh and proxy-defaults entries this stack owns (none in a secondary datacenter)."""
        return [entry for entry in (self.mesh, self.proxy_defaults) if entry is not None]

    def _opts(self, after: Sequence[pulumi.Resource | None]) -> pulumi.ResourceOptions:
        """Child options: the caller's dependencies plus the entries Consul checks this one against."""
        needs: list[pulumi.Input[pulumi.Resource]] = [
            *self._upstream,
            *(resource for resource in after if resource is not None),
        ]
        return pulumi.ResourceOptions(parent=self, depends_on=needs)

    def _intention_needs(self, entry: DestinationEntry) -> list[pulumi.Resource | None]:
        """What an intentions entry's write (and its destination's defaults' delete) is validated against: the
        destination's protocol, and every JWT provider its permissions name (``validateJWTProvidersExist``).
        """
        if entry.destination == WILDCARD:
            return []  # Consul skips the protocol check for a wildcard destination
        providers = [self.jwt_providers[name] for name in required_providers(entry)]
        return [self.service_defaults[entry.destination], self.proxy_defaults, *providers]

    def _crds(self, name: str) -> None:
        namespace = self.args.namespace

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

        if self.args.owns_mesh_entries:
            self.mesh = custom_resource(
                f"{name}-mesh", crd_mesh(namespace, self.args.peer_through_mesh_gateways), []
            )
            self.proxy_defaults = custom_resource(
                f"{name}-proxy-defaults", crd_proxy_defaults(namespace, self.args.mesh_gateway_mode), [self.mesh]
            )
        for provider in self.args.jwt_providers:
            # A jwt-provider write needs mesh:write only; Consul checks it against no other entry.
            self.jwt_providers[provider.name] = custom_resource(
                f"{name}-{provider.name}-jwt-provider", crd_jwt_provider(provider, namespace), []
            )
        for service, protocol in self.services.items():
            self.service_defaults[service] = custom_resource(
                f"{name}-{service}-defaults",
                crd_service_defaults(service, protocol, namespace),
                [self.mesh, self.proxy_defaults],
            )
        for entry in self.entries:
            document = crd_service_intentions(entry, namespace)
            self.intentions[entry.destination] = custom_resource(
                f"{name}-{document['metadata']['name']}", document, self._intention_needs(entry)
            )

    def _config_entries(self, name: str) -> None:
        import pulumi_consul as consul  # only config-entry stacks need it (~0.2 s of import; issue 9)

        enterprise = self.args.enterprise
        if self.args.owns_mesh_entries:
            self.mesh = consul.ConfigEntry(
                f"{name}-mesh",
                **config_entry_mesh(enterprise, self.args.peer_through_mesh_gateways),
                opts=self._opts([]),
            )
            self.proxy_defaults = consul.ConfigEntry(
                f"{name}-proxy-defaults",
                **config_entry_proxy_defaults(enterprise, self.args.mesh_gateway_mode),
                opts=self._opts([self.mesh]),
            )
        for service, protocol in self.services.items():
            self.service_defaults[service] = consul.ConfigEntryServiceDefaults(
                f"{name}-{service}-defaults",
                **config_entry_service_defaults(service, protocol, enterprise),
                opts=self._opts([self.mesh, self.proxy_defaults]),
            )
        for entry in self.entries:
            self.intentions[entry.destination] = consul.ConfigEntryServiceIntentions(
                f"{name}-{intentions_resource_name(entry.destination)}",
                **config_entry_service_intentions(entry, enterprise),
                opts=self._opts(self._intention_needs(entry)),
            )


def _name_once_written(resource: pulumi.Resource | None, name: str) -> pulumi.Output[str]:
    """``name``, known once ``resource`` is written (so a consumer waits for it); empty without the resource."""
    if resource is None:
        return pulumi.Output.from_input("")
    return resource.urn.apply(lambda _: name)


def _names_once_written(resources: Mapping[str, pulumi.Resource]) -> pulumi.Output[Sequence[str]]:
    """The keys of ``resources``, known once every one of them is written: one combined Output, not one per entry."""
    names = list(resources)
    return pulumi.Output.all(*(resource.urn for resource in resources.values())).apply(lambda _: names)
