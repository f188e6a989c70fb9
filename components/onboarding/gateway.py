"""Layer 3: the API gateway's listener certificate through the Vault CSI provider, and its routes, as plain data.

Flow (as in the reference architecture): the ``SecretProviderClass`` asks Vault's gateway chain to
issue a certificate (``PUT <pki>/issue/<role>``) with the gateway's Kubernetes-auth role; a small
Deployment running as the Gateway's service account mounts that CSI volume, which makes the Secrets
Store CSI driver sync ``tls.crt``/``tls.key`` into a ``kubernetes.io/tls`` secret; the ``Gateway``
(class ``consul``) serves HTTPS on 443 with that secret, and each app with a route gets an
``HTTPRoute`` in its own namespace.

Certificate lifetime vs. renewal: every fetch of a PKI issue path issues a *new* certificate, and the
driver re-fetches on every rotation poll. The leaf TTL is the gateway chain's ``leafTtl``; the driver's
``rotationPollInterval`` (:func:`rotation_poll_interval`) is a third of it, capped at 24 h, so a
certificate is replaced well before it expires while a poll does not mint a certificate every few
minutes (with 720 h leaves: one new certificate a day).

Both certificate objects (``tls.crt`` and ``tls.key``) make the same request (path, method and
arguments); the Vault CSI provider sends identical requests once per mount, so key and certificate
always match.
"""

from __future__ import annotations

from typing import Any

import yaml

from ..identities.roles import workload_audience
from ..layout import Layout
from ..settings import AppSettings, Settings, VaultPlacement, duration_seconds
from ..settings.images import Image, chart_image_values, configured_image

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


def gateway_enabled(settings: Settings) -> bool:
    """The gateway and its certificate exist only with ``consul.apiGateway`` and at least one app route."""
    return settings.consul.api_gateway and any(app.route is not None for app in settings.apps)


def routed_apps(settings: Settings) -> tuple[AppSettings, ...]:
    """The apps that declare a public route, in settings order."""
    return tuple(app for app in settings.apps if app.route is not None)


def rotation_poll_interval(settings: Settings) -> str:
    """The CSI driver's ``rotationPollInterval``: a third of the leaf TTL, between 5 minutes and 24 hours."""
    leaf = duration_seconds(settings.pki.chains.gateway.leaf_ttl)
    seconds = max(MIN_ROTATION_POLL_SECONDS, min(MAX_ROTATION_POLL_SECONDS, leaf // 3))
    if seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    return f"{seconds // 60}m"


def certificate_names(settings: Settings) -> tuple[str, tuple[str, ...]]:
    """The listener certificate's common name (first route hostname) and alt names (every route hostname)."""
    hostnames = tuple(dict.fromkeys(app.route.hostname for app in routed_apps(settings) if app.route is not None))
    if not hostnames:
        return settings.pki.chains.gateway.domains[0], ()
    return hostnames[0], hostnames


def certificate_request(settings: Settings) -> dict[str, str]:
    """The ``secretArgs`` of the PKI issue request (the role's own rules still apply)."""
    common_name, alt_names = certificate_names(settings)
    return {
        "common_name": common_name,
        "alt_names": ",".join(alt_names),
        "ttl": settings.pki.chains.gateway.leaf_ttl,
    }


def csi_objects(layout: Layout) -> list[dict[str, Any]]:
    """The provider's ``objects``: the certificate and its key, from one identical issue request."""
    args = certificate_request(layout.settings)
    return [
        {
            "objectName": object_name,
            "secretPath": layout.gateway_pki_issue_path,
            "secretKey": secret_key,
            "method": "PUT",
            "secretArgs": args,
        }
        for object_name, secret_key in (("tls.crt", "certificate"), ("tls.key", "private_key"))
    ]


def secret_provider_class(layout: Layout) -> dict[str, Any]:
    """The ``SecretProviderClass`` in Consul's namespace: Vault login, the issue request, the TLS secret sync."""
    vault = layout.settings.vault
    parameters: dict[str, str] = {
        "vaultAddress": vault.address,
        "roleName": layout.gateway_auth_role,
        "vaultKubernetesMountPath": layout.kubernetes_auth_path,
        # The CSI provider requests the pod's token for this audience (TokenRequest); the role checks the same.
        "audience": workload_audience(layout.settings),
        "objects": yaml.safe_dump(csi_objects(layout), sort_keys=True),
    }
    if vault.namespace:
        parameters["vaultNamespace"] = vault.namespace
    if vault.tls.server_name:
        parameters["vaultTLSServerName"] = vault.tls.server_name
    if vault.tls.ca_cert_pem is not None:
        # Whoever installs the CSI provider mounts the CA there: this program for an external Vault
        # (components/consul/vault_injector.py), scripts/dev-up.sh next to the laptop's in-cluster Vault.
        parameters["vaultCACertPath"] = layout.vault_csi_ca_cert_path
    return {
        "apiVersion": SECRET_PROVIDER_CLASS_API_VERSION,
        "kind": "SecretProviderClass",
        "metadata": {"name": layout.gateway_secret_provider_class, "namespace": layout.consul_namespace},
        "spec": {
            "provider": "vault",
            "parameters": parameters,
            "secretObjects": [
                {
                    "secretName": layout.gateway_tls_secret_name,
                    "type": TLS_SECRET_TYPE,
                    "data": [{"objectName": key, "key": key} for key in ("tls.crt", "tls.key")],
                }
            ],
        },
    }


def sync_workload(layout: Layout, image: str) -> dict[str, Any]:
    """The Deployment (metadata and spec) that keeps the CSI volume mounted as the Gateway's service account.

    It only has to keep the volume mounted: its one container is ``pause`` (``images.pause``).
    """
    labels = {"app.kubernetes.io/name": layout.gateway_certificate_sync_workload}
    return {
        "metadata": {"name": layout.gateway_certificate_sync_workload, "namespace": layout.consul_namespace},
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
                    "serviceAccountName": layout.gateway_service_account,
                    "automountServiceAccountToken": False,
                    "containers": [
                        {
                            "name": "pause",
                            "image": image,
                            "securityContext": {
                                "runAsNonRoot": True,
                                "runAsUser": 65535,
                                "allowPrivilegeEscalation": False,
                                "readOnlyRootFilesystem": True,
                                "capabilities": {"drop": ["ALL"]},
                            },
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
                                "volumeAttributes": {"secretProviderClass": layout.gateway_secret_provider_class},
                            },
                        }
                    ],
                },
            },
        },
    }


