"""The one place for every name the pipelines and the bootstrap project share.

The workflows in ``.github/workflows`` spell these names literally (a GitHub workflow cannot import
Python); ``tests/workflows/test_workflows.py`` fails when a workflow and this module disagree.
"""

from __future__ import annotations

from enum import StrEnum

GITHUB_OIDC_ISSUER = "https://token.actions.githubusercontent.com"
"""GitHub Actions' OIDC issuer (the ``iss`` claim; discovery document under ``/.well-known/openid-configuration``)."""

AWS_STS_AUDIENCE = "sts.amazonaws.com"
"""The ``aud`` aws-actions/configure-aws-credentials requests for AssumeRoleWithWebIdentity (its default)."""

VAULT_JWT_MOUNT = "github-actions"
"""Vault's JWT auth mount trusting GitHub's issuer (``auth/github-actions``)."""

VAULT_AUDIENCE = "vault"
"""The ``aud`` the workflows request for Vault (hashicorp/vault-action ``jwtGithubAudience``)."""

PREVIEW_ENVIRONMENT = "prod-preview"
"""The GitHub environment the pull-request preview of prod runs in; its OIDC subject is the preview role's."""

DEPLOY_ENVIRONMENT = "production"
"""The GitHub environment of ``pulumi up`` of prod (required reviewers approve each deployment)."""

DRIFT_REF = "refs/heads/main"
"""The scheduled drift check runs on the default branch, without an environment: its subject is this ref."""


class Purpose(StrEnum):
    """What a pipeline credential is for; each purpose has its own Vault role, policy and IAM role."""

    PREVIEW = "preview"
    DEPLOY = "deploy"
    DRIFT = "drift"


VAULT_ROLES: dict[Purpose, str] = {purpose: f"secure-mesh-{purpose.value}" for purpose in Purpose}
"""Vault JWT role per purpose (``auth/github-actions/role/<name>``)."""

VAULT_POLICIES: dict[Purpose, str] = {purpose: f"secure-mesh-ci-{purpose.value}" for purpose in Purpose}
"""Vault policy per purpose, attached only to that purpose's role."""

AWS_ROLES: dict[Purpose, str] = {purpose: f"secure-mesh-{purpose.value}" for purpose in Purpose}
"""IAM role per purpose (``arn:aws:iam::<account>:role/<name>``)."""

SECRETS_KEY_ALIAS = "alias/secure-mesh-prod-secrets"
"""The KMS key that encrypts the prod stack's secrets (``pulumi stack init --secrets-provider awskms://...``)."""
