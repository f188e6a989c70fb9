"""No rule is vacuous: every mandatory rule of the pack reports at least one violating case.

Each case's findings are also compared whole with the checked-in ``snapshots/findings.json`` (issue 19: a
finding is the resource, property, value, problem and fix together; a test that looks for one fragment lets
the rest drift). Regenerate with ``UPDATE_SNAPSHOTS=1 pytest tests/policy/test_no_vacuous_rule.py`` and
review the diff: every changed line is a message an operator reads.

The cases live in ``tests/policy/violations.py`` (one entry per policy name). A new mandatory rule
without an entry fails here, and so does an entry that no longer makes its rule fire, or that makes
it blame the wrong resource. A weakened-stack entry must also be silent on the unchanged stack, so
the finding is the change's and not a standing one.
"""

from __future__ import annotations

import json

import pytest
from pulumi_policy import EnforcementLevel

from tests.policy.support import RULES, SNAPSHOTS, Violation, pinned, run_rules
from tests.policy.violations import VIOLATIONS, Violating

FINDINGS = SNAPSHOTS / "findings.json"
"""Every violating case's findings, by policy name: the messages in order, as the rule wrote them."""

MANDATORY = sorted(name for name, rule in RULES.items() if rule.info.enforcement is EnforcementLevel.MANDATORY)

HOW_TO_ADD = (
    "add one entry to VIOLATIONS in tests/policy/violations.py, keyed by the policy name: "
    '"{name}": shape(<type token>, {{<violating props>}}) for a resource a careless change would write, or '
    '"{name}": weakened(lambda s: set_props(s, "<resource>", <prop>=<bad value>), blame="<resource>") for a '
    "checked-in stack with one change (see the module docstring)"
)


def _fire(name: str, case: Violating) -> tuple[list[Violation], list[Violation]]:
    """(the rule's findings on the case, the rule's findings on the unchanged stack)."""
    rules = [RULES[name]]
    config = {name: dict(case.config)} if case.config else None
    found, _ = run_rules(case.build(), rules, config)
    before: list[Violation] = []
    if case.baseline is not None:
        before, _ = run_rules(case.baseline(), rules, config)
    return [v for v in found if v.policy == name], [v for v in before if v.policy == name]


@pytest.mark.parametrize("name", MANDATORY)
def test_mandatory_rule_has_a_violating_case(name: str) -> None:
    if name not in VIOLATIONS:
        pytest.fail(f"mandatory rule {name!r} has no violating case: " + HOW_TO_ADD.format(name=name))


@pytest.mark.parametrize("name", sorted(VIOLATIONS))
def test_violating_case_makes_its_rule_fire(name: str) -> None:
    if name not in RULES:
        pytest.fail(f"VIOLATIONS has an entry for {name!r}, which is not a policy of the pack (renamed?)")
    case = VIOLATIONS[name]
    found, before = _fire(name, case)
    assert found, (
        f"{name} reported nothing on its violating case (blaming {case.blame!r}): the rule is vacuous or the "
        "case no longer violates it; fix the rule, or the entry in tests/policy/violations.py"
    )
    rule = RULES[name]
    if rule.info.scope == "resource":
        blamed = [v for v in found if f"'{case.blame}'" in v.message]
    else:
        subjects = {s.name: s.urn for s in case.build()}
        blamed = [v for v in found if v.urn == subjects[case.blame]]
    assert blamed, f"{name} fired, but not about {case.blame!r}: {[str(v) for v in found]}"
    for violation in blamed:
        assert violation.enforcement is rule.info.enforcement
        assert "Fix: " in violation.message, violation.message
    assert before == [], f"{name} already fires on the unchanged {case.stack} stack: {[str(v) for v in before]}"
    # sorted: a stack rule reports in the engine's registration order, which varies between runs
    messages = sorted(f"[{v.enforcement.value}] {v.message}" for v in found)
    assert messages == pinned(FINDINGS, name, messages), (
        f"{name}'s findings on its violating case changed; if meant, regenerate tests/policy/snapshots/findings.json "
        "(UPDATE_SNAPSHOTS=1 pytest tests/policy/test_no_vacuous_rule.py) and review every changed message"
    )


def test_findings_snapshot_has_no_entry_without_a_case() -> None:
    stale = sorted(set(json.loads(FINDINGS.read_text())) - set(VIOLATIONS))
    assert not stale, f"tests/policy/snapshots/findings.json holds findings of {stale}, which have no case: remove them"
