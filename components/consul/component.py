"""The Consul cluster: its namespace, the Kubernetes secret with Vault's CA, and the pinned Helm release.

The release reads every certificate and secret from Vault, so the platform passes the Vault objects it
reads (PKI mounts and roles, KV secrets, Kubernetes-auth roles and policies) as ``depends_on``; with an
external Vault the agent injector's release comes first too. Values are the pure builder's plain dict.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as kubernetes

from ..layout import CONSUL_CHART_NAME, CONSUL_CHART_REPOSITORY, VAULT_CHART_NAME, VAULT_CHART_REPOSITORY, Layout
from ..settings import Settings
from .helm_values import build_consul_values
from .vault_injector import VAULT_CHART_VERSION, build_vault_injector_values, needs_vault_injector

RELEASE_TIMEOUT_SECONDS = 900
"""A first install waits for Vault-injected servers, ACL bootstrap and the injector webhooks."""


def passed_dependencies(opts: pulumi.ResourceOptions | None) -> list[pulumi.Resource]:
    """The resources a caller listed in ``depends_on``.

    A component's ``depends_on`` does not hold back its children, so the release lists them itself.
    """
    if opts is None or opts.depends_on is None:
        return []
    depends_on = opts.depends_on
    if isinstance(depends_on, pulumi.Resource):
        return [depends_on]
    if isinstance(depends_on, Sequence):
        return [resource for resource in depends_on if isinstance(resource, pulumi.Resource)]
    return []


@dataclass(frozen=True)
class ConsulClusterArgs:
    """Inputs of :class:`ConsulCluster`."""

    settings: Settings
    layout: Layout


class ConsulCluster(pulumi.ComponentResource):
    """Consul's namespace, the Vault CA secret and the pinned Helm release (plus the Vault injector if needed)."""

    ready: list[pulumi.Resource]
    """What must exist before anything talks to Consul (intentions, catalog look-ups): the Consul release."""
    values: dict[str, Any]
    """The Helm values the release was given (plain data, as the builder made them)."""
    datacenter: str
    domain: str
    namespace: str
    release_name: str
    ui_service: str
    """The Kubernetes service of Consul's UI."""
    api_service: str
    """The Kubernetes service of Consul's servers (HTTPS API)."""
    server_ca_path: str
    """The Vault endpoint serving the CA that signs the servers' TLS certificates."""

    def __init__(self, name: str, args: ConsulClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("secure-mesh:consul:ConsulCluster", name, None, opts)
        settings, layout = args.settings, args.layout
        protect = settings.is_production

        self.values = build_consul_values(settings, layout)
        self.datacenter = layout.datacenter
        self.domain = settings.consul.domain
        self.namespace = layout.consul_namespace
        self.release_name = layout.consul_release_name
        self.ui_service = layout.consul_ui_service
        self.api_service = layout.consul_server_service
        self.server_ca_path = layout.server_ca_path

        namespace = kubernetes.core.v1.Namespace(
            f"{name}-namespace",
            metadata={"name": layout.consul_namespace},
            opts=pulumi.ResourceOptions(parent=self, protect=protect),
        )
        release_needs: list[pulumi.Resource] = [*passed_dependencies(opts), namespace]

        self.vault_ca_secret: kubernetes.core.v1.Secret | None = None
        ca_pem = settings.vault.tls.ca_cert_pem
        if ca_pem is not None:
            # The CA of Vault's listener certificate is public; it is a Secret because the chart reads it from one.
            self.vault_ca_secret = kubernetes.core.v1.Secret(
                f"{name}-vault-ca",
                metadata={"name": layout.vault_ca_secret_name, "namespace": layout.consul_namespace},
                type="Opaque",
                string_data={layout.vault_ca_secret_key: ca_pem},
                opts=pulumi.ResourceOptions(parent=self, depends_on=[namespace]),
            )
            release_needs.append(self.vault_ca_secret)

        self.vault_injector: kubernetes.helm.v3.Release | None = None
        if needs_vault_injector(settings):
            injector_namespace = kubernetes.core.v1.Namespace(
                f"{name}-vault-namespace",
                metadata={"name": layout.vault_namespace},
                opts=pulumi.ResourceOptions(parent=self, protect=protect),
            )
            injector_needs: list[pulumi.Resource] = [injector_namespace]
            if ca_pem is not None:
                # The CSI provider verifies Vault with this CA (vaultCACertPath); it runs in Vault's namespace.
                injector_needs.append(
                    kubernetes.core.v1.Secret(
                        f"{name}-vault-ca-for-csi",
                        metadata={"name": layout.vault_ca_secret_name, "namespace": layout.vault_namespace},
                        type="Opaque",
                        string_data={layout.vault_ca_secret_key: ca_pem},
                        opts=pulumi.ResourceOptions(parent=self, depends_on=[injector_namespace]),
                    )
                )
            self.vault_injector = kubernetes.helm.v3.Release(
                f"{name}-vault-injector",
                name=layout.vault_injector_release_name,
                chart=VAULT_CHART_NAME,
                version=VAULT_CHART_VERSION,
                repository_opts={"repo": VAULT_CHART_REPOSITORY},
                namespace=layout.vault_namespace,
                values=build_vault_injector_values(settings, layout),
                atomic=True,
                cleanup_on_fail=True,
                timeout=300,
                opts=pulumi.ResourceOptions(parent=self, depends_on=injector_needs),
            )
            release_needs.append(self.vault_injector)

        self.release = kubernetes.helm.v3.Release(
            f"{name}-release",
            name=layout.consul_release_name,
            chart=CONSUL_CHART_NAME,
            version=settings.consul.chart_version,
            repository_opts={"repo": CONSUL_CHART_REPOSITORY},
            namespace=layout.consul_namespace,
            values=self.values,
            atomic=True,
            cleanup_on_fail=True,
            timeout=RELEASE_TIMEOUT_SECONDS,
            max_history=10,
            opts=pulumi.ResourceOptions(parent=self, depends_on=release_needs, protect=protect),
        )
        self.ready = [self.release]

        self.register_outputs(
            {
                "datacenter": self.datacenter,
                "domain": self.domain,
                "namespace": self.namespace,
                "releaseName": self.release_name,
                "uiService": self.ui_service,
                "apiService": self.api_service,
                "serverCaPath": self.server_ca_path,
            }
        )
