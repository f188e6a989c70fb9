"""App identities: exact policies and role bindings, registered as planned, and no app reaches another's paths."""

from __future__ import annotations

import json

import pytest

from secure_mesh.composition.apps import app_args, gateway_args
from secure_mesh.identities.policies import Capability, PolicyDocument
from secure_mesh.identities.roles import AuthRoleSpec, workload_audience
from secure_mesh.layout import Layout
from secure_mesh.onboarding import identity
from secure_mesh.onboarding.args import GatewayArgs
from secure_mesh.settings import AppSettings
from tests.harness import ProgramRun
from tests.onboarding.stacks import onboarding_config, onboarding_layout, onboarding_run, onboarding_settings


def app_policy(layout: Layout, app: AppSettings) -> PolicyDocument:
    """The app's policy document, built from its Args as the composition maps them."""
    return identity.app_policy(app_args(layout, app))


def app_role(layout: Layout, app: AppSettings) -> AuthRoleSpec:
    """The app's role, built from its Args as the composition maps them."""
    return identity.app_role(app_args(layout, app), workload_audience(layout.settings))


def _gateway(layout: Layout) -> GatewayArgs:
    gateway = gateway_args(layout.settings, layout)
    assert gateway is not None, "the stack has no gateway"
    return gateway


def gateway_policy(layout: Layout) -> PolicyDocument:
    """The gateway's policy document, from its Args."""
    return identity.gateway_policy(_gateway(layout))


def gateway_role(layout: Layout) -> AuthRoleSpec:
    """The gateway's role, from its Args."""
    return identity.gateway_role(_gateway(layout), workload_audience(layout.settings))

ROLE = "vault:kubernetes/authBackendRole:AuthBackendRole"
POLICY = "vault:index/policy:Policy"
AUDIENCE = "vault"
"""The dev stack's Vault runs in the cluster and reviews with its own token, so apps check the dedicated audience."""
TOKEN_SELF = {"auth/token/lookup-self": ["read"], "auth/token/renew-self": ["update"]}


def _app(name: str) -> AppSettings:
    return next(a for a in onboarding_layout().settings.apps if a.name == name)


def test_app_policies_grant_exactly_their_own_paths() -> None:
    layout = onboarding_layout()
    assert app_policy(layout, _app("web")).paths == {"consul/kv/data/apps/web/session-key": ["read"], **TOKEN_SELF}
    assert app_policy(layout, _app("orders")).paths == {
        "consul/database/creds/app-orders": ["read"],
        "consul/kv/data/apps/orders/api-key": ["read"],
        **TOKEN_SELF,
    }
    assert app_policy(layout, _app("api")).paths == TOKEN_SELF, "an app without secrets or database: its token only"
    assert json.loads(app_policy(layout, _app("orders")).render()) == {
        "path": {
            "auth/token/lookup-self": {"capabilities": ["read"]},
            "auth/token/renew-self": {"capabilities": ["update"]},
            "consul/database/creds/app-orders": {"capabilities": ["read"]},
            "consul/kv/data/apps/orders/api-key": {"capabilities": ["read"]},
        }
    }


def test_gateway_policy_only_issues_listener_certificates() -> None:
    layout = onboarding_layout()
    assert gateway_policy(layout).name == "consul-dc1-api-gateway"
    assert gateway_policy(layout).paths == {"consul/gateway/pki_int1/issue/api-gateway": ["create", "update"]}
    role = gateway_role(layout)
    # vso (the default): the account Vault Secrets Operator presents for the gateway's VaultAuth.
    assert (role.role_name, role.bound_service_account_names, role.bound_service_account_namespaces) == (
        "api-gateway",
        ("api-gateway-certificate",),
        ("consul",),
    )
    csi = Layout(onboarding_settings(config=onboarding_config(consul={"apiGatewayCertificateDelivery": "csi"})))
    role = gateway_role(csi)
    # csi: the Gateway's own account (the CSI volume is mounted by a pod running as it).
    assert (role.role_name, role.bound_service_account_names, role.bound_service_account_namespaces) == (
        "api-gateway",
        ("api-gateway",),
        ("consul",),
    )


@pytest.mark.parametrize(
    ("app", "namespace", "account"),
    [("web", "web", "web"), ("api", "api", "api"), ("orders", "orders", "orders")],
)
def test_each_app_role_is_registered_bound_to_exactly_its_service_account(
    app: str, namespace: str, account: str
) -> None:
    run = onboarding_run()
    role = run.one(ROLE, f"secure-mesh-onboarding-app-{app}-role")
    assert role.inputs == {
        "backend": "kubernetes-dc1",
        "roleName": f"app-{app}",
        "boundServiceAccountNames": [account],
        "boundServiceAccountNamespaces": [namespace],
        "audience": AUDIENCE,
        "aliasNameSource": "serviceaccount_uid",
        "tokenTtl": 3600,
        "tokenMaxTtl": 14400,
        "tokenPolicies": [f"consul-dc1-app-{app}"],
        "tokenNoDefaultPolicy": True,
    }, f"role of {app}"
    spec = app_role(onboarding_layout(), _app(app))
    assert spec.token_ttl <= spec.token_max_ttl


def test_registered_policies_are_the_documents() -> None:
    run, layout = onboarding_run(), onboarding_layout()
    for app in layout.settings.apps:
        policy = run.one(POLICY, f"secure-mesh-onboarding-app-{app.name}-policy")
        assert policy.inputs["name"] == layout.app(app).policy
        assert policy.inputs["policy"] == app_policy(layout, app).render(), f"policy of {app.name}"
    gateway = run.one(POLICY, "secure-mesh-onboarding-gateway-policy")
    assert gateway.inputs["policy"] == gateway_policy(layout).render()


def _access(run: ProgramRun) -> dict[str, list[PolicyDocument]]:
    documents = {
        r.inputs["name"]: PolicyDocument.parse(r.inputs["name"], r.inputs["policy"]) for r in run.of_type(POLICY)
    }
    return {r.inputs["roleName"]: [documents[p] for p in r.inputs["tokenPolicies"]] for r in run.of_type(ROLE)}


def test_no_app_identity_reaches_another_apps_credentials_or_secrets() -> None:
    run, layout = onboarding_run(), onboarding_layout()
    access = _access(run)
    apps = layout.settings.apps
    for reader in apps:
        role = layout.app(reader).auth_role
        for owner in apps:
            paths = [layout.app_kv(owner, s).data_path for s in owner.secrets]
            if owner.database is not None:
                paths.append(layout.app(owner).database_creds_path)
            for path in paths:
                allowed = any(d.allows(path, Capability.READ) for d in access[role])
                assert allowed == (reader.name == owner.name), f"{role} read {path}: {allowed}"
    # The database app's own credentials: only its role, and not the gateway or any Consul identity.
    creds = layout.app(next(a for a in apps if a.name == "orders")).database_creds_path
    readers = {role for role, docs in access.items() if any(d.allows(creds, Capability.READ) for d in docs)}
    assert readers == {"app-orders"}


def test_app_identities_cannot_issue_certificates_or_touch_consul_secrets() -> None:
    run, layout = onboarding_run(), onboarding_layout()
    access = _access(run)
    for app in layout.settings.apps:
        role = layout.app(app).auth_role
        for path in (layout.gateway_pki_issue_path, layout.server_pki_issue_path, "consul/kv/data/consul/gossip"):
            for capability in Capability:
                assert not any(d.allows(path, capability) for d in access[role]), f"{role} {capability} {path}"
