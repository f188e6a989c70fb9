"""Vault's side of the pipeline's trust: a JWT auth mount for GitHub's OIDC issuer, one role and policy per purpose."""

from __future__ import annotations

import pulumi
import pulumi_vault as vault

from .names import GITHUB_OIDC_ISSUER, VAULT_AUDIENCE, VAULT_JWT_MOUNT, VAULT_POLICIES, VAULT_ROLES, Purpose
from .settings import BootstrapSettings
from .trust import PURPOSES, subject, vault_bound_claims, vault_policy_hcl, vault_policy_paths


class VaultTrust(pulumi.ComponentResource):
    """``auth/github-actions`` (JWT, GitHub's issuer) with the preview, deploy and drift roles and their policies.

    A role issues a Vault token only for a GitHub OIDC token whose issuer, audience, subject, repository
    and environment/ref are exactly the purpose's (``bound_claims_type = string``). Tokens are short-lived
    ``service`` tokens (the Vault provider creates a child token from them), without Vault's ``default``
    policy, with only the purpose's policy.
    """

    def __init__(self, name: str, settings: BootstrapSettings, opts: pulumi.ResourceOptions) -> None:
        super().__init__("secure-mesh-bootstrap:vault:Trust", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        namespace = settings.vault.namespace
        self.auth = vault.jwt.AuthBackend(
            "github-actions",
            path=VAULT_JWT_MOUNT,
            type="jwt",
            description="GitHub Actions OIDC tokens of the secure-mesh pipelines (bootstrap/)",
            oidc_discovery_url=GITHUB_OIDC_ISSUER,
            bound_issuer=GITHUB_OIDC_ISSUER,
            namespace=namespace,
            opts=child,
        )
        self.policies: dict[Purpose, vault.Policy] = {}
        self.roles: dict[Purpose, vault.jwt.AuthBackendRole] = {}
        repository = settings.github.repository
        for purpose in Purpose:
            policy = vault.Policy(
                f"ci-{purpose.value}",
                name=VAULT_POLICIES[purpose],
                policy=vault_policy_hcl(vault_policy_paths(settings, purpose)),
                namespace=namespace,
                opts=child,
            )
            ttl = PURPOSES[purpose].token_ttl_seconds
            self.roles[purpose] = vault.jwt.AuthBackendRole(
                f"ci-{purpose.value}",
                backend=self.auth.path,
                role_name=VAULT_ROLES[purpose],
                role_type="jwt",
                bound_audiences=[VAULT_AUDIENCE],
                bound_subject=subject(repository, purpose),
                bound_claims=vault_bound_claims(repository, purpose),
                bound_claims_type="string",
                user_claim="sub",
                token_policies=[policy.name],
                token_no_default_policy=True,
                token_type="service",
                token_ttl=ttl,
                token_max_ttl=ttl,
                token_explicit_max_ttl=ttl,
                namespace=namespace,
                opts=child,
            )
            self.policies[purpose] = policy
        self.register_outputs({})
