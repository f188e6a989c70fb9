"""Layer 3: the in-cluster watcher that keeps an app database's connection at its Consul catalog address.

Why consul-template (and not Consul-Terraform-Sync): the program is Pulumi, not Terraform. CTS runs
Terraform modules on catalog changes, so it would need its own Terraform state, a Terraform Vault
provider with a token broad enough to manage the connection resource, and it would own the whole
connection resource (a second owner next to Pulumi). consul-template is HashiCorp's tool for exactly
"re-render when a service's healthy instances change": it blocks on Consul's health endpoint, renders
one small file, and runs one command on change. The command (``apply-address.sh``) writes one field.

What the watcher does, per app whose ``database.address`` is a followed ``consulService``:

- consul-template renders :func:`address_template`: ``<host> <port>`` of the first *passing* instance of
  the service, in consul-template's own order (``health.service`` defaults to the ``passing`` filter and
  sorts by node name, then service ID; an empty service address falls back to the node's:
  consul-template ``dependency/health_service.go``). The choice is deterministic and the same rule the
  deploy-time look-up uses (:func:`secure_mesh.onboarding.database.pick_catalog_instance`). No instance
  renders nothing.
- on change it runs ``apply-address.sh`` (next to this module), which keeps the last good address when
  nothing is rendered and otherwise writes ``connection_url`` alone with ``vault write``. Vault merges an
  update into the stored connection (``path_config_connection_ce.go``), so the root credentials, the plugin
  and the allowed roles are untouched; the connection keeps ``verify_connection``, so Vault refuses (400)
  an address it cannot connect to and keeps the old one.
- identities: its own Kubernetes-auth role bound to its own service account in Consul's namespace, with
  a policy of ``update`` on exactly ``<mount>/config/<connection>`` and ``allowed_parameters`` of
  ``connection_url`` alone, whose value must end with this database's ``/<db>?sslmode=<mode>`` (Vault
  refuses any other parameter and any other value: ``vault/acl.go``, values match with a leading or
  trailing ``*``); ``update`` only, so it can never create a connection (``create`` is what a write to a
  missing connection needs: the path has an existence check). Its Consul token (a Consul ACL policy of
  ``service "<name>" read`` plus ``node_prefix "" read``: ``/v1/health/service/<name>`` needs both
  ``service:read`` and ``node:read``) is delivered through Vault KV, rendered by the Vault agent.
- when the watcher is down, nothing writes: the connection keeps its last address and credentials keep
  being issued against it; when Consul is unreachable consul-template retries forever without rendering.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from ..identities.policies import TOKEN_SELF, Capability, PolicyDocument
from ..identities.roles import AuthRoleSpec, dedicated_audience_possible, workload_audience
from ..layout import CatalogWatcherNames, Layout
from ..settings import AppSettings
from ..settings.images import Image, image_reference
from .annotations import PREFIX, VAULT_TLS_MOUNT, kv_template, token_volumes
from .database import DatabasePlan

CONSUL_TEMPLATE_UID = 100

CONFIG_DIR = "/etc/db-address-watcher"
RUN_DIR = "/run/db-address-watcher"
BIN_DIR = "/watcher-bin"
SECRETS_DIR = "/vault/secrets"
VAULT_TOKEN_FILE = f"{SECRETS_DIR}/token"
"""Where the Vault agent shares its auto-auth token (``agent-inject-token``; vault-k8s ``agent/config.go``)."""
CONSUL_TOKEN_FILE = f"{SECRETS_DIR}/consul-token"
CONSUL_CA_FILE = f"{CONFIG_DIR}/consul-ca.pem"
SCRIPT_NAME = "apply-address.sh"
SCRIPT_PATH = Path(__file__).with_name(SCRIPT_NAME)
CONSUL_HTTPS_PORT = 8501
QUIESCENCE_MIN = "2s"
QUIESCENCE_MAX = "10s"
"""consul-template waits for 2 s of quiet (at most 10 s) before rendering: a change lands within seconds."""
REVISION_ANNOTATION = "secure-mesh.io/connection-revision"


def apply_script() -> str:
    """The command consul-template runs on change (kept as a file so tests and shellcheck run the real thing)."""
    return SCRIPT_PATH.read_text(encoding="utf-8")


def address_template(layout: Layout, service: str) -> str:
    """The consul-template source: ``<host> <port>`` of the first passing instance, or nothing."""
    return (
        "{{- /* secure-mesh: the first passing instance by node name, then service ID (consul-template's order) */ -}}"
        "\n"
        f'{{{{- with service "{service}@{layout.datacenter}" -}}}}'
        "{{- with index . 0 -}}{{ .Address }} {{ .Port }}{{- end -}}"
        "{{- end -}}\n"
    )


def url_parts(plan: DatabasePlan) -> tuple[str, str]:
    """The fixed prefix and suffix around ``<host>:<port>`` in the connection URL (what the script joins)."""
    return "postgresql://{{username}}:{{password}}@", f"/{plan.database_name}?sslmode={plan.ssl_mode}"


def consul_server_address(layout: Layout) -> str:
    """Consul's HTTPS API inside the cluster (a name on the server certificate: ``<fullname>-server.<ns>.svc``)."""
    return f"{layout.consul_server_service}.{layout.consul_namespace}.svc:{CONSUL_HTTPS_PORT}"


