"""VaultIdentities alone: built from hand-written Args (no settings, no layout, no stack file) under mocks.

Whole inputs of every resource for each way logins are reviewed, the dependencies the data carries (the config
takes the mount's path from the mount, roles take it from the config and their policy names from the policies),
the outputs, refusals before anything is registered, and the wire (dict) form building exactly the same resources.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from typing import Any

import pytest
from pulumi.runtime.sync_await import _sync_await

from secure_mesh.identities.component import (
    ClientJwtReviewArgs,
    KubernetesAuthRoleArgs,
    ReviewerSecretArgs,
    ServiceAccountArgs,
    VaultIdentities,
    VaultIdentitiesArgs,
    VaultPolicyArgs,
)
from tests.consul.helpers import recorded_shape, run_alone, to_wire
from tests.harness import PROJECT_DIR, ProgramRun
from tests.mocks.identities import REVIEWER_JWT

K8S_CA = "-----BEGIN CERTIFICATE-----\nMIIBk8s-stand-in\n-----END CERTIFICATE-----\n"
APP_POLICY = VaultPolicyArgs(
    key="app",
    name="lab-app",
    paths={"kv/data/app/*": ("read",), "auth/token/renew-self": ("update",), "pki/issue/app": ("update", "create")},
)
CA_POLICY = VaultPolicyArgs(key="ca", name="lab-ca", paths={"pki/cert/ca": ("read",)})
APP_ROLE = KubernetesAuthRoleArgs(
    key="app",
    role_name="app",
    service_account_names=("app",),
    service_account_namespaces=("apps",),
    audience="vault",
    policies=("lab-app", "lab-ca"),
)
READER_ROLE = KubernetesAuthRoleArgs(
    key="reader",
    role_name="ca-reader",
    service_account_names=("*",),
    service_account_namespaces=("apps",),
    audience="https://kubernetes.default.svc",
    policies=("lab-ca", "managed-elsewhere"),
    token_ttl=600,
    token_max_ttl=1200,
)
CLIENT_JWT = ClientJwtReviewArgs(
    binding_name="lab-vault-clients",
    service_accounts=(ServiceAccountArgs("apps", "app"), ServiceAccountArgs("apps", "reader")),
)
ARGS = VaultIdentitiesArgs(
    auth_path="k8s-lab",
    auth_description="Kubernetes auth for the lab",
    kubernetes_host="https://api.lab:6443",
    kubernetes_ca_cert=K8S_CA,
    client_jwt_review=CLIENT_JWT,
    policies=(APP_POLICY, CA_POLICY),
    roles=(APP_ROLE, READER_ROLE),
    protect=True,
)
AUTH_DELEGATOR = {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:auth-delegator"}
ROLE_COMMON = {"backend": "k8s-lab", "aliasNameSource": "serviceaccount_uid", "tokenNoDefaultPolicy": True}


def _build(args: Any) -> tuple[ProgramRun, VaultIdentities]:
    built: list[VaultIdentities] = []
    run = run_alone(lambda: built.append(VaultIdentities("lab-identities", args)))
    return run, built[0]


@pytest.fixture(scope="module")
def alone() -> tuple[ProgramRun, VaultIdentities]:
    return _build(ARGS)


def _inputs(run: ProgramRun) -> dict[str, dict[str, Any]]:
    return {r.name: r.inputs for r in run.resources if r.custom}


def test_every_resource_with_its_whole_inputs(alone: tuple[ProgramRun, VaultIdentities]) -> None:
    run, _ = alone
    assert _inputs(run) == {
        "lab-identities-kubernetes-auth": {
            "type": "kubernetes",
            "path": "k8s-lab",
            "description": "Kubernetes auth for the lab",
        },
        "lab-identities-vault-clients-auth-delegator": {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "lab-vault-clients"},
            "roleRef": AUTH_DELEGATOR,
            "subjects": [
                {"kind": "ServiceAccount", "name": "app", "namespace": "apps"},
                {"kind": "ServiceAccount", "name": "reader", "namespace": "apps"},
            ],
        },
        "lab-identities-kubernetes-auth-config": {
            "backend": "k8s-lab",
            "kubernetesHost": "https://api.lab:6443",
            "kubernetesCaCert": K8S_CA,
            "disableLocalCaJwt": True,
        },
        "lab-identities-app-policy": {
            "name": "lab-app",
            "policy": json.dumps(
                {
                    "path": {
                        "auth/token/renew-self": {"capabilities": ["update"]},
                        "kv/data/app/*": {"capabilities": ["read"]},
                        "pki/issue/app": {"capabilities": ["create", "update"]},
                    }
                },
                indent=2,
                sort_keys=True,
            ),
        },
        "lab-identities-ca-policy": {
            "name": "lab-ca",
            "policy": json.dumps({"path": {"pki/cert/ca": {"capabilities": ["read"]}}}, indent=2, sort_keys=True),
        },
        "lab-identities-app-role": {
            **ROLE_COMMON,
            "roleName": "app",
            "boundServiceAccountNames": ["app"],
            "boundServiceAccountNamespaces": ["apps"],
            "audience": "vault",
            "tokenTtl": 3600,
            "tokenMaxTtl": 14400,
            "tokenPolicies": ["lab-app", "lab-ca"],
        },
        "lab-identities-reader-role": {
            **ROLE_COMMON,
            "roleName": "ca-reader",
            "boundServiceAccountNames": ["*"],
            "boundServiceAccountNamespaces": ["apps"],
            "audience": "https://kubernetes.default.svc",
            "tokenTtl": 600,
            "tokenMaxTtl": 1200,
            "tokenPolicies": ["lab-ca", "managed-elsewhere"],
        },
    }
    protected = {r.name for r in run.resources if r.protect}
    assert protected == {"lab-identities-kubernetes-auth"}, "only the auth mount is protected"
    component = run.one("secure-mesh:index:VaultIdentities")
    assert all(r.parent == component.urn for r in run.resources if r.custom)


def test_the_data_carries_every_dependency(alone: tuple[ProgramRun, VaultIdentities]) -> None:
    run, _ = alone
    name_of = {r.urn: r.name for r in run.resources}
    config = next(r for r in run.resources if r.name == "lab-identities-kubernetes-auth-config")
    assert {name_of[u] for u in config.property_dependencies["backend"]} == {"lab-identities-kubernetes-auth"}
    # The binding is named by no property; logins are refused until it exists (documented depends_on).
    assert {name_of[u] for u in config.dependencies} == {
        "lab-identities-kubernetes-auth",
        "lab-identities-vault-clients-auth-delegator",
    }
    for role, policies in (
        ("lab-identities-app-role", {"lab-identities-app-policy", "lab-identities-ca-policy"}),
        ("lab-identities-reader-role", {"lab-identities-ca-policy"}),  # 'managed-elsewhere' is a plain name
    ):
        resource = next(r for r in run.resources if r.name == role)
        assert {name_of[u] for u in resource.property_dependencies["backend"]} == {
            "lab-identities-kubernetes-auth-config"
        }
        assert {name_of[u] for u in resource.property_dependencies["tokenPolicies"]} == policies
        assert {name_of[u] for u in resource.dependencies} == {"lab-identities-kubernetes-auth-config", *policies}


def test_outputs(alone: tuple[ProgramRun, VaultIdentities]) -> None:
    _, identities = alone
    resolved = {key: _sync_await(getattr(identities, key).future()) for key in VaultIdentities.__annotations__}
    assert resolved == {
        "auth_mount_path": "k8s-lab",
        # Computed by Vault: the mocks answer in its form (tests/mocks/identities.py), from the resource name.
        "auth_mount_accessor": "auth_kubernetes_" + hashlib.sha256(b"lab-identities-kubernetes-auth").hexdigest()[:8],
        "role_names": {"app": "app", "reader": "ca-reader"},
        "policy_names": {"app": "lab-app", "ca": "lab-ca"},
    }


def test_vault_in_the_cluster_reviews_with_its_own_token_and_needs_no_kubernetes_resource() -> None:
    run, _ = _build(replace(ARGS, client_jwt_review=None, kubernetes_ca_cert=None, protect=False))
    assert [r.type.split(":")[0] for r in run.resources if r.custom] == ["vault"] * 6
    config = next(r for r in run.resources if r.name == "lab-identities-kubernetes-auth-config")
    assert config.inputs == {"backend": "k8s-lab", "kubernetesHost": "https://api.lab:6443", "disableLocalCaJwt": False}
    assert not any(r.protect for r in run.resources)


def test_a_long_lived_reviewer_secret_is_a_secret_input_of_the_config() -> None:
    reviewer = ReviewerSecretArgs(
        namespace="vault-auth", service_account="reviewer", binding_name="reviewer-delegator", secret_name="rev-token"
    )
    run, _ = _build(replace(ARGS, client_jwt_review=None, reviewer_secret=reviewer))
    kubernetes = {r.name: r.inputs for r in run.resources if r.type.startswith("kubernetes:")}
    assert kubernetes == {
        "lab-identities-reviewer-namespace": {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": "vault-auth"},
        },
        "lab-identities-token-reviewer": {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": "reviewer", "namespace": "vault-auth"},
            "automountServiceAccountToken": False,
        },
        "lab-identities-token-reviewer-binding": {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "reviewer-delegator"},
            "roleRef": AUTH_DELEGATOR,
            "subjects": [{"kind": "ServiceAccount", "name": "reviewer", "namespace": "vault-auth"}],
        },
        "lab-identities-token-reviewer-token": {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": "rev-token",
                "namespace": "vault-auth",
                "annotations": {"kubernetes.io/service-account.name": "reviewer"},
            },
            "type": "kubernetes.io/service-account-token",
        },
    }
    config = next(r for r in run.resources if r.name == "lab-identities-kubernetes-auth-config")
    assert config.inputs["tokenReviewerJwt"] == REVIEWER_JWT
    assert "tokenReviewerJwt" in config.secret_inputs
    assert config.inputs["disableLocalCaJwt"] is True


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"reviewer_secret": ReviewerSecretArgs("ns", "sa", "b", "s")},
            "client_jwt_review and reviewer_secret exclude each other",
        ),
        ({"policies": (APP_POLICY, APP_POLICY)}, "VaultIdentitiesArgs.policies: key(s) app given more than once"),
        ({"roles": (APP_ROLE, replace(READER_ROLE, key="app"))}, "VaultIdentitiesArgs.roles: key(s) app given more"),
        # What Vault itself refuses when the role is written (vault-plugin-auth-kubernetes path_role.go):
        (
            {"roles": (replace(APP_ROLE, service_account_names=()),)},
            "VaultIdentitiesArgs.roles[app].service_account_names can not be empty",
        ),
        (
            {"roles": (replace(APP_ROLE, service_account_names=("app", "*")),)},
            "VaultIdentitiesArgs.roles[app].service_account_names: can not mix '*' with values ['app']",
        ),
        (
            {"roles": (replace(APP_ROLE, service_account_namespaces=()),)},
            "VaultIdentitiesArgs.roles[app].service_account_namespaces can not be empty",
        ),
        (
            {"roles": (replace(APP_ROLE, token_ttl=7200, token_max_ttl=3600),)},
            "VaultIdentitiesArgs.roles[app]: token_ttl 7200 is greater than token_max_ttl 3600",
        ),
    ],
)
def test_contradicting_args_are_refused_before_anything_is_registered(change: dict[str, Any], message: str) -> None:
    registered: list[str] = []

    def program() -> None:
        try:
            VaultIdentities("lab-identities", replace(ARGS, **change))
        except ValueError as error:
            registered.append(str(error))

    run = run_alone(program)
    assert len(registered) == 1 and message in registered[0]
    assert [r for r in run.resources if r.custom] == []


def test_the_wire_form_builds_the_same_resources(alone: tuple[ProgramRun, VaultIdentities]) -> None:
    run, _ = alone
    wire = to_wire(ARGS)
    assert isinstance(wire["roles"][0]["policies"], list) and wire["client_jwt_review"]["service_accounts"][0] == {
        "namespace": "apps",
        "name": "app",
    }
    wire_run, _ = _build(wire)
    assert recorded_shape(wire_run) == recorded_shape(run)


def test_equal_ttls_and_a_lone_wildcard_are_accepted() -> None:
    run, _ = _build(replace(ARGS, roles=(replace(READER_ROLE, token_ttl=1200),)))
    role = next(r for r in run.resources if r.name == "lab-identities-reader-role")
    assert (role.inputs["tokenTtl"], role.inputs["tokenMaxTtl"], role.inputs["boundServiceAccountNames"]) == (
        1200,
        1200,
        ["*"],
    )


def test_policies_need_no_dependency_on_anything(alone: tuple[ProgramRun, VaultIdentities]) -> None:
    """Vault does not check that a policy's paths exist, so policies wait for nothing (not even the mount)."""
    run, _ = alone
    for policy in (r for r in run.resources if r.type == "vault:index/policy:Policy"):
        assert policy.dependencies == (), policy.name


def test_the_example_in_the_docs_runs_alone() -> None:
    """docs/identities.md shows VaultIdentities used on its own; that block runs under mocks as written."""
    page = (PROJECT_DIR / "docs" / "identities.md").read_text()
    section = page.split("\n## The components on their own: Args and outputs\n", 1)[1].split("\n## ", 1)[0]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    run = run_alone(lambda: exec(code, {}))  # the project's own documentation
    assert {(r.type, r.name) for r in run.resources if r.custom} == {
        ("vault:index/authBackend:AuthBackend", "lab-kubernetes-auth"),
        ("vault:index/policy:Policy", "lab-app-policy"),
        ("vault:kubernetes/authBackendConfig:AuthBackendConfig", "lab-kubernetes-auth-config"),
        ("vault:kubernetes/authBackendRole:AuthBackendRole", "lab-app-role"),
    }
