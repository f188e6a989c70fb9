"""Cluster peering for one stack: the token (acceptor) or the peering (dialer), exported services, the gateway address.

**How the token travels.** Through Consul's API with the Consul provider — ``consul.PeeringToken`` in the
acceptor, ``consul.Peering`` in the dialer (pulumi-consul 3.15: ``peering_token.py``, ``peering.py``) — and from
the acceptor's stack to the dialer's as a *secret* stack output read through a ``StackReference``. Chosen over
the consul-k8s ``PeeringAcceptor``/``PeeringDialer`` resources because:

* the API returns the token synchronously, so the dialer's stack reads a value that exists; the CRD path has
  the controller write a Kubernetes Secret some time after the ``PeeringAcceptor`` is applied, which a program
  can only poll for;
* the CRDs accept only ``backend: kubernetes`` (control-plane/api/v1alpha1/peeringacceptor_types.go): the token
  would sit in a Secret in both clusters *and* in state; here it exists only in the acceptor's and the dialer's
  state, encrypted (``PeeringToken`` declares ``peeringToken`` a secret output, ``Peering`` wraps its input);
* both resources are ordered by Pulumi dependencies, and ``destroy`` deletes the peering through the API.

The cost: a peering member needs ``consul.address`` (validated). Never mix the two mechanisms for one peer name.

**Inputs.** :class:`ClusterPeeringArgs` holds plain values (the peers, the exports, this cluster's datacenter and
connect root, the mesh gateway's Service) and the Consul release's status as an Input; the Consul provider comes
through the options (``providers=[consul]``). Consul reads the ``mesh`` entry when it generates a token or dials
(below), and no property of a token, a peering or an exported-services entry names it, so it stays an explicit
dependency that every child lists itself, with the release: the caller passes the entry's name once written as
``mesh_entry`` (``MeshIntentions.mesh_entry_name``; what a YAML or other-language program can pass) or the entry
and the release as ``depends_on``; every Consul write also waits for ``mesh_gateway.release_status``.

**Order** (Consul docs east-west/cluster-peering/establish/k8s.mdx; acceptance/tests/peering/peering_connect_test.go):
Helm release (peering on, mesh gateways) → ``mesh`` entry with ``peering.peerThroughMeshGateways`` → token
(acceptor) / peering (dialer) → ``exported-services``. The ``mesh`` entry must exist before the token is
generated, so the token advertises the gateways; the dialer's own ``mesh`` entry must exist before it dials.
Across stacks the order is the stacks' order: the dialer's stack reads the token the acceptor's stack exported
(first deployment: acceptor, then dialer — docs/multi-cluster.md).

**Checks the settings cannot make** (they need the peer's outputs): the peer's datacenter differs from this one and
from every other peer's, and the peer's connect root (``connectRootPkiPath``) differs from this cluster's.
Only the dialer reads its acceptors' stacks (the acceptor is deployed first, when the dialer's stack may not
exist yet), so the dialer makes them; they fail the deployment before the peering is written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as kubernetes

from ..args import coerce_args
from ..consul.component import passed_dependencies, waits_for
from ..mesh.render import EXPORTED_SERVICES_NAME, config_entry_exported_services, crd_exported_services
from ..vocabulary import IntentionsRendering, PeerRole

TYPE = "secure-mesh:index:ClusterPeering"
"""The component's type token (what the component provider host registers)."""
OLD_TYPE = "secure-mesh:topology:ClusterPeering"
"""The token deployed stacks recorded before issue 15; aliased so their URNs do not change."""

MESH_GATEWAY_PORT = 443
"""The chart's ``meshGateway.service.port`` default (values.yaml, chart 2.0.3): the port peers dial."""

OFFLINE_SECRET_STAND_IN = "[secret]"
"""What ``pulumi stack output --json`` prints for a secret output. A recorded outputs file (offline review and
tests, ``stack-references/<stack>.json``) carries it in place of the acceptor's token map; the dialer then passes
it on as the (secret) token, so an offline run shows the shape of the deployment without any token."""


def stack_key(full_name: str) -> str:
    """The last segment of ``<org>/secure-mesh/<stack>``: the key an acceptor's ``peeringTokens`` uses for a dialer."""
    return full_name.rsplit("/", 1)[-1]


