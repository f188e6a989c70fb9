"""The policy pack lets exactly the gossip rotation Job's role write the gossip key, nothing else."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from tests.policy.support import from_run, mandatory, run_rules
from tests.rotation.test_program import run


@pytest.fixture(scope="module")
def subjects() -> list[Any]:
    return from_run(run(2, {"gossipKeyVersion": 1}).resources)


def least_purpose(subjects: list[Any]) -> list[str]:
    violations, _ = run_rules(subjects)
    return [str(v) for v in mandatory(violations)]


def test_the_rotation_stack_passes_every_mandatory_rule(subjects: list[Any]) -> None:
    assert least_purpose(subjects) == []


def test_without_the_rotation_job_its_role_may_not_write_the_gossip_key(subjects: list[Any]) -> None:
    def rename(subject: Any) -> Any:
        if subject.type != "kubernetes:batch/v1:Job":
            return subject
        props = dict(subject.props)
        props["metadata"] = {**props["metadata"], "name": "some-other-job"}
        return replace(subject, props=props)

    found = least_purpose([rename(s) for s in subjects])
    assert len(found) == 1
    assert "only ['consul-server'] may use consul/kv/data/consul/gossip" in found[0]
    assert "secure-mesh-gossip-rotation-auth-role" in found[0]
