"""Every case of ``rule_cases.TWINS``: its findings compared whole with the snapshot, its twin reporting nothing.

With the per-rule case tables of ``test_resource_rules`` and ``test_stack_rules`` (whose findings are
pinned in the same ``snapshots/case_findings.json``), these reach every finding branch of the pack's rules
that a realistic resource can reach (issue 19: mutation testing of the rules). Regenerate the snapshot with
``UPDATE_SNAPSHOTS=1 pytest tests/policy`` and review the diff.
"""

from __future__ import annotations

import json

import pytest

from tests.policy import test_resource_rules, test_stack_rules
from tests.policy.rule_cases import TWINS, Twin
from tests.policy.support import CASE_FINDINGS, RULES, as_pinned, pinned, run_rules
from tests.policy.violations import Violating


def _findings(policy: str, case: Violating) -> list[str]:
    """The messages ``policy`` reports on the case's resources, with its config."""
    config = {policy: dict(case.config)} if case.config else None
    found, _ = run_rules(case.build(), [RULES[policy]], config)
    return [v.message for v in found if v.policy == policy]


@pytest.mark.parametrize("case", TWINS, ids=[c.key for c in TWINS])
def test_case_findings_are_pinned_and_its_twin_passes(case: Twin) -> None:
    messages = _findings(case.policy, case.bad)
    assert messages, f"{case.key}: the rule reported nothing on the violating case"
    assert all(f"'{case.bad.blame}'" in m or case.bad.blame in m for m in messages), (case.key, messages)
    found = as_pinned(case.policy, messages)
    assert found == pinned(CASE_FINDINGS, case.key, found), (
        f"{case.key}: findings changed; if meant, UPDATE_SNAPSHOTS=1 pytest tests/policy and review the diff"
    )
    good = case.good
    if good is None:
        assert case.bad.baseline is not None, f"{case.key} has no compliant twin"
        good = Violating(case.bad.baseline, case.bad.blame, case.bad.config)
    assert _findings(case.policy, good) == [], f"{case.key}: the rule fires on the compliant twin too"


def test_case_keys_are_unique_and_every_snapshot_has_a_case() -> None:
    keys = [c.key for c in TWINS]
    keys += [f"{c.policy}:{c.id}" for c in test_resource_rules.CASES if c.expect is not None]
    keys += [f"{c.policy}:{c.id}" for c in test_stack_rules.CASES]
    assert len(keys) == len(set(keys)), sorted(k for k in keys if keys.count(k) > 1)
    unknown = {c.policy for c in TWINS} - set(RULES)
    assert not unknown, f"TWINS names policies the pack does not have: {unknown}"
    stale = sorted(set(json.loads(CASE_FINDINGS.read_text())) - set(keys))
    assert not stale, f"{CASE_FINDINGS.name} holds findings of {stale}, which have no case: remove them"
