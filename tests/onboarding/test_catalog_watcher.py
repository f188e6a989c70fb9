"""The database address follows Consul's catalog (issue 18): the watcher's resources under mocks, whole documents.

The template and its command against recorded catalog answers, with a stub ``vault``, are in
``test_catalog_watcher_script.py``.
"""

from __future__ import annotations

import json

from secure_mesh.identities.policies import Capability, PolicyDocument
from secure_mesh.onboarding.catalog_watcher import apply_script
from secure_mesh.onboarding.plan import database_plan
from tests.harness import run_program
from tests.onboarding.consul_template_model import EXPECTED_TEMPLATE
from tests.onboarding.stacks import ORDERS_APP, onboarding_config, onboarding_layout, onboarding_run, secrets

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
ACCOUNT = "kubernetes:core/v1:ServiceAccount"
POLICY = "vault:index/policy:Policy"
ROLE = "vault:kubernetes/authBackendRole:AuthBackendRole"
KV = "vault:kv/secretV2:SecretV2"
CONNECTION = "vault:database/secretBackendConnection:SecretBackendConnection"
CONSUL_POLICY = "consul:index/aclPolicy:AclPolicy"
CONSUL_TOKEN = "consul:index/aclToken:AclToken"
WATCHER = "secure-mesh-onboarding-orders-db-address-watcher"
CONFIG_PATH = "consul/database/config/orders-orders"
TOKEN_KV = "consul/kv/data/platform/db-address-watcher/orders/consul-token"

RESTRICTED = {
    "runAsNonRoot": True,
    "runAsUser": 100,
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
}
LABELS = {"app.kubernetes.io/name": "orders-db-address-watcher", "app.kubernetes.io/component": "db-address-watcher"}


def _revision() -> str:
    return (
        onboarding_run()
        .one(DEPLOYMENT, WATCHER)
        .inputs["spec"]["template"]["metadata"]["annotations"]["secure-mesh.io/connection-revision"]
    )


