"""The Consul cluster: its namespace, the Kubernetes secret with Vault's CA, and the pinned Helm release.

:class:`ConsulCluster` takes plain values (names, the chart pin, the Helm values the pure builder
:mod:`.helm_values` made) plus ``pulumi.Input`` values another component computes. It imports neither the
settings models nor the layout: the composition (``secure_mesh.composition.consul``) maps them to
:class:`ConsulClusterArgs`.

**What the release waits for.** The chart's pods log in to Vault and read certificates and secrets at start-up;
an atomic install fails (and rolls back) when a role, policy, PKI issuer or KV secret is missing. Two ways
carry that dependency:

* ``vault_values`` — the values keys whose value a Vault component computes (role names, the auth mount's
  path, PKI paths …): the component puts those Outputs in place of the plain values, so the release waits
  for the resources behind them and the dependency *is* the data;
* ``depends_on`` on the component's options — for the Vault objects Vault checks at login or read time
  that no values key names (the roles' policies, the Kubernetes auth backend's config and its token
  reviewer, the PKI mounts' issuers, URLs and CRL configs, the KV mount). A component's ``depends_on`` does
  not hold back its children, so the release (and the Vault injector) list them themselves
  (:func:`passed_dependencies`).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as kubernetes

from ..args import coerce_args

TYPE = "secure-mesh:index:ConsulCluster"
"""The component's type token (what the component provider host registers)."""
OLD_TYPE = "secure-mesh:consul:ConsulCluster"
"""The token deployed stacks recorded before issue 15; aliased so their URNs do not change."""

RELEASE_TIMEOUT_SECONDS = 900
"""A first install waits for Vault-injected servers, ACL bootstrap and the injector webhooks."""
INJECTOR_TIMEOUT_SECONDS = 300
"""The Vault injector's install: two small Deployments and their webhook configuration."""


def passed_dependencies(opts: pulumi.ResourceOptions | None) -> list[pulumi.Resource]:
    """The resources a caller listed in ``depends_on``.

    A component's ``depends_on`` does not hold back its children, so the children list them themselves.
    """
    if opts is None or opts.depends_on is None:
        return []
    depends_on = opts.depends_on
    if isinstance(depends_on, pulumi.Resource):
        return [depends_on]
    if isinstance(depends_on, Sequence):
        return [resource for resource in depends_on if isinstance(resource, pulumi.Resource)]
    return []


def waits_for(value: pulumi.Input[Any] | None) -> list[pulumi.Input[pulumi.Resource]]:
    """A ``depends_on`` list that waits for whatever resources produced ``value`` (one shared Output, no chain).

    How a component takes a dependency as data (an output of the Consul release, say) where no property of its
    children names it. The Output resolves to nothing, so the SDK adds only the resources it carries
    (``_resolve_depends_on`` skips a ``None`` value but keeps ``Output.resources()``).
    """
    if value is None:
        return []
    gate: pulumi.Output[Any] = pulumi.Output.from_input(value).apply(lambda _: None)
    return [gate]


