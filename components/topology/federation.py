"""A WAN-federation secondary's link to its primary: the primary's stack outputs, checked, and its gateways.

A secondary computes every name it shares with its primary from the primary's stack file with the same layout
(``secure_mesh.settings.federation``): the gossip key's and the replication token's KV paths, the server-TLS CA and
the role the primary keeps for this datacenter, the connect root. This component reads the primary's stack outputs
through a ``StackReference`` (``<org>/secure-mesh/<primary>``) and compares them with those names before anything
that uses them is written; the one value no file can hold, the primary's mesh gateway address, comes only from the
outputs. It also hands on the primary's server CA chain (what this cluster's Consul provider and jobs trust).

**Why check instead of only reading.** The Vault policies and Helm values of this cluster are plain data in its
preview (reviewable in a pull request, judged by the policy pack) only because they are computed from files; the
outputs say what the primary *deployed*. A primary whose file and deployment differ (changed, not yet applied) is
refused, naming the output, instead of being joined half right.

**Order across stacks** (Consul docs ``east-west/wan-federation/vault-backend.mdx``; consul-k8s
``acceptance/tests/vault/vault_wan_fed_test.go``): the primary lists the secondary in ``topology.secondaries`` and is
deployed (its server-TLS chain then permits and issues the secondary's server names, its mesh gateway has an
address); then the secondary. Every verdict failure stops the secondary before its Helm release.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

from ..args import coerce_args

TYPE = "secure-mesh:index:FederationSecondary"
"""The component's type token."""

PRIMARY_OUTPUTS: tuple[str, ...] = (
    "datacenter",
    "connectRootPkiPath",
    "consulKvPaths",
    "pkiCaPaths",
    "secondaryServerIssuePaths",
    "meshGatewayAddress",
    "serverCaChainPem",
)
"""The primary's stack outputs a secondary reads (docs/multi-cluster.md, "Outputs other stacks read")."""


@dataclass(frozen=True)
class PrimaryNames:
    """What the secondary expects of its primary's outputs: names computed from the primary's stack file."""

    datacenter: str
    """The primary's ``consul.datacenter`` (the secondary's ``global.federation.primaryDatacenter``)."""
    connect_root_pki_path: str
    """The federation's connect root (every datacenter's ``connectCA.rootPKIPath``)."""
    gossip_kv_path: str
    """The WAN pool's gossip key (``consulKvPaths.gossip``)."""
    replication_token_kv_path: str
    """The ACL replication token the primary's server-acl-init created (``consulKvPaths["replication-token"]``)."""
    server_ca_path: str
    """The server-TLS CA every datacenter trusts (``pkiCaPaths.server``)."""
    server_issue_path: str
    """Where this secondary's servers get their certificates (``secondaryServerIssuePaths[<this datacenter>]``)."""


@dataclass(frozen=True)
class FederationSecondaryArgs:
    """Inputs of :class:`FederationSecondary`: the primary's stack and what its outputs must say."""

    primary_stack: str
    """The primary's stack, fully qualified: ``<org>/secure-mesh/<stack>``."""
    datacenter: str
    """This secondary's datacenter (the key of its role in the primary's ``secondaryServerIssuePaths``)."""
    expected: PrimaryNames
    """The primary's names as this stack computed them."""


@dataclass(frozen=True)
class PrimaryFacts:
    """The primary's outputs once checked: what the secondary takes from them."""

    mesh_gateway_address: str
    server_ca_chain_pem: str