def test_watcher_deployment_is_the_whole_expected_document() -> None:
    deployment = onboarding_run().one(DEPLOYMENT, WATCHER)
    assert deployment.inputs["metadata"] == {
        "name": "orders-db-address-watcher",
        "namespace": "consul",
        "labels": LABELS,
    }
    assert deployment.inputs["spec"] == {
        "replicas": 1,
        "strategy": {"type": "Recreate"},
        "selector": {"matchLabels": {"app.kubernetes.io/name": "orders-db-address-watcher"}},
        "template": {
            "metadata": {
                "labels": LABELS,
                "annotations": {
                    "consul.hashicorp.com/connect-inject": "false",
                    "vault.hashicorp.com/agent-inject": "true",
                    "vault.hashicorp.com/role": "db-address-orders",
                    "vault.hashicorp.com/auth-path": "auth/kubernetes-dc1",
                    "vault.hashicorp.com/agent-inject-token": "true",
                    "vault.hashicorp.com/agent-inject-secret-consul-token": TOKEN_KV,
                    "vault.hashicorp.com/agent-inject-template-consul-token": (
                        f'{{{{- with secret "{TOKEN_KV}" -}}}}{{{{ .Data.data.value }}}}{{{{- end }}}}'
                    ),
                    "vault.hashicorp.com/agent-service-account-token-volume-name": "vault-token",
                    # dev's Vault serves TLS from a private CA: the agent verifies it with the copied CA
                    "vault.hashicorp.com/tls-secret": "consul-consul-vault-ca",
                    "vault.hashicorp.com/ca-cert": "/vault/tls/tls.crt",
                    "secure-mesh.io/connection-revision": _revision(),
                },
            },
            "spec": {
                "serviceAccountName": "orders-db-address-watcher",
                "automountServiceAccountToken": False,
                "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
                "initContainers": [
                    {
                        "name": "vault-cli",
                        "image": "hashicorp/vault:1.20.1",
                        "command": ["cp", "/bin/vault", "/watcher-bin/vault"],
                        "securityContext": RESTRICTED,
                        "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "64Mi"}},
                        "volumeMounts": [{"name": "bin", "mountPath": "/watcher-bin"}],
                    }
                ],
                "containers": [
                    {
                        "name": "consul-template",
                        "image": "hashicorp/consul-template:0.42.1",
                        "command": ["/bin/consul-template"],
                        "args": ["-config=/etc/db-address-watcher/config.hcl"],
                        "env": [
                            {
                                "name": "PATH",
                                "value": "/watcher-bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                            },
                            {"name": "SERVICE", "value": "orders-db"},
                            {"name": "ADDRESS_FILE", "value": "/run/db-address-watcher/address"},
                            {"name": "STATE_FILE", "value": "/run/db-address-watcher/last-applied"},
                            {"name": "VAULT_CONFIG_PATH", "value": CONFIG_PATH},
                            {"name": "URL_PREFIX", "value": "postgresql://{{username}}:{{password}}@"},
                            {"name": "URL_SUFFIX", "value": "/orders?sslmode=verify-full"},
                            {"name": "VAULT_TOKEN_FILE", "value": "/vault/secrets/token"},
                            {"name": "VAULT_ADDR", "value": "https://vault.vault.svc.cluster.local:8200"},
                            {"name": "VAULT_CACERT", "value": "/vault/tls/tls.crt"},
                        ],
                        "securityContext": RESTRICTED,
                        "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "128Mi"}},
                        "volumeMounts": [
                            {"name": "config", "mountPath": "/etc/db-address-watcher", "readOnly": True},
                            {"name": "bin", "mountPath": "/watcher-bin", "readOnly": True},
                            {"name": "run", "mountPath": "/run/db-address-watcher"},
                            {"name": "vault-ca", "mountPath": "/vault/tls", "readOnly": True},
                        ],
                    }
                ],
                "volumes": [
                    {"name": "config", "configMap": {"name": "orders-db-address-watcher"}},
                    {"name": "bin", "emptyDir": {"medium": "Memory", "sizeLimit": "256Mi"}},
                    {"name": "run", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}},
                    {
                        "name": "vault-token",
                        "projected": {
                            "sources": [
                                {
                                    "serviceAccountToken": {
                                        "audience": "vault",
                                        "expirationSeconds": 3600,
                                        "path": "token",
                                    }
                                }
                            ]
                        },
                    },
                    {"name": "vault-ca", "secret": {"secretName": "consul-consul-vault-ca"}},
                ],
            },
        },
    }


def test_watcher_waits_for_its_login_its_consul_token_and_the_connection_it_updates() -> None:
    run = onboarding_run()
    needs = {run.by_urn(urn).name for urn in run.one(DEPLOYMENT, WATCHER).dependencies}
    assert {
        f"{WATCHER}-account",
        f"{WATCHER}-policy",
        f"{WATCHER}-role",
        f"{WATCHER}-consul-token-kv",
        f"{WATCHER}-config",
        "secure-mesh-onboarding-orders-db-connection",
        "secure-mesh-onboarding-orders-db-role",
    } <= needs
    kv_needs = {run.by_urn(urn).name for urn in run.one(KV, f"{WATCHER}-consul-token-kv").dependencies}
    assert f"{WATCHER}-consul-token" in kv_needs, "the token must exist before its secret is read"