def with_values_at(values: Mapping[str, Any], replacements: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of ``values`` with each dotted key path of ``replacements`` set to its value.

    A path whose parent blocks are missing is created; the builder's plain values stay untouched.
    """
    merged: dict[str, Any] = copy.deepcopy(dict(values))
    for path, value in replacements.items():
        node = merged
        *parents, leaf = path.split(".")
        for part in parents:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[leaf] = value
    return merged


@dataclass(frozen=True)
class VaultCaArgs:
    """The private CA of Vault's listener certificate, copied into the Kubernetes Secret the chart reads."""

    pem: str
    """The CA certificate (PEM). Public, but the chart (``global.secretsBackend.vault.ca``) reads it from a Secret."""
    secret_name: str
    """The Secret's name, in Consul's namespace (and Vault's, for the CSI provider)."""
    secret_key: str
    """The key holding the PEM in that Secret."""


@dataclass(frozen=True)
class VaultInjectorArgs:
    """HashiCorp's Vault chart with its server disabled: the agent injector and CSI provider for an external Vault."""

    namespace: str
    """The Kubernetes namespace the injector runs in (created by the component)."""
    release_name: str
    """The Helm release's name."""
    chart: str
    """The chart's name in its repository (``vault``)."""
    chart_version: str
    """The pinned chart version."""
    chart_repository: str
    """The chart repository's URL."""
    values: Mapping[str, Any]
    """The chart's values, as :func:`secure_mesh.consul.vault_injector.build_vault_injector_values` makes them."""


@dataclass(frozen=True)
class ConsulClusterArgs:
    """Inputs of :class:`ConsulCluster`: the chart pin, names, Helm values and what Vault components computed."""

    namespace: str
    """The Kubernetes namespace Consul runs in (created by the component)."""
    release_name: str
    """The Helm release's name."""
    chart: str
    """The chart's name in its repository (``consul``)."""
    chart_version: str
    """The pinned consul-k8s chart version."""
    chart_repository: str
    """The chart repository's URL."""
    values: Mapping[str, Any]
    """The chart's values as plain data (:func:`secure_mesh.consul.helm_values.build_consul_values`), so previews
    and the policy pack see what Helm gets."""
    ui_service: str
    """The Kubernetes Service of Consul's UI (``<fullname>-ui``)."""
    api_service: str
    """The Kubernetes Service of Consul's servers and their HTTPS API (``<fullname>-server``)."""
    server_ca_path: str
    """The Vault endpoint serving the CA that signs the servers' TLS certificates (``<mount>/cert/ca``)."""
    protect: bool = False
    """Protect the namespaces and the release from deletion (production)."""
    vault_values: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Values Vault components compute, by dotted chart key path (e.g.
    ``global.secretsBackend.vault.consulServerRole``): each replaces the value in ``values``, so the release
    waits for the resources behind them (the dependency is the data)."""
    server_ca_pem: pulumi.Input[str] | None = None
    """The PEM chain of the CA that signs the servers' TLS certificates (from the PKI), handed on as an output."""
    vault_ca: VaultCaArgs | None = None
    """Vault's listener CA when it is private; None when Vault's certificate is publicly trusted."""
    vault_injector: VaultInjectorArgs | None = None
    """The Vault agent injector and CSI provider to install first (Vault outside the cluster); None otherwise."""
    primary_gateways: pulumi.Input[Sequence[str]] | None = None
    """A WAN-federation secondary: its primary's mesh gateways (``host:port``), set at
    ``global.federation.primaryGateways`` (they come from the primary's stack outputs, so no plain value has them)."""


PRIMARY_GATEWAYS_KEY = "global.federation.primaryGateways"


class ConsulCluster(pulumi.ComponentResource):
    """Consul's namespace, the Vault CA secret and the pinned Helm release (plus the Vault injector if needed)."""

    release_name: pulumi.Output[str]
    """The Helm release's name, known once the release is installed."""
    namespace: pulumi.Output[str]
    """The namespace Consul runs in, known once the release is installed (consumers wait for the release)."""
    status: pulumi.Output[str]
    """The release's Helm status (``deployed`` once installed)."""
    datacenter: pulumi.Output[str]
    """Consul's datacenter (the values' ``global.datacenter``)."""
    domain: pulumi.Output[str]
    """Consul's DNS domain (the values' ``global.domain``)."""
    ui_service: pulumi.Output[str]
    """The Kubernetes Service of Consul's UI."""
    api_service: pulumi.Output[str]
    """The Kubernetes Service of Consul's servers (HTTPS API)."""
    server_ca_path: pulumi.Output[str]
    """The Vault endpoint serving the CA that signs the servers' TLS certificates."""
    server_ca_pem: pulumi.Output[str]
    """The PEM chain clients of Consul's HTTPS API trust (empty when the caller gave none)."""

    def __init__(self, name: str, args: ConsulClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args = coerce_args(ConsulClusterArgs, args)
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(aliases=[pulumi.Alias(type_=OLD_TYPE)]))
        super().__init__(TYPE, name, None, opts)
        protect = args.protect
        self.values: dict[str, Any] = copy.deepcopy(dict(args.values))
        """The plain Helm values the caller built (before the ``vault_values`` are set in)."""
        global_values = self.values.get("global") or {}

        namespace = kubernetes.core.v1.Namespace(
            f"{name}-namespace",
            metadata={"name": args.namespace},
            opts=pulumi.ResourceOptions(parent=self, protect=protect),
        )
        release_needs: list[pulumi.Resource] = [*passed_dependencies(opts), namespace]

        self.vault_ca_secret: kubernetes.core.v1.Secret | None = None
        ca = args.vault_ca
        if ca is not None:
            # The CA of Vault's listener certificate is public; it is a Secret because the chart reads it from one.
            self.vault_ca_secret = kubernetes.core.v1.Secret(
                f"{name}-vault-ca",
                metadata={"name": ca.secret_name, "namespace": args.namespace},
                type="Opaque",
                string_data={ca.secret_key: ca.pem},
                opts=pulumi.ResourceOptions(parent=self, depends_on=[namespace]),
            )
            release_needs.append(self.vault_ca_secret)

        self.vault_injector: kubernetes.helm.v3.Release | None = None
        injector = args.vault_injector
        if injector is not None:
            injector_namespace = kubernetes.core.v1.Namespace(
                f"{name}-vault-namespace",
                metadata={"name": injector.namespace},
                opts=pulumi.ResourceOptions(parent=self, protect=protect),
            )
            injector_needs: list[pulumi.Resource] = [injector_namespace]
            if ca is not None:
                # The CSI provider verifies Vault with this CA (vaultCACertPath); it runs in Vault's namespace.
                injector_needs.append(
                    kubernetes.core.v1.Secret(
                        f"{name}-vault-ca-for-csi",
                        metadata={"name": ca.secret_name, "namespace": injector.namespace},
                        type="Opaque",
                        string_data={ca.secret_key: ca.pem},
                        opts=pulumi.ResourceOptions(parent=self, depends_on=[injector_namespace]),
                    )
                )
            self.vault_injector = kubernetes.helm.v3.Release(
                f"{name}-vault-injector",
                name=injector.release_name,
                chart=injector.chart,
                version=injector.chart_version,
                repository_opts={"repo": injector.chart_repository},
                namespace=injector.namespace,
                values=dict(injector.values),
                atomic=True,
                cleanup_on_fail=True,
                timeout=INJECTOR_TIMEOUT_SECONDS,
                opts=pulumi.ResourceOptions(parent=self, depends_on=injector_needs),
            )
            release_needs.append(self.vault_injector)

        self.release = kubernetes.helm.v3.Release(
            f"{name}-release",
            name=args.release_name,
            chart=args.chart,
            version=args.chart_version,
            repository_opts={"repo": args.chart_repository},
            namespace=args.namespace,
            values=self._release_values(
                {
                    **args.vault_values,
                    **({PRIMARY_GATEWAYS_KEY: args.primary_gateways} if args.primary_gateways is not None else {}),
                }
            ),
            atomic=True,
            cleanup_on_fail=True,
            timeout=RELEASE_TIMEOUT_SECONDS,
            max_history=10,
            opts=pulumi.ResourceOptions(parent=self, depends_on=release_needs, protect=protect),
        )
        self.ready: list[pulumi.Resource] = [self.release]
        """What must exist before anything talks to Consul (intentions, catalog look-ups): the Consul release.
        Kept for callers that still pass it as ``depends_on``; the outputs below carry the same dependency."""

        self.release_name = self.release.name.apply(lambda value: value or args.release_name)
        self.namespace = self.release.namespace.apply(lambda value: value or args.namespace)
        self.status = self.release.status.apply(lambda status: _status_of(status))
        self.datacenter = pulumi.Output.from_input(str(global_values.get("datacenter", "")))
        self.domain = pulumi.Output.from_input(str(global_values.get("domain", "")))
        self.ui_service = pulumi.Output.from_input(args.ui_service)
        self.api_service = pulumi.Output.from_input(args.api_service)
        self.server_ca_path = pulumi.Output.from_input(args.server_ca_path)
        self.server_ca_pem = pulumi.Output.from_input(args.server_ca_pem if args.server_ca_pem is not None else "")
        self.register_outputs(
            {
                "releaseName": self.release_name,
                "namespace": self.namespace,
                "status": self.status,
                "datacenter": self.datacenter,
                "domain": self.domain,
                "uiService": self.ui_service,
                "apiService": self.api_service,
                "serverCaPath": self.server_ca_path,
                "serverCaPem": self.server_ca_pem,
            }
        )

    def _release_values(self, computed: Mapping[str, pulumi.Input[Any]]) -> dict[str, Any]:
        """The plain values with the Vault-computed ones set in at their key paths (Outputs at the leaves)."""
        return with_values_at(self.values, computed) if computed else self.values


def _status_of(status: Any) -> str:
    """The ``status`` field of a Helm release's status block (an object from the SDK, a dict under mocks)."""
    if status is None:
        return ""
    value = status.get("status") if isinstance(status, Mapping) else getattr(status, "status", None)
    return str(value or "")
