"""Generate ``policy/README.md`` from the rules' own metadata (run from ``policy/``).

``python -m secure_mesh_policy.readme > README.md`` rewrites it; a test fails when the checked-in
README differs from what the rules say, so the table can never drift from the code.
"""

from __future__ import annotations

import sys

from . import PACK_NAME, RULES
from .framework import Rule

HEADER = f"""# The `{PACK_NAME}` policy pack

CrossGuard rules for the secure-mesh stacks: Vault PKI, Vault policies and Kubernetes auth, KV-v2,
the Consul Helm chart's values and mesh intentions. Rule ids are the stable ids of the project's
security catalogue; each Pulumi policy name is the id in lower case, with `-<part>` when a catalogue
rule is split into a per-resource part and a stack-wide part (`pki-keys` and `pki-keys-stack`).

```
pulumi preview --policy-pack policy                      # from the project directory
pulumi preview --policy-pack policy --policy-pack-config <thresholds.json>   # optional judgement thresholds
```

The pack runs in its own virtualenv (`policy/venv`, from `requirements.txt`) and never imports the
program: it sees only the resources' inputs. Every input a mandatory rule reads is a plain value in
the program, so no mandatory rule is skipped as "unknown during preview" (tested) — with one
exception: the connection URL of an app database addressed through the Consul catalog is resolved
at deploy time, so `db-tls` checks its `sslmode` during `pulumi up` (policies run again on the
resolved inputs), not during preview.

**Environment.** Production-only rules (root custody, quorum, backups, `protect`) take the environment
from the policy config property `environment` (`prod`, any other name, or `auto`). With `auto` (the
default) a stack is production when its name, read from the resources' URNs, is `prod`/`production`
or has such a `-`/`_`/`.`-separated part (`eu-prod`, `prod-eu`). `kv-soft-delete-protect` also takes
`requireProtect`: `auto` (production only), `always` or `never`.

**Vault defaults count.** Where Vault's default is insecure, an unset property is a violation
(`allow_localhost`, `allow_ip_sans`, `allow_wildcard_certificates` on PKI roles, `client_flag`). The
single exception is the Consul server role (chart contract §4): its `allowed_domains` are exactly four
names, `<fn>-server`, `<fn>-server.<ns>`, `<fn>-server.<ns>.svc` and `<dc>.<domain>`; only such a role
may allow localhost, IP SANs and wildcards (and serve both server and client auth), and
`pki-role-hygiene-stack` checks it is the role the chart's `server.serverCert.secretName` uses.

Regenerate this file with `cd policy && python -m secure_mesh_policy.readme > README.md`.

## Rules

| id | policy | scope | what it checks | why (source) | enforcement | how to fix | config |
|---|---|---|---|---|---|---|---|
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def row(rule: Rule) -> str:
    """One table row."""
    info = rule.info
    settings = "; ".join(f"`{s.name}` (default `{s.default}`)" for s in info.settings) or ""
    cells = [
        info.id,
        f"`{info.policy_name}`",
        info.scope,
        info.checks,
        info.why,
        info.enforcement.value,
        info.fix,
        settings,
    ]
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def render() -> str:
    """The whole README."""
    counts = (
        f"\n{len(RULES)} policies: {sum(r.info.scope == 'resource' for r in RULES)} resource rules and "
        f"{sum(r.info.scope == 'stack' for r in RULES)} stack rules. Not decidable from resource inputs, so not "
        "in the pack: PKI-ROTATION (a runtime procedure) and the Vault half of KV-BACKUP (Vault runs outside "
        "the program).\n"
    )
    return HEADER + "\n".join(row(rule) for rule in RULES) + "\n" + counts


def main() -> None:
    """Print the README."""
    sys.stdout.write(render())


if __name__ == "__main__":
    main()
