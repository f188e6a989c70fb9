"""HashiCorp's Vault chart with the server disabled: the agent injector and CSI provider for an external Vault.

The Consul chart's pods get their certificates and secrets from Vault agents injected by the Vault
Agent Injector; when Vault runs outside the cluster nothing else installs it. The CSI provider is
installed alongside so the API gateway can mount its listener certificate from Vault (it also needs
the Secrets Store CSI driver, installed with the cluster).

The values keys come from ``values.yaml`` of ``hashicorp/vault-helm`` at commit
``000d40883c2716d7cc7be8d9c528510427f1d195`` (the 0.30 line: Vault 1.20.1, vault-k8s 1.7.0,
vault-csi-provider 1.5.1), which is the version pinned below.
"""

from __future__ import annotations

from typing import Any

from ..layout import Layout
from ..settings import Settings, VaultPlacement
from ..settings.images import Image, chart_image_values, configured_image

VAULT_CHART_VERSION = "0.30.1"
"""The pinned version of HashiCorp's Vault chart."""

VAULT_CHART_KEYS: frozenset[str] = frozenset(
    {
        "global.enabled",
        "global.externalVaultAddr",
        "global.tlsDisable",
        "server.enabled",
        "injector.enabled",
        "injector.image.repository",
        "injector.image.tag",
        "injector.agentImage.repository",
        "injector.agentImage.tag",
        "csi.image.repository",
        "csi.image.tag",
        "csi.agent.image.repository",
        "csi.agent.image.tag",
        "injector.replicas",
        "injector.authPath",
        "injector.logLevel",
        "injector.leaderElector.enabled",
        "injector.webhook.failurePolicy",
        "csi.enabled",
        "csi.agent.enabled",
        "csi.logLevel",
        "csi.volumes",
        "csi.volumeMounts",
        "ui.enabled",
    }
)
"""Leaf key paths of the pinned Vault chart this program may set."""


def needs_vault_injector(settings: Settings) -> bool:
    """True when Vault runs outside the cluster, so this program must install the injector itself."""
    return settings.vault.placement is VaultPlacement.EXTERNAL


VAULT_CA_VOLUME = "vault-ca"


def build_vault_injector_values(settings: Settings, layout: Layout) -> dict[str, Any]:
    """Values for the Vault chart: no server, the injector pointed at the external Vault, the CSI provider.

    When Vault's certificate comes from a private CA, the CSI provider mounts that CA (a copy of the
    secret in Vault's namespace) so ``SecretProviderClass`` objects can verify Vault with ``vaultCACertPath``.
    """
    csi: dict[str, Any] = {"enabled": True}
    if settings.vault.tls.ca_cert_pem is not None:
        csi["volumes"] = [{"name": VAULT_CA_VOLUME, "secret": {"secretName": layout.vault_ca_secret_name}}]
        csi["volumeMounts"] = [
            {"name": VAULT_CA_VOLUME, "mountPath": layout.vault_csi_ca_directory, "readOnly": True}
        ]
    injector: dict[str, Any] = {
        "enabled": True,
        "replicas": 2 if settings.is_production else 1,
        "authPath": layout.kubernetes_auth_login_path,
    }
    _set_image(injector, "image", settings, Image.VAULT_INJECTOR)
    _set_image(injector, "agentImage", settings, Image.VAULT_AGENT)
    _set_image(csi, "image", settings, Image.VAULT_CSI_PROVIDER)
    agent: dict[str, Any] = {}
    _set_image(agent, "image", settings, Image.VAULT_AGENT)
    if agent:
        csi["agent"] = agent
    return {
        "global": {"externalVaultAddr": settings.vault.address},
        "server": {"enabled": False},
        "injector": injector,
        "csi": csi,
    }


def _set_image(block: dict[str, Any], key: str, settings: Settings, image: Image) -> None:
    """Set ``<key>.repository``/``<key>.tag`` when the stack names the image; the chart's default otherwise."""
    reference = configured_image(settings, image)
    if reference is not None:
        block[key] = chart_image_values(reference)
