"""Production runs only container images named by digest, wherever an image can enter the stack.

An image enters through a workload's pod spec (containers, init and ephemeral containers of a Pod,
Deployment, StatefulSet, DaemonSet, ReplicaSet, Job or CronJob) or through a Helm chart's values. A chart
that is not told an image runs its own default: a tag. So for the charts this program installs the rule
knows every image key the chart reads (from the pinned charts' values and templates) and requires each to
be set with a digest; a release of any other chart in production cannot be checked and is reported.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from . import types as t
from .consumers import pod_templates
from .framework import ENVIRONMENT_SETTING, Res, as_list, is_production, resource_rule

_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")

CHART_IMAGE_KEYS: dict[str, tuple[tuple[str, str], ...]] = {
    # charts/consul/values.yaml (consul-k8s v2.0.3): one full reference per key.
    "consul": (("global.image", "ref"), ("global.imageK8S", "ref"), ("global.imageConsulDataplane", "ref")),
    # vault-helm v0.30.1 templates render "{{ repository }}:{{ tag }}": the digest must ride in the tag.
    "vault": (
        ("injector.image", "repository:tag"),
        ("injector.agentImage", "repository:tag"),
        ("csi.image", "repository:tag"),
        ("csi.agent.image", "repository:tag"),
    ),
    # secrets-store-csi-driver v1.5.5: repository:tag (or repository@digest); the CRD hook has only a tag.
    "secrets-store-csi-driver": (
        ("linux.image", "repository:tag"),
        ("linux.crds.image", "repository:tag"),
        ("linux.registrarImage", "repository:tag"),
        ("linux.livenessProbeImage", "repository:tag"),
    ),
    # vault-secrets-operator 1.4.1 (chart/values.yaml, templates/deployment.yaml): repository:tag.
    "vault-secrets-operator": (
        ("controller.manager.image", "repository:tag"),
        ("controller.kubeRbacProxy.image", "repository:tag"),
    ),
}
"""For each chart this program installs, every image key its templates read, and how the key holds the image."""


def is_digest_pinned(reference: Any) -> bool:
    """True when an image reference names its content by digest."""
    return isinstance(reference, str) and bool(_DIGEST.search(reference.strip()))


def _lookup(values: Any, dotted: str) -> Any:
    node = values
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _chart_image(values: Any, key: str, form: str) -> str | None:
    """The image reference a chart key renders, or None when the key leaves the chart's default."""
    node = _lookup(values, key)
    if form == "ref":
        return str(node) if isinstance(node, str) and node else None
    if not isinstance(node, Mapping):
        return None
    digest, tag, repository = node.get("digest"), node.get("tag"), node.get("repository")
    if isinstance(digest, str) and digest:
        return f"{repository or '<chart default>'}@{digest}"
    if isinstance(tag, str) and tag:
        return f"{repository or '<chart default>'}:{tag}"
    return None


def _workload_findings(res: Res) -> Iterator[str]:
    for prefix, template in pod_templates(res):
        spec = template.get("spec")
        if not isinstance(spec, Mapping):
            continue
        for group in ("initContainers", "containers", "ephemeralContainers"):
            for index, container in enumerate(as_list(spec.get(group))):
                if not isinstance(container, Mapping):
                    continue
                image = container.get("image")
                if not is_digest_pinned(image):
                    yield res.finding(
                        f"{prefix}spec.{group}[{index}].image",
                        image,
                        "not pinned by digest: a tag can be moved to other content",
                        "name the image as repository:tag@sha256:<digest> (settings: images.*)",
                    )


def _release_findings(res: Res) -> Iterator[str]:
    chart = str(res.get("chart", "")).rstrip("/").rsplit("/", 1)[-1]
    keys = CHART_IMAGE_KEYS.get(chart)
    if keys is None:
        yield res.finding(
            "chart",
            res.get("chart"),
            "a chart whose image keys the pack does not know: its images cannot be checked for digests",
            "add the chart's image keys to CHART_IMAGE_KEYS in policy/secure_mesh_policy/images.py, read from the "
            "pinned chart, or install it outside production",
        )
        return
    values = res.get("values", {})
    for key, form in keys:
        reference = _chart_image(values, key, form)
        if reference is None:
            yield res.finding(
                f"values.{key}",
                reference,
                "unset, so the chart's default tag runs",
                "set it to the image pinned by digest (settings: images.*)",
            )
        elif not is_digest_pinned(reference):
            yield res.finding(
                f"values.{key}",
                reference,
                "not pinned by digest: a tag can be moved to other content",
                "name the image as repository:tag@sha256:<digest> (settings: images.*)",
            )


@resource_rule(
    "IMG-DIGEST",
    checks="In production every container image is named by digest: each container of every workload, and every "
    "image key of the Helm charts the program installs (Consul, Vault injector/CSI, Secrets Store CSI driver, "
    "Vault Secrets Operator); a production release of a chart whose image keys the pack does not know is reported.",
    why="A tag is a movable name: whoever controls the registry (or a compromised one) can point it at other code, "
    "and every node that pulls afterwards runs it. A digest names the content itself.",
    fix="Set images.* in the stack to repository:tag@sha256:<digest> (resolve with `crane digest`).",
    types=(t.HELM_RELEASE, *t.WORKLOADS),
    settings=(ENVIRONMENT_SETTING,),
)
def img_digest(res: Res, config: Mapping[str, Any]) -> Iterator[str]:
    """Production images are pinned by digest."""
    if not is_production(config, res.urn):
        return
    if res.type == t.HELM_RELEASE:
        yield from _release_findings(res)
    else:
        yield from _workload_findings(res)
