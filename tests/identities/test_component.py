"""The VaultIdentities component under mocks: auth mount, its config per Vault placement, policies and roles."""

from __future__ import annotations

import json

from secure_mesh.identities.policies import documents_by_name
from tests.harness import ProgramRun, RegisteredResource, stack_of_run
from tests.identities.variants import everything_run, layout_for, prod_variant_run
from tests.mocks.identities import REVIEWER_JWT

COMPONENT = "secure-mesh:index:VaultIdentities"
AUTH = "vault:index/authBackend:AuthBackend"
AUTH_CONFIG = "vault:kubernetes/authBackendConfig:AuthBackendConfig"
ROLE = "vault:kubernetes/authBackendRole:AuthBackendRole"
POLICY = "vault:index/policy:Policy"
BINDING = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"
K8S_TYPES = ("kubernetes:core/v1:Namespace", "kubernetes:core/v1:ServiceAccount", BINDING, "kubernetes:core/v1:Secret")
PROD_CA = "-----BEGIN CERTIFICATE-----\nMIIBhzCCAS2gAwIBAgIUfAWDUzFn4bE6njfg2Nkj3Y0Tg2AwCgYIKoZIzj0EAwIw\n"


def _children(run: ProgramRun) -> list[RegisteredResource]:
    return run.children_of(run.one(COMPONENT))


def _reviewer_resources(run: ProgramRun) -> list[RegisteredResource]:
    return [r for r in _children(run) if r.type in K8S_TYPES]


def test_auth_mount_per_datacenter(dev_run: ProgramRun, prod_run: ProgramRun) -> None:
    assert dev_run.one(AUTH).inputs == {
        "type": "kubernetes",
        "path": "kubernetes-dc1",
        "description": "Kubernetes auth for Consul datacenter dc1",
    }
    assert prod_run.one(AUTH).inputs["path"] == "kubernetes-eu-west-1"


def test_auth_mount_is_protected_in_prod_only(dev_run: ProgramRun, prod_run: ProgramRun) -> None:
    assert prod_run.one(AUTH).protect, "prod auth mount must be protected"
    assert not dev_run.one(AUTH).protect, "dev auth mount must not be protected"


def test_in_cluster_vault_reviews_with_its_own_token(dev_run: ProgramRun) -> None:
    config = dev_run.one(AUTH_CONFIG)
    assert config.inputs == {
        "backend": "kubernetes-dc1",
        "kubernetesHost": "https://kubernetes.default.svc",
        "disableLocalCaJwt": False,
    }, f"{config.name}: in-cluster Vault must use its local token, not a reviewer JWT"
    assert _reviewer_resources(dev_run) == [], "no token reviewer resources when Vault runs in the cluster"


def test_external_vault_reviews_each_login_with_the_clients_own_jwt(prod_run: ProgramRun) -> None:
    config = prod_run.one(AUTH_CONFIG)
    assert config.inputs == {
        "backend": "kubernetes-eu-west-1",
        "kubernetesHost": "https://k8s-api.prod.example.com:6443",
        "kubernetesCaCert": config.inputs["kubernetesCaCert"],
        "disableLocalCaJwt": True,
    }, f"{config.name}: client-JWT review has no reviewer JWT and never uses a local token"
    assert config.inputs["kubernetesCaCert"].startswith(PROD_CA)
    assert config.secret_inputs == frozenset() or "tokenReviewerJwt" not in config.secret_inputs
    reviewers = _reviewer_resources(prod_run)
    assert [r.type for r in reviewers] == [BINDING], "only the auth-delegator binding: no reviewer account or Secret"
    binding = reviewers[0]
    assert binding.urn in config.dependencies, f"{config.name} must wait for the clients' TokenReview permission"
    assert "pulumi:providers:kubernetes::" in binding.provider


def _named_role_accounts(run: ProgramRun) -> set[tuple[str, str]]:
    """(namespace, name) of every service account a registered Kubernetes-auth role names (``*`` aside)."""
    return {
        (namespace, name)
        for role in run.of_type(ROLE)
        for name in role.inputs["boundServiceAccountNames"]
        for namespace in role.inputs["boundServiceAccountNamespaces"]
        if name != "*"
    }


def _subjects(binding: RegisteredResource) -> set[tuple[str, str]]:
    subjects = binding.inputs["subjects"]
    assert all(s["kind"] == "ServiceAccount" and set(s) == {"kind", "name", "namespace"} for s in subjects)
    pairs = [(s["namespace"], s["name"]) for s in subjects]
    assert len(pairs) == len(set(pairs)), "each service account once"
    assert pairs == sorted(pairs), "subjects in a stable order"
    return set(pairs)


