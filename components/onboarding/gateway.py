"""Layer 3: the API gateway's listener certificate through the Vault CSI provider, and its routes, as plain data.

Flow (as in the reference architecture): the ``SecretProviderClass`` asks Vault's gateway chain to
issue a certificate (``PUT <pki>/issue/<role>``) with the gateway's Kubernetes-auth role; a small
Deployment running as the Gateway's service account mounts that CSI volume, which makes the Secrets
Store CSI driver sync ``tls.crt``/``tls.key`` into a ``kubernetes.io/tls`` secret; the ``Gateway``
(class ``consul``) serves HTTPS on 443 with that secret, and each app with a route gets an
``HTTPRoute`` in its own namespace.

Certificate lifetime vs. renewal: every fetch of a PKI issue path issues a *new* certificate, and the
driver re-fetches on every rotation poll. The leaf TTL is the gateway chain's ``leafTtl``; the driver's
``rotationPollInterval`` (:func:`.plan.rotation_poll_interval`) is a third of it, capped at 24 h, so a
certificate is replaced well before it expires while a poll does not mint a certificate every few
minutes (with 720 h leaves: one new certificate a day).

Both certificate objects (``tls.crt`` and ``tls.key``) make the same request (path, method and
arguments); the Vault CSI provider sends identical requests once per mount, so key and certificate
always match.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

from ..workloads import restricted_container
from .args import AppArgs, GatewayArgs, GatewayCsiArgs, VaultClientArgs
from .identity import gateway_issue_path

SECRET_PROVIDER_CLASS_API_VERSION = "secrets-store.csi.x-k8s.io/v1"
GATEWAY_API_VERSION = "gateway.networking.k8s.io/v1"
GATEWAY_CLASS_NAME = "consul"
HTTPS_PORT = 443
HTTPS_LISTENER = "https"
TLS_SECRET_TYPE = "kubernetes.io/tls"
CSI_DRIVER_NAME = "secrets-store.csi.k8s.io"
CSI_MOUNT_PATH = "/mnt/secrets-store"

SECRETS_STORE_CSI_DRIVER_CHART = "secrets-store-csi-driver"
SECRETS_STORE_CSI_DRIVER_REPOSITORY = "https://kubernetes-sigs.github.io/secrets-store-csi-driver/charts"
SECRETS_STORE_CSI_DRIVER_VERSION = "1.5.5"
"""The pinned kubernetes-sigs chart (driver v1.5.5); values keys: ``syncSecret.enabled``,
``enableSecretRotation``, ``rotationPollInterval``."""

MAX_ROTATION_POLL_SECONDS = 24 * 3600
MIN_ROTATION_POLL_SECONDS = 300


def routed(apps: Sequence[AppArgs]) -> tuple[AppArgs, ...]:
    """The apps that declare a public route, in order."""
    return tuple(app for app in apps if app.route is not None)


def certificate_names(apps: Sequence[AppArgs]) -> tuple[str, tuple[str, ...]]:
    """The listener certificate's common name (first route hostname) and alt names (every route hostname)."""
    hostnames = tuple(dict.fromkeys(app.route.hostname for app in apps if app.route is not None))
    if not hostnames:
        raise ValueError("the API gateway needs at least one app with a route")
    return hostnames[0], hostnames


def certificate_request(gateway: GatewayArgs, apps: Sequence[AppArgs]) -> dict[str, str]:
    """The ``secretArgs`` of the PKI issue request (the role's own rules still apply)."""
    common_name, alt_names = certificate_names(apps)
    return {"common_name": common_name, "alt_names": ",".join(alt_names), "ttl": gateway.leaf_ttl}


def csi_objects(gateway: GatewayArgs, apps: Sequence[AppArgs]) -> list[dict[str, Any]]:
    """The provider's ``objects``: the certificate and its key, from one identical issue request."""
    args = certificate_request(gateway, apps)
    return [
        {
            "objectName": object_name,
            "secretPath": gateway_issue_path(gateway),
            "secretKey": secret_key,
            "method": "PUT",
            "secretArgs": args,
        }
        for object_name, secret_key in (("tls.crt", "certificate"), ("tls.key", "private_key"))
    ]


