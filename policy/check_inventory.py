"""Run the policy pack over an offline render: ``python policy/check_inventory.py build/dev/inventory.json``.

Exits 1 if any mandatory rule is violated, so a pull-request pipeline without credentials (a fork)
still enforces the pack on the desired state; exits 2 with a one-line error when an inventory cannot
be read (missing, not JSON, not an inventory written by ``python -m secure_mesh render``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pulumi_policy import EnforcementLevel
from secure_mesh_policy import RULES
from secure_mesh_policy.offline import check_inventory

PROG = "check_inventory.py"
RENDER_HINT = "write one with `make render STACK=<stack>` (it runs `python -m secure_mesh render`)"


def inventory_problem(path: Path) -> str | None:
    """Why ``path`` is not a readable inventory, or None when it is one."""
    if not path.exists():
        return f"{path}: no such file; {RENDER_HINT}"
    if path.is_dir():
        inside = path / "inventory.json"
        hint = f"; did you mean {inside}?" if inside.is_file() else f"; {RENDER_HINT}"
        return f"{path} is a directory, not an inventory file{hint}"
    try:
        document = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        return f"{path} is not JSON ({error}); {RENDER_HINT}"
    if not isinstance(document, dict) or not isinstance(document.get("resources"), list):
        return f"{path} is not an inventory (a JSON object with a `resources` list); {RENDER_HINT}"
    return None


def main(argv: list[str]) -> int:
    """Check each inventory named on the command line; print violations and skipped rules."""
    parser = argparse.ArgumentParser(
        prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("inventories", nargs="+", type=Path, metavar="INVENTORY", help="an inventory.json to check")
    args = parser.parse_args(argv)
    problems = [problem for path in args.inventories if (problem := inventory_problem(path)) is not None]
    if problems:
        for problem in problems:
            print(f"{PROG}: {problem}", file=sys.stderr)
        return 2
    failed = False
    for path in args.inventories:
        violations, unknowns = check_inventory(path, RULES)
        mandatory = [v for v in violations if v.enforcement is EnforcementLevel.MANDATORY]
        print(f"{path}: {len(RULES)} rules, {len(mandatory)} mandatory and {len(violations) - len(mandatory)} "
              f"advisory violations, {len(unknowns)} checks skipped on values unknown before deploy")
        for violation in violations:
            print(f"  {violation}")
        failed = failed or bool(mandatory)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