def test_client_jwt_binding_is_exactly_the_accounts_that_log_in(prod_run: ProgramRun) -> None:
    binding = prod_run.one(BINDING, "secure-mesh-identities-vault-clients-auth-delegator")
    assert binding.inputs["metadata"] == {"name": "consul-eu-west-1-vault-clients-auth-delegator"}
    assert binding.inputs["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": "system:auth-delegator",
    }
    # Every role's named account (Consul's identities, both apps, the gateway certificate's VSO login), nothing else:
    # the CA-read role's clients in prod (connect-injector, server-acl-init) are named by their own roles.
    assert (
        _subjects(binding)
        == _named_role_accounts(prod_run)
        == {
            ("consul", "consul-consul-server"),
            ("consul", "consul-consul-server-acl-init"),
            ("consul", "consul-consul-connect-injector"),
            ("consul", "api-gateway-certificate"),
            ("storefront", "storefront"),
            ("checkout", "checkout"),
        }
    )


def test_mesh_gateways_log_in_with_the_ca_read_role_and_are_bound_too() -> None:
    run = prod_variant_run("mesh-gateways")
    binding = run.one(BINDING, "secure-mesh-identities-vault-clients-auth-delegator")
    assert _subjects(binding) == _named_role_accounts(run) | {("consul", "consul-consul-mesh-gateway")}


def test_long_lived_reviewer_secret_is_an_explicit_opt_in() -> None:
    run = prod_variant_run("long-lived-reviewer")
    namespace = run.one("kubernetes:core/v1:Namespace", "secure-mesh-identities-reviewer-namespace")
    assert namespace.inputs["metadata"] == {"name": "vault-auth"}
    account = run.one("kubernetes:core/v1:ServiceAccount", "secure-mesh-identities-token-reviewer")
    assert account.inputs["metadata"] == {"name": "vault-token-reviewer", "namespace": "vault-auth"}
    binding = run.one(BINDING, "secure-mesh-identities-token-reviewer-binding")
    assert binding.inputs["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": "system:auth-delegator",
    }
    assert binding.inputs["subjects"] == [
        {"kind": "ServiceAccount", "name": "vault-token-reviewer", "namespace": "vault-auth"}
    ], "only the reviewer: clients need no TokenReview permission when a reviewer JWT is configured"
    token = run.one("kubernetes:core/v1:Secret", "secure-mesh-identities-token-reviewer-token")
    assert token.inputs["type"] == "kubernetes.io/service-account-token"
    assert token.inputs["metadata"] == {
        "name": "vault-token-reviewer-token",
        "namespace": "vault-auth",
        "annotations": {"kubernetes.io/service-account.name": "vault-token-reviewer"},
    }
    assert not [r for r in run.of_type(BINDING) if "vault-clients" in r.name], "no client binding with a reviewer"
    for resource in _reviewer_resources(run):
        assert "pulumi:providers:kubernetes::" in resource.provider, f"{resource.name}: explicit Kubernetes provider"


def test_long_lived_reviewer_config_carries_the_jwt_as_a_secret() -> None:
    run = prod_variant_run("long-lived-reviewer")
    config = run.one(AUTH_CONFIG)
    assert config.inputs == {
        "backend": "kubernetes-eu-west-1",
        "kubernetesHost": "https://k8s-api.prod.example.com:6443",
        "kubernetesCaCert": config.inputs["kubernetesCaCert"],
        "tokenReviewerJwt": REVIEWER_JWT,
        "disableLocalCaJwt": True,
    }
    assert "tokenReviewerJwt" in config.secret_inputs, f"{config.name}: reviewer JWT must be a secret input"
    token = run.one("kubernetes:core/v1:Secret", "secure-mesh-identities-token-reviewer-token")
    assert token.urn in config.dependencies, f"{config.name} must wait for the reviewer token"


def test_one_policy_per_identity_with_the_exact_document(any_stack: ProgramRun) -> None:
    policies = {r.inputs["name"]: r for r in any_stack.of_type(POLICY) if r.parent == any_stack.one(COMPONENT).urn}
    expected = documents_by_name(layout_for(stack_of_run(any_stack)))
    assert sorted(policies) == sorted(expected)
    for name, resource in policies.items():
        assert resource.inputs["policy"] == expected[name].render(), f"{resource.name}: policy text differs"
        assert "pulumi:providers:vault::" in resource.provider, f"{resource.name}: explicit Vault provider"


