"""Layer 3: the API gateway's listener certificate with its chain, through Vault Secrets Operator, as plain data.

``consul.apiGatewayCertificateDelivery: vso`` (the default). The program installs Vault Secrets
Operator (its Helm chart, pinned) and declares, in Consul's namespace:

- a ``VaultConnection`` to this stack's Vault (``caCertSecretRef`` names a Secret holding Vault's CA as
  ``ca.crt``, the key VSO reads: ``api/v1beta1/vaultconnection_types.go``);
- a ``VaultAuth`` that logs in at this datacenter's Kubernetes auth mount with the gateway's role, as a
  service account of its own (``api-gateway-certificate``; VSO requests that account's token through
  TokenRequest, and ``VaultAuth.spec.kubernetes.serviceAccount`` must live in the consuming secret's
  namespace: ``api/v1beta1/vaultauth_types.go``), with the same audience the role checks;
- a ``VaultPKISecret`` that issues the listener certificate from the gateway chain's role and writes a
  ``kubernetes.io/tls`` Secret (the name the Gateway listener references). For that destination type
  VSO sets ``tls.key`` to ``private_key`` and ``tls.crt`` to ``certificate`` followed by ``ca_chain``
  (``issuing_ca`` when the chain is empty), and it always requests with ``remove_roots_from_chain=true``
  (``controllers/vaultpkisecret_controller.go`` ``convertToK8sTLSSecretData``;
  ``VaultPKISecret.GetIssuerAPIData``): the leaf first, then each intermediate up to (not including) the
  self-signed root. Vault's ``ca_chain`` lists the issuer first, so the order is the one TLS needs.
  ``format: pem`` (never ``pem_bundle``, which appends the private key to the certificate).

Renewal: VSO re-issues when ``expiryOffset`` before the certificate's expiry is reached; the offset is a
third of the leaf TTL (:func:`expiry_offset`). On every new certificate it patches the gateway's
Deployment (created by consul-k8s, named after the Gateway) with a restart annotation
(``rolloutRestartTargets``; consul-k8s 2.0.3's gatekeeper compares only containers, ports and probes
when it reconciles that Deployment, ``gatekeeper/deployment.go`` ``compareDeployments``, so it does not
undo the annotation). consul-k8s also watches the Secret itself (``gateway_controller.go``) and
publishes it as a file-system-certificate config entry; the restart makes the pick-up certain.

What each delivery costs: ``vso`` runs one more operator (a Deployment and its CRDs, cluster-wide RBAC
to write Secrets and patch Deployments) and adds a Kubernetes-auth role; in exchange the listener
carries its chain, renewal follows the certificate's own expiry and no workload has to keep a volume
mounted. ``csi`` needs the Secrets Store CSI driver (a privileged DaemonSet on every node) plus the
Vault CSI provider, and a pause Deployment that keeps the volume mounted so the driver syncs the
Secret; the Secret holds the leaf alone (one field per object), so clients must already hold the
gateway chain's intermediates, and a new certificate is minted on every rotation poll.
"""

from __future__ import annotations

from typing import Any

from ..identities.roles import workload_audience
from ..layout import Layout
from ..settings import ChainName, Settings, duration_seconds
from ..settings.images import Image, chart_image_values, configured_image
from .gateway import TLS_SECRET_TYPE, certificate_names

VSO_CHART = "vault-secrets-operator"
VSO_REPOSITORY = "https://helm.releases.hashicorp.com"
VSO_VERSION = "1.4.1"
"""The pinned chart (operator v1.4.1; ``chart/Chart.yaml`` of hashicorp/vault-secrets-operator)."""
VSO_API_VERSION = "secrets.hashicorp.com/v1beta1"
VSO_CA_KEY = "ca.crt"
TOKEN_EXPIRATION_SECONDS = 600
"""The shortest token VSO accepts for its Kubernetes login (``VaultAuthConfigKubernetes``: minimum 600)."""
CERTIFICATE_FORMAT = "pem"


def single_unit(seconds: int) -> str:
    """A duration in one unit (``h``, ``m`` or ``s``): the only form VSO's CRD patterns accept."""
    if seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    if seconds % 60 == 0:
        return f"{seconds // 60}m"
    return f"{seconds}s"


