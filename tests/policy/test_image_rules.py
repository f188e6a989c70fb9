"""IMG-DIGEST: production runs only images named by digest, through every way an image enters the stack.

Upstream facts the rule relies on: the Consul chart 2.0.3 reads ``global.image``, ``global.imageK8S`` and
``global.imageConsulDataplane`` as full references (charts/consul/values.yaml); vault-helm 0.30.1 renders
``"{{ .repository }}:{{ .tag }}"`` for the injector, its agent and the CSI provider (templates/
injector-deployment.yaml, csi-daemonset.yaml); secrets-store-csi-driver 1.5.5 renders ``repository:tag`` or
``repository@digest`` (templates/secrets-store-csi-driver.yaml) and its CRD hook only ``repository:tag``.
"""

from __future__ import annotations

from typing import Any

import pytest
from secure_mesh_policy import types as t
from secure_mesh_policy.images import CHART_IMAGE_KEYS

from tests.conftest import stack_run
from tests.policy.support import RULES, from_run, run_rules, subject

D = "@sha256:" + "ab" * 32
RULE = [RULES["img-digest"]]


def _findings(type_: str, props: dict[str, Any], stack: str = "prod") -> list[str]:
    found, _ = run_rules([subject(type_, "offender", props, stack)], RULE)
    return [v.message for v in found]


def _deployment(*containers: dict[str, Any], init: tuple[dict[str, Any], ...] = ()) -> dict[str, Any]:
    return {"spec": {"template": {"spec": {"containers": list(containers), "initContainers": list(init)}}}}


def test_the_checked_in_prod_stack_is_silent_and_the_rule_sees_its_images() -> None:
    run = stack_run("prod")
    found, _ = run_rules(from_run(run.resources), RULE)
    assert found == []
    releases = {r.inputs["chart"] for r in run.of_type(t.HELM_RELEASE)}
    assert releases <= set(CHART_IMAGE_KEYS), "every chart prod installs has its image keys known to the rule"


def test_dev_keeps_chart_defaults_without_findings() -> None:
    found, _ = run_rules(from_run(stack_run("dev").resources), RULE)
    assert found == []


@pytest.mark.parametrize("position", ["first", "last", "after-a-pinned-one"])
def test_an_unpinned_container_is_found_wherever_it_stands(position: str) -> None:
    pinned = {"name": "ok", "image": f"registry.k8s.io/pause:3.10{D}"}
    loose = {"name": "loose", "image": "registry.k8s.io/pause:3.10"}
    containers = {"first": [loose, pinned], "last": [pinned, pinned, loose], "after-a-pinned-one": [pinned, loose]}
    messages = _findings("kubernetes:apps/v1:Deployment", _deployment(*containers[position]))
    index = containers[position].index(loose)
    assert messages == [
        f"Deployment 'offender': spec.template.spec.containers[{index}].image = 'registry.k8s.io/pause:3.10': "
        "not pinned by digest: a tag can be moved to other content. "
        "Fix: name the image as repository:tag@sha256:<digest> (settings: images.*)"
    ]


def test_init_containers_and_cronjobs_are_checked_too() -> None:
    init = {"name": "init", "image": "busybox:1.36"}
    daemonset = _deployment({"name": "a", "image": f"a:1{D}"}, init=(init,))
    assert len(_findings("kubernetes:apps/v1:DaemonSet", daemonset)) == 1
    cron = {"spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "c:1"}]}}}}}}
    assert len(_findings("kubernetes:batch/v1:CronJob", cron)) == 1


@pytest.mark.parametrize(
    "reference",
    ["hashicorp/consul:2.0.3", "hashicorp/consul@sha256:" + "ab" * 31, "hashicorp/consul:2.0.3@sha256:" + "AB" * 32],
    ids=["tag-only", "short-digest", "upper-case-digest"],
)
def test_almost_digests_are_not_digests(reference: str) -> None:
    values = {"global": {"image": reference, "imageK8S": f"k{D}", "imageConsulDataplane": f"d{D}"}}
    messages = _findings(t.HELM_RELEASE, {"chart": "consul", "version": "2.0.3", "values": values})
    assert len(messages) == 1 and "values.global.image" in messages[0] and "not pinned by digest" in messages[0]


@pytest.mark.parametrize("chart", sorted(CHART_IMAGE_KEYS))
def test_every_image_key_of_each_known_chart_must_be_set(chart: str) -> None:
    messages = _findings(t.HELM_RELEASE, {"chart": chart, "version": "1.0.0", "values": {}})
    assert [m.split(" = ")[0].rsplit(": ", 1)[-1] for m in messages] == [
        f"values.{key}" for key, _ in CHART_IMAGE_KEYS[chart]
    ]
    assert all("unset, so the chart's default tag runs" in m for m in messages)


def test_a_digest_in_the_chart_tag_or_digest_key_passes() -> None:
    values = {
        "linux": {
            "image": {"repository": "registry.k8s.io/csi-secrets-store/driver", "digest": "sha256:" + "ab" * 32},
            "crds": {"image": {"repository": "r/crds", "tag": f"v1.5.5{D}"}},
            "registrarImage": {"repository": "r/reg", "tag": f"v2.13.0{D}"},
            "livenessProbeImage": {"repository": "r/probe", "tag": f"v2.15.0{D}"},
        }
    }
    assert _findings(t.HELM_RELEASE, {"chart": "secrets-store-csi-driver", "version": "1.5.5", "values": values}) == []


def test_an_unknown_chart_in_production_is_reported_not_passed() -> None:
    messages = _findings(t.HELM_RELEASE, {"chart": "some-operator", "version": "1.0.0", "values": {}})
    assert len(messages) == 1 and "image keys the pack does not know" in messages[0]
    assert _findings(t.HELM_RELEASE, {"chart": "some-operator", "version": "1.0.0", "values": {}}, stack="dev") == []