def secret_provider_class(
    gateway: GatewayArgs, csi: GatewayCsiArgs, apps: Sequence[AppArgs], vault: VaultClientArgs
) -> dict[str, Any]:
    """The ``SecretProviderClass`` in Consul's namespace: Vault login, the issue request, the TLS secret sync."""
    parameters: dict[str, str] = {
        "vaultAddress": vault.address,
        "roleName": gateway.auth_role,
        "vaultKubernetesMountPath": vault.auth_path,
        # The CSI provider requests the pod's token for this audience (TokenRequest); the role checks the same.
        "audience": vault.audience,
        "objects": yaml.safe_dump(csi_objects(gateway, apps), sort_keys=True),
    }
    if vault.namespace:
        parameters["vaultNamespace"] = vault.namespace
    if vault.tls_server_name:
        parameters["vaultTLSServerName"] = vault.tls_server_name
    if vault.ca_cert_pem is not None and vault.csi_ca_cert_path:
        # Whoever installs the CSI provider mounts the CA there: this program for an external Vault
        # (components/consul/vault_injector.py), scripts/dev-up.sh next to the laptop's in-cluster Vault.
        parameters["vaultCACertPath"] = vault.csi_ca_cert_path
    return {
        "apiVersion": SECRET_PROVIDER_CLASS_API_VERSION,
        "kind": "SecretProviderClass",
        "metadata": {"name": csi.secret_provider_class, "namespace": gateway.namespace},
        "spec": {
            "provider": "vault",
            "parameters": parameters,
            "secretObjects": [
                {
                    "secretName": gateway.listener_secret,
                    "type": TLS_SECRET_TYPE,
                    "data": [{"objectName": key, "key": key} for key in ("tls.crt", "tls.key")],
                }
            ],
        },
    }


def sync_workload(gateway: GatewayArgs, csi: GatewayCsiArgs) -> dict[str, Any]:
    """The Deployment (metadata and spec) that keeps the CSI volume mounted as the Gateway's service account.

    It only has to keep the volume mounted: its one container is ``pause`` (``images.pause``).
    """
    labels = {"app.kubernetes.io/name": csi.sync_workload}
    return {
        "metadata": {"name": csi.sync_workload, "namespace": gateway.namespace},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {
                    "labels": labels,
                    # Not a mesh service: keep the connect injector away from it.
                    "annotations": {"consul.hashicorp.com/connect-inject": "false"},
                },
                "spec": {
                    "serviceAccountName": gateway.login_service_account,
                    "automountServiceAccountToken": False,
                    "containers": [
                        {
                            "name": "pause",
                            "image": csi.sync_image,
                            "securityContext": restricted_container(65535),
                            "resources": {"requests": {"cpu": "5m", "memory": "8Mi"}, "limits": {"memory": "16Mi"}},
                            "volumeMounts": [{"name": "gateway-tls", "mountPath": CSI_MOUNT_PATH, "readOnly": True}],
                        }
                    ],
                    "volumes": [
                        {
                            "name": "gateway-tls",
                            "csi": {
                                "driver": CSI_DRIVER_NAME,
                                "readOnly": True,
                                "volumeAttributes": {"secretProviderClass": csi.secret_provider_class},
                            },
                        }
                    ],
                },
            },
        },
    }


def gateway_document(gateway: GatewayArgs, apps: Sequence[AppArgs]) -> dict[str, Any]:
    """The ``Gateway``: class ``consul``, one HTTPS listener on 443 with the listener's TLS secret.

    Routes are accepted only from the namespaces of apps that declare a route.
    """
    with_route = routed(apps)
    hostnames = [app.route.hostname for app in with_route if app.route is not None]
    namespaces = sorted({app.namespace for app in with_route})
    listener: dict[str, Any] = {
        "name": HTTPS_LISTENER,
        "protocol": "HTTPS",
        "port": HTTPS_PORT,
        "tls": {"mode": "Terminate", "certificateRefs": [{"kind": "Secret", "name": gateway.listener_secret}]},
        "allowedRoutes": {
            "kinds": [{"kind": "HTTPRoute"}],
            "namespaces": {
                "from": "Selector",
                "selector": {
                    "matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "In", "values": namespaces}]
                },
            },
        },
    }
    if len(set(hostnames)) == 1:
        listener["hostname"] = hostnames[0]
    return {
        "apiVersion": GATEWAY_API_VERSION,
        "kind": "Gateway",
        "metadata": {"name": gateway.name, "namespace": gateway.namespace},
        "spec": {"gatewayClassName": GATEWAY_CLASS_NAME, "listeners": [listener]},
    }


def http_route(gateway: GatewayArgs, app: AppArgs) -> dict[str, Any]:
    """The ``HTTPRoute`` of one app: its hostname and path prefix, to its Service and port, via the gateway."""
    route = app.route
    if route is None:
        raise ValueError(f"app '{app.name}' has no route")
    return {
        "apiVersion": GATEWAY_API_VERSION,
        "kind": "HTTPRoute",
        "metadata": {"name": route.http_route, "namespace": app.namespace},
        "spec": {
            "parentRefs": [{"name": gateway.name, "namespace": gateway.namespace, "sectionName": HTTPS_LISTENER}],
            "hostnames": [route.hostname],
            "rules": [
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": route.path_prefix}}],
                    "backendRefs": [{"name": route.service, "port": route.service_port}],
                }
            ],
        },
    }