def consul_template_config(layout: Layout, names: CatalogWatcherNames) -> str:
    """consul-template's HCL: Consul over verified TLS with the token file, one template, one command."""
    return f"""log_level = "info"

consul {{
  address    = "{consul_server_address(layout)}"
  token_file = "{CONSUL_TOKEN_FILE}"

  ssl {{
    enabled = true
    verify  = true
    ca_cert = "{CONSUL_CA_FILE}"
  }}

  retry {{
    enabled     = true
    attempts    = 0
    backoff     = "250ms"
    max_backoff = "1m"
  }}
}}

template {{
  source               = "{CONFIG_DIR}/address.ctmpl"
  destination          = "{RUN_DIR}/address"
  perms                = 0600
  error_on_missing_key = true
  command              = ["/bin/sh", "{CONFIG_DIR}/{SCRIPT_NAME}"]
  command_timeout      = "60s"

  wait {{
    min = "{QUIESCENCE_MIN}"
    max = "{QUIESCENCE_MAX}"
  }}
}}
"""


def consul_acl_rules(service: str) -> str:
    """The watcher's Consul ACL policy: read one service and the nodes (``/v1/health/service`` needs both)."""
    return f'service "{service}" {{\n  policy = "read"\n}}\n\nnode_prefix "" {{\n  policy = "read"\n}}\n'


def watcher_policy_document(layout: Layout, app: AppSettings) -> PolicyDocument:
    """Paths and capabilities: update on one connection's config, read of its Consul token, its own token."""
    names = layout.catalog_watcher(app)
    return PolicyDocument.build(
        names.policy,
        [
            (names.connection_config_path, frozenset({Capability.UPDATE})),
            (names.consul_token.data_path, frozenset({Capability.READ})),
            *TOKEN_SELF,
        ],
    )


def watcher_policy(layout: Layout, app: AppSettings, plan: DatabasePlan) -> str:
    """The policy text Vault gets: :func:`watcher_policy_document` plus ``allowed_parameters`` on the config path."""
    names = layout.catalog_watcher(app)
    document = json.loads(watcher_policy_document(layout, app).render())
    _, suffix = url_parts(plan)
    document["path"][names.connection_config_path]["allowed_parameters"] = {"connection_url": [f"*{suffix}"]}
    return json.dumps(document, indent=2, sort_keys=True)


def watcher_role(layout: Layout, app: AppSettings) -> AuthRoleSpec:
    """The watcher's Kubernetes-auth role: its own service account in Consul's namespace, its own policy."""
    names = layout.catalog_watcher(app)
    return AuthRoleSpec(
        role_name=names.auth_role,
        bound_service_account_names=(names.workload,),
        bound_service_account_namespaces=(layout.consul_namespace,),
        audience=workload_audience(layout.settings),
        token_policies=(names.policy,),
    )


def connection_revision(plan: DatabasePlan) -> str:
    """A digest of every connection field Pulumi still manages (all but the address).

    Pulumi sends the whole connection when one of these changes, with the URL from its state; the
    watcher's pod template carries this digest, so the same ``pulumi up`` restarts the watcher, which
    re-applies the catalog's current address right after.
    """
    managed = {
        "connection": plan.connection_name,
        "allowed_roles": list(plan.allowed_roles),
        "root_rotation_statements": list(plan.root_rotation_statements),
        "root_password_version": plan.root_password_version,
        "verify_connection": plan.verify_connection,
        "database_name": plan.database_name,
        "tls_ca_pem": plan.tls_ca_pem,
        "rotation": [plan.rotation_period, plan.rotation_schedule, plan.rotation_window],
    }
    return hashlib.sha256(json.dumps(managed, sort_keys=True).encode()).hexdigest()[:16]


def watcher_annotations(layout: Layout, app: AppSettings, plan: DatabasePlan) -> dict[str, str]:
    """Pod annotations: the Vault agent logs in as the watcher, shares its token, renders the Consul token."""
    names = layout.catalog_watcher(app)
    vault = layout.settings.vault
    annotations = {
        "consul.hashicorp.com/connect-inject": "false",
        f"{PREFIX}/agent-inject": "true",
        f"{PREFIX}/role": names.auth_role,
        f"{PREFIX}/auth-path": layout.kubernetes_auth_login_path,
        f"{PREFIX}/agent-inject-token": "true",
        f"{PREFIX}/agent-inject-secret-consul-token": names.consul_token.data_path,
        f"{PREFIX}/agent-inject-template-consul-token": kv_template(
            names.consul_token.data_path, names.consul_token.field
        ),
        REVISION_ANNOTATION: connection_revision(plan),
    }
    if dedicated_audience_possible(layout.settings):
        annotations[f"{PREFIX}/agent-service-account-token-volume-name"] = "vault-token"
    if vault.namespace:
        annotations[f"{PREFIX}/namespace"] = vault.namespace
    if vault.tls.server_name:
        annotations[f"{PREFIX}/tls-server-name"] = vault.tls.server_name
    if vault.tls.ca_cert_pem is not None:
        annotations[f"{PREFIX}/tls-secret"] = layout.vault_ca_secret_name
        annotations[f"{PREFIX}/ca-cert"] = f"{VAULT_TLS_MOUNT}/{layout.vault_ca_secret_key}"
    return annotations