def check_primary_outputs(args: FederationSecondaryArgs, outputs: Mapping[str, Any]) -> PrimaryFacts:
    """The primary's outputs against the names this stack computed; :class:`pulumi.RunError` naming the first
    output that differs (or is missing), and what to do.
    """
    stack = args.primary_stack
    where = f"topology.primaryStack ({stack})"
    expected = args.expected

    def entry(name: str, key: str) -> Any:
        value = outputs.get(name)
        return value.get(key) if isinstance(value, Mapping) else None

    found: Sequence[tuple[str, Any, str]] = (
        ("datacenter", outputs.get("datacenter"), expected.datacenter),
        ("connectRootPkiPath", outputs.get("connectRootPkiPath"), expected.connect_root_pki_path),
        ('consulKvPaths["gossip"]', entry("consulKvPaths", "gossip"), expected.gossip_kv_path),
        (
            'consulKvPaths["replication-token"]',
            entry("consulKvPaths", "replication-token"),
            expected.replication_token_kv_path,
        ),
        ('pkiCaPaths["server"]', entry("pkiCaPaths", "server"), expected.server_ca_path),
    )
    for name, value, want in found:
        if value is None:
            raise pulumi.RunError(
                f"{where}: the primary exports no {name}; deploy the primary (pulumi up on {stack}) before its "
                "secondaries"
            )
        if value != want:
            raise pulumi.RunError(
                f"{where}: the primary's output {name} is {value!r}, but its stack file gives {want!r}: the primary's "
                f"deployment differs from Pulumi.{stack.rsplit('/', 1)[-1]}.yaml; run pulumi up on {stack} first"
            )
    issue_path = entry("secondaryServerIssuePaths", args.datacenter)
    if issue_path != expected.server_issue_path:
        shown = "missing" if issue_path is None else repr(issue_path)
        raise pulumi.RunError(
            f"{where}: the primary keeps no server role for datacenter '{args.datacenter}' (its "
            f"secondaryServerIssuePaths[{args.datacenter!r}] is {shown}, expected "
            f"{expected.server_issue_path!r}); list '{args.datacenter}' in the primary's topology.secondaries and "
            f"run pulumi up on {stack} first"
        )
    address = outputs.get("meshGatewayAddress")
    if not isinstance(address, str) or not address:
        raise pulumi.RunError(
            f"{where}: the primary's meshGatewayAddress is empty: its mesh gateway's load balancer has no address yet; "
            f"wait for it, run pulumi up on {stack} again, then this stack"
        )
    pem = outputs.get("serverCaChainPem")
    if not isinstance(pem, str) or "BEGIN CERTIFICATE" not in pem:
        raise pulumi.RunError(f"{where}: the primary exports no serverCaChainPem; deploy the primary first")
    return PrimaryFacts(mesh_gateway_address=address, server_ca_chain_pem=pem)


class FederationSecondary(pulumi.ComponentResource):
    """The primary's stack outputs, read, checked against this stack's names, and handed on.

    Outputs: ``primaryGateways`` (``[host:port]``, the chart's ``global.federation.primaryGateways``) and
    ``serverCaChainPem`` (the federation's server CA chain); both resolve only once the check passed.
    """

    primary_gateways: pulumi.Output[list[str]]
    """The primary's mesh gateways (``host:port``): the chart's ``global.federation.primaryGateways``."""
    server_ca_chain_pem: pulumi.Output[str]
    """The federation's server CA chain (the primary's ``serverCaChainPem``), what this stack's clients trust."""

    def __init__(self, name: str, args: FederationSecondaryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args = coerce_args(FederationSecondaryArgs, args)
        super().__init__(TYPE, name, None, opts)
        self.reference = pulumi.StackReference(
            f"{name}-primary-stack", stack_name=args.primary_stack, opts=pulumi.ResourceOptions(parent=self)
        )
        reference = self.reference
        values = pulumi.Output.all(*(reference.get_output(output) for output in PRIMARY_OUTPUTS))
        facts = values.apply(lambda found: check_primary_outputs(args, dict(zip(PRIMARY_OUTPUTS, found, strict=True))))
        self.primary_gateways = facts.apply(lambda f: [f.mesh_gateway_address])
        self.server_ca_chain_pem = facts.apply(lambda f: f.server_ca_chain_pem)
        self.register_outputs(
            {"primaryGateways": self.primary_gateways, "serverCaChainPem": self.server_ca_chain_pem}
        )
