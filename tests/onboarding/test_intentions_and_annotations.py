"""Upstreams are the apps' allow intentions (one graph, not duplicated), and the Vault agent annotations per app."""

from __future__ import annotations

from secure_mesh.layout import Layout
from secure_mesh.mesh.graph import AccessKind, build_graph
from secure_mesh.onboarding.plan import agent_annotations, all_agent_annotations
from tests.consul.helpers import stack_settings
from tests.harness import deep_merge, run_program
from tests.onboarding.stacks import onboarding_config, onboarding_layout, onboarding_run, secrets

INTENTIONS = "kubernetes:consul.hashicorp.com/v1alpha1:ServiceIntentions"


def test_declared_upstreams_are_registered_as_allow_intentions() -> None:
    run = onboarding_run()
    payments = run.one(INTENTIONS, "secure-mesh-intentions-payments-intentions").inputs["spec"]
    assert {"name": "orders", "action": "allow"} in payments["sources"], payments
    api = run.one(INTENTIONS, "secure-mesh-intentions-api-intentions").inputs["spec"]
    assert {"name": "web", "action": "allow"} in api["sources"], api
    graph = build_graph(onboarding_layout().settings)
    assert graph.access("orders", "payments").kind is AccessKind.ALLOW
    assert graph.access("payments", "orders").kind is AccessKind.DENY, "an upstream is one-way"
    assert graph.access("orders", "web").kind is AccessKind.DENY, "not an upstream: default deny"


def test_onboarding_registers_no_intentions_of_its_own() -> None:
    run = onboarding_run()
    onboarding = run.one("secure-mesh:index:AppOnboarding")
    owned = {r.type for r in run.resources if r.parent == onboarding.urn}
    assert not {t for t in owned if "ServiceIntentions" in t or "Intention" in t}, owned


def test_database_app_annotations_are_ready_to_use() -> None:
    layout = onboarding_layout()
    orders = next(a for a in layout.settings.apps if a.name == "orders")
    annotations = agent_annotations(layout, orders)
    assert annotations == {
        "vault.hashicorp.com/agent-inject": "true",
        "vault.hashicorp.com/role": "app-orders",
        "vault.hashicorp.com/auth-path": "auth/kubernetes-dc1",
        "vault.hashicorp.com/agent-service-account-token-volume-name": "vault-token",
        "vault.hashicorp.com/agent-inject-secret-database-credentials": "consul/database/creds/app-orders",
        "vault.hashicorp.com/agent-inject-template-database-credentials": (
            '{{- with secret "consul/database/creds/app-orders" -}}\n'
            "username={{ .Data.username }}\n"
            "password={{ .Data.password }}\n"
            "{{- end }}\n"
        ),
        "vault.hashicorp.com/agent-inject-secret-api-key": "consul/kv/data/apps/orders/api-key",
        "vault.hashicorp.com/agent-inject-template-api-key": (
            '{{- with secret "consul/kv/data/apps/orders/api-key" -}}{{ .Data.data.value }}{{- end }}'
        ),
        # dev's Vault serves TLS with the laptop CA (vault.tls.caCertFile), copied into each app namespace.
        "vault.hashicorp.com/tls-secret": layout.vault_ca_secret_name,
        "vault.hashicorp.com/ca-cert": "/vault/tls/tls.crt",
    }
    assert set(all_agent_annotations(layout)) == {"web", "api", "orders"}


def test_annotations_add_vault_tls_and_namespace_when_the_stack_needs_them() -> None:
    settings = stack_settings("prod", {"vault": {"namespace": "team-a", "audit": {"enabled": False}}})
    layout = Layout(settings)
    annotations = agent_annotations(layout, settings.apps[0])
    assert annotations["vault.hashicorp.com/tls-server-name"] == "vault.prod.example.com"
    assert annotations["vault.hashicorp.com/namespace"] == "team-a"
    assert annotations["vault.hashicorp.com/tls-secret"] == layout.vault_ca_secret_name
    assert annotations["vault.hashicorp.com/ca-cert"] == "/vault/tls/tls.crt"
    assert annotations["vault.hashicorp.com/auth-path"] == "auth/kubernetes-eu-west-1"


def test_prod_puts_vaults_public_ca_in_each_app_namespace_for_the_agent() -> None:
    run = onboarding_run("prod")
    copies = [r for r in run.of_type("kubernetes:core/v1:Secret") if _agent_ca_copy(r.name)]
    assert sorted(r.inputs["metadata"]["namespace"] for r in copies) == ["checkout", "orders", "storefront"]
    assert all("BEGIN CERTIFICATE" in r.inputs["stringData"]["tls.crt"] for r in copies)
    dev = onboarding_run("dev").of_type("kubernetes:core/v1:Secret")
    assert sorted(r.inputs["metadata"]["namespace"] for r in dev if _agent_ca_copy(r.name)) == ["api", "orders", "web"]
    public_ca = deep_merge(onboarding_config("dev"), {"vault": {"tls": {"caCertFile": None}}})
    run = run_program(public_ca, secrets=secrets(), stack="dev")
    assert not [r for r in run.of_type("kubernetes:core/v1:Secret") if "onboarding" in r.name], "no CA to copy"


def _agent_ca_copy(name: str) -> bool:
    """The per-app-namespace CA copies (not the gateway's VSO copy, which holds ``ca.crt``)."""
    return name.startswith("secure-mesh-onboarding-") and not name.startswith("secure-mesh-onboarding-gateway-")
