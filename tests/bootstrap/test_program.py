"""The bootstrap program under mocks (run once per module: pulumi_aws is large): every resource, whole inputs."""

from __future__ import annotations

import json

import pytest

from scripts.stack_env import load_stack_settings
from secure_mesh.layout import Layout
from secure_mesh.offline.program_run import ProgramRun, RegisteredResource
from secure_mesh_bootstrap.names import Purpose
from secure_mesh_bootstrap.settings import load_settings
from secure_mesh_bootstrap.trust import permissions_policy, trust_policy, vault_policy_hcl, vault_policy_paths
from tests.bootstrap.runner import load_bootstrap_config, run_bootstrap

CONFIG = load_bootstrap_config("prod")
SETTINGS = load_settings(CONFIG)
REPO = "example-org/secure-mesh"
PROVIDER_ARN = "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"
SECRETS_KEY_ARN = "arn:aws:kms:eu-west-1:111122223333:key/11111111-2222-3333-4444-555555555555"
TTL = {Purpose.PREVIEW: 1800.0, Purpose.DEPLOY: 2700.0, Purpose.DRIFT: 2700.0}


@pytest.fixture(scope="module")
def run() -> ProgramRun:
    return run_bootstrap(CONFIG)


def _provider_of(resource: RegisteredResource) -> tuple[str, str]:
    """(type, name) of the provider reference ``urn:pulumi:stack::project::parent$type::name::id``."""
    _, _, qualified_type, name, _ = resource.provider.split("::")
    return qualified_type.split("$")[-1], name


def test_every_resource_names_its_explicit_provider(run: ProgramRun) -> None:
    custom = [r for r in run.resources if r.custom and not r.type.startswith("pulumi:providers:")]
    counts: dict[str, int] = {}
    for resource in custom:
        counts[resource.type] = counts.get(resource.type, 0) + 1
    assert counts == {
        "vault:jwt/authBackend:AuthBackend": 1,
        "vault:index/policy:Policy": 3,
        "vault:jwt/authBackendRole:AuthBackendRole": 3,
        "aws:iam/openIdConnectProvider:OpenIdConnectProvider": 1,
        "aws:kms/key:Key": 1,
        "aws:kms/alias:Alias": 1,
        "aws:iam/role:Role": 3,
        "aws:iam/rolePolicy:RolePolicy": 3,
        "aws:eks/accessEntry:AccessEntry": 3,
        "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": 3,
    }
    for resource in custom:
        package = resource.type.split(":", 1)[0]
        provider_type, provider_name = _provider_of(resource)
        assert (provider_type, provider_name) == (f"pulumi:providers:{package}", package), (
            f"{resource} does not use the explicit {package} provider (default providers are named default_*)"
        )


def test_the_providers_refuse_plain_http_and_other_accounts(run: ProgramRun) -> None:
    vault = run.one("pulumi:providers:vault")
    assert vault.inputs["address"] == "https://vault.prod.example.com:8200"
    assert vault.inputs["skipTlsVerify"] == "false"
    assert vault.inputs["addAddressToEnv"] == "false"
    aws = run.one("pulumi:providers:aws")
    assert json.loads(aws.inputs["allowedAccountIds"]) == ["111122223333"]
    assert aws.inputs["region"] == "eu-west-1"


def test_vault_trusts_githubs_issuer_on_its_own_mount(run: ProgramRun) -> None:
    assert run.one("vault:jwt/authBackend:AuthBackend").inputs == {
        "path": "github-actions",
        "type": "jwt",
        "description": "GitHub Actions OIDC tokens of the secure-mesh pipelines (bootstrap/)",
        "oidcDiscoveryUrl": "https://token.actions.githubusercontent.com",
        "boundIssuer": "https://token.actions.githubusercontent.com",
    }


@pytest.mark.parametrize("purpose", list(Purpose))
def test_each_vault_role_is_bound_to_exact_claims_with_a_short_token_and_only_its_policy(
    run: ProgramRun, purpose: Purpose
) -> None:
    role = run.one("vault:jwt/authBackendRole:AuthBackendRole", f"ci-{purpose.value}")
    claims = {
        Purpose.PREVIEW: {"repository": REPO, "environment": "prod-preview"},
        Purpose.DEPLOY: {"repository": REPO, "environment": "production", "ref": "refs/heads/main"},
        Purpose.DRIFT: {"repository": REPO, "ref": "refs/heads/main"},
    }[purpose]
    subject = {
        Purpose.PREVIEW: f"repo:{REPO}:environment:prod-preview",
        Purpose.DEPLOY: f"repo:{REPO}:environment:production",
        Purpose.DRIFT: f"repo:{REPO}:ref:refs/heads/main",
    }[purpose]
    assert role.inputs == {
        "backend": "github-actions",
        "roleName": f"secure-mesh-{purpose.value}",
        "roleType": "jwt",
        "boundAudiences": ["vault"],
        "boundSubject": subject,
        "boundClaims": claims,
        "boundClaimsType": "string",
        "userClaim": "sub",
        "tokenPolicies": [f"secure-mesh-ci-{purpose.value}"],
        "tokenNoDefaultPolicy": True,
        "tokenType": "service",
        "tokenTtl": TTL[purpose],
        "tokenMaxTtl": TTL[purpose],
        "tokenExplicitMaxTtl": TTL[purpose],
    }
    policy = run.one("vault:index/policy:Policy", f"ci-{purpose.value}")
    auth = run.one("vault:jwt/authBackend:AuthBackend")
    assert role.property_dependencies["tokenPolicies"] == (policy.urn,), "the policy must exist before the role"
    assert role.property_dependencies["backend"] == (auth.urn,), "the mount must exist before the role"
    assert policy.inputs == {
        "name": f"secure-mesh-ci-{purpose.value}",
        "policy": vault_policy_hcl(vault_policy_paths(SETTINGS, purpose)),
    }


