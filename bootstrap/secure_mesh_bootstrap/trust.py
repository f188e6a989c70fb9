"""The pipeline's trust as plain data: who may get which credential (claims, subjects) and what it may do.

Pure functions of the settings; the components only turn these documents into resources, so the tests
compare whole documents. GitHub's OIDC subjects (``sub``), from GitHub's OpenID Connect reference
(https://docs.github.com/en/actions/reference/security/oidc, "Example subject claims"):

* a job with an environment:  ``repo:OWNER/REPO:environment:NAME`` (whatever the event, pull requests included);
* a job without one on a branch: ``repo:OWNER/REPO:ref:refs/heads/BRANCH`` (the scheduled drift run on main);
* a pull-request job without an environment: ``repo:OWNER/REPO:pull_request`` (trusted by no role here).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .names import (
    AWS_STS_AUDIENCE,
    DEPLOY_ENVIRONMENT,
    DRIFT_REF,
    GITHUB_OIDC_ISSUER,
    PREVIEW_ENVIRONMENT,
    Purpose,
)
from .settings import BootstrapSettings

OIDC_HOST = GITHUB_OIDC_ISSUER.removeprefix("https://")
"""The condition-key prefix IAM uses for the provider (``token.actions.githubusercontent.com:sub``)."""

EKS_ACCESS_POLICIES: dict[Purpose, str] = {
    Purpose.PREVIEW: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy",
    Purpose.DRIFT: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSAdminViewPolicy",
    Purpose.DEPLOY: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
}
"""EKS access policies (https://docs.aws.amazon.com/eks/latest/userguide/access-policy-permissions.html):
the preview views the cluster without Secrets; the drift check's refresh reads every object the stack manages
(its Secrets included), still read-only; only the deploy role may write."""


@dataclass(frozen=True)
class PurposeSpec:
    """How one purpose's workflow job presents itself to Vault and AWS, and how long its token lives."""

    environment: str | None
    """The GitHub environment the job runs in (its ``sub`` is then environment-based)."""
    ref: str | None
    """The git ref the job must run on (bound as the ``ref`` claim)."""
    token_ttl_seconds: int
    """The Vault token's TTL and its maximum (no renewal beyond the job's timeout)."""


PURPOSES: dict[Purpose, PurposeSpec] = {
    # pull-request.yml preview-prod: any pull request's merge ref, so no ref binding; the environment gates it.
    Purpose.PREVIEW: PurposeSpec(environment=PREVIEW_ENVIRONMENT, ref=None, token_ttl_seconds=30 * 60),
    # main.yml deploy-prod: on main, in the approval-gated environment.
    Purpose.DEPLOY: PurposeSpec(environment=DEPLOY_ENVIRONMENT, ref=DRIFT_REF, token_ttl_seconds=45 * 60),
    # drift.yml drift-prod: on main, no environment.
    Purpose.DRIFT: PurposeSpec(environment=None, ref=DRIFT_REF, token_ttl_seconds=45 * 60),
}
"""Token lifetimes match the jobs' ``timeout-minutes`` (30 for the preview, 45 for deploy and drift)."""


def subject(repository: str, purpose: Purpose) -> str:
    """The exact ``sub`` claim of the purpose's job."""
    spec = PURPOSES[purpose]
    if spec.environment is not None:
        return f"repo:{repository}:environment:{spec.environment}"
    assert spec.ref is not None
    return f"repo:{repository}:ref:{spec.ref}"


def vault_bound_claims(repository: str, purpose: Purpose) -> dict[str, str]:
    """The claims a Vault role requires, exactly (``bound_claims_type = string``)."""
    spec = PURPOSES[purpose]
    claims = {"repository": repository}
    if spec.environment is not None:
        claims["environment"] = spec.environment
    if spec.ref is not None:
        claims["ref"] = spec.ref
    return claims


# --------------------------------------------------------------------------------------------------- Vault

Capabilities = tuple[str, ...]
CRUDL: Capabilities = ("create", "read", "update", "delete", "list")


def vault_policy_paths(settings: BootstrapSettings, purpose: Purpose) -> dict[str, Capabilities]:
    """Path → capabilities of the purpose's Vault policy, scoped to the names the mesh stack uses.

    Every token may create the Vault provider's short-lived child token (the Pulumi/Terraform Vault provider
    does so unless ``skip_child_token``) and look itself up; ``token_no_default_policy`` removes the rest of
    Vault's ``default`` policy. Preview and drift only read: Vault's ``read`` on a PKI ``issue``/``sign``
    path or a database ``creds`` path cannot issue (those need ``update``), and credential-generating reads
    (``database/creds``, ``static-creds``) are denied outright. The preview (no refresh) reads no KV data.
    The mesh stack's audit device: enabling it needs ``sudo`` on ``sys/audit/<path>`` and reading it back lists
    ``sys/audit``, which needs ``sudo`` too (Vault API docs, ``/sys/audit``) — given to deploy and drift only.
    """
    prefix = settings.vault.mount_prefix
    auth = settings.vault.kubernetes_auth_mount
    policies = settings.vault.policy_prefix
    audit = settings.vault.audit_device_path
    paths: dict[str, Capabilities] = {
        "auth/token/create": ("update",),
        "auth/token/lookup-self": ("read",),
        "auth/token/revoke-self": ("update",),
        "sys/mounts": ("read",),
        "sys/auth": ("read",),
        "sys/policies/acl": ("list",),
    }
    if purpose is Purpose.DEPLOY:
        paths |= {
            f"sys/mounts/{prefix}/*": (*CRUDL, "sudo"),
            f"sys/auth/{auth}": ("create", "read", "update", "delete", "sudo"),
            f"sys/auth/{auth}/tune": ("read", "update", "sudo"),
            f"sys/policies/acl/{policies}-*": CRUDL,
            f"auth/{auth}/*": CRUDL,
            f"{prefix}/*": CRUDL,
        }
        if audit is not None:
            paths["sys/audit"] = ("read", "sudo")
            paths[f"sys/audit/{audit}"] = ("create", "read", "update", "delete", "sudo")
        return dict(sorted(paths.items()))
    paths |= {
        f"sys/mounts/{prefix}/*": ("read",),
        f"sys/policies/acl/{policies}-*": ("read",),
        f"auth/{auth}/*": ("read", "list"),
        f"{prefix}/*": ("read", "list"),
        f"{prefix}/database/creds/*": ("deny",),
        f"{prefix}/database/static-creds/*": ("deny",),
    }
    if purpose is Purpose.PREVIEW:
        paths[f"{prefix}/kv/data/*"] = ("deny",)
    elif audit is not None:
        paths["sys/audit"] = ("read", "sudo")
    return dict(sorted(paths.items()))


def vault_policy_hcl(paths: dict[str, Capabilities]) -> str:
    """A Vault ACL policy document (HCL) from path → capabilities."""
    blocks = [f'path "{path}" {{\n  capabilities = {json.dumps(list(caps))}\n}}\n' for path, caps in paths.items()]
    return "\n".join(blocks)


# ----------------------------------------------------------------------------------------------------- AWS


def trust_policy(provider_arn: str, repository: str, purpose: Purpose) -> dict[str, Any]:
    """The IAM role's trust policy: GitHub's OIDC provider, STS audience and the purpose's exact subject."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "GitHubActionsOidc",
                "Effect": "Allow",
                "Principal": {"Federated": provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        f"{OIDC_HOST}:aud": AWS_STS_AUDIENCE,
                        f"{OIDC_HOST}:sub": subject(repository, purpose),
                    }
                },
            }
        ],
    }


def permissions_policy(settings: BootstrapSettings, purpose: Purpose, secrets_key_arn: str) -> dict[str, Any]:
    """What the purpose's IAM role may do: state, the stack's secrets key, the root key (deploy), the cluster.

    State: the Pulumi self-managed backend reads and (for ``up``) writes objects in the bucket; a preview
    takes no lock there (pulumi/pulumi#8642), so preview and drift only read. Secrets: the ``awskms`` secrets
    provider decrypts the stack's data key with ``kms:Decrypt``. Root key: the program signs level-1 CA
    certificates only at ``up`` (components/pki/kms_resource.py: ``GetPublicKey`` and ``Sign``).
    """
    aws = settings.aws
    partition = aws.root_key_arn.split(":")[1]
    bucket_arn = f"arn:{partition}:s3:::{aws.state_bucket}"
    cluster_arn = f"arn:{partition}:eks:{aws.region}:{aws.account_id}:cluster/{aws.eks_cluster_name}"
    object_actions = ["s3:GetObject"]
    if purpose is Purpose.DEPLOY:
        object_actions += ["s3:PutObject", "s3:DeleteObject"]
    statements: list[dict[str, Any]] = [
        {"Sid": "StateList", "Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": bucket_arn},
        {"Sid": "StateObjects", "Effect": "Allow", "Action": object_actions, "Resource": f"{bucket_arn}/*"},
        {"Sid": "StackSecrets", "Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": secrets_key_arn},
        {"Sid": "Cluster", "Effect": "Allow", "Action": ["eks:DescribeCluster"], "Resource": cluster_arn},
    ]
    if purpose is Purpose.DEPLOY:
        statements.append(
            {
                "Sid": "RootKeySign",
                "Effect": "Allow",
                "Action": ["kms:GetPublicKey", "kms:Sign"],
                "Resource": aws.root_key_arn,
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}
