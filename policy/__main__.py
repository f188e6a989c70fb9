"""The secure-mesh policy pack: `pulumi preview --policy-pack policy`. Only assembles the pack (it never returns)."""

from pulumi_policy import EnforcementLevel, PolicyPack
from secure_mesh_policy import PACK_NAME, POLICIES

PolicyPack(
    name=PACK_NAME,
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=POLICIES,
    description="Security rules for Vault PKI, Vault auth and policies, KV-v2, the Consul Helm chart and intentions.",
)
