"""Explicit providers for Vault, Kubernetes, Consul and random, built from settings.

Credentials never come from plain config: each provider reads them from the environment the way its
CLI does (``VAULT_TOKEN``, ``KUBECONFIG``, ``CONSUL_HTTP_TOKEN``). ``pulumi:disable-default-providers``
makes any resource that forgot its provider an error instead of a silent write to a default endpoint.

The Consul provider is built later than the others, by the platform (:func:`build_consul_provider`): it
verifies Consul's HTTPS certificate against the server chain's CA, which the PKI component computes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pulumi
import pulumi_kubernetes as kubernetes
import pulumi_random as random
import pulumi_vault as vault

from .layout import Layout
from .settings import IntentionsRendering, Settings
from .settings.topology import TopologyMode
from .settings.vault_ca_file import vault_ca_file_path

if TYPE_CHECKING:
    # pulumi_consul is imported where used: its package imports all ~60 modules (~0.2 s), and only stacks that
    # talk to Consul's API (config-entry intentions, catalog look-ups) need it (issue 9).
    import pulumi_consul as consul


VAULT_CHILD_TOKEN_TTL_SECONDS = 3600
"""Lifetime of the child token the Vault provider creates for one run (terraform-provider-vault's default: 20 min)."""


@dataclass(frozen=True)
class Providers:
    """The providers every resource of the stack uses, handed down through the top component."""

    vault: vault.Provider
    kubernetes: kubernetes.Provider
    random: random.Provider

    def as_list(self) -> list[pulumi.ProviderResource]:
        """All providers, for ``ResourceOptions(providers=...)`` on the top component."""
        return [self.vault, self.kubernetes, self.random]


def needs_consul_provider(settings: Settings) -> bool:
    """True when the program talks to Consul's API directly."""
    uses_catalog = any(
        app.database is not None and app.database.address.consul_service is not None for app in settings.apps
    )
    peering = settings.topology.mode is TopologyMode.PEERING  # the token and the peering go through Consul's API
    config_entries = settings.consul.intentions_rendering is IntentionsRendering.CONFIG_ENTRIES
    engine = settings.rotation.consul_secrets_engine.enabled  # the engine's own token is created through the API
    connect_root = settings.rotation.connect_root_generation > 1  # Consul takes a new root path only through its API
    return config_entries or uses_catalog or peering or engine or connect_root


def build_providers(settings: Settings, layout: Layout, project_dir: Path) -> Providers:
    """Create the stack's explicit providers (named after what they talk to)."""
    vault_settings = settings.vault
    # vault.tls.caCertFile (the laptop Vault's CA): the provider verifies Vault with it. Without it the provider
    # reads VAULT_CACERT, as the Vault CLI does (terraform-provider-vault: ca_cert_file defaults to that variable).
    ca_file = vault_ca_file_path(settings, project_dir)
    vault_provider = vault.Provider(
        "vault",
        address=vault_settings.provider_address or vault_settings.address,
        namespace=vault_settings.namespace,
        ca_cert_file=None if ca_file is None else str(ca_file),
        tls_server_name=vault_settings.tls.server_name,
        skip_tls_verify=False,
        add_address_to_env="false",
        # The provider works through a child token of VAULT_TOKEN that lives max_lease_ttl_seconds (the
        # provider's default is 1200 s: a `pulumi up` waiting on Helm releases can outlive it). One hour covers
        # the longest deploy job; Vault still caps the child at the parent token's own TTL.
        max_lease_ttl_seconds=VAULT_CHILD_TOKEN_TTL_SECONDS,
    )
    kubernetes_provider = kubernetes.Provider(
        "kubernetes",
        context=settings.kubernetes.context,
        enable_server_side_apply=True,
        delete_unreachable=False,
    )
    random_provider = random.Provider("random")
    return Providers(vault=vault_provider, kubernetes=kubernetes_provider, random=random_provider)


CONSUL_HTTPS_PORT = 8501
"""The chart's HTTPS API port (``server.ports.https``; with ``global.tls.httpsOnly`` the only HTTP API port)."""


def build_consul_provider(
    settings: Settings, layout: Layout, server_ca_pem: pulumi.Input[str]
) -> consul.Provider | None:
    """The explicit Consul provider, trusting exactly the CA chain that signs Consul's server certificates.

    ``server_ca_pem`` is the server chain's CA chain from Vault (``CertificateAuthority.ca_chain_pems``): the
    chart is HTTPS-only and its servers present a certificate Vault issued from that chain, so the provider
    gets it as ``ca_pem`` and keeps verification on (``insecure_https=False``). pulumi-consul has no TLS
    server-name option, so ``consul.address`` must name a host in the server certificate: the chart requests
    ``server.<datacenter>.<domain>`` with the SANs ``localhost``, ``<fullname>-server``,
    ``<fullname>-server.<namespace>``, ``<fullname>-server.<namespace>.svc``, ``*.server.<datacenter>.<domain>``
    and IP ``127.0.0.1`` (charts/consul/templates/_helpers.tpl ``consul.serverTLSAltNames``, chart 2.0.3). From a
    laptop: ``kubectl port-forward -n <namespace> svc/<fullname>-server 8501`` and ``https://localhost:8501``;
    from inside the cluster: ``https://<fullname>-server.<namespace>.svc:8501``. The provider is top-level (no
    parent), so its URN does not depend on where it is built.
    """
    if not needs_consul_provider(settings) or settings.consul.address is None:
        return None
    import pulumi_consul as consul

    scheme, _, host = str(settings.consul.address).rstrip("/").partition("://")
    return consul.Provider(
        "consul",
        address=host,
        scheme=scheme,
        datacenter=layout.datacenter,
        ca_pem=server_ca_pem,
        insecure_https=False,
    )
