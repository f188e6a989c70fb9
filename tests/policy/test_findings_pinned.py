"""Every finding a rule can write is pinned whole by some case (issue 19: no finding branch left unasserted).

Static, so it costs no rule run: each ``<resource>.finding(prop, value, problem, fix)`` call in the pack's
rule modules becomes a pattern (the literal text of its problem and fix, ``.*?`` where a value is formatted
in), and some message in ``snapshots/findings.json`` or ``snapshots/case_findings.json`` must match it. A new
finding branch without a case fails here, naming the module and line; add a case to
``tests/policy/rule_cases.py`` (with its compliant twin) and regenerate the snapshot.

Call sites whose problem and fix are both computed elsewhere (a variable) cannot be matched by text; they are
listed in ``DYNAMIC`` with the case table that reaches them, and the list is checked to stay exact.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

from tests.policy.support import CASE_FINDINGS, SNAPSHOTS

RULE_DIR = Path(__file__).resolve().parents[2] / "policy" / "secure_mesh_policy"
NOT_RULES = frozenset({"__init__", "documents", "framework", "index", "offline", "options", "readme", "types"})
"""Modules with no rule of their own (helpers, the registry, the README writer)."""


DYNAMIC = {
    ("consul_agent", "csl_extra_config"): "agent_config_findings' (problem, fix) pairs: the extra_config cases",
    (
        "consul_values",
        "_kv_reference",
    ): "the callers' texts: csl-gossip/csl-bootstrap-token cases of test_resource_rules",
    (
        "pki",
        "missing_per_mount",
    ): "the callers' texts: pki-crl-stack, pki-tidy-stack, pki-urls-stack, pki-default-issuer",
    ("pki_levels", "finding"): "Level.finding: a wrapper; its callers are sites of their own",
    ("transport", "_client_findings"): "VaultClient.ca_problem/ca_fix: the *-without-the-private-vault-ca cases",
}
"""Finding calls whose problem and fix are both passed in: (module, function) → where the texts are pinned."""


def _pattern(node: ast.expr, constants: dict[str, str]) -> str:
    """A regex for the text an expression writes: its literal parts exact, anything computed as ``.*?``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return re.escape(node.value)
    if isinstance(node, ast.Name) and node.id in constants:
        return re.escape(constants[node.id])
    if isinstance(node, ast.JoinedStr):
        return "".join(_pattern(v, constants) if isinstance(v, ast.Constant) else ".*?" for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _pattern(node.left, constants) + _pattern(node.right, constants)
    if isinstance(node, ast.IfExp):
        return f"(?:{_pattern(node.body, constants)}|{_pattern(node.orelse, constants)})"
    return ".*?"


def _constants(tree: ast.Module) -> dict[str, str]:
    """A module's top-level string constants (``_FIX = "..."``)."""
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            found.update({t.id: node.value.value for t in node.targets if isinstance(t, ast.Name)})
    return found


def finding_sites() -> list[tuple[str, str, int, str]]:
    """(module, function, line, message pattern) of every ``.finding(prop, value, problem, fix)`` call in a rule
    module; the pattern is empty when problem and fix are both computed (see ``DYNAMIC``)."""
    sites = []
    for path in sorted(RULE_DIR.glob("*.py")):
        if path.stem in NOT_RULES:
            continue
        tree = ast.parse(path.read_text())
        constants = _constants(tree)
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef):
                continue
            for node in ast.walk(function):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "finding"
                    and len(node.args) == 4
                ):
                    problem, fix = (_pattern(a, constants) for a in node.args[2:])
                    pattern = "" if problem == fix == ".*?" else f": {problem}\\. Fix: {fix}$"
                    sites.append((path.stem, function.name, node.lineno, pattern))
    return sites


def pinned_messages() -> list[str]:
    messages: list[str] = []
    for file in (SNAPSHOTS / "findings.json", CASE_FINDINGS):
        for found in json.loads(file.read_text()).values():
            messages.extend(found)
    return messages


def test_every_finding_a_rule_can_write_is_pinned_by_a_case() -> None:
    messages = pinned_messages()
    unpinned = [
        f"{module}.py:{line}"
        for module, _, line, pattern in finding_sites()
        if pattern and not any(re.search(pattern, m, re.S) for m in messages)
    ]
    assert not unpinned, (
        f"no pinned case writes the finding at {unpinned}: add a case with its compliant twin to "
        "tests/policy/rule_cases.py and regenerate the snapshot (UPDATE_SNAPSHOTS=1 pytest tests/policy)"
    )


def test_the_dynamic_finding_calls_are_the_listed_ones() -> None:
    dynamic = {(module, function) for module, function, _, pattern in finding_sites() if not pattern}
    assert dynamic == set(DYNAMIC), "a finding call's texts are all passed in: list it in DYNAMIC with its cases"


def test_the_check_sees_the_packs_findings() -> None:
    """The parser finds the finding calls (a refactor that renames ``finding`` must not make this pass vacuously)."""
    sites = finding_sites()
    assert len(sites) > 200, len(sites)
    modules = {module for module, *_ in sites}
    assert {"auth", "consul_values", "kv", "mesh", "pki", "pki_scope", "stack", "tokens", "transport"} <= modules
