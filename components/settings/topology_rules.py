"""Cross-field rules for the stack's topology (standalone or cluster peering).

Kept apart from :mod:`.consistency` (which calls :func:`topology_problems`). Each problem names the exact
key path, the bad value and what is allowed. Rules that need the peer's own outputs (its datacenter and
connect root) cannot run here; ``components/topology`` checks them against the stack reference at deploy
time (and offline against the recorded outputs file).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from .errors import Problem
from .models import Settings
from .topology import TopologyMode, short_stack_name

DEFAULT_KUBERNETES_HOST = "https://kubernetes.default.svc"
"""``vault.kubernetesHost``'s default: the in-cluster API address, which no other cluster can reach."""

DEFAULT_MOUNT_PREFIX = "consul"
"""``vault.mountPrefix``'s default; a peering member must choose its own (one Vault may serve many clusters)."""


def _duplicates(values: list[str]) -> set[str]:
    return {value for value, count in Counter(values).items() if count > 1}


def topology_problems(settings: Settings) -> Iterator[Problem]:
    """Every problem of ``topology`` and what it requires of the other settings."""
    topology = settings.topology
    yield from _federation_keys(settings)
    federated = (TopologyMode.FEDERATION_PRIMARY, TopologyMode.FEDERATION_SECONDARY)
    if settings.rotation.replication_token_version != 1 and topology.mode not in federated:
        yield Problem(
            "rotation.replicationTokenVersion",
            f"{settings.rotation.replication_token_version} is not allowed with topology.mode "
            f"'{topology.mode.value}': only a WAN federation has a replication token; allowed: 1",
        )
    if topology.mode is TopologyMode.STANDALONE:
        if topology.peers:
            yield Problem("topology.peers", "is set but topology.mode is 'standalone'; set mode 'peering' or remove it")
        return
    if topology.mode is TopologyMode.FEDERATION_PRIMARY:
        yield from _federation_primary(settings)
        return
    if topology.mode is TopologyMode.FEDERATION_SECONDARY:
        yield from _federation_secondary(settings)
        return
    # ---- peering
    primary = settings.consul.primary_datacenter
    if primary is not None and primary != settings.consul.datacenter:
        yield Problem(
            "consul.primaryDatacenter",
            f"'{primary}' makes this a WAN-federation secondary, which topology.mode 'peering' does not allow "
            "(a peering member owns its own ACLs and mesh entry); remove it or use topology.mode 'standalone'",
        )
    if not topology.peers:
        yield Problem("topology.peers", "mode 'peering' needs at least one peer (name, role, stack)")
    if not settings.consul.mesh_gateway:
        yield Problem(
            "consul.meshGateway",
            "false is not allowed with topology.mode 'peering': peers reach each other only through mesh gateways; "
            "allowed: true",
        )
    if settings.consul.address is None:
        yield Problem(
            "consul.address",
            "is required with topology.mode 'peering': the peering token and the peering are written through "
            "Consul's API",
        )
    if settings.vault.mount_prefix == DEFAULT_MOUNT_PREFIX:
        yield Problem(
            "vault.mountPrefix",
            f"'{DEFAULT_MOUNT_PREFIX}' (the default) is not allowed with topology.mode 'peering': each peered "
            "cluster keeps its own connect root and mounts, so give this cluster a prefix of its own "
            "(e.g. 'consul-<datacenter>')",
        )
    if settings.is_production and topology.mesh_gateway_replicas < 2:
        yield Problem(
            "topology.meshGatewayReplicas",
            f"{topology.mesh_gateway_replicas} is not allowed in prod: one gateway pod is a single point of failure "
            "for every peer; allowed: 2-9",
        )
    for name in sorted(_duplicates([peer.name for peer in topology.peers])):
        index = [peer.name for peer in topology.peers].index(name)
        yield Problem(f"topology.peers[{index}].name", f"'{name}' names two peers; peer names are unique")
    for stack in sorted(_duplicates([peer.stack for peer in topology.peers])):
        index = [peer.stack for peer in topology.peers].index(stack)
        yield Problem(f"topology.peers[{index}].stack", f"'{stack}' is referenced by two peers; one peer per stack")
    short = [short_stack_name(peer.stack) for peer in topology.peers]
    # Distinct stacks only: a stack listed twice is the problem above, but another stack with its short name is
    # still a second, separate clash.
    distinct_stacks = dict.fromkeys(peer.stack for peer in topology.peers)
    for name in sorted(_duplicates([short_stack_name(stack) for stack in distinct_stacks])):
        index = short.index(name)
        yield Problem(
            f"topology.peers[{index}].stack",
            f"two peers' stacks are both named '{name}': an acceptor keys its peeringTokens output by the dialer's "
            "stack name, so peer stacks need distinct names",
        )
    services = {service.name for service in settings.mesh.services}
    apps = {app.name for app in settings.apps}
    for p, peer in enumerate(topology.peers):
        base = f"topology.peers[{p}]"
        if peer.name == settings.consul.datacenter:
            yield Problem(f"{base}.name", f"'{peer.name}' is this cluster's own datacenter; name the other cluster")
        for name in sorted(_duplicates([export.service for export in peer.exports])):
            yield Problem(f"{base}.exports", f"'{name}' is exported twice to the same peer; list it once")
        for e, export in enumerate(peer.exports):
            if export.service not in services:
                yield Problem(
                    f"{base}.exports[{e}].service",
                    f"'{export.service}' is not a declared service; allowed: {', '.join(sorted(services)) or 'none'}",
                )
            for c in sorted(_duplicates(export.consumers)):
                yield Problem(f"{base}.exports[{e}].consumers", f"'{c}' is listed twice")
        for name in sorted(_duplicates([imported.service for imported in peer.imports])):
            yield Problem(f"{base}.imports", f"'{name}' is imported twice from the same peer; list it once")
        for i, imported in enumerate(peer.imports):
            for a, app in enumerate(imported.apps):
                if app not in apps:
                    yield Problem(
                        f"{base}.imports[{i}].apps[{a}]",
                        f"'{app}' is not a declared app; allowed: {', '.join(sorted(apps)) or 'none'}",
                    )
    ports: dict[tuple[str, int], str] = {}
    for p, peer in enumerate(topology.peers):
        for i, imported in enumerate(peer.imports):
            for app in imported.apps:
                key = (app, imported.port)
                if key in ports:
                    yield Problem(
                        f"topology.peers[{p}].imports[{i}].port",
                        f"{imported.port} is already app '{app}''s local port for {ports[key]}; each upstream of an "
                        "app needs its own port",
                    )
                ports[key] = f"{imported.service}.{peer.name}"


