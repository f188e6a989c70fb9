"""Layer 3 for cluster peering: what the topology settings mean for intentions, exports and app upstreams.

Plain data from settings, so previews and the policy pack see it:

* every ``topology.peers[].exports[]`` consumer becomes an allow source *naming the peer* on the exported
  service's one intentions entry (Consul keeps one ``service-intentions`` entry per destination);
* the exported services, by service, with the peers that may consume them (the ``exported-services`` entry);
* every ``topology.peers[].imports[]`` becomes an explicit upstream of each listed app,
  ``<service>.svc.<peer>.peer:<port>`` — the consul-k8s format for a peer's service on Consul OSS
  (control-plane/connect-inject/webhook ``processUpstreams``: "[service-name].svc.[service-peer].peer:[port]").
"""

from __future__ import annotations

from ..mesh.graph import WILDCARD, DestinationEntry, SourceRule
from ..settings import IntentionAction, Settings
from ..settings.topology import TopologyMode

PEERING_MESH_GATEWAY_MODE = "local"
"""``ProxyDefaults`` ``meshGateway.mode`` on a peering member: traffic to a peer leaves through this cluster's
own gateway (``none`` does not work with peering; Consul docs east-west/mesh-gateway/cluster-peer.mdx)."""

UPSTREAMS_ANNOTATION = "consul.hashicorp.com/connect-service-upstreams"
"""The pod annotation that declares explicit upstreams (consul-k8s constants/annotations_and_labels.go)."""


def peer_sources(settings: Settings) -> dict[str, list[SourceRule]]:
    """Per exported service, the allow rules for the peer's consumers (each naming its peer)."""
    sources: dict[str, list[SourceRule]] = {}
    for p, peer in enumerate(settings.topology.peers):
        for e, export in enumerate(peer.exports):
            for consumer in export.consumers:
                sources.setdefault(export.service, []).append(
                    SourceRule(
                        consumer,
                        IntentionAction.ALLOW,
                        origin=f"topology.peers[{p}].exports[{e}]",
                        peer=peer.name,
                    )
                )
    return sources


def with_peer_sources(entries: tuple[DestinationEntry, ...], settings: Settings) -> tuple[DestinationEntry, ...]:
    """The graph's entries with the peer sources added (a new entry for a service only peers call).

    The ``*`` entry stays last; a destination keeps its local sources first, then its peer sources.
    """
    extra = peer_sources(settings)
    if not extra:
        return entries
    merged: list[DestinationEntry] = []
    for entry in entries:
        if entry.destination == WILDCARD:
            continue
        rules = extra.pop(entry.destination, [])
        merged.append(DestinationEntry(entry.destination, (*entry.sources, *rules)) if rules else entry)
    merged.extend(DestinationEntry(service, tuple(rules)) for service, rules in sorted(extra.items()))
    merged.extend(entry for entry in entries if entry.destination == WILDCARD)
    return tuple(merged)


def exports_by_service(settings: Settings) -> dict[str, list[str]]:
    """``{service: [peer name, …]}``: which peers each exported service is offered to."""
    exports: dict[str, list[str]] = {}
    for peer in settings.topology.peers:
        for export in peer.exports:
            exports.setdefault(export.service, []).append(peer.name)
    return exports


def peer_upstreams(settings: Settings) -> dict[str, list[str]]:
    """``{app: [<service>.svc.<peer>.peer:<port>, …]}`` for every app that calls a peer's service."""
    upstreams: dict[str, list[str]] = {}
    for peer in settings.topology.peers:
        for imported in peer.imports:
            for app in imported.apps:
                upstreams.setdefault(app, []).append(f"{imported.service}.svc.{peer.name}.peer:{imported.port}")
    return upstreams


def peer_upstream_annotations(settings: Settings) -> dict[str, dict[str, str]]:
    """``{app: {connect-service-upstreams: "a,b"}}``: the annotation each calling app's pods carry."""
    return {app: {UPSTREAMS_ANNOTATION: ",".join(values)} for app, values in sorted(peer_upstreams(settings).items())}


def is_peering(settings: Settings) -> bool:
    """True for a cluster-peering member."""
    return settings.topology.mode is TopologyMode.PEERING
