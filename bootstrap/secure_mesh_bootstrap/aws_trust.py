"""AWS's side of the pipeline's trust: GitHub's OIDC provider, one IAM role per purpose, the stack's secrets key."""

from __future__ import annotations

import json
from collections.abc import Callable

import pulumi
import pulumi_aws as aws

from .names import AWS_ROLES, AWS_STS_AUDIENCE, GITHUB_OIDC_ISSUER, SECRETS_KEY_ALIAS, Purpose
from .settings import BootstrapSettings
from .trust import EKS_ACCESS_POLICIES, permissions_policy, trust_policy


def _trust_json(repository: str, purpose: Purpose) -> Callable[[str], str]:
    return lambda provider_arn: json.dumps(trust_policy(provider_arn, repository, purpose))


def _permissions_json(settings: BootstrapSettings, purpose: Purpose) -> Callable[[str], str]:
    return lambda secrets_key_arn: json.dumps(permissions_policy(settings, purpose, secrets_key_arn))


class AwsTrust(pulumi.ComponentResource):
    """The IAM OIDC provider for GitHub, the preview/deploy/drift roles, their EKS access and the secrets key.

    Each role can be assumed only with a GitHub OIDC token for ``sts.amazonaws.com`` whose ``sub`` is the
    purpose's exact subject; sessions last at most an hour. The prod stack's secrets-provider key
    (``awskms://alias/secure-mesh-prod-secrets``) is created here, rotated yearly, protected.
    """

    def __init__(self, name: str, settings: BootstrapSettings, opts: pulumi.ResourceOptions) -> None:
        super().__init__("secure-mesh-bootstrap:aws:Trust", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        # AWS no longer uses the thumbprint for GitHub's issuer (it trusts its own CA library); the
        # provider accepts none (https://github.blog/changelog/2023-07-13-github-actions-oidc-integration-with-aws-no-longer-requires-pinning-of-intermediate-tls-certificates/).
        self.oidc_provider = aws.iam.OpenIdConnectProvider(
            "github-actions",
            url=GITHUB_OIDC_ISSUER,
            client_id_lists=[AWS_STS_AUDIENCE],
            opts=child,
        )
        self.secrets_key = aws.kms.Key(
            "stack-secrets",
            description="Encrypts the secure-mesh prod stack's secrets (Pulumi awskms secrets provider)",
            key_usage="ENCRYPT_DECRYPT",
            customer_master_key_spec="SYMMETRIC_DEFAULT",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            opts=pulumi.ResourceOptions(parent=self, protect=True),
        )
        self.secrets_key_alias = aws.kms.Alias(
            "stack-secrets", name=SECRETS_KEY_ALIAS, target_key_id=self.secrets_key.key_id, opts=child
        )
        repository = settings.github.repository
        self.roles: dict[Purpose, aws.iam.Role] = {}
        for purpose in Purpose:
            role = aws.iam.Role(
                purpose.value,
                name=AWS_ROLES[purpose],
                description=f"secure-mesh pipelines: {purpose.value} (GitHub OIDC, bootstrap/)",
                assume_role_policy=self.oidc_provider.arn.apply(_trust_json(repository, purpose)),
                max_session_duration=3600,
                opts=child,
            )
            aws.iam.RolePolicy(
                purpose.value,
                role=role.name,
                name="secure-mesh-pipeline",
                policy=self.secrets_key.arn.apply(_permissions_json(settings, purpose)),
                opts=child,
            )
            entry = aws.eks.AccessEntry(
                purpose.value,
                cluster_name=settings.aws.eks_cluster_name,
                principal_arn=role.arn,
                type="STANDARD",
                opts=child,
            )
            aws.eks.AccessPolicyAssociation(
                purpose.value,
                cluster_name=settings.aws.eks_cluster_name,
                principal_arn=role.arn,
                policy_arn=EKS_ACCESS_POLICIES[purpose],
                access_scope={"type": "cluster"},
                # EKS refuses an association for a principal without an access entry.
                opts=pulumi.ResourceOptions(parent=self, depends_on=[entry]),
            )
            self.roles[purpose] = role
        self.register_outputs({})