_FEDERATION_KEYS: tuple[tuple[str, str, TopologyMode], ...] = (
    ("secondaries", "topology.secondaries", TopologyMode.FEDERATION_PRIMARY),
    ("primary_stack", "topology.primaryStack", TopologyMode.FEDERATION_SECONDARY),
    ("k8s_auth_method_host", "topology.k8sAuthMethodHost", TopologyMode.FEDERATION_SECONDARY),
)
"""Each federation-only key, its path, and the one mode that reads it."""


def _federation_keys(settings: Settings) -> Iterator[Problem]:
    """A federation key set in a mode that ignores it (a forgotten mode is a silent no-op otherwise)."""
    topology = settings.topology
    for field, path, mode in _FEDERATION_KEYS:
        if getattr(topology, field) and topology.mode is not mode:
            yield Problem(path, f"is only read with topology.mode '{mode.value}'; mode is '{topology.mode.value}'")


def _federation_common(settings: Settings, mode: str) -> Iterator[Problem]:
    """What the chart requires of every federated datacenter (chart 2.0.3 server-statefulset.yaml L2-4)."""
    if settings.topology.peers:
        yield Problem("topology.peers", f"is set but {mode} does not peer; remove it")
    if not settings.consul.mesh_gateway:
        yield Problem(
            "consul.meshGateway",
            f"false is not allowed with {mode}: datacenters federate through mesh gateways; allowed: true",
        )
    if settings.consul.enterprise:
        yield Problem(
            "consul.enterprise",
            f"true is not allowed with {mode}: it turns on admin partitions, which the chart refuses together with "
            "WAN federation (templates/server-statefulset.yaml L2); allowed: false",
        )
    if settings.vault.mount_prefix == DEFAULT_MOUNT_PREFIX:
        yield Problem(
            "vault.mountPrefix",
            f"'{DEFAULT_MOUNT_PREFIX}' (the default) is not allowed with {mode}: the federation's datacenters share "
            "one Vault, each with mounts of its own, so give this one a prefix of its own (e.g. 'consul-<datacenter>')",
        )