def gateway(layout: Layout) -> dict[str, Any]:
    """The ``Gateway``: class ``consul``, one HTTPS listener on 443 with the synced TLS secret.

    Routes are accepted only from the namespaces of apps that declare a route.
    """
    settings = layout.settings
    hostnames = [app.route.hostname for app in routed_apps(settings) if app.route is not None]
    namespaces = sorted({app.namespace for app in routed_apps(settings)})
    listener: dict[str, Any] = {
        "name": HTTPS_LISTENER,
        "protocol": "HTTPS",
        "port": HTTPS_PORT,
        "tls": {"mode": "Terminate", "certificateRefs": [{"kind": "Secret", "name": layout.gateway_tls_secret_name}]},
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
        "metadata": {"name": layout.gateway_name, "namespace": layout.consul_namespace},
        "spec": {"gatewayClassName": GATEWAY_CLASS_NAME, "listeners": [listener]},
    }


def http_route(layout: Layout, app: AppSettings) -> dict[str, Any]:
    """The ``HTTPRoute`` of one app: its hostname and path prefix, to its Service and port, via the gateway."""
    if app.route is None:
        raise ValueError(f"app '{app.name}' has no route")
    return {
        "apiVersion": GATEWAY_API_VERSION,
        "kind": "HTTPRoute",
        "metadata": {"name": layout.app(app).http_route, "namespace": app.namespace},
        "spec": {
            "parentRefs": [
                {"name": layout.gateway_name, "namespace": layout.consul_namespace, "sectionName": HTTPS_LISTENER}
            ],
            "hostnames": [app.route.hostname],
            "rules": [
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": app.route.path_prefix}}],
                    "backendRefs": [{"name": app.service, "port": app.route.service_port}],
                }
            ],
        },
    }


def needs_csi_driver(settings: Settings) -> bool:
    """Whether this program installs the Secrets Store CSI driver: for an external Vault.

    With Vault in the cluster (the laptop stack), ``scripts/dev-up.sh`` installs the driver next to Vault.
    """
    return settings.vault.placement is VaultPlacement.EXTERNAL


def csi_driver_values(settings: Settings) -> dict[str, Any]:
    """Values of the Secrets Store CSI driver chart: sync to Kubernetes secrets, rotation at the computed poll."""
    values: dict[str, Any] = {
        "syncSecret": {"enabled": True},
        "enableSecretRotation": True,
        "rotationPollInterval": rotation_poll_interval(settings),
    }
    # The chart renders each image as repository:tag (the CRD hook has no digest key): a digest rides in the tag.
    linux: dict[str, Any] = {}
    for key, image in (
        ("image", Image.CSI_DRIVER),
        ("registrarImage", Image.CSI_NODE_DRIVER_REGISTRAR),
        ("livenessProbeImage", Image.CSI_LIVENESS_PROBE),
    ):
        reference = configured_image(settings, image)
        if reference is not None:
            linux[key] = chart_image_values(reference)
    crds_image = configured_image(settings, Image.CSI_DRIVER_CRDS)
    if crds_image is not None:
        linux["crds"] = {"image": chart_image_values(crds_image)}
    if linux:
        values["linux"] = linux
    return values
