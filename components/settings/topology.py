"""The stack's place among several Consul clusters: standalone, a cluster-peering member, or WAN federation.

One stack is one Consul cluster. A **peering** member names its peers; for each it is either the
*acceptor* (it generates the peering token through Consul's API and exports it as a secret stack output)
or the *dialer* (it reads that token through a stack reference to the acceptor's stack and establishes
the peering). What a cluster offers a peer (``exports``) becomes an ``exported-services`` entry and
intentions whose sources name the peer; what it uses from a peer (``imports``) becomes upstream
annotations for its apps. Upstream rules (consul-k8s 2.0.3, Consul docs "Cluster peering"):

* peer names are lowercase (``partials/text/limitations/east-west/cluster-peering.mdx``) — a DNS label here;
* peering needs TLS, ``connectInject`` and mesh gateways (charts/consul/templates/connect-inject-deployment.yaml
  L1-3; the program always runs TLS and connect injection, so only ``consul.meshGateway`` is the user's);
* the peering token and the peering are written through Consul's API (``consul.address``), see
  ``components/topology``;
* every peered cluster keeps its own connect root (``rootPKIPath``): two independent clusters must not share a
  Consul-managed root mount (hashicorp/consul#6819). Its mounts live under ``vault.mountPrefix``, so a peering
  member needs a mount prefix of its own; the peer's ``connectRootPkiPath`` output is compared at deploy time.

A **WAN federation** has one primary (``federation-primary``), which lists its secondaries' datacenters, and
secondaries (``federation-secondary``), which name the primary's stack. One Vault serves them all. The primary
owns what the federation shares (chart 2.0.3 with the Vault backend, Consul docs
``east-west/wan-federation/vault-backend.mdx``; consul-k8s ``acceptance/tests/vault/vault_wan_fed_test.go``):
the gossip key, the ACL replication token, the connect root (``rootPKIPath``) and the server-TLS chain, on which it
keeps one PKI role per secondary (``consul-server-<dc>``). A secondary keeps its own intermediate path, Kubernetes
auth mount, gateway and webhook chains. A secondary computes the primary's names from the primary's stack file
(``Pulumi.<stack>.yaml``, same project) with the same layout, and checks them against the primary's outputs at
deploy time; see :mod:`.federation`.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from ..vocabulary import (  # re-exported: settings and layout users keep their imports
    PeerRole as PeerRole,
)
from ..vocabulary import (
    TopologyMode as TopologyMode,
)
from .models import HttpUrl, SettingsModel
from .names import DnsLabel

PROJECT_NAME = "secure-mesh"
"""The Pulumi project every referenced stack belongs to (its outputs are this program's contract)."""

STACK_NAME_PATTERN = rf"^[A-Za-z0-9][A-Za-z0-9._-]*/{PROJECT_NAME}/[A-Za-z0-9][A-Za-z0-9._-]*$"
"""A fully qualified stack name ``<org>/secure-mesh/<stack>``, as ``pulumi.StackReference`` takes it."""

StackName = Annotated[str, Field(pattern=STACK_NAME_PATTERN, max_length=300)]


def short_stack_name(full_name: str) -> str:
    """The last segment of ``<org>/secure-mesh/<stack>``: the stack's own name (its stack file's name)."""
    return full_name.rsplit("/", 1)[-1]






class PeerExport(SettingsModel):
    """One of this cluster's services offered to the peer, and which of the peer's services may call it."""

    service: DnsLabel
    """A service of this cluster (declared in mesh.services)."""
    consumers: Annotated[list[DnsLabel], Field(min_length=1)]
    """The peer's services allowed to call it: intentions whose sources name the peer."""


class PeerImport(SettingsModel):
    """A peer's service that apps of this cluster call (the peer must export it to this cluster)."""

    service: DnsLabel
    """The service's name in the peer."""
    port: Annotated[int, Field(ge=1, le=65535)]
    """The local port the apps' sidecars listen on for it (explicit upstream ``<service>.svc.<peer>.peer:<port>``)."""
    apps: Annotated[list[DnsLabel], Field(min_length=1)]
    """The apps (declared in apps) that call it."""


class PeerSettings(SettingsModel):
    """One peered cluster."""

    name: DnsLabel
    """The peer's name in this cluster (lowercase; ``svc.virtual.<name>.consul``, intention sources' ``peer``)."""
    role: PeerRole
    """`acceptor` (this cluster generates the token) or `dialer` (this cluster uses the acceptor's token)."""
    stack: StackName
    """The peer's stack, fully qualified: `<org>/secure-mesh/<stack>`."""
    exports: list[PeerExport] = []  # noqa: RUF012 - a pydantic field (pydantic copies defaults)
    """This cluster's services the peer may call."""
    imports: list[PeerImport] = []  # noqa: RUF012 - a pydantic field (pydantic copies defaults)
    """The peer's services this cluster's apps call."""


class TopologySettings(SettingsModel):
    """Whether this cluster stands alone or peers with other clusters."""

    mode: TopologyMode = TopologyMode.STANDALONE
    """`standalone` (one cluster), `peering` (needs `peers`, mesh gateways and `consul.address`),
    `federation-primary` (a WAN-federation primary: mesh gateways, the replication token; no Enterprise partitions)
    or `federation-secondary` (joins the primary named by `primaryStack`)."""
    peers: list[PeerSettings] = []  # noqa: RUF012 - a pydantic field (pydantic copies defaults)
    """Mode `peering`: the peered clusters."""
    mesh_gateway_replicas: Annotated[int, Field(ge=1, le=9)] = 2
    """Mesh gateway pods (the chart's `meshGateway.replicas`; prod needs at least 2)."""
    secondaries: list[DnsLabel] = []  # noqa: RUF012 - a pydantic field (pydantic copies defaults)
    """Mode `federation-primary`: the datacenters of its secondaries. The server-TLS chain permits their server names
    and holds a role `consul-server-<dc>` for each; a secondary not listed here is refused."""
    primary_stack: StackName | None = None
    """Mode `federation-secondary`: the primary's stack, `<org>/secure-mesh/<stack>`; its stack file
    `Pulumi.<stack>.yaml` must be in this project (its names are computed from it, then checked against its outputs)."""
    k8s_auth_method_host: HttpUrl | None = Field(default=None, alias="k8sAuthMethodHost")
    """Mode `federation-secondary`: this cluster's Kubernetes API as the primary's Consul servers reach it (the chart's
    `global.federation.k8sAuthMethodHost`); defaults to `vault.kubernetesHost`."""
