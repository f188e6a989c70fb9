"""The policy pack's mandatory rules hold for the onboarding stack (app roles, policies, database mount, gateway)."""

from __future__ import annotations

import pytest

import tests.policy.conftest  # noqa: F401  - puts policy/ on sys.path, as the pack's own tests do
from tests.onboarding.stacks import onboarding_run
from tests.policy.support import from_run, mandatory, run_rules


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_onboarding_stack_passes_every_mandatory_rule(stack: str) -> None:
    violations, unknowns = run_rules(from_run(onboarding_run(stack).resources))
    blocking = mandatory(violations)
    assert not blocking, "mandatory violations:\n" + "\n".join(map(str, blocking))
    assert not unknowns
