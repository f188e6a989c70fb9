"""Who reviews logins, which accounts log in, which audience each role checks, and no role keeps `default`.

Pure checks on the layout's data, then the registered resources: what a role checks must be what its
client presents (the app agent's projected token volume, the gateway's ``SecretProviderClass``).
"""

from __future__ import annotations

from typing import Any

import pytest

from secure_mesh.composition.apps import app_args, gateway_args
from secure_mesh.identities.reviewers import ServiceAccountRef, ca_reader_clients, vault_login_service_accounts
from secure_mesh.identities.roles import dedicated_audience_possible, role_specs, workload_audience
from secure_mesh.onboarding import identity
from secure_mesh.onboarding.plan import agent_annotations, token_volumes
from secure_mesh.settings import SettingsError
from tests.harness import ProgramRun, deep_merge, load_stack_config, run_program
from tests.identities.variants import EVERYTHING_ON, layout_for, prod_variant_run, settings_for
from tests.onboarding.stacks import ALL_IMAGES_PINNED

API_AUDIENCE = "https://kubernetes.default.svc.cluster.local"
ROLE = "vault:kubernetes/authBackendRole:AuthBackendRole"
SPC = "kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass"
VAULT_AUTH = "kubernetes:secrets.hashicorp.com/v1beta1:VaultAuth"
TOKEN_VOLUME_ANNOTATION = "vault.hashicorp.com/agent-service-account-token-volume-name"


def test_prod_login_accounts_are_exactly_the_bound_ones() -> None:
    assert vault_login_service_accounts(layout_for("prod")) == (
        ServiceAccountRef("checkout", "checkout"),
        ServiceAccountRef("consul", "api-gateway-certificate"),
        ServiceAccountRef("consul", "consul-consul-connect-injector"),
        ServiceAccountRef("consul", "consul-consul-server"),
        ServiceAccountRef("consul", "consul-consul-server-acl-init"),
        ServiceAccountRef("storefront", "storefront"),
    )


def test_ca_read_clients_follow_the_enabled_chart_components() -> None:
    assert ca_reader_clients(layout_for("prod")) == (
        ServiceAccountRef("consul", "consul-consul-connect-injector"),
        ServiceAccountRef("consul", "consul-consul-server-acl-init"),
    )
    assert ca_reader_clients(layout_for("dev", EVERYTHING_ON)) == (
        ServiceAccountRef("consul", "consul-consul-client"),
        ServiceAccountRef("consul", "consul-consul-connect-injector"),
        ServiceAccountRef("consul", "consul-consul-mesh-gateway"),
        ServiceAccountRef("consul", "consul-consul-partition-init"),
        ServiceAccountRef("consul", "consul-consul-server-acl-init"),
    )


def test_no_gateway_account_without_a_routed_app() -> None:
    from tests.harness import load_stack_config

    apps = [{k: v for k, v in app.items() if k != "route"} for app in load_stack_config("prod")["apps"]]
    layout = layout_for("prod", {"apps": apps})
    accounts = vault_login_service_accounts(layout)
    assert ServiceAccountRef("consul", "api-gateway-certificate") not in accounts
    assert ServiceAccountRef("storefront", "storefront") in accounts


@pytest.mark.parametrize(
    ("stack", "override", "expected"),
    [
        ("dev", None, "vault"),  # in-cluster: Vault's own token reviews, any audience can be checked
        ("prod", None, API_AUDIENCE),  # client JWT is the TokenReview bearer: the API server's audience only
        ("prod", {"vault": {"tokenReviewer": "long-lived-secret"}}, "vault"),
        ("dev", {"vault": {"workloadAudience": "vault.dev.example"}}, "vault.dev.example"),
        ("prod", {"vault": {"workloadAudience": "vault.dev.example"}}, API_AUDIENCE),
    ],
)
def test_workload_audience_is_dedicated_only_where_the_reviewer_allows(
    stack: str, override: dict[str, Any] | None, expected: str
) -> None:
    settings = settings_for(stack, override)
    assert workload_audience(settings) == expected
    assert dedicated_audience_possible(settings) == (expected != API_AUDIENCE)


def test_consul_identities_always_check_the_api_servers_audience() -> None:
    for stack in ("dev", "prod"):
        assert {spec.audience for spec in role_specs(layout_for(stack))} == {API_AUDIENCE}, stack


@pytest.mark.parametrize(
    ("stack", "override"), [("dev", None), ("prod", None), ("prod", {"vault": {"tokenReviewer": "long-lived-secret"}})]
)
def test_what_each_app_presents_is_what_its_role_checks(stack: str, override: dict[str, Any] | None) -> None:
    layout = layout_for(stack, override)
    audience = workload_audience(layout.settings)
    for app in layout.settings.apps:
        role = identity.app_role(app_args(layout, app), workload_audience(layout.settings))
        assert role.audience == audience, app.name
        annotations = agent_annotations(layout, app)
        volumes = token_volumes(layout)
        if audience == API_AUDIENCE:
            # The agent presents the pod's default token, whose audience is the API server's.
            assert TOKEN_VOLUME_ANNOTATION not in annotations, app.name
            assert volumes == []
        else:
            assert annotations[TOKEN_VOLUME_ANNOTATION] == "vault-token"
            assert volumes == [
                {
                    "name": "vault-token",
                    "projected": {
                        "sources": [
                            {"serviceAccountToken": {"audience": audience, "expirationSeconds": 3600, "path": "token"}}
                        ]
                    },
                }
            ]
    gateway = gateway_args(layout.settings, layout)
    assert gateway is not None
    assert identity.gateway_role(gateway, workload_audience(layout.settings)).audience == audience


