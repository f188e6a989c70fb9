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

from ..identities.documents import TOKEN_SELF, AuthRoleSpec, Capability, PolicyDocument
from ..workloads import restricted_container
from .annotations import PREFIX, VAULT_TLS_MOUNT, kv_template, token_volumes, vault_client_annotations
from .args import AppDatabaseArgs, AppOnboardingArgs, CatalogWatcherArgs

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


def address_template(service: str, datacenter: str) -> str:
    """The consul-template source: ``<host> <port>`` of the first passing instance, or nothing."""
    return (
        "{{- /* secure-mesh: the first passing instance by node name, then service ID (consul-template's order) */ -}}"
        "\n"
        f'{{{{- with service "{service}@{datacenter}" -}}}}'
        "{{- with index . 0 -}}{{ .Address }} {{ .Port }}{{- end -}}"
        "{{- end -}}\n"
    )


def url_parts(database: AppDatabaseArgs) -> tuple[str, str]:
    """The fixed prefix and suffix around ``<host>:<port>`` in the connection URL (what the script joins)."""
    return "postgresql://{{username}}:{{password}}@", f"/{database.database_name}?sslmode={database.ssl_mode.value}"


def consul_server_address(args: AppOnboardingArgs) -> str:
    """Consul's HTTPS API inside the cluster (a name on the server certificate: ``<fullname>-server.<ns>.svc``)."""
    return f"{args.consul_server_service}.{args.consul_namespace}.svc:{CONSUL_HTTPS_PORT}"


def consul_template_config(args: AppOnboardingArgs) -> str:
    """consul-template's HCL: Consul over verified TLS with the token file, one template, one command."""
    return f"""log_level = "info"

consul {{
  address    = "{consul_server_address(args)}"
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


def watcher_names(database: AppDatabaseArgs) -> CatalogWatcherArgs:
    """The watcher's names (a followed database must name them)."""
    if database.watcher is None:
        raise ValueError(f"database connection '{database.connection_name}' follows the catalog but has no watcher")
    return database.watcher


def watcher_policy_document(database: AppDatabaseArgs) -> PolicyDocument:
    """Paths and capabilities: update on one connection's config, read of its Consul token, its own token."""
    names = watcher_names(database)
    return PolicyDocument.build(
        names.policy,
        [
            (database.connection_config_path, frozenset({Capability.UPDATE})),
            (names.consul_token_path, frozenset({Capability.READ})),
            *TOKEN_SELF,
        ],
    )


def watcher_policy(database: AppDatabaseArgs) -> str:
    """The policy text Vault gets: :func:`watcher_policy_document` plus ``allowed_parameters`` on the config path."""
    document = json.loads(watcher_policy_document(database).render())
    _, suffix = url_parts(database)
    document["path"][database.connection_config_path]["allowed_parameters"] = {"connection_url": [f"*{suffix}"]}
    return json.dumps(document, indent=2, sort_keys=True)


def watcher_role(args: AppOnboardingArgs, database: AppDatabaseArgs) -> AuthRoleSpec:
    """The watcher's Kubernetes-auth role: its own service account in Consul's namespace, its own policy."""
    names = watcher_names(database)
    return AuthRoleSpec(
        role_name=names.auth_role,
        bound_service_account_names=(names.workload,),
        bound_service_account_namespaces=(args.consul_namespace,),
        audience=args.vault.audience,
        token_policies=(names.policy,),
    )


def connection_revision(database: AppDatabaseArgs) -> str:
    """A digest of every connection field Pulumi still manages (all but the address).

    Pulumi sends the whole connection when one of these changes, with the URL from its state; the
    watcher's pod template carries this digest, so the same ``pulumi up`` restarts the watcher, which
    re-applies the catalog's current address right after.
    """
    managed = {
        "connection": database.connection_name,
        "allowed_roles": [database.role_name],
        "root_rotation_statements": list(database.root_rotation_statements),
        "root_password_version": database.root_password_version,
        "verify_connection": database.verify_connection,
        "database_name": database.database_name,
        "tls_ca_pem": database.tls_ca_pem,
        "rotation": [database.rotation_period, database.rotation_schedule, database.rotation_window],
    }
    return hashlib.sha256(json.dumps(managed, sort_keys=True).encode()).hexdigest()[:16]


