"""Every container image the stack deploys: which ones, the pinned charts' defaults, and the references used.

One place answers "what runs in the cluster because of this stack": the Consul chart's three images, the
Vault chart's injector, agent and CSI provider (external Vault only), the Secrets Store CSI driver chart's
four and the gateway's certificate-sync container (CSI delivery), the Vault Secrets Operator chart's manager and
proxy (VSO delivery), and the catalog watcher's consul-template and vault CLI. Values builders take each image
from :func:`image_reference`; the settings refuse a production stack that leaves one without a digest.

Defaults are read from the pinned charts: ``charts/consul/values.yaml`` of hashicorp/consul-k8s v2.0.3
(``global.image``, ``global.imageK8S``, ``global.imageConsulDataplane``), ``values.yaml`` of
hashicorp/vault-helm v0.30.1 (``injector.image``, ``injector.agentImage``, ``csi.image``, ``csi.agent.image``)
and ``charts/secrets-store-csi-driver/values.yaml`` of kubernetes-sigs/secrets-store-csi-driver v1.5.5.
"""

from __future__ import annotations

import re
from enum import StrEnum

from pydantic.alias_generators import to_camel

from .models import GatewayCertificateDelivery, Settings, VaultPlacement


class Image(StrEnum):
    """An image the program can deploy; the value is its field in :class:`~secure_mesh.settings.ImagesSettings`."""

    CONSUL = "consul"
    CONSUL_CONTROL_PLANE = "consul_control_plane"
    CONSUL_DATAPLANE = "consul_dataplane"
    VAULT_INJECTOR = "vault_injector"
    VAULT_AGENT = "vault_agent"
    VAULT_CSI_PROVIDER = "vault_csi_provider"
    CSI_DRIVER = "csi_driver"
    CSI_DRIVER_CRDS = "csi_driver_crds"
    CSI_NODE_DRIVER_REGISTRAR = "csi_node_driver_registrar"
    CSI_LIVENESS_PROBE = "csi_liveness_probe"
    PAUSE = "pause"
    CONSUL_TEMPLATE = "consul_template"
    VAULT_SECRETS_OPERATOR = "vault_secrets_operator"
    KUBE_RBAC_PROXY = "kube_rbac_proxy"

    @property
    def setting_key(self) -> str:
        """The stack-config key path (``images.consulK8s``)."""
        return f"images.{to_camel(self.value)}"


CHART_DEFAULTS: dict[Image, str] = {
    Image.CONSUL: "hashicorp/consul:2.0.3",
    Image.CONSUL_CONTROL_PLANE: "hashicorp/consul-k8s-control-plane:2.0.3",
    Image.CONSUL_DATAPLANE: "hashicorp/consul-dataplane:2.0.3",
    Image.VAULT_INJECTOR: "hashicorp/vault-k8s:1.7.0",
    Image.VAULT_AGENT: "hashicorp/vault:1.20.1",
    Image.VAULT_CSI_PROVIDER: "hashicorp/vault-csi-provider:1.5.1",
    Image.CSI_DRIVER: "registry.k8s.io/csi-secrets-store/driver:v1.5.5",
    Image.CSI_DRIVER_CRDS: "registry.k8s.io/csi-secrets-store/driver-crds:v1.5.5",
    Image.CSI_NODE_DRIVER_REGISTRAR: "registry.k8s.io/sig-storage/csi-node-driver-registrar:v2.13.0",
    Image.CSI_LIVENESS_PROBE: "registry.k8s.io/sig-storage/livenessprobe:v2.15.0",
    Image.PAUSE: "registry.k8s.io/pause:3.10",
    Image.CONSUL_TEMPLATE: "hashicorp/consul-template:0.42.1",
    Image.VAULT_SECRETS_OPERATOR: "hashicorp/vault-secrets-operator:1.4.1",
    Image.KUBE_RBAC_PROXY: "quay.io/brancz/kube-rbac-proxy:v0.18.1",
}
"""What each image is when the stack does not set it (the pinned charts' defaults; ours for ``pause``)."""

_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


def is_digest_pinned(reference: str) -> bool:
    """True when the reference names its content (``…@sha256:<64 hex>``), not only a movable tag."""
    return bool(_DIGEST.search(reference))


def images_in_use(settings: Settings) -> tuple[Image, ...]:
    """The images this stack deploys, in :class:`Image` order."""
    used = [Image.CONSUL, Image.CONSUL_CONTROL_PLANE, Image.CONSUL_DATAPLANE]
    external = settings.vault.placement is VaultPlacement.EXTERNAL
    if external:
        # The Vault chart without a server: the injector, the agent it injects, the CSI provider.
        used += [Image.VAULT_INJECTOR, Image.VAULT_AGENT, Image.VAULT_CSI_PROVIDER]
    gateway = settings.consul.api_gateway and any(app.route is not None for app in settings.apps)
    if gateway and settings.consul.api_gateway_certificate_delivery is GatewayCertificateDelivery.VSO:
        used += [Image.VAULT_SECRETS_OPERATOR, Image.KUBE_RBAC_PROXY]  # the VSO chart's manager and its proxy
    elif gateway:
        used.append(Image.PAUSE)  # the certificate-sync workload that keeps the CSI volume mounted
        if external:  # the Secrets Store CSI driver chart (dev-up.sh installs it next to an in-cluster Vault)
            used += [Image.CSI_DRIVER, Image.CSI_DRIVER_CRDS, Image.CSI_NODE_DRIVER_REGISTRAR, Image.CSI_LIVENESS_PROBE]
    if any(app.database is not None and app.database.address.follows_catalog for app in settings.apps):
        used += [Image.CONSUL_TEMPLATE, Image.VAULT_AGENT]  # the catalog watcher and its vault CLI
    rotation = settings.rotation
    rotating = max(rotation.gossip_key_version, rotation.bootstrap_token_version) > 1
    if (rotation.consul_secrets_engine.enabled and rotating) or rotation.replication_token_version > 1:
        used.append(Image.VAULT_AGENT)  # the rotation Jobs' vault CLI (components/rotation)
    return tuple(image for image in Image if image in used)


def configured_image(settings: Settings, image: Image) -> str | None:
    """The reference the stack sets for ``image``, or None to keep the chart's default."""
    value: str | None = getattr(settings.images, image.value)
    return value


def image_reference(settings: Settings, image: Image) -> str:
    """The reference that will run: the stack's own, else the pinned default."""
    return configured_image(settings, image) or CHART_DEFAULTS[image]


def chart_image_values(reference: str) -> dict[str, str]:
    """``{repository, tag}`` as the Vault and CSI driver charts take an image (they render ``repository:tag``).

    A digest rides in the tag (``1.7.0@sha256:…``), which renders the valid reference ``repo:1.7.0@sha256:…``;
    a reference without a tag keeps only the digest (``repo@sha256:…`` needs the charts' ``repository:tag``
    form, so the tag becomes ``latest@sha256:…``, which the runtime resolves by digest alone).
    """
    name, _, digest = reference.partition("@")
    last_colon = name.rfind(":")
    if last_colon > name.rfind("/"):
        repository, tag = name[:last_colon], name[last_colon + 1 :]
    else:
        repository, tag = name, "latest"
    return {"repository": repository, "tag": f"{tag}@{digest}" if digest else tag}
