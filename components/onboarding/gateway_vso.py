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

from collections.abc import Sequence
from typing import Any

from .args import AppArgs, GatewayArgs, GatewayVsoArgs, VaultClientArgs
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


def expiry_offset(leaf_ttl_seconds: int) -> str:
    """How long before expiry VSO renews: a third of the leaf TTL (a 720 h certificate is renewed at 480 h)."""
    return single_unit(max(1, leaf_ttl_seconds // 3))


def vault_connection(gateway: GatewayArgs, vso: GatewayVsoArgs, vault: VaultClientArgs) -> dict[str, Any]:
    """The ``VaultConnection`` VSO uses for the gateway's certificate (TLS verified when Vault has a CA)."""
    spec: dict[str, Any] = {"address": vault.address, "skipTLSVerify": False}
    if vault.tls_server_name:
        spec["tlsServerName"] = vault.tls_server_name
    if vault.ca_cert_pem is not None:
        spec["caCertSecretRef"] = vso.vault_ca_secret
    return {
        "apiVersion": VSO_API_VERSION,
        "kind": "VaultConnection",
        "metadata": {"name": vso.vault_connection, "namespace": gateway.namespace},
        "spec": spec,
    }


def vault_auth(gateway: GatewayArgs, vso: GatewayVsoArgs, vault: VaultClientArgs) -> dict[str, Any]:
    """The ``VaultAuth``: Kubernetes auth with the gateway's role, as the certificate's own service account."""
    spec: dict[str, Any] = {
        "vaultConnectionRef": vso.vault_connection,
        "method": "kubernetes",
        "mount": vault.auth_path,
        "kubernetes": {
            "role": gateway.auth_role,
            "serviceAccount": gateway.login_service_account,
            "audiences": [vault.audience],
            "tokenExpirationSeconds": TOKEN_EXPIRATION_SECONDS,
        },
    }
    if vault.namespace:
        spec["namespace"] = vault.namespace
    return {
        "apiVersion": VSO_API_VERSION,
        "kind": "VaultAuth",
        "metadata": {"name": vso.vault_connection, "namespace": gateway.namespace},
        "spec": spec,
    }


def vault_pki_secret(gateway: GatewayArgs, vso: GatewayVsoArgs, apps: Sequence[AppArgs]) -> dict[str, Any]:
    """The ``VaultPKISecret``: the listener certificate with its chain, renewed ahead of expiry, gateway restarted."""
    common_name, alt_names = certificate_names(apps)
    return {
        "apiVersion": VSO_API_VERSION,
        "kind": "VaultPKISecret",
        "metadata": {"name": gateway.listener_secret, "namespace": gateway.namespace},
        "spec": {
            "vaultAuthRef": vso.vault_connection,
            "mount": gateway.pki_mount,
            "role": gateway.pki_role,
            "commonName": common_name,
            "altNames": list(alt_names),
            "ttl": single_unit(gateway.leaf_ttl_seconds),
            "format": CERTIFICATE_FORMAT,
            "expiryOffset": expiry_offset(gateway.leaf_ttl_seconds),
            "destination": {
                "name": gateway.listener_secret,
                "create": True,
                # Take over a Secret a previous delivery (the CSI driver's sync) left behind.
                "overwrite": True,
                "type": TLS_SECRET_TYPE,
            },
            "rolloutRestartTargets": [{"kind": "Deployment", "name": gateway.name}],
        },
    }