def watcher_annotations(args: AppOnboardingArgs, database: AppDatabaseArgs) -> dict[str, str]:
    """Pod annotations: the Vault agent logs in as the watcher, shares its token, renders the Consul token."""
    names = watcher_names(database)
    annotations = {
        "consul.hashicorp.com/connect-inject": "false",
        f"{PREFIX}/agent-inject": "true",
        f"{PREFIX}/role": names.auth_role,
        f"{PREFIX}/auth-path": f"auth/{args.vault.auth_path}",
        f"{PREFIX}/agent-inject-token": "true",
        f"{PREFIX}/agent-inject-secret-consul-token": names.consul_token_path,
        f"{PREFIX}/agent-inject-template-consul-token": kv_template(names.consul_token_path, names.consul_token_field),
        REVISION_ANNOTATION: connection_revision(database),
    }
    annotations.update(vault_client_annotations(args.vault))
    return annotations


def config_map_data(args: AppOnboardingArgs, service: str) -> dict[str, str]:
    """The watcher's ConfigMap (all but the Consul CA, which another resource computes)."""
    return {
        "config.hcl": consul_template_config(args),
        "address.ctmpl": address_template(service, args.datacenter),
        SCRIPT_NAME: apply_script(),
    }


_RESTRICTED = restricted_container(CONSUL_TEMPLATE_UID)


def watcher_deployment(args: AppOnboardingArgs, database: AppDatabaseArgs) -> dict[str, Any]:
    """The watcher's Deployment (metadata and spec): one replica, replaced not rolled (never two writers).

    Its images are ``images.consulTemplate`` (Alpine with ``/bin/sh``, uid 100: consul-template's ``Dockerfile``)
    and ``images.vaultAgent``, whose static ``/bin/vault`` an init container copies (the image vault-helm
    0.30.1 runs its agents with).
    """
    names = watcher_names(database)
    service = database.consul_service
    if service is None:
        raise ValueError(f"database connection '{database.connection_name}' has no consulService to follow")
    if args.consul_template_image is None or args.vault_agent_image is None:
        raise ValueError("a catalog watcher needs consul_template_image and vault_agent_image")
    prefix, suffix = url_parts(database)
    vault = args.vault
    env = [
        {"name": "PATH", "value": f"{BIN_DIR}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
        {"name": "SERVICE", "value": service},
        {"name": "ADDRESS_FILE", "value": f"{RUN_DIR}/address"},
        {"name": "STATE_FILE", "value": f"{RUN_DIR}/last-applied"},
        {"name": "VAULT_CONFIG_PATH", "value": database.connection_config_path},
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
        *token_volumes(vault),
    ]
    if vault.namespace:
        env.append({"name": "VAULT_NAMESPACE", "value": vault.namespace})
    if vault.tls_server_name:
        env.append({"name": "VAULT_TLS_SERVER_NAME", "value": vault.tls_server_name})
    if vault.ca_cert_pem is not None:
        env.append({"name": "VAULT_CACERT", "value": f"{VAULT_TLS_MOUNT}/{vault.ca_secret_key}"})
        mounts.append({"name": "vault-ca", "mountPath": VAULT_TLS_MOUNT, "readOnly": True})
        volumes.append({"name": "vault-ca", "secret": {"secretName": vault.ca_secret_name}})
    labels = {"app.kubernetes.io/name": names.workload, "app.kubernetes.io/component": "db-address-watcher"}
    return {
        "metadata": {"name": names.workload, "namespace": args.consul_namespace, "labels": labels},
        "spec": {
            "replicas": 1,
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": {"app.kubernetes.io/name": names.workload}},
            "template": {
                "metadata": {"labels": labels, "annotations": watcher_annotations(args, database)},
                "spec": {
                    "serviceAccountName": names.workload,
                    # With a dedicated audience the agent logs in with the projected token volume instead.
                    "automountServiceAccountToken": not vault.dedicated_audience,
                    "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
                    "initContainers": [
                        {
                            "name": "vault-cli",
                            "image": args.vault_agent_image,
                            "command": ["cp", "/bin/vault", f"{BIN_DIR}/vault"],
                            "securityContext": _RESTRICTED,
                            "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "64Mi"}},
                            "volumeMounts": [{"name": "bin", "mountPath": BIN_DIR}],
                        }
                    ],
                    "containers": [
                        {
                            "name": "consul-template",
                            "image": args.consul_template_image,
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
