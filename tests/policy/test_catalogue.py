"""The pack's metadata: stable catalogue ids, policy names, enforcement, and the generated README."""

from __future__ import annotations

import re
from pathlib import Path

import secure_mesh_policy
from pulumi_policy import EnforcementLevel
from secure_mesh_policy.readme import render

POLICY_DIR = Path(__file__).resolve().parents[2] / "policy"

CATALOGUE_IDS = {
    "PKI-ROOT-OFFLINE",
    "PKI-KEY-INTERNAL",
    "PKI-ONE-PURPOSE",
    "PKI-TTL-CASCADE",
    "PKI-MOUNT-TTL",
    "PKI-NOT-AFTER",
    "PKI-KEYS",
    "PKI-NAME-CONSTRAINTS",
    "PKI-ROLE-HYGIENE",
    "PKI-NO-LEASE",
    "PKI-URLS",
    "PKI-CRL",
    "PKI-TIDY",
    "PKI-DEFAULT-ISSUER",
    "PKI-SENSITIVE-PATHS",
    "PKI-GW-CHAIN",
    "POL-LEAST",
    "POL-KV-DATA",
    "POL-NO-ROOT",
    "POL-DB-ADDRESS",
    "K8S-NAMESPACE",
    "K8S-NAMES",
    "K8S-AUDIENCE",
    "K8S-ALIAS",
    "K8S-TTL",
    "K8S-REVIEWER",
    "VLT-NO-DEFAULT-POLICY",
    "VLT-AUDIT",
    "VLT-OIDC",
    "KV-V2",
    "KV-VERSIONS",
    "KV-CAS",
    "KV-SOFT-DELETE",
    "KV-NO-PLAINTEXT",
    "KV-GOSSIP-FORMAT",
    "KV-BACKUP",
    "DB-ROOT-ROTATION",
    "DB-TLS",
    "CSL-TLS",
    "CSL-ACL",
    "CSL-GOSSIP",
    "CSL-NO-SCRIPTS",
    "CSL-VAULT-CA",
    "CSL-BINDING",
    "CSL-QUORUM",
    "CSL-BOOTSTRAP-TOKEN",
    "CSL-EXTRA-CONFIG",
    "CSL-CA-TTL",
    "CSL-EXPOSE",
    "CSL-CHART-PIN",
    "INT-DEFAULT-DENY",
    "INT-NO-WILDCARD-ALLOW",
    "INT-L7",
    "INT-ORDER",
    "INT-JWT",
    "MESH-MTLS-STRICT",
    "MESH-DESTINATIONS",
    "MESH-TLS-VERSION",
    "MESH-ENTRY",
    "MESH-GATEWAY-ROUTES",
    "MESH-TPROXY",
    "TOPO-PEERING-TOKEN-SECRET",
    "TOPO-MESH-GATEWAYS",
    "TOPO-UNIQUE-PATHS",
    "TOPO-NO-PLAINTEXT-REPLICATION-TOKEN",
    "IMG-DIGEST",
}
"""Every catalogue rule decidable from resource inputs (PKI-ROTATION is a runtime procedure)."""
ADVISORY = {"KV-CAS"}


def test_every_decidable_catalogue_rule_is_in_the_pack() -> None:
    assert {r.info.id for r in secure_mesh_policy.RULES} == CATALOGUE_IDS
    assert len(secure_mesh_policy.RULES) >= 30


def test_policy_names_are_unique_lowercase_ids() -> None:
    names = [r.info.policy_name for r in secure_mesh_policy.RULES]
    assert len(names) == len(set(names))
    for rule in secure_mesh_policy.RULES:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", rule.info.policy_name), rule.info.policy_name
        assert rule.info.policy_name.startswith(rule.info.id.lower()), rule.info.policy_name
        assert rule.policy.name == rule.info.policy_name
        assert rule.policy.description.startswith(f"[{rule.info.id}]")


ADVISORY_PARTS = {"kv-backup-oss", "pki-gw-chain-csi"}
"""Advisory parts of mandatory rules: reminders about what the release cannot show, and a weaker supported option
(the CSI certificate delivery, which carries no chain)."""


def test_enforcement_is_mandatory_for_security_rules_and_advisory_for_recommendations() -> None:
    for rule in secure_mesh_policy.RULES:
        advisory = rule.info.id in ADVISORY or rule.info.policy_name in ADVISORY_PARTS
        expected = EnforcementLevel.ADVISORY if advisory else EnforcementLevel.MANDATORY
        assert rule.policy.enforcement_level is expected, rule.info.policy_name


def test_judgement_thresholds_are_in_config_schemas() -> None:
    schemas = {r.info.policy_name: r.policy.config_schema for r in secure_mesh_policy.RULES if r.policy.config_schema}
    assert schemas["pki-ttl-cascade"].properties["maxLeafTtl"]["default"] == "720h"
    assert schemas["pki-keys"].properties["minRsaKeyBits"]["default"] == 2048
    assert schemas["kv-soft-delete-protect"].properties["requireProtect"]["default"] == "auto"
    assert schemas["k8s-ttl"].properties["maxTokenTtlSeconds"]["default"] == 3600


def test_pack_never_imports_the_program() -> None:
    for source in (POLICY_DIR / "secure_mesh_policy").glob("*.py"):
        assert not re.search(r"^\s*(from|import)\s+components\b", source.read_text(), re.M), source.name
    main = (POLICY_DIR / "__main__.py").read_text()
    assert "PolicyPack(" in main and "def " not in main


def test_readme_is_the_generated_table() -> None:
    checked_in = (POLICY_DIR / "README.md").read_text()
    assert checked_in == render(), (
        "policy/README.md is stale: cd policy && python -m secure_mesh_policy.readme > README.md"
    )
    for rule in secure_mesh_policy.RULES:
        assert f"`{rule.info.policy_name}`" in checked_in


def test_policy_page_states_the_number_of_rules() -> None:
    from pathlib import Path

    page = (Path(__file__).resolve().parents[2] / "docs" / "policy.md").read_text()
    scopes = [rule.info.scope for rule in secure_mesh_policy.RULES]
    stated = (
        f"{len(scopes)} CrossGuard rules ({scopes.count('resource')} per resource, {scopes.count('stack')} stack-wide)"
    )
    assert stated in page, f"docs/policy.md must say {stated!r} (its first paragraph)"
