"""Layer 3: the Vault agent injector annotations an app's pods need to receive their database credentials.

One ready-to-use ``dict[str, str]`` per app (exported, so app charts can copy it onto their pod
template): inject the agent, log in with the app's role at this datacenter's Kubernetes auth mount,
render the app's dynamic credentials to ``/vault/secrets/<file>``, and — when the stack's Vault needs
it — the Vault namespace, the TLS server name and the CA the agent verifies Vault with.

Where the app's role checks a dedicated audience (:func:`secure_mesh.identities.roles.workload_audience`),
the agent logs in with a projected service-account token of that audience instead of the pod's default
token: ``agent-service-account-token-volume-name`` names a pod volume (exported as ``appVaultTokenVolumes``,
to be added to the pod spec next to the annotations), and the injector mounts it into its agent containers
and points auto-auth's ``token_path`` at the projected file (vault-k8s ``agent-inject/agent/agent.go``,
``serviceaccount``; the volume must be ``projected`` with a ``serviceAccountToken`` source).
"""

from __future__ import annotations

from typing import Any

from ..identities.roles import dedicated_audience_possible, workload_audience
from ..layout import Layout
from ..settings import AppSettings

PREFIX = "vault.hashicorp.com"
VAULT_TOKEN_VOLUME = "vault-token"
"""The projected volume holding the token an app's Vault agent presents (audience ``vault.workloadAudience``)."""
VAULT_TOKEN_FILE = "token"
VAULT_TOKEN_EXPIRATION_SECONDS = 3600
"""One hour; the kubelet refreshes the file at 80 % of it. Not 3607: the API server may silently extend a token
requested for exactly 3607 s to a year (``--service-account-extend-token-expiration``)."""
VAULT_TLS_MOUNT = "/vault/tls"
"""Where the injector mounts the secret named by ``tls-secret`` in the agent containers."""


def credentials_template(creds_path: str) -> str:
    """A Consul-template that renders the credentials as ``username=…`` / ``password=…`` lines."""
    return (
        f'{{{{- with secret "{creds_path}" -}}}}\n'
        "username={{ .Data.username }}\n"
        "password={{ .Data.password }}\n"
        "{{- end }}\n"
    )


def kv_template(data_path: str, field: str) -> str:
    """A Consul-template that renders one KV-v2 secret's field as the whole file."""
    return f'{{{{- with secret "{data_path}" -}}}}{{{{ .Data.data.{field} }}}}{{{{- end }}}}'


def agent_annotations(layout: Layout, app: AppSettings) -> dict[str, str]:
    """The pod annotations of one app: its database credentials and KV secrets, rendered by the Vault agent."""
    names = layout.app(app)
    vault = layout.settings.vault
    annotations = {
        f"{PREFIX}/agent-inject": "true",
        f"{PREFIX}/role": names.auth_role,
        f"{PREFIX}/auth-path": layout.kubernetes_auth_login_path,
    }
    if app.database is not None:
        file = names.database_secret_file
        annotations[f"{PREFIX}/agent-inject-secret-{file}"] = names.database_creds_path
        annotations[f"{PREFIX}/agent-inject-template-{file}"] = credentials_template(names.database_creds_path)
    for secret in app.secrets:
        kv = layout.app_kv(app, secret)
        annotations[f"{PREFIX}/agent-inject-secret-{secret}"] = kv.data_path
        annotations[f"{PREFIX}/agent-inject-template-{secret}"] = kv_template(kv.data_path, kv.field)
    if dedicated_audience_possible(layout.settings):
        annotations[f"{PREFIX}/agent-service-account-token-volume-name"] = VAULT_TOKEN_VOLUME
    if vault.namespace:
        annotations[f"{PREFIX}/namespace"] = vault.namespace
    if vault.tls.server_name:
        annotations[f"{PREFIX}/tls-server-name"] = vault.tls.server_name
    if vault.tls.ca_cert_pem is not None:
        annotations[f"{PREFIX}/tls-secret"] = layout.vault_ca_secret_name
        annotations[f"{PREFIX}/ca-cert"] = f"{VAULT_TLS_MOUNT}/{layout.vault_ca_secret_key}"
    return annotations


def all_agent_annotations(layout: Layout) -> dict[str, dict[str, str]]:
    """Annotations by app name, for every onboarded app."""
    return {app.name: agent_annotations(layout, app) for app in layout.settings.apps}


def token_volumes(layout: Layout) -> list[dict[str, Any]]:
    """The pod volumes an app's pod spec adds for its Vault agent: the projected token, or none (default token)."""
    if not dedicated_audience_possible(layout.settings):
        return []
    source = {
        "serviceAccountToken": {
            "audience": workload_audience(layout.settings),
            "expirationSeconds": VAULT_TOKEN_EXPIRATION_SECONDS,
            "path": VAULT_TOKEN_FILE,
        }
    }
    return [{"name": VAULT_TOKEN_VOLUME, "projected": {"sources": [source]}}]


def all_token_volumes(layout: Layout) -> dict[str, list[dict[str, Any]]]:
    """Token volumes by app name, for every onboarded app."""
    return {app.name: token_volumes(layout) for app in layout.settings.apps}