def test_watcher_vault_policy_updates_exactly_one_connections_address() -> None:
    run = onboarding_run()
    policy = run.one(POLICY, f"{WATCHER}-policy")
    assert policy.inputs["name"] == "consul-dc1-db-address-orders"
    assert json.loads(policy.inputs["policy"]) == {
        "path": {
            CONFIG_PATH: {
                "capabilities": ["update"],
                "allowed_parameters": {"connection_url": ["*/orders?sslmode=verify-full"]},
            },
            TOKEN_KV: {"capabilities": ["read"]},
            "auth/token/renew-self": {"capabilities": ["update"]},
            "auth/token/lookup-self": {"capabilities": ["read"]},
        }
    }
    document = PolicyDocument.parse("w", policy.inputs["policy"])
    assert document.allows(CONFIG_PATH, Capability.UPDATE)
    for capability in (Capability.CREATE, Capability.READ, Capability.DELETE, Capability.LIST):
        assert not document.allows(CONFIG_PATH, capability), capability
    for other in (
        "consul/database/config/web-web",
        "consul/database/config",
        "consul/database/roles/app-orders",
        "consul/database/creds/app-orders",
        "consul/database/rotate-root/orders-orders",
        "consul/kv/data/apps/orders/api-key",
    ):
        assert not any(document.allows(other, c) for c in Capability), other


def test_watcher_role_binds_its_own_account_in_consuls_namespace() -> None:
    role = onboarding_run().one(ROLE, f"{WATCHER}-role")
    assert role.inputs == {
        "backend": "kubernetes-dc1",
        "roleName": "db-address-orders",
        "boundServiceAccountNames": ["orders-db-address-watcher"],
        "boundServiceAccountNamespaces": ["consul"],
        "audience": "vault",
        "aliasNameSource": "serviceaccount_uid",
        "tokenPolicies": ["consul-dc1-db-address-orders"],
        "tokenNoDefaultPolicy": True,
        "tokenTtl": 3600,
        "tokenMaxTtl": 14400,
    }
    account = onboarding_run().one(ACCOUNT, f"{WATCHER}-account")
    assert account.inputs["metadata"] == {"name": "orders-db-address-watcher", "namespace": "consul"}
    assert account.inputs["automountServiceAccountToken"] is False


def test_watcher_consul_token_may_read_only_its_service_and_reaches_it_through_vault() -> None:
    run = onboarding_run()
    consul_provider = run.one("pulumi:providers:consul")
    policy = run.one(CONSUL_POLICY, f"{WATCHER}-consul-policy")
    assert policy.inputs == {
        "name": "consul-db-address-orders",
        "description": "secure-mesh: read the catalog service orders-db (database of app orders)",
        # /v1/health/service/<name> needs service:read on the service and node:read (Consul's API docs).
        "rules": 'service "orders-db" {\n  policy = "read"\n}\n\nnode_prefix "" {\n  policy = "read"\n}\n',
        "datacenters": ["dc1"],
    }
    token = run.one(CONSUL_TOKEN, f"{WATCHER}-consul-token")
    assert token.inputs == {
        "description": "secure-mesh: orders-db-address-watcher (reads orders-db only)",
        "policies": ["consul-db-address-orders"],
        "local": True,
    }
    assert policy.provider.startswith(consul_provider.urn) and token.provider.startswith(consul_provider.urn)
    kv = run.one(KV, f"{WATCHER}-consul-token-kv")
    assert kv.inputs == {
        "mount": "consul/kv",
        "name": "platform/db-address-watcher/orders/consul-token",
        "dataJson": json.dumps({"value": f"secret-of-{WATCHER}-consul-token-id"}),
    }
    assert "dataJson" in kv.secret_inputs, "the Consul token's secret must stay a Pulumi secret"
    assert "secret-of-" not in repr(run.outputs)


