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


@pytest.fixture(scope="module")
def token_subjects() -> list[Any]:
    return from_run(run(2, {"bootstrapTokenVersion": 1}, "bootstrapTokenVersion").resources)


def _renamed_job(subjects: list[Any], name: str) -> list[Any]:
    def rename(subject: Any) -> Any:
        if subject.type != "kubernetes:batch/v1:Job":
            return subject
        props = dict(subject.props)
        props["metadata"] = {**props["metadata"], "name": name}
        return replace(subject, props=props)

    return [rename(s) for s in subjects]


def test_the_token_rotation_stack_passes_every_mandatory_rule(token_subjects: list[Any]) -> None:
    assert least_purpose(token_subjects) == []


@pytest.mark.parametrize("name", ["some-other-job", "bootstrap-token-rotate", "rotate-v2"])
def test_without_the_token_rotation_job_its_role_may_not_write_the_bootstrap_token(
    token_subjects: list[Any], name: str
) -> None:
    found = least_purpose(_renamed_job(token_subjects, name))
    assert len(found) == 1
    assert "may use consul/kv/data/consul/bootstrap-token" in found[0]
    assert "secure-mesh-bootstrap-token-rotation-auth-role" in found[0]


def test_a_rotation_job_grants_only_the_secret_it_names(token_subjects: list[Any]) -> None:
    """A bootstrap-token Job whose environment names the gossip key lends its role the gossip key, not the token."""

    def retarget(subject: Any) -> Any:
        if subject.type != "kubernetes:batch/v1:Job":
            return subject
        props = __import__("copy").deepcopy(dict(subject.props))
        for entry in props["spec"]["template"]["spec"]["containers"][0]["env"]:
            if entry["name"] == "KV_CURRENT":
                entry["value"] = "consul/gossip"
        return replace(subject, props=props)

    found = least_purpose([retarget(s) for s in token_subjects])
    assert len(found) == 1 and "may use consul/kv/data/consul/bootstrap-token" in found[0]


@pytest.mark.parametrize("stack", ["fed-primary", "fed-secondary"])
def test_the_replication_token_rotation_stacks_pass_every_mandatory_rule(stack: str) -> None:
    from tests.rotation.test_program import federation_run

    assert least_purpose(from_run(federation_run(stack, 2, {"replicationTokenVersion": 1}).resources)) == []


def test_a_secondarys_job_renamed_may_not_read_the_primarys_replication_token() -> None:
    from tests.rotation.test_program import federation_run

    subjects = from_run(federation_run("fed-secondary", 2, {"replicationTokenVersion": 1}).resources)
    found = least_purpose(_renamed_job(subjects, "not-a-rotation"))
    assert len(found) == 1
    assert "may use consul-dc1/kv/data/consul/replication-token" in found[0]
    assert "secure-mesh-replication-token-rotation-auth-role" in found[0]


def _job(name: Any, env: list[dict[str, Any]] | None, *, spec: Any = None) -> Any:
    from tests.policy.support import subject

    pod = {"containers": [{"name": "rotate", "env": env}]} if env is not None else {}
    props = {"metadata": {"name": name} if name is not None else "not-a-map"}
    props["spec"] = spec if spec is not None else {"template": {"spec": pod}}
    return subject("kubernetes:batch/v1:Job", str(name), props)


ROTATION_ENV = [
    {"name": "VAULT_ROLE", "value": "gossip-rotator"},
    {"name": "KV_MOUNT", "value": "consul/kv"},
    {"name": "KV_CURRENT", "value": "consul/gossip"},
]


def _writers(*jobs: Any) -> list[tuple[str, str]]:
    from secure_mesh_policy.framework import Res, StackView
    from secure_mesh_policy.stack import rotation_writers

    from tests.policy.support import stack_args

    return list(rotation_writers(StackView(Res.from_policy_resource(r) for r in stack_args(list(jobs)).resources)))


def test_the_writer_is_read_from_each_rotation_job_whatever_comes_before_it() -> None:
    # Another Job first (skipped, not the end of the search), a Job without a name or spec, a rotation Job missing
    # one of the three variables (no writer: all three name the secret), then the rotation Jobs of every kind.
    jobs = [
        _job("backup", ROTATION_ENV),
        _job(None, ROTATION_ENV),
        _job("gossip-rotate-v3", None, spec="not-a-map"),
        _job("gossip-rotate-v4", None, spec={}),  # no template
        _job("gossip-rotate-v5", None, spec={"template": {}}),  # a template without a pod spec
        _job("gossip-rotate-v7", None, spec={"template": {"spec": "not-a-map"}}),
        _job("gossip-rotate-v6", None, spec={"template": {"spec": {"containers": [{"name": "no-env"}]}}}),
        _job("bootstrap-token-rotate-v2", ROTATION_ENV[:2]),
        _job("replication-token-rotate-v2", [ROTATION_ENV[0], ROTATION_ENV[2]]),
        _job("gossip-rotate-v2", [*ROTATION_ENV, "not-a-map"]),
        _job("replication-token-rotate-v3", [*ROTATION_ENV[1:], {"name": "VAULT_ROLE", "value": "other-rotator"}]),
    ]
    assert _writers(*jobs) == [
        ("consul/kv/data/consul/gossip", "gossip-rotator"),
        ("consul/kv/data/consul/gossip", "other-rotator"),
    ]


def test_a_rotation_job_s_variables_must_all_be_strings() -> None:
    for missing in range(3):
        env = [dict(item) for item in ROTATION_ENV]
        env[missing]["value"] = None
        assert _writers(_job("gossip-rotate-v2", env)) == [], env
