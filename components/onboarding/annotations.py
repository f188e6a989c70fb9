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

from .args import VaultClientArgs

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


def jwt_template(token_path: str) -> str:
    """A Consul-template that renders a Vault identity token (``.Data.token``) as the whole file."""
    return f'{{{{- with secret "{token_path}" -}}}}{{{{ .Data.token }}}}{{{{- end }}}}'


def jwt_file(provider: str) -> str:
    """The file (under ``/vault/secrets/``) an app's agent renders one provider's token to."""
    return f"jwt-{provider}"


def vault_client_annotations(vault: VaultClientArgs) -> dict[str, str]:
    """The annotations every Vault agent of the stack needs: the token volume, the namespace, TLS verification."""
    annotations: dict[str, str] = {}
    if vault.dedicated_audience:
        annotations[f"{PREFIX}/agent-service-account-token-volume-name"] = VAULT_TOKEN_VOLUME
    if vault.namespace:
        annotations[f"{PREFIX}/namespace"] = vault.namespace
    if vault.tls_server_name:
        annotations[f"{PREFIX}/tls-server-name"] = vault.tls_server_name
    if vault.ca_cert_pem is not None:
        annotations[f"{PREFIX}/tls-secret"] = vault.ca_secret_name
        annotations[f"{PREFIX}/ca-cert"] = f"{VAULT_TLS_MOUNT}/{vault.ca_secret_key}"
    return annotations


def agent_annotations(
    vault: VaultClientArgs,
    auth_role: str,
    database: tuple[str, str] | None,
    kv_secrets: list[tuple[str, str, str]],
    jwt_tokens: dict[str, str] | None = None,
) -> dict[str, str]:
    """The pod annotations of one app: its database credentials, KV secrets and JWTs, rendered by the Vault agent.

    ``database`` is ``(file, creds path)``; ``kv_secrets`` are ``(secret, data path, field)``; ``jwt_tokens`` maps
    a JWT provider to the token path the app reads it at.
    """
    annotations = {
        f"{PREFIX}/agent-inject": "true",
        f"{PREFIX}/role": auth_role,
        f"{PREFIX}/auth-path": f"auth/{vault.auth_path}",
    }
    if database is not None:
        file, creds_path = database
        annotations[f"{PREFIX}/agent-inject-secret-{file}"] = creds_path
        annotations[f"{PREFIX}/agent-inject-template-{file}"] = credentials_template(creds_path)
    for secret, data_path, field in kv_secrets:
        annotations[f"{PREFIX}/agent-inject-secret-{secret}"] = data_path
        annotations[f"{PREFIX}/agent-inject-template-{secret}"] = kv_template(data_path, field)
    for provider, path in sorted((jwt_tokens or {}).items()):
        annotations[f"{PREFIX}/agent-inject-secret-{jwt_file(provider)}"] = path
        annotations[f"{PREFIX}/agent-inject-template-{jwt_file(provider)}"] = jwt_template(path)
    annotations.update(vault_client_annotations(vault))
    return annotations


def token_volumes(vault: VaultClientArgs) -> list[dict[str, Any]]:
    """The pod volumes an app's pod spec adds for its Vault agent: the projected token, or none (default token)."""
    if not vault.dedicated_audience:
        return []
    source = {
        "serviceAccountToken": {
            "audience": vault.audience,
            "expirationSeconds": VAULT_TOKEN_EXPIRATION_SECONDS,
            "path": VAULT_TOKEN_FILE,
        }
    }
    return [{"name": VAULT_TOKEN_VOLUME, "projected": {"sources": [source]}}]