def test_watcher_config_map_holds_the_template_the_config_the_script_and_consuls_ca() -> None:
    config_map = onboarding_run().one(CONFIG_MAP, f"{WATCHER}-config")
    assert config_map.inputs["metadata"] == {"name": "orders-db-address-watcher", "namespace": "consul"}
    data = dict(config_map.inputs["data"])
    assert "BEGIN CERTIFICATE" in data.pop("consul-ca.pem")
    assert data == {
        "address.ctmpl": EXPECTED_TEMPLATE,
        "apply-address.sh": apply_script(),
        "config.hcl": """log_level = "info"

consul {
  address    = "consul-consul-server.consul.svc:8501"
  token_file = "/vault/secrets/consul-token"

  ssl {
    enabled = true
    verify  = true
    ca_cert = "/etc/db-address-watcher/consul-ca.pem"
  }

  retry {
    enabled     = true
    attempts    = 0
    backoff     = "250ms"
    max_backoff = "1m"
  }
}

template {
  source               = "/etc/db-address-watcher/address.ctmpl"
  destination          = "/run/db-address-watcher/address"
  perms                = 0600
  error_on_missing_key = true
  command              = ["/bin/sh", "/etc/db-address-watcher/apply-address.sh"]
  command_timeout      = "60s"

  wait {
    min = "2s"
    max = "10s"
  }
}
""",
    }


def test_the_connection_url_is_set_at_creation_then_owned_by_the_watcher() -> None:
    connection = onboarding_run().one(CONNECTION, "secure-mesh-onboarding-orders-db-connection")
    assert connection.ignore_changes == ("postgresql.connectionUrl",)
    assert connection.inputs["postgresql"]["connectionUrl"].endswith("@10.0.0.11:6432/orders?sslmode=verify-full")
    assert connection.inputs["verifyConnection"] is True, "Vault refuses a moved address it cannot connect to"


def _orders_with(address: dict[str, object]) -> dict[str, object]:
    config = onboarding_config()
    orders = config["apps"][-1]
    config["apps"][-1] = {**orders, "database": {**orders["database"], "address": address}}
    return config


def test_no_watcher_without_a_followed_catalog_service() -> None:
    for address in ({"consulService": "orders-db", "followCatalog": False}, {"host": "db.example.internal"}):
        run = run_program(_orders_with(address), secrets=secrets(), stack="dev")
        assert not [r for r in run.resources if "db-address-watcher" in r.name], address
        assert not run.of_type(CONSUL_POLICY) and not run.of_type(CONSUL_TOKEN)
        assert not run.one(CONNECTION).ignore_changes, "without a watcher, pulumi up owns the address"


def test_a_new_root_password_version_restarts_the_watcher() -> None:
    layout = onboarding_layout()
    orders = next(a for a in layout.settings.apps if a.name == "orders")
    assert database_plan(layout, orders).follows_catalog
    bumped = {**ORDERS_APP["database"], "rootPasswordVersion": 2}
    config = onboarding_config()
    config["apps"][-1] = {**config["apps"][-1], "database": bumped}
    run = run_program(config, secrets=secrets(), stack="dev")
    annotations = run.one(DEPLOYMENT, WATCHER).inputs["spec"]["template"]["metadata"]["annotations"]
    assert annotations["secure-mesh.io/connection-revision"] != _revision()


def test_prod_watcher_verifies_vault_with_its_private_ca_and_is_bound_for_client_jwt_reviews() -> None:
    run = onboarding_run("prod")
    pod = run.one(DEPLOYMENT, WATCHER).inputs["spec"]["template"]
    annotations = pod["metadata"]["annotations"]
    assert annotations["vault.hashicorp.com/tls-secret"] == "consul-consul-vault-ca"
    assert annotations["vault.hashicorp.com/ca-cert"] == "/vault/tls/tls.crt"
    assert annotations["vault.hashicorp.com/tls-server-name"] == "vault.prod.example.com"
    container = pod["spec"]["containers"][0]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["VAULT_CACERT"] == "/vault/tls/tls.crt"
    assert env["VAULT_TLS_SERVER_NAME"] == "vault.prod.example.com"
    assert env["VAULT_ADDR"].startswith("https://")
    assert {"name": "vault-ca", "secret": {"secretName": "consul-consul-vault-ca"}} in pod["spec"]["volumes"]
    binding = run.one(
        "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding",
        "secure-mesh-identities-vault-clients-auth-delegator",
    )
    subjects = {(s["namespace"], s["name"]) for s in binding.inputs["subjects"]}
    assert ("consul", "orders-db-address-watcher") in subjects