def test_dev_server_acl_init_policy_text(dev_run: ProgramRun) -> None:
    policy = dev_run.one(POLICY, "secure-mesh-identities-server-acl-init-policy")
    assert policy.inputs["name"] == "consul-dc1-server-acl-init"
    assert json.loads(policy.inputs["policy"]) == {
        "path": {
            "auth/token/lookup-self": {"capabilities": ["read"]},
            "auth/token/renew-self": {"capabilities": ["update"]},
            "consul/kv/data/consul/bootstrap-token": {"capabilities": ["read", "update"]},
            "consul/server/pki_int2/cert/ca": {"capabilities": ["read"]},
        }
    }


def _consul_roles(run: ProgramRun) -> list[RegisteredResource]:
    """The roles of Consul's identities (onboarded apps and the gateway have theirs in the onboarding component)."""
    return [r for r in run.of_type(ROLE) if run.by_urn(r.parent).type == COMPONENT]


def test_roles_are_exact(dev_run: ProgramRun) -> None:
    roles = {r.inputs["roleName"]: r.inputs for r in _consul_roles(dev_run)}
    common = {
        "backend": "kubernetes-dc1",
        "boundServiceAccountNamespaces": ["consul"],
        "audience": "https://kubernetes.default.svc.cluster.local",
        "aliasNameSource": "serviceaccount_uid",
        "tokenTtl": 3600,
        "tokenMaxTtl": 14400,
        "tokenNoDefaultPolicy": True,
    }
    assert roles == {
        "consul-server": {
            **common,
            "roleName": "consul-server",
            "boundServiceAccountNames": ["consul-consul-server"],
            "tokenPolicies": ["consul-dc1-server", "consul-dc1-mesh-ca"],
        },
        "consul-server-acl-init": {
            **common,
            "roleName": "consul-server-acl-init",
            "boundServiceAccountNames": ["consul-consul-server-acl-init"],
            "tokenPolicies": ["consul-dc1-server-acl-init"],
        },
        "consul-connect-injector": {
            **common,
            "roleName": "consul-connect-injector",
            "boundServiceAccountNames": ["consul-consul-connect-injector"],
            "tokenPolicies": ["consul-dc1-connect-injector"],
        },
        "consul-ca-reader": {
            **common,
            "roleName": "consul-ca-reader",
            "boundServiceAccountNames": ["*"],
            "tokenPolicies": ["consul-dc1-ca-reader"],
        },
    }


def test_optional_roles_exist_only_when_enabled(dev_run: ProgramRun) -> None:
    assert {r.inputs["roleName"] for r in _consul_roles(everything_run())} == {
        "consul-server",
        "consul-client",
        "consul-server-acl-init",
        "consul-partition-init",
        "consul-connect-injector",
        "consul-ca-reader",
    }
    assert "consul-client" not in {r.inputs["roleName"] for r in _consul_roles(dev_run)}


def test_roles_wait_for_the_auth_config_and_their_policies(dev_run: ProgramRun) -> None:
    config = dev_run.one(AUTH_CONFIG)
    policy_urns = {r.inputs["name"]: r.urn for r in dev_run.of_type(POLICY)}
    for role in _consul_roles(dev_run):
        assert config.urn in role.dependencies, f"{role.name} must wait for the auth config"
        for policy in role.inputs["tokenPolicies"]:
            assert policy_urns[policy] in role.dependencies, f"{role.name} must wait for policy {policy}"


def test_children_are_parented_and_use_explicit_providers(any_stack: ProgramRun) -> None:
    children = _children(any_stack)
    assert children, "the identities component registered nothing"
    for child in children:
        assert child.name.startswith("secure-mesh-identities-"), child.name
        provider = "kubernetes" if child.type.startswith("kubernetes:") else "vault"
        assert f"pulumi:providers:{provider}::" in child.provider, f"{child.name} uses provider {child.provider!r}"


def test_consul_release_waits_for_every_identity(dev_run: ProgramRun) -> None:
    consul = dev_run.one("secure-mesh:index:ConsulCluster")
    for resource in _children(dev_run):
        assert resource.urn in consul.dependencies, f"the Consul release must wait for {resource.name}"


def test_nothing_logs_in_before_the_clients_may_review_themselves(prod_run: ProgramRun) -> None:
    binding = prod_run.one(BINDING, "secure-mesh-identities-vault-clients-auth-delegator")
    consul = prod_run.one("secure-mesh:index:ConsulCluster")
    assert binding.urn in consul.dependencies, "the Consul release (and the apps after it) wait for the binding"
    for role in _consul_roles(prod_run):
        assert prod_run.one(AUTH_CONFIG).urn in role.dependencies, role.name
