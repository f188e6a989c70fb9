"""Resource-option rules: what production stacks must protect from deletion."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from . import types as t
from .framework import ENVIRONMENT_SETTING, Res, Setting, StackView, is_production, stack_rule
from .index import generation_of as _generation

Finding = tuple[str, str | None]

REQUIRE_PROTECT = Setting(
    "requireProtect",
    "string",
    "auto",
    "When protect is required: 'auto' (production stacks, see environment), 'always' or 'never'.",
)

PROTECTED_TYPES = (t.AUTH_BACKEND, t.KV_BACKEND_V2, t.KV_SECRET_V2, *t.CA_RESOURCES)



def superseded(view: StackView, res: Res) -> bool:
    """A CA resource of an older generation of its level while a newer generation of the same resource is
    protected: the generation a rotation keeps registered, unprotected, so the next rotation can let it go
    (``retain_on_delete`` keeps it in Vault for the leaves it signed; the policy SDK does not show that option,
    so the newer protected generation is what makes it safe).
    """
    mine = _generation(res)
    if mine is None:
        return False
    level, part, generation = mine
    for other in view.of(res.type):
        theirs = _generation(other)
        if other.protect and theirs is not None and theirs[:2] == (level, part) and theirs[2] > generation:
            return True
    return False


def must_protect(res: Res) -> bool:
    """PKI and KV mounts, auth mounts, the KV settings and secrets, and every CA resource."""
    if res.type == t.MOUNT:
        return res.get("type") in ("pki", "kv", "kv-v2")
    return res.type in PROTECTED_TYPES


@stack_rule(
    "KV-SOFT-DELETE",
    part="protect",
    checks="Production stacks protect what must not be lost: PKI and KV mounts, auth mounts, KV secrets and every "
    "CA resource (roots, CSRs/keys, signed intermediates, issuers), except an issuing CA's previous generation "
    "while the same resource of a newer generation (…-l<k>-g<N>-…) is protected.",
    why="Design (production stacks protect CA mounts and issuers, the KV mount and its secrets, auth mounts); "
    "deleting a CA mount or KV secret is unrecoverable.",
    fix="Pass protect=True (the platform sets it from settings.is_production) for these resources.",
    settings=(ENVIRONMENT_SETTING, REQUIRE_PROTECT),
)
def kv_soft_delete_protect(view: StackView, config: Mapping[str, Any]) -> Iterator[Finding]:
    """Production keeps its CAs and secrets."""
    mode = str(config.get("requireProtect") or "auto").lower()
    if mode == "never":
        return
    for res in view.resources:
        if not must_protect(res) or res.protect or superseded(view, res):
            continue
        if mode == "always" or is_production(config, res.urn):
            yield (
                res.finding(
                    "protect",
                    False,
                    "not protected in a production stack",
                    "set protect=True on it (or its parent component)",
                ),
                res.urn,
            )
