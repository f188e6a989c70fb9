"""The pipeline's trust as documents: exact subjects and claims per purpose, least-privilege Vault and IAM policies."""

from __future__ import annotations

import pytest

from secure_mesh_bootstrap.names import Purpose
from secure_mesh_bootstrap.settings import load_settings
from secure_mesh_bootstrap.trust import (
    CRUDL,
    permissions_policy,
    subject,
    trust_policy,
    vault_bound_claims,
    vault_policy_hcl,
    vault_policy_paths,
)
from tests.bootstrap.runner import load_bootstrap_config
from tests.harness import deep_merge

SETTINGS = load_settings(load_bootstrap_config("prod"))
REPO = "example-org/secure-mesh"
WRITE = {"create", "update", "delete", "patch", "sudo"}
SECRETS_KEY = "arn:aws:kms:eu-west-1:111122223333:key/11111111-2222-3333-4444-555555555555"


def test_each_purpose_has_the_subject_github_gives_its_job() -> None:
    # https://docs.github.com/en/actions/reference/security/oidc (example subject claims)
    assert {p: subject(REPO, p) for p in Purpose} == {
        Purpose.PREVIEW: "repo:example-org/secure-mesh:environment:prod-preview",
        Purpose.DEPLOY: "repo:example-org/secure-mesh:environment:production",
        Purpose.DRIFT: "repo:example-org/secure-mesh:ref:refs/heads/main",
    }
    assert "repo:example-org/secure-mesh:pull_request" not in {subject(REPO, p) for p in Purpose}, (
        "a pull request outside the prod-preview environment must get no role"
    )


def test_each_vault_role_binds_the_repository_and_its_environment_or_ref() -> None:
    assert {p: vault_bound_claims(REPO, p) for p in Purpose} == {
        Purpose.PREVIEW: {"repository": REPO, "environment": "prod-preview"},
        Purpose.DEPLOY: {"repository": REPO, "environment": "production", "ref": "refs/heads/main"},
        Purpose.DRIFT: {"repository": REPO, "ref": "refs/heads/main"},
    }


TOKEN = {
    "auth/token/create": ("update",),
    "auth/token/lookup-self": ("read",),
    "auth/token/revoke-self": ("update",),
    "sys/auth": ("read",),
    "sys/mounts": ("read",),
    "sys/policies/acl": ("list",),
}
READ = {
    "auth/kubernetes-eu-west-1/*": ("read", "list"),
    "consul/*": ("read", "list"),
    "consul/database/creds/*": ("deny",),
    "consul/database/static-creds/*": ("deny",),
    "sys/mounts/consul/*": ("read",),
    "sys/policies/acl/consul-eu-west-1-*": ("read",),
}


def test_the_preview_policy_reads_configuration_only() -> None:
    assert vault_policy_paths(SETTINGS, Purpose.PREVIEW) == dict(
        sorted({**TOKEN, **READ, "consul/kv/data/*": ("deny",)}.items())
    )


def test_the_drift_policy_reads_what_a_refresh_reads() -> None:
    assert vault_policy_paths(SETTINGS, Purpose.DRIFT) == dict(
        sorted({**TOKEN, **READ, "sys/audit": ("read", "sudo")}.items())
    )


def test_without_an_audit_device_no_policy_touches_sys_audit() -> None:
    settings = load_settings(deep_merge(load_bootstrap_config("prod"), {"vault": {"auditDevicePath": None}}))
    for purpose in Purpose:
        assert not [path for path in vault_policy_paths(settings, purpose) if path.startswith("sys/audit")]