def config_map_data(layout: Layout, app: AppSettings, service: str) -> dict[str, str]:
    """The watcher's ConfigMap (all but the Consul CA, which another resource computes)."""
    names = layout.catalog_watcher(app)
    return {
        "config.hcl": consul_template_config(layout, names),
        "address.ctmpl": address_template(layout, service),
        SCRIPT_NAME: apply_script(),
    }


_RESTRICTED = {
    "runAsNonRoot": True,
    "runAsUser": CONSUL_TEMPLATE_UID,
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
}


def watcher_deployment(layout: Layout, app: AppSettings, plan: DatabasePlan) -> dict[str, Any]:
    """The watcher's Deployment (metadata and spec): one replica, replaced not rolled (never two writers).

    Its images are ``images.consulTemplate`` (Alpine with ``/bin/sh``, uid 100: consul-template's ``Dockerfile``)
    and ``images.vaultAgent``, whose static ``/bin/vault`` an init container copies (the image vault-helm
    0.30.1 runs its agents with).
    """
    names = layout.catalog_watcher(app)
    service = plan.consul_service
    if service is None:
        raise ValueError(f"app '{app.name}' has no consulService to follow")
    prefix, suffix = url_parts(plan)
    vault = layout.settings.vault
    env = [
        {"name": "PATH", "value": f"{BIN_DIR}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
        {"name": "SERVICE", "value": service},
        {"name": "ADDRESS_FILE", "value": f"{RUN_DIR}/address"},
        {"name": "STATE_FILE", "value": f"{RUN_DIR}/last-applied"},
        {"name": "VAULT_CONFIG_PATH", "value": names.connection_config_path},
        {"name": "URL_PREFIX", "value": prefix},
        {"name": "URL_SUFFIX", "value": suffix},
        {"name": "VAULT_TOKEN_FILE", "value": VAULT_TOKEN_FILE},
        {"name": "VAULT_ADDR", "value": vault.address},
    ]
    mounts: list[dict[str, Any]] = [
        {"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
        {"name": "bin", "mountPath": BIN_DIR, "readOnly": True},
        {"name": "run", "mountPath": RUN_DIR},
    ]
    volumes: list[dict[str, Any]] = [
        {"name": "config", "configMap": {"name": names.workload}},
        {"name": "bin", "emptyDir": {"medium": "Memory", "sizeLimit": "256Mi"}},
        {"name": "run", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}},
        *token_volumes(layout),
    ]
    if vault.namespace:
        env.append({"name": "VAULT_NAMESPACE", "value": vault.namespace})
    if vault.tls.server_name:
        env.append({"name": "VAULT_TLS_SERVER_NAME", "value": vault.tls.server_name})
    if vault.tls.ca_cert_pem is not None:
        env.append({"name": "VAULT_CACERT", "value": f"{VAULT_TLS_MOUNT}/{layout.vault_ca_secret_key}"})
        mounts.append({"name": "vault-ca", "mountPath": VAULT_TLS_MOUNT, "readOnly": True})
        volumes.append({"name": "vault-ca", "secret": {"secretName": layout.vault_ca_secret_name}})
    labels = {"app.kubernetes.io/name": names.workload, "app.kubernetes.io/component": "db-address-watcher"}
    return {
        "metadata": {"name": names.workload, "namespace": layout.consul_namespace, "labels": labels},
        "spec": {
            "replicas": 1,
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": {"app.kubernetes.io/name": names.workload}},
            "template": {
                "metadata": {"labels": labels, "annotations": watcher_annotations(layout, app, plan)},
                "spec": {
                    "serviceAccountName": names.workload,
                    # With a dedicated audience the agent logs in with the projected token volume instead.
                    "automountServiceAccountToken": not dedicated_audience_possible(layout.settings),
                    "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
                    "initContainers": [
                        {
                            "name": "vault-cli",
                            "image": image_reference(layout.settings, Image.VAULT_AGENT),
                            "command": ["cp", "/bin/vault", f"{BIN_DIR}/vault"],
                            "securityContext": _RESTRICTED,
                            "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "64Mi"}},
                            "volumeMounts": [{"name": "bin", "mountPath": BIN_DIR}],
                        }
                    ],
                    "containers": [
                        {
                            "name": "consul-template",
                            "image": image_reference(layout.settings, Image.CONSUL_TEMPLATE),
                            "command": ["/bin/consul-template"],
                            "args": [f"-config={CONFIG_DIR}/config.hcl"],
                            "env": env,
                            "securityContext": _RESTRICTED,
                            "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "128Mi"}},
                            "volumeMounts": mounts,
                        }
                    ],
                    "volumes": volumes,
                },
            },
        },
    }
