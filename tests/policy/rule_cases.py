"""Further violating cases per rule, each with its compliant twin: the table behind ``test_rule_cases``.

``violations.py`` shows every rule firing once; a rule has more finding branches than that (a second
property, a second resource type, a threshold, an entry of a list). A mutant that rewords, drops or
inverts a branch no case reaches survives (issue 19: mutmut left 27 % of ``tokens.py`` alive that way).
So each entry here is a named case whose findings are compared WHOLE with ``snapshots/case_findings.json``
(key ``policy:case``), and the case's compliant twin (the same resource with the one weakness removed,
or the unchanged checked-in stack) must make the rule report nothing, so a rule that fires on everything
does not pass either.

Write cases at the edges a rule draws: exactly at a limit (the twin) and one over (the case); the offending
entry of a list first, last and after a skipped one; paths with and without slashes. Shapes are
resources as the program (or a careless change) would register them, built with the helpers of
``test_resource_rules`` / ``test_stack_rules``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from secure_mesh_policy import types as t

from tests.policy.support import Subject
from tests.policy.test_resource_rules import good_k8s_role
from tests.policy.violations import Violating, shape, weakened

Change = Callable[[list[Subject]], list[Subject]]


@dataclass(frozen=True)
class Twin:
    """A named violating case of one rule and its compliant twin."""

    policy: str
    id: str
    bad: Violating
    """The resources the rule must report; its findings are pinned whole under ``policy:id``."""
    good: Violating | None
    """The same resources without the weakness (None: ``bad.baseline``, the unchanged checked-in stack)."""

    @property
    def key(self) -> str:
        return f"{self.policy}:{self.id}"


def twin(
    policy: str,
    id: str,
    type_token: str,
    bad: Mapping[str, Any],
    good: Mapping[str, Any],
    *,
    stack: str = "dev",
    config: Mapping[str, Any] | None = None,
) -> Twin:
    """One hand-written resource (named after the case) in its violating and its compliant shape."""
    return Twin(
        policy,
        id,
        shape(type_token, bad, name=id, stack=stack, config=config),
        shape(type_token, good, name=id, stack=stack, config=config),
    )


def stack_twin(
    policy: str,
    id: str,
    bad: Callable[[], list[Subject]],
    good: Callable[[], list[Subject]],
    *,
    blame: str,
    config: Mapping[str, Any] | None = None,
) -> Twin:
    """Hand-written resources for a stack rule, violating and compliant."""
    return Twin(policy, id, Violating(bad, blame, dict(config or {})), Violating(good, blame, dict(config or {})))


def weaker(
    policy: str, id: str, change: Change, *, blame: str, stack: str = "dev", config: Mapping[str, Any] | None = None
) -> Twin:
    """A checked-in stack with one change; the twin is the unchanged stack."""
    return Twin(policy, id, weakened(change, blame=blame, stack=stack, config=config), None)


TOKEN_POLICIES = ["consul-dc1-server"]

TWINS: list[Twin] = [
    # ------------------------------------------------------------------------------------ tokens.py
    twin(
        "vlt-no-default-policy",
        "token-flag-unset",
        t.TOKEN,
        {"policies": TOKEN_POLICIES, "ttl": "1h"},
        {"policies": TOKEN_POLICIES, "ttl": "1h", "noDefaultPolicy": True},
    ),
    twin(
        "vlt-no-default-policy",
        "token-flag-false-as-string",
        t.TOKEN,
        {"policies": TOKEN_POLICIES, "noDefaultPolicy": "false"},
        {"policies": TOKEN_POLICIES, "noDefaultPolicy": "True"},
    ),
    twin(
        "vlt-no-default-policy",
        "token-lists-default",
        t.TOKEN,
        {"policies": ["default", *TOKEN_POLICIES], "noDefaultPolicy": True},
        {"policies": TOKEN_POLICIES, "noDefaultPolicy": True},
    ),
    twin(
        "vlt-no-default-policy",
        "role-lists-default-last",
        t.K8S_AUTH_ROLE,
        good_k8s_role(tokenPolicies=[*TOKEN_POLICIES, "default"], tokenNoDefaultPolicy=True),
        good_k8s_role(tokenPolicies=[*TOKEN_POLICIES, "default-reader"], tokenNoDefaultPolicy=True),
    ),
    twin(
        "vlt-no-default-policy",
        "role-flag-false-and-default-listed",
        "vault:appRole/authBackendRole:AuthBackendRole",
        {"backend": "approle", "roleName": "ci", "tokenPolicies": ["default"], "tokenNoDefaultPolicy": False},
        {"backend": "approle", "roleName": "ci", "tokenPolicies": ["ci"], "tokenNoDefaultPolicy": True},
    ),
    twin(
        "vlt-no-default-policy",
        "oauth-profile-flag-unset",
        "vault:index/oauthResourceServerConfigProfile:OauthResourceServerConfigProfile",
        {"profileName": "api"},
        {"profileName": "api", "noDefaultPolicy": True},
    ),
]
"""Further cases, in catalogue order by module; ``policy:id`` keys are unique."""