def test_the_deploy_policy_manages_only_the_mesh_stacks_names() -> None:
    assert vault_policy_paths(SETTINGS, Purpose.DEPLOY) == dict(
        sorted(
            {
                **TOKEN,
                "auth/kubernetes-eu-west-1/*": CRUDL,
                "consul/*": CRUDL,
                "sys/auth/kubernetes-eu-west-1": ("create", "read", "update", "delete", "sudo"),
                "sys/auth/kubernetes-eu-west-1/tune": ("read", "update", "sudo"),
                "sys/mounts/consul/*": (*CRUDL, "sudo"),
                "sys/policies/acl/consul-eu-west-1-*": CRUDL,
                "sys/audit": ("read", "sudo"),
                "sys/audit/secure-mesh-eu-west-1": ("create", "read", "update", "delete", "sudo"),
            }.items()
        )
    )


@pytest.mark.parametrize("purpose", [Purpose.PREVIEW, Purpose.DRIFT])
def test_read_only_policies_grant_no_write_beyond_their_own_token(purpose: Purpose) -> None:
    token_paths = {"auth/token/create", "auth/token/revoke-self"}
    for path, capabilities in vault_policy_paths(SETTINGS, purpose).items():
        if path == "sys/audit":  # listing audit devices needs sudo (Vault API docs, /sys/audit); it writes nothing
            assert capabilities == ("read", "sudo")
        elif path not in token_paths:
            assert not WRITE & set(capabilities), f"{purpose}: {path} grants {capabilities}"


def test_policy_hcl_is_vaults_syntax() -> None:
    assert vault_policy_hcl({"a/*": ("read", "list"), "b": ("deny",)}) == (
        'path "a/*" {\n  capabilities = ["read", "list"]\n}\n\npath "b" {\n  capabilities = ["deny"]\n}\n'
    )


def test_an_iam_role_trusts_only_githubs_token_for_sts_and_the_exact_subject() -> None:
    provider = "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"
    assert trust_policy(provider, REPO, Purpose.DEPLOY) == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "GitHubActionsOidc",
                "Effect": "Allow",
                "Principal": {"Federated": provider},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                        "token.actions.githubusercontent.com:sub": f"repo:{REPO}:environment:production",
                    }
                },
            }
        ],
    }


def _statements(purpose: Purpose) -> list[dict[str, object]]:
    document = permissions_policy(SETTINGS, purpose, SECRETS_KEY)
    assert document["Version"] == "2012-10-17"
    statements: list[dict[str, object]] = document["Statement"]
    return statements


READ_STATEMENTS = [
    {
        "Sid": "StateList",
        "Effect": "Allow",
        "Action": ["s3:ListBucket"],
        "Resource": "arn:aws:s3:::example-secure-mesh-state",
    },
    {
        "Sid": "StateObjects",
        "Effect": "Allow",
        "Action": ["s3:GetObject"],
        "Resource": "arn:aws:s3:::example-secure-mesh-state/*",
    },
    {"Sid": "StackSecrets", "Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": SECRETS_KEY},
    {
        "Sid": "Cluster",
        "Effect": "Allow",
        "Action": ["eks:DescribeCluster"],
        "Resource": "arn:aws:eks:eu-west-1:111122223333:cluster/prod-eu-west-1",
    },
]


@pytest.mark.parametrize("purpose", [Purpose.PREVIEW, Purpose.DRIFT])
def test_preview_and_drift_roles_read_state_decrypt_and_describe_the_cluster_only(purpose: Purpose) -> None:
    assert _statements(purpose) == READ_STATEMENTS


def test_only_the_deploy_role_writes_state_and_signs_with_the_root_key() -> None:
    deploy = _statements(Purpose.DEPLOY)
    assert deploy == [
        READ_STATEMENTS[0],
        {**READ_STATEMENTS[1], "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]},
        READ_STATEMENTS[2],
        READ_STATEMENTS[3],
        {
            "Sid": "RootKeySign",
            "Effect": "Allow",
            "Action": ["kms:GetPublicKey", "kms:Sign"],
            "Resource": "arn:aws:kms:eu-west-1:111122223333:key/0c7a3d0e-5b5e-4b8e-9d7e-3f2f4b9d1a11",
        },
    ]
