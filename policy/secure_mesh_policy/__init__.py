"""The secure-mesh CrossGuard rules: every rule of the security catalogue decidable from resource inputs.

Importing this package registers every rule; :data:`RULES` lists them (metadata and the
``pulumi_policy`` object) in catalogue order and :data:`POLICIES` is what ``policy/__main__.py``
hands to ``PolicyPack``. The package never imports the program's ``components``: the pack runs in
its own virtualenv and sees only the resources the engine sends.
"""

from __future__ import annotations

from typing import Any

from . import (  # noqa: F401 - importing registers the rules
    audit,
    auth,
    consul_agent,
    consul_values,
    database,
    images,
    intentions,
    jwt,
    kv,
    mesh,
    onboarding,
    options,
    pki,
    pki_scope,
    stack,
    tokens,
    topology,
    transport,
)
from .framework import REGISTRY, Rule

PACK_NAME = "secure-mesh"

_CATALOGUE_ORDER = ("PKI-", "POL-", "K8S-", "VLT-", "KV-", "DB-", "CSL-", "INT-", "MESH-", "IMG-")


def _order(rule: Rule) -> tuple[int, str, int]:
    prefix = next((i for i, p in enumerate(_CATALOGUE_ORDER) if rule.info.id.startswith(p)), len(_CATALOGUE_ORDER))
    return prefix, rule.info.id, 0 if rule.info.scope == "resource" else 1


RULES: list[Rule] = sorted(REGISTRY, key=_order)
"""Every rule, grouped as the catalogue is (PKI, policies, Kubernetes auth, Vault tokens and audit, KV, databases,
Consul, intentions, mesh)."""

POLICIES: list[Any] = [rule.policy for rule in RULES]
"""The ``pulumi_policy`` policies, for ``PolicyPack(policies=...)``."""

__all__ = ["PACK_NAME", "POLICIES", "RULES", "Rule"]