def token_for(tokens: Any, own_stack: str, acceptor_stack: str) -> str:
    """The token the acceptor's ``peeringTokens`` output holds for this stack (keyed by the dialer's stack name)."""
    if tokens == OFFLINE_SECRET_STAND_IN:
        return OFFLINE_SECRET_STAND_IN
    if not isinstance(tokens, dict) or not isinstance(tokens.get(own_stack), str) or not tokens[own_stack]:
        raise pulumi.RunError(
            f"stack '{acceptor_stack}' exports no peering token for stack '{own_stack}': give it a peer with role "
            f"'acceptor' and stack '<org>/secure-mesh/{own_stack}' in topology.peers and deploy it first"
        )
    return str(tokens[own_stack])


def _token_picker(own_stack: str, acceptor_stack: str) -> Callable[[list[Any]], str]:
    """The apply that picks this stack's token from ``[peeringTokens, verdict]`` (the checks ran first)."""

    def pick(pair: list[Any]) -> str:
        return token_for(pair[0], own_stack, acceptor_stack)

    return pick


@dataclass(frozen=True)
class PeerArgs:
    """One peered cluster, as this cluster sees it."""

    name: str
    """The peer's name in this cluster's Consul (``peer_name``; intentions and exports name it)."""
    stack: str
    """The peer's Pulumi stack, fully qualified: ``<org>/secure-mesh/<stack>``."""
    role: PeerRole
    """This cluster's side: ``acceptor`` generates the token, ``dialer`` reads it from the peer's stack and dials."""


def check_peer_outputs(
    own_stack: str,
    datacenter: str,
    connect_root: str,
    peers: Sequence[tuple[PeerArgs, Any, Any]],
) -> None:
    """Fail when a peer shares this cluster's datacenter or connect root, or two peers share a datacenter."""
    seen: dict[str, str] = {}
    for peer, peer_datacenter, peer_root in peers:
        where = f"topology.peers[name={peer.name}] ({peer.stack})"
        if peer_datacenter == datacenter:
            raise pulumi.RunError(
                f"{where}: its datacenter '{peer_datacenter}' is this stack's ('{own_stack}') own; peered clusters "
                "need distinct datacenter names (consul.datacenter)"
            )
        if peer_datacenter in seen:
            raise pulumi.RunError(
                f"{where}: its datacenter '{peer_datacenter}' is also peer '{seen[peer_datacenter]}''s; peered "
                "datacenters must be unique"
            )
        seen[str(peer_datacenter)] = peer.name
        if peer_root == connect_root:
            raise pulumi.RunError(
                f"{where}: its connect root '{peer_root}' is this cluster's too; each peered cluster keeps its own "
                "connect root (give each stack its own vault.mountPrefix; hashicorp/consul#6819)"
            )


@dataclass(frozen=True)
class MeshGatewayArgs:
    """The chart's mesh-gateway LoadBalancer Service, whose address other clusters dial."""

    namespace: str
    """Consul's namespace (where the chart creates the Service)."""
    service: str
    """The Service's name (``<fullname>-mesh-gateway``)."""
    release_status: pulumi.Input[str]
    """The Consul release's status (``ConsulCluster.status``): the Service is read once the release is installed."""
    port: int = MESH_GATEWAY_PORT
    """The port peers dial (the chart's ``meshGateway.service.port``)."""


@dataclass(frozen=True)
class ClusterPeeringArgs:
    """Inputs of :class:`ClusterPeering`: this cluster's peers, what it exports to them, and its mesh gateway."""

    peers: Sequence[PeerArgs]
    """Every peered cluster."""
    datacenter: str
    """This cluster's Consul datacenter (a dialer refuses a peer with the same one)."""
    connect_root_pki_path: str
    """This cluster's connect root PKI path (a dialer refuses a peer with the same one)."""
    mesh_gateway: MeshGatewayArgs
    """This cluster's mesh gateway, whose address the component reads."""
    exports: Mapping[str, Sequence[str]] = field(default_factory=dict)
    """Exported services: service name → the peers that may consume it (one ``exported-services`` entry)."""
    rendering: IntentionsRendering = IntentionsRendering.CRDS
    """How the exported-services entry reaches Consul: a config entry, or a consul-k8s custom resource."""
    namespace: str = "consul"
    """The custom resource's namespace (Consul's; unused by config entries)."""
    enterprise: bool = False
    """Consul Enterprise: the entry names the ``default`` partition and namespace."""
    mesh_entry: pulumi.Input[str] | None = None
    """The ``mesh`` entry's name once written (``MeshIntentions`` output ``meshEntryName``): every token, peering
    and the exported-services entry waits for it. Or pass the entry as ``depends_on``."""


