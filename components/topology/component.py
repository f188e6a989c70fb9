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

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_kubernetes as kubernetes

from ..consul.component import passed_dependencies
from ..layout import Layout
from ..mesh.render import config_entry_exported_services, crd_exported_services
from ..settings import IntentionsRendering, Settings
from ..settings.topology import PeerRole, PeerSettings, short_stack_name
from .documents import exports_by_service, is_peering

if TYPE_CHECKING:
    import pulumi_consul as consul

MESH_GATEWAY_PORT = 443
"""The chart's ``meshGateway.service.port`` default (values.yaml, chart 2.0.3): the port peers dial."""

OFFLINE_SECRET_STAND_IN = "[secret]"
"""What ``pulumi stack output --json`` prints for a secret output. A recorded outputs file (offline review and
tests, ``stack-references/<stack>.json``) carries it in place of the acceptor's token map; the dialer then passes
it on as the (secret) token, so an offline run shows the shape of the deployment without any token."""


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


def check_peer_outputs(
    own_stack: str,
    datacenter: str,
    connect_root: str,
    peers: Sequence[tuple[PeerSettings, Any, Any]],
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
class ClusterPeeringArgs:
    """Inputs of :class:`ClusterPeering`."""

    settings: Settings
    layout: Layout
    consul_provider: consul.Provider
    """Writes the token, the peering and (config-entry rendering) the exported services."""
    mesh: pulumi.Resource
    """This cluster's ``mesh`` entry (with ``peering.peerThroughMeshGateways``): before any token or dialing."""
    release: pulumi.Resource
    """The Consul release, whose mesh-gateway Service gives the gateway address."""


class ClusterPeering(pulumi.ComponentResource):
    """This cluster's side of each peering, its exported services and its mesh gateway's address."""

    tokens: dict[str, pulumi.Output[str]]
    """Acceptor side: dialer stack name → its peering token (secret)."""
    peerings: dict[str, pulumi.Resource]
    """Peer name → the ``PeeringToken`` (acceptor) or ``Peering`` (dialer) resource."""
    references: dict[str, pulumi.StackReference]
    """Dialer side: peer name → the stack reference to its acceptor's stack."""
    exported_services: pulumi.Resource | None
    mesh_gateway_address: pulumi.Output[str]
    """``host:port`` of this cluster's mesh gateway (its LoadBalancer Service), known once the release is up."""

    def __init__(self, name: str, args: ClusterPeeringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("secure-mesh:topology:ClusterPeering", name, None, opts)
        import pulumi_consul as consul

        settings, layout = args.settings, args.layout
        upstream = passed_dependencies(opts)
        own_stack = pulumi.get_stack()
        api = pulumi.ResourceOptions(parent=self, provider=args.consul_provider)
        self.tokens, self.peerings, self.references = {}, {}, {}

        dialers = [peer for peer in settings.topology.peers if peer.role is PeerRole.DIALER]
        for peer in settings.topology.peers:
            if peer.role is PeerRole.ACCEPTOR:
                token = consul.PeeringToken(
                    f"{name}-{peer.name}-token",
                    peer_name=peer.name,
                    meta={"secure-mesh/dialer-stack": peer.stack},
                    opts=pulumi.ResourceOptions.merge(
                        api,
                        pulumi.ResourceOptions(
                            depends_on=[*upstream, args.mesh], additional_secret_outputs=["peeringToken"]
                        ),
                    ),
                )
                self.peerings[peer.name] = token
                self.tokens[short_stack_name(peer.stack)] = pulumi.Output.secret(token.peering_token)
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
                layout.datacenter,
                layout.connect_root_pki_path,
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
                opts=pulumi.ResourceOptions.merge(api, pulumi.ResourceOptions(depends_on=[*upstream, args.mesh])),
            )

        self.exported_services = None
        exports = exports_by_service(settings)
        if exports:
            after = [*upstream, args.mesh, *self.peerings.values()]
            enterprise = settings.consul.enterprise
            if settings.consul.intentions_rendering is IntentionsRendering.CRDS:
                document = crd_exported_services(exports, layout.consul_namespace)
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
                    **config_entry_exported_services(exports, enterprise),
                    opts=pulumi.ResourceOptions.merge(api, pulumi.ResourceOptions(depends_on=after)),
                )

        self.mesh_gateway_address = mesh_gateway_address(name, layout, args.release, self)
        self.register_outputs({"meshGatewayAddress": self.mesh_gateway_address})


def mesh_gateway_address(
    name: str, layout: Layout, release: pulumi.Resource, parent: pulumi.Resource
) -> pulumi.Output[str]:
    """``host:port`` of the chart's mesh-gateway LoadBalancer Service (``<fullname>-mesh-gateway``).

    The Service is read once the release reports its status (its id depends on it), so a first preview, when
    nothing is deployed yet, does not try to read a Service that does not exist: the address is then unknown.
    """
    service_id = pulumi.Output.from_input(getattr(release, "status", None)).apply(
        lambda _: f"{layout.consul_namespace}/{layout.mesh_gateway_service}"
    )
    service = kubernetes.core.v1.Service.get(
        f"{name}-mesh-gateway-service", service_id, opts=pulumi.ResourceOptions(parent=parent, depends_on=[release])
    )
    return service.status.apply(_load_balancer_address)


def _load_balancer_address(status: Any) -> str:
    ingress = ((status or {}).get("load_balancer") or (status or {}).get("loadBalancer") or {}).get("ingress") or []
    if not ingress:
        return ""
    first = ingress[0]
    host = first.get("hostname") or first.get("ip") or ""
    return f"{host}:{MESH_GATEWAY_PORT}" if host else ""


def peering_enabled(settings: Settings) -> bool:
    """True when the stack builds :class:`ClusterPeering`."""
    return is_peering(settings)