def _gateway_audiences(run: ProgramRun) -> tuple[str, str]:
    """The audience the gateway's role checks, and the one its certificate's login requests (VSO or CSI)."""
    role = run.one(ROLE, "secure-mesh-onboarding-gateway-role")
    if run.of_type(SPC):
        return role.inputs["audience"], run.one(SPC).inputs["spec"]["parameters"]["audience"]
    auth = run.one(VAULT_AUTH)
    [audience] = auth.inputs["spec"]["kubernetes"]["audiences"]
    return role.inputs["audience"], audience


def test_gateway_certificate_login_requests_the_audience_its_role_checks(
    dev_run: ProgramRun, prod_run: ProgramRun
) -> None:
    assert _gateway_audiences(dev_run) == ("vault", "vault")
    assert _gateway_audiences(prod_run) == (API_AUDIENCE, API_AUDIENCE)
    assert _gateway_audiences(prod_variant_run("long-lived-reviewer")) == ("vault", "vault")
    csi = {"consul": {"apiGatewayCertificateDelivery": "csi"}, "images": ALL_IMAGES_PINNED}
    assert _gateway_audiences(run_program(deep_merge(load_stack_config("prod"), csi), stack="prod")) == (
        API_AUDIENCE,
        API_AUDIENCE,
    )


def test_exported_token_volumes_match_the_annotations(dev_run: ProgramRun, prod_run: ProgramRun) -> None:
    for run, audience in ((dev_run, "vault"), (prod_run, API_AUDIENCE)):
        volumes, annotations = run.outputs["appVaultTokenVolumes"], run.outputs["appVaultAnnotations"]
        assert run.outputs["vaultWorkloadAudience"] == audience
        assert set(volumes) == set(annotations)
        for app, app_volumes in volumes.items():
            named = annotations[app].get(TOKEN_VOLUME_ANNOTATION)
            assert [v["name"] for v in app_volumes] == ([named] if named else []), app


def test_every_registered_role_drops_the_default_policy(any_stack: ProgramRun) -> None:
    roles = any_stack.of_type(ROLE)
    assert len(roles) >= 5  # four Consul identities and at least one app (or the gateway)
    for role in roles:
        assert role.inputs["tokenNoDefaultPolicy"] is True, role.name
        assert "default" not in role.inputs["tokenPolicies"], role.name


@pytest.mark.parametrize(
    ("override", "path", "fragment"),
    [
        (
            {"vault": {"tokenReviewer": "long-lived-secret"}},
            "vault.tokenReviewer",
            "only when vault.placement is 'external'",
        ),
        ({"vault": {"tokenReviewer": "forever"}}, "vault.tokenReviewer", "client-jwt"),
        ({"vault": {"audit": {"type": "socket"}}}, "vault.audit.address", "is required"),
        ({"vault": {"audit": {"filePath": "discard"}}}, "vault.audit.filePath", "throws every audit entry away"),
        ({"vault": {"audit": {"filePath": "audit.log"}}}, "vault.audit.filePath", "absolute file path"),
        ({"vault": {"audit": {"type": "syslog", "filePath": "/var/log/a"}}}, "vault.audit.filePath", "only to"),
        ({"vault": {"audit": {"address": "logs:9090"}}}, "vault.audit.address", "applies only to"),
        ({"vault": {"audit": {"type": "kafka"}}}, "vault.audit.type", "syslog"),
        ({"vault": {"audit": {"logRaw": True}}}, "vault.audit.logRaw", ""),
    ],
)
def test_bad_identity_and_audit_settings_name_their_key(override: dict[str, Any], path: str, fragment: str) -> None:
    with pytest.raises(SettingsError) as caught:
        settings_for("dev", override)
    problems = {p.path: p.message for p in caught.value.problems}
    assert path in problems, caught.value
    assert fragment in problems[path], problems[path]


def test_audit_in_a_vault_namespace_must_be_turned_off_explicitly() -> None:
    with pytest.raises(SettingsError) as caught:
        settings_for("prod", {"vault": {"namespace": "team-a"}})
    assert [p.path for p in caught.value.problems] == ["vault.audit.enabled"]
    assert "only in the root namespace" in caught.value.problems[0].message
    with pytest.raises(SettingsError):
        settings_for("dev", {"vault": {"namespace": "team-a", "audit": {"enabled": True}}})
    assert settings_for("prod", {"vault": {"namespace": "team-a", "audit": {"enabled": False}}}).vault.namespace
    assert settings_for("dev", {"vault": {"namespace": "team-a"}}).vault.audit.enabled is None