def _federation_primary(settings: Settings) -> Iterator[Problem]:
    """What the chart and Consul require of a WAN-federation primary (chart 2.0.3 server-statefulset.yaml L2-4)."""
    mode = "topology.mode 'federation-primary'"
    yield from _federation_common(settings, mode)
    primary = settings.consul.primary_datacenter
    if primary is not None and primary != settings.consul.datacenter:
        yield Problem(
            "consul.primaryDatacenter",
            f"'{primary}' names another datacenter, but {mode} is the primary; remove it",
        )
    if settings.is_production and settings.topology.mesh_gateway_replicas < 2:
        yield Problem(
            "topology.meshGatewayReplicas",
            f"{settings.topology.mesh_gateway_replicas} is not allowed in prod: one gateway pod carries every "
            "secondary's traffic; allowed: 2-9",
        )
    secondaries = settings.topology.secondaries
    for name in sorted(_duplicates(secondaries)):
        yield Problem(f"topology.secondaries[{secondaries.index(name)}]", f"'{name}' is listed twice; list it once")
    for index, name in enumerate(secondaries):
        if name == settings.consul.datacenter:
            yield Problem(
                f"topology.secondaries[{index}]",
                f"'{name}' is this primary's own datacenter; list the secondaries' datacenters",
            )


def _federation_secondary(settings: Settings) -> Iterator[Problem]:
    """What a WAN-federation secondary needs besides its primary (checked with the primary's stack file)."""
    mode = "topology.mode 'federation-secondary'"
    topology = settings.topology
    if topology.primary_stack is None:
        yield Problem(
            "topology.primaryStack",
            f"is required with {mode}: the primary's stack, '<org>/secure-mesh/<stack>' (its stack file "
            "Pulumi.<stack>.yaml must be in this project)",
        )
    yield from _federation_common(settings, mode)
    if settings.consul.primary_datacenter is not None:
        yield Problem(
            "consul.primaryDatacenter",
            f"is not used with {mode}: the primary's datacenter comes from its stack (topology.primaryStack); "
            "remove it",
        )
    host = topology.k8s_auth_method_host
    if host is None and settings.vault.kubernetes_host == DEFAULT_KUBERNETES_HOST:
        yield Problem(
            "topology.k8sAuthMethodHost",
            f"is required with {mode} while vault.kubernetesHost is the in-cluster default "
            f"'{DEFAULT_KUBERNETES_HOST}': the primary's Consul servers verify this cluster's service-account tokens "
            "at this cluster's API server (the chart's global.federation.k8sAuthMethodHost), so give its address as "
            "they reach it (https://host:port)",
        )
    for chain in sorted(settings.pki.chains.model_fields_set & {"server", "connect"}):
        yield Problem(
            f"pki.chains.{chain}",
            f"is not used with {mode}: the federation's {chain} chain is the primary's (one server CA, one connect "
            "root), so set it in the primary's stack; remove it here",
        )
    if settings.rotation.gossip_key_version != 1:
        yield Problem(
            "rotation.gossipKeyVersion",
            f"{settings.rotation.gossip_key_version} is not allowed with {mode}: the federation shares the "
            "primary's gossip key, and the primary rotates it (raise it in the primary's stack); allowed: 1",
        )
    if settings.rotation.bootstrap_token_version != 1:
        yield Problem(
            "rotation.bootstrapTokenVersion",
            f"{settings.rotation.bootstrap_token_version} is not allowed with {mode}: a secondary bootstraps no "
            "ACLs and holds no bootstrap token (the primary's is the federation's; raise it in the primary's "
            "stack); allowed: 1",
        )
    if settings.is_production and topology.mesh_gateway_replicas < 2:
        yield Problem(
            "topology.meshGatewayReplicas",
            f"{topology.mesh_gateway_replicas} is not allowed in prod: one gateway pod carries all of this "
            "datacenter's traffic to the primary; allowed: 2-9",
        )
