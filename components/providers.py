"""Explicit providers for Vault, Kubernetes, Consul and random, built from settings.

Credentials never come from plain config: each provider reads them from the environment the way its
CLI does (``VAULT_TOKEN``, ``KUBECONFIG``, ``CONSUL_HTTP_TOKEN``). ``pulumi:disable-default-providers``
makes any resource that forgot its provider an error instead of a silent write to a default endpoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pulumi
import pulumi_kubernetes as kubernetes
import pulumi_random as random
import pulumi_vault as vault

from .layout import Layout
from .settings import IntentionsRendering, Settings

if TYPE_CHECKING:
    # pulumi_consul is imported where used: its package imports all ~60 modules (~0.2 s), and only stacks that
    # talk to Consul's API (config-entry intentions, catalog look-ups) need it (issue 9).
    import pulumi_consul as consul


@dataclass(frozen=True)
class Providers:
    """The providers every resource of the stack uses, handed down through the top component."""

    vault: vault.Provider
    kubernetes: kubernetes.Provider
    random: random.Provider
    consul: consul.Provider | None
    """Only when Consul's API is reachable from the program (config-entry intentions, catalog look-ups)."""

    def as_list(self) -> list[pulumi.ProviderResource]:
        """All providers, for ``ResourceOptions(providers=...)`` on the top component."""
        found: list[pulumi.ProviderResource] = [self.vault, self.kubernetes, self.random]
        if self.consul is not None:
            found.append(self.consul)
        return found


def needs_consul_provider(settings: Settings) -> bool:
    """True when the program talks to Consul's API directly."""
    uses_catalog = any(
        app.database is not None and app.database.address.consul_service is not None for app in settings.apps
    )
    return settings.consul.intentions_rendering is IntentionsRendering.CONFIG_ENTRIES or uses_catalog


def build_providers(settings: Settings, layout: Layout) -> Providers:
    """Create the stack's explicit providers (named after what they talk to)."""
    vault_settings = settings.vault
    vault_provider = vault.Provider(
        "vault",
        address=vault_settings.provider_address or vault_settings.address,
        namespace=vault_settings.namespace,
        tls_server_name=vault_settings.tls.server_name,
        skip_tls_verify=False,
        add_address_to_env="false",
    )
    kubernetes_provider = kubernetes.Provider(
        "kubernetes",
        context=settings.kubernetes.context,
        enable_server_side_apply=True,
        delete_unreachable=False,
    )
    random_provider = random.Provider("random")
    consul_provider = None
    if needs_consul_provider(settings) and settings.consul.address is not None:
        import pulumi_consul as consul

        scheme, _, host = settings.consul.address.partition("://")
        consul_provider = consul.Provider(
            "consul",
            address=host,
            scheme=scheme,
            datacenter=layout.datacenter,
            insecure_https=False,
        )
    return Providers(
        vault=vault_provider, kubernetes=kubernetes_provider, random=random_provider, consul=consul_provider
    )