@pytest.mark.parametrize("purpose", list(Purpose))
def test_each_iam_role_trusts_only_its_subject_and_holds_only_its_permissions(
    run: ProgramRun, purpose: Purpose
) -> None:
    role = run.one("aws:iam/role:Role", purpose.value)
    provider = run.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert {**role.inputs, "assumeRolePolicy": json.loads(role.inputs["assumeRolePolicy"])} == {
        "name": f"secure-mesh-{purpose.value}",
        "description": f"secure-mesh pipelines: {purpose.value} (GitHub OIDC, bootstrap/)",
        "assumeRolePolicy": trust_policy(PROVIDER_ARN, REPO, purpose),
        "maxSessionDuration": 3600.0,
    }
    assert role.property_dependencies["assumeRolePolicy"] == (provider.urn,)
    policy = run.one("aws:iam/rolePolicy:RolePolicy", purpose.value)
    assert {**policy.inputs, "policy": json.loads(policy.inputs["policy"])} == {
        "role": f"secure-mesh-{purpose.value}",
        "name": "secure-mesh-pipeline",
        "policy": permissions_policy(SETTINGS, purpose, SECRETS_KEY_ARN),
    }
    assert policy.property_dependencies["role"] == (role.urn,)


def test_the_oidc_provider_is_githubs_for_sts(run: ProgramRun) -> None:
    assert run.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider").inputs == {
        "url": "https://token.actions.githubusercontent.com",
        "clientIdLists": ["sts.amazonaws.com"],
    }


@pytest.mark.parametrize(
    ("purpose", "access_policy"),
    [
        (Purpose.PREVIEW, "AmazonEKSViewPolicy"),
        (Purpose.DRIFT, "AmazonEKSAdminViewPolicy"),
        (Purpose.DEPLOY, "AmazonEKSClusterAdminPolicy"),
    ],
)
def test_each_role_gets_its_cluster_access_after_its_access_entry(
    run: ProgramRun, purpose: Purpose, access_policy: str
) -> None:
    role_arn = f"arn:aws:iam::111122223333:role/secure-mesh-{purpose.value}"
    entry = run.one("aws:eks/accessEntry:AccessEntry", purpose.value)
    assert entry.inputs == {"clusterName": "prod-eu-west-1", "principalArn": role_arn, "type": "STANDARD"}
    association = run.one("aws:eks/accessPolicyAssociation:AccessPolicyAssociation", purpose.value)
    assert association.inputs == {
        "clusterName": "prod-eu-west-1",
        "principalArn": role_arn,
        "policyArn": f"arn:aws:eks::aws:cluster-access-policy/{access_policy}",
        "accessScope": {"type": "cluster"},
    }
    assert entry.urn in association.dependencies, "EKS refuses an association before the principal's access entry"


def test_the_stack_secrets_key_rotates_and_is_protected(run: ProgramRun) -> None:
    key = run.one("aws:kms/key:Key")
    assert key.protect
    assert key.inputs == {
        "description": "Encrypts the secure-mesh prod stack's secrets (Pulumi awskms secrets provider)",
        "keyUsage": "ENCRYPT_DECRYPT",
        "customerMasterKeySpec": "SYMMETRIC_DEFAULT",
        "enableKeyRotation": True,
        "deletionWindowInDays": 30.0,
    }
    alias = run.one("aws:kms/alias:Alias")
    assert alias.inputs == {
        "name": "alias/secure-mesh-prod-secrets",
        "targetKeyId": "11111111-2222-3333-4444-555555555555",
    }


def test_outputs_give_stack_init_and_the_workflows_what_they_need(run: ProgramRun) -> None:
    assert run.outputs == {
        "secretsProvider": "awskms://alias/secure-mesh-prod-secrets?region=eu-west-1",
        "awsRoleArns": {p.value: f"arn:aws:iam::111122223333:role/secure-mesh-{p.value}" for p in Purpose},
        "vaultRoles": {p.value: f"secure-mesh-{p.value}" for p in Purpose},
        "vaultJwtMount": "github-actions",
    }


def test_the_policies_are_scoped_to_the_names_the_prod_mesh_stack_really_uses() -> None:
    mesh = load_stack_settings("prod")
    layout = Layout(mesh)
    assert SETTINGS.vault.mount_prefix == layout.mount_prefix
    assert SETTINGS.vault.kubernetes_auth_mount == layout.kubernetes_auth_path
    assert layout.policy_name(next(iter(layout.identities))).startswith(f"{SETTINGS.vault.policy_prefix}-")
    assert layout.mesh_ca_policy_name.startswith(f"{SETTINGS.vault.policy_prefix}-")
    assert mesh.pki.aws_kms is not None
    assert SETTINGS.aws.root_key_arn == mesh.pki.aws_kms.key_id
    assert SETTINGS.aws.region == mesh.pki.aws_kms.region
    assert SETTINGS.vault.address == mesh.vault.address
    assert SETTINGS.vault.audit_device_path == layout.audit_device_path