def check_exports(args: ClusterPeeringArgs) -> None:
    """Refuse an export to a cluster that is not one of ``peers``, before anything is registered.

    The composition builds ``exports`` from each peer's own list (always a peer); Args written by hand, as in a
    YAML program, can name anything, and the entry would then export the service to nobody this stack peers with.
    """
    names = [peer.name for peer in args.peers]
    for service, consumers in args.exports.items():
        for peer in consumers:
            if peer not in names:
                raise ValueError(
                    f"ClusterPeeringArgs.exports.{service}: {peer!r} is not one of the peers; "
                    f"allowed: {', '.join(names) or '(no peers)'}"
                )


class ClusterPeering(pulumi.ComponentResource):
    """This cluster's side of each peering, its exported services and its mesh gateway's address."""

    mesh_gateway_address: pulumi.Output[str]
    """``host:port`` of this cluster's mesh gateway (its LoadBalancer Service), known once the release is up."""
    peering_names: pulumi.Output[Sequence[str]]
    """The peers whose token (acceptor) or peering (dialer) is written, once every one of them is."""
    peering_tokens: pulumi.Output[Mapping[str, str]]
    """Acceptor side, secret: dialer stack name → its peering token (what the dialer's stack reads)."""
    exported_services_name: pulumi.Output[str]
    """The ``exported-services`` entry's name once written (empty when nothing is exported)."""

    def __init__(self, name: str, args: ClusterPeeringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args = coerce_args(ClusterPeeringArgs, args)
        check_exports(args)
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(aliases=[pulumi.Alias(type_=OLD_TYPE)]))
        super().__init__(TYPE, name, None, opts)
        import pulumi_consul as consul

        if self.get_provider("consul:index/peering:Peering") is None:
            raise pulumi.RunError(
                "ClusterPeering writes tokens and peerings through Consul's API and needs the Consul provider in its "
                "options (providers=[consul_provider]); none was given"
            )
        # The release and the mesh entry (as data or as depends_on): a component's depends_on does not hold back
        # its children, so each lists them itself.
        upstream: list[pulumi.Input[pulumi.Resource]] = [
            *passed_dependencies(opts),
            *waits_for(args.mesh_gateway.release_status),
            *waits_for(args.mesh_entry),
        ]
        own_stack = pulumi.get_stack()
        self.tokens: dict[str, pulumi.Output[str]] = {}
        """Acceptor side: dialer stack name → its peering token (secret)."""
        self.peerings: dict[str, pulumi.Resource] = {}
        """Peer name → the ``PeeringToken`` (acceptor) or ``Peering`` (dialer) resource."""
        self.references: dict[str, pulumi.StackReference] = {}
        """Dialer side: peer name → the stack reference to its acceptor's stack."""

        dialers = [peer for peer in args.peers if peer.role is PeerRole.DIALER]
        for peer in args.peers:
            if peer.role is PeerRole.ACCEPTOR:
                token = consul.PeeringToken(
                    f"{name}-{peer.name}-token",
                    peer_name=peer.name,
                    meta={"secure-mesh/dialer-stack": peer.stack},
                    opts=pulumi.ResourceOptions(
                        parent=self, depends_on=upstream, additional_secret_outputs=["peeringToken"]
                    ),
                )
                self.peerings[peer.name] = token
                self.tokens[stack_key(peer.stack)] = pulumi.Output.secret(token.peering_token)
        for peer in dialers:
            self.references[peer.name] = pulumi.StackReference(
                f"{name}-{peer.name}-stack", stack_name=peer.stack, opts=pulumi.ResourceOptions(parent=self)
            )
        # One verdict over every acceptor's outputs; each peering's token waits for it, so a failed check stops
        # the deployment before any peering is written.
        facts = [
            v
            for peer in dialers
            for v in (
                self.references[peer.name].require_output("datacenter"),
                self.references[peer.name].require_output("connectRootPkiPath"),
            )
        ]
        verdict = pulumi.Output.all(*facts).apply(
            lambda flat: check_peer_outputs(
                own_stack,
                args.datacenter,
                args.connect_root_pki_path,
                [(peer, flat[2 * i], flat[2 * i + 1]) for i, peer in enumerate(dialers)],
            )
        )
        for peer in dialers:
            acceptor_stack = peer.stack
            raw = self.references[peer.name].require_output("peeringTokens")
            dialer_token: pulumi.Output[str] = pulumi.Output.all(raw, verdict).apply(
                _token_picker(own_stack, acceptor_stack)
            )
            self.peerings[peer.name] = consul.Peering(
                f"{name}-{peer.name}",
                peer_name=peer.name,
                peering_token=pulumi.Output.secret(dialer_token),  # type: ignore[arg-type] # SDK stub says Never
                meta={"secure-mesh/acceptor-stack": peer.stack},
                opts=pulumi.ResourceOptions(parent=self, depends_on=upstream),
            )

        self.exported_services: pulumi.Resource | None = None
        """The ``exported-services`` entry (config entry or custom resource); None when nothing is exported."""
        exports = {service: list(peers) for service, peers in args.exports.items()}
        if exports:
            after = [*upstream, *self.peerings.values()]
            if args.rendering is IntentionsRendering.CRDS:
                document = crd_exported_services(exports, args.namespace)
                self.exported_services = kubernetes.apiextensions.CustomResource(
                    f"{name}-exported-services",
                    api_version=document["apiVersion"],
                    kind=document["kind"],
                    metadata=document["metadata"],
                    spec=document["spec"],
                    opts=pulumi.ResourceOptions(parent=self, depends_on=after),
                )
            else:
                self.exported_services = consul.ConfigEntry(
                    f"{name}-exported-services",
                    **config_entry_exported_services(exports, args.enterprise),
                    opts=pulumi.ResourceOptions(parent=self, depends_on=after),
                )

        self.mesh_gateway_address = mesh_gateway_address(f"{name}-mesh-gateway-service", args.mesh_gateway, self)
        peer_names = list(self.peerings)
        self.peering_names = pulumi.Output.all(*(p.urn for p in self.peerings.values())).apply(lambda _: peer_names)
        self.peering_tokens = pulumi.Output.secret(pulumi.Output.all(**self.tokens))
        exported = self.exported_services
        self.exported_services_name = (
            exported.urn.apply(lambda _: EXPORTED_SERVICES_NAME)
            if exported is not None
            else pulumi.Output.from_input("")
        )
        self.register_outputs(
            {
                "meshGatewayAddress": self.mesh_gateway_address,
                "peeringNames": self.peering_names,
                "peeringTokens": self.peering_tokens,
                "exportedServicesName": self.exported_services_name,
            }
        )


def mesh_gateway_address(resource_name: str, gateway: MeshGatewayArgs, parent: pulumi.Resource) -> pulumi.Output[str]:
    """``host:port`` of the chart's mesh-gateway LoadBalancer Service (``<fullname>-mesh-gateway``).

    The Service is read once the release reports its status (its id is made from ``gateway.release_status``), so
    the read waits for the release, and a first preview, when nothing is deployed yet, does not try to read a
    Service that does not exist: the address is then unknown.
    """
    service_id = pulumi.Output.from_input(gateway.release_status).apply(
        lambda _: f"{gateway.namespace}/{gateway.service}"
    )
    service = kubernetes.core.v1.Service.get(resource_name, service_id, opts=pulumi.ResourceOptions(parent=parent))
    port = gateway.port
    return service.status.apply(lambda status: _load_balancer_address(status, port))


def _load_balancer_address(status: Any, port: int = MESH_GATEWAY_PORT) -> str:
    ingress = ((status or {}).get("load_balancer") or (status or {}).get("loadBalancer") or {}).get("ingress") or []
    if not ingress:
        return ""
    first = ingress[0]
    host = first.get("hostname") or first.get("ip") or ""
    return f"{host}:{port}" if host else ""