def expiry_offset(layout: Layout) -> str:
    """How long before expiry VSO renews: a third of the leaf TTL (a 720 h certificate is renewed at 480 h)."""
    return single_unit(max(1, duration_seconds(layout.settings.pki.chains.gateway.leaf_ttl) // 3))


def vso_values(settings: Settings) -> dict[str, Any]:
    """The chart's values: no default connection or auth method (each consumer declares its own, narrowly).

    Images the stack names (``images.vaultSecretsOperator``, ``images.kubeRbacProxy``) replace the chart's
    defaults; VSO 1.4.1 renders ``repository:tag`` (``chart/templates/deployment.yaml``), so a digest rides in
    the tag.
    """
    values: dict[str, Any] = {"defaultVaultConnection": {"enabled": False}, "defaultAuthMethod": {"enabled": False}}
    controller: dict[str, Any] = {}
    for key, image in (("manager", Image.VAULT_SECRETS_OPERATOR), ("kubeRbacProxy", Image.KUBE_RBAC_PROXY)):
        reference = configured_image(settings, image)
        if reference is not None:
            controller[key] = {"image": chart_image_values(reference)}
    if controller:
        values["controller"] = controller
    return values


def vault_connection(layout: Layout) -> dict[str, Any]:
    """The ``VaultConnection`` VSO uses for the gateway's certificate (TLS verified when Vault has a CA)."""
    vault = layout.settings.vault
    spec: dict[str, Any] = {"address": vault.address, "skipTLSVerify": False}
    if vault.tls.server_name:
        spec["tlsServerName"] = vault.tls.server_name
    if vault.tls.ca_cert_pem is not None:
        spec["caCertSecretRef"] = layout.gateway_vso_ca_secret
    return {
        "apiVersion": VSO_API_VERSION,
        "kind": "VaultConnection",
        "metadata": {"name": layout.gateway_vault_connection, "namespace": layout.consul_namespace},
        "spec": spec,
    }


def vault_auth(layout: Layout) -> dict[str, Any]:
    """The ``VaultAuth``: Kubernetes auth with the gateway's role, as the certificate's own service account."""
    vault = layout.settings.vault
    spec: dict[str, Any] = {
        "vaultConnectionRef": layout.gateway_vault_connection,
        "method": "kubernetes",
        "mount": layout.kubernetes_auth_path,
        "kubernetes": {
            "role": layout.gateway_auth_role,
            "serviceAccount": layout.gateway_certificate_service_account,
            "audiences": [workload_audience(layout.settings)],
            "tokenExpirationSeconds": TOKEN_EXPIRATION_SECONDS,
        },
    }
    if vault.namespace:
        spec["namespace"] = vault.namespace
    return {
        "apiVersion": VSO_API_VERSION,
        "kind": "VaultAuth",
        "metadata": {"name": layout.gateway_vault_connection, "namespace": layout.consul_namespace},
        "spec": spec,
    }


def vault_pki_secret(layout: Layout) -> dict[str, Any]:
    """The ``VaultPKISecret``: the listener certificate with its chain, renewed ahead of expiry, gateway restarted."""
    settings = layout.settings
    common_name, alt_names = certificate_names(settings)
    leaf = duration_seconds(settings.pki.chains.gateway.leaf_ttl)
    return {
        "apiVersion": VSO_API_VERSION,
        "kind": "VaultPKISecret",
        "metadata": {"name": layout.gateway_tls_secret_name, "namespace": layout.consul_namespace},
        "spec": {
            "vaultAuthRef": layout.gateway_vault_connection,
            "mount": layout.issuing_mount(ChainName.GATEWAY).path,
            "role": layout.gateway_role,
            "commonName": common_name,
            "altNames": list(alt_names),
            "ttl": single_unit(leaf),
            "format": CERTIFICATE_FORMAT,
            "expiryOffset": expiry_offset(layout),
            "destination": {
                "name": layout.gateway_tls_secret_name,
                "create": True,
                # Take over a Secret a previous delivery (the CSI driver's sync) left behind.
                "overwrite": True,
                "type": TLS_SECRET_TYPE,
            },
            "rolloutRestartTargets": [{"kind": "Deployment", "name": layout.gateway_name}],
        },
    }
