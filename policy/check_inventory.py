"""Run the policy pack over an offline render: ``python policy/check_inventory.py build/dev/inventory.json``.

Exits 1 if any mandatory rule is violated, so a pull-request pipeline without credentials (a fork)
still enforces the pack on the desired state.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pulumi_policy import EnforcementLevel
from secure_mesh_policy import RULES
from secure_mesh_policy.offline import check_inventory


def main(argv: list[str]) -> int:
    """Check each inventory named on the command line; print violations and skipped rules."""
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    failed = False
    for name in argv:
        violations, unknowns = check_inventory(Path(name), RULES)
        mandatory = [v for v in violations if v.enforcement is EnforcementLevel.MANDATORY]
        print(f"{name}: {len(RULES)} rules, {len(mandatory)} mandatory and {len(violations) - len(mandatory)} "
              f"advisory violations, {len(unknowns)} checks skipped on values unknown before deploy")
        for violation in violations:
            print(f"  {violation}")
        failed = failed or bool(mandatory)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
