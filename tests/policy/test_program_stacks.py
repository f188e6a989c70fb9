"""The whole pack over the whole program: every checked-in stack passes every mandatory rule, no mandatory
rule is skipped during preview, and deliberately weakened copies of the dev stack are caught.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pulumi
import pytest
from pulumi_policy import EnforcementLevel

from tests import harness
from tests.conftest import stack_run
from tests.harness import STACKS, ProgramRun
from tests.pki import test_connect_generations as connect_generations
from tests.pki.test_generations import ROTATING_RUNS
from tests.pki.test_generations import run as run_generation
from tests.policy.support import RULES, Subject, from_run, mandatory, private_subjects, run_rules


def test_checked_in_stack_passes_every_mandatory_rule(any_stack: ProgramRun) -> None:
    violations, unknowns = run_rules(from_run(any_stack.resources))
    blocking = mandatory(violations)
    assert not blocking, "mandatory violations:\n" + "\n".join(map(str, blocking))
    assert not unknowns


@pytest.mark.parametrize(("stack", "generation", "deployed"), ROTATING_RUNS)
def test_a_stack_rotating_its_server_tls_ca_passes_every_mandatory_rule(
    stack: str, generation: int, deployed: int
) -> None:
    """The previous generation is unprotected beside the protected newest (KV-SOFT-DELETE's exemption), two
    issuers share the issuing mount, and every TTL, URL and constraint rule still holds for both generations."""
    rotating = run_generation(stack, generation, deployed)
    assert any(r.name.endswith(f"-l2-g{generation}-csr") for r in rotating.resources)
    violations, unknowns = run_rules(from_run(rotating.resources))
    blocking = mandatory(violations)
    assert not blocking, "mandatory violations:\n" + "\n".join(map(str, blocking))
    assert not unknowns


@pytest.mark.parametrize(("stack", "generation", "deployed"), connect_generations.ROTATING_RUNS)
def test_a_stack_rotating_its_connect_root_passes_every_mandatory_rule(
    stack: str, generation: int, deployed: int | None
) -> None:
    """The previous root's mount is unprotected beside the protected newest (KV-SOFT-DELETE's exemption), and while
    Consul switches the servers' policy holds sudo on exactly the old root's sign-self-issued (POL-LEAST's one
    exception, POL-CROSS-SIGN); every mount, TTL and Consul rule still holds for both roots."""
    rotating = connect_generations.run(stack, generation, deployed)
    assert any(r.name.endswith(f"-connect-l2-g{generation}-mount") for r in rotating.resources)
    violations, unknowns = run_rules(from_run(rotating.resources))
    blocking = mandatory(violations)
    assert not blocking, "mandatory violations:\n" + "\n".join(map(str, blocking))
    assert not unknowns


def _unknown_paths(value: Any, path: str) -> Iterator[str]:
    if isinstance(value, pulumi.output.Unknown):
        yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _unknown_paths(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _unknown_paths(item, f"{path}[{index}]")


@pytest.mark.parametrize("stack", STACKS)
def test_no_mandatory_rule_reads_an_unknown_value_during_preview(stack: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # A first preview as the engine runs it: providers echo only the inputs, so every computed output
    # (CSRs, certificates, issuer ids, generated secrets) is unknown. No canned mock outputs here.
    monkeypatch.setattr(harness, "_collect_mock_outputs", dict)
    run = harness.run_stack(stack, preview=True)
    unknown_inputs = [p for r in run.resources for p in _unknown_paths(r.inputs, r.name)]
    assert unknown_inputs, "the preview run has no unknown inputs at all, so this test would prove nothing"
    _, unknowns = run_rules(from_run(run.resources))
    skipped = [u for u in unknowns if RULES[u.policy].info.enforcement is EnforcementLevel.MANDATORY]
    assert not skipped, "mandatory rules skipped during preview:\n" + "\n".join(
        f"{u.policy} on {u.resource}: {u.message}" for u in skipped
    )


def dev_subjects() -> list[Subject]:
    return private_subjects(stack_run("dev").resources)


def weaken(subjects: list[Subject], name: str, **props: Any) -> list[Subject]:
    target = next(s for s in subjects if s.name == name)
    target.props = {**target.props, **props}
    return subjects


def tls_off(subjects: list[Subject]) -> list[Subject]:
    release = next(s for s in subjects if s.name == "secure-mesh-consul-release")
    values = copy.deepcopy(release.props["values"])
    values["global"]["tls"]["enabled"] = False
    release.props = {**release.props, "values": values}
    return subjects


def allow_from_star(subjects: list[Subject]) -> list[Subject]:
    target = next(s for s in subjects if s.name == "secure-mesh-intentions-api-intentions")
    spec = copy.deepcopy(target.props["spec"])
    spec["sources"].append({"name": "*", "action": "allow"})
    target.props = {**target.props, "spec": spec}
    return subjects


WEAKENED = [
    (
        "wildcard-service-account",
        "k8s-names",
        lambda s: weaken(s, "secure-mesh-identities-server-role", boundServiceAccountNames=["*"]),
        "secure-mesh-identities-server-role",
    ),
    (
        "wildcard-namespace",
        "k8s-namespace",
        lambda s: weaken(s, "secure-mesh-identities-server-role", boundServiceAccountNamespaces=["*"]),
        "secure-mesh-identities-server-role",
    ),
    (
        "role-allow-any-name",
        "pki-role-hygiene",
        lambda s: weaken(s, "secure-mesh-pki-gateway-role", allowAnyName=True),
        "secure-mesh-pki-gateway-role",
    ),
    ("tls-off", "csl-tls", tls_off, "secure-mesh-consul-release"),
    ("allow-from-star", "int-no-wildcard-allow", allow_from_star, "secure-mesh-intentions-api-intentions"),
]


@pytest.mark.parametrize(("case", "policy", "weaken_stack", "culprit"), WEAKENED, ids=[w[0] for w in WEAKENED])
def test_weakened_dev_stack_is_caught(case: str, policy: str, weaken_stack: Any, culprit: str) -> None:
    subjects = weaken_stack(dev_subjects())
    violations, _ = run_rules(subjects)
    caught = [v for v in mandatory(violations) if v.policy == policy]
    assert caught, f"{policy} did not catch {case}; reported: {[str(v) for v in violations]}"
    assert any(f"'{culprit}'" in v.message for v in caught), [str(v) for v in caught]


def test_the_preview_check_detects_a_rule_reading_an_unknown_value() -> None:
    from tests.policy.support import subject

    mount = subject(
        "vault:index/mount:Mount", "mount-with-unknown-type", {"path": "p", "type": pulumi.output.Unknown()}
    )
    _, unknowns = run_rules([mount], rules=[RULES["pki-mount-ttl"]])
    assert [(u.policy, u.resource) for u in unknowns] == [("pki-mount-ttl", "mount-with-unknown-type")]
