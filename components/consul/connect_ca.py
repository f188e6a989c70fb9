"""The Connect CA's configuration as Consul's API takes it, from the Helm values that bootstrap it.

The chart writes ``connect-ca-config.json`` (and ``additional-connect-ca-config.json``) into the servers' agent
config (consul-k8s ``templates/server-config-configmap.yaml``), but a server uses that only while Raft holds no CA
configuration: afterwards the stored one wins (consul ``agent/consul/leader_connect_ca.go``
``initializeCAConfig``), so a changed TTL in Helm values never reaches a running cluster. The program therefore
also writes the same configuration through ``PUT /v1/connect/ca/configuration`` (the Consul provider's
``CertificateAuthority``), keeping both equal: Helm for a new cluster or a restore, the API for every later change.

The API decodes the provider's ``Config`` map into Consul's structs by field name (consul
``agent/structs/connect_ca.go`` ``VaultCAProviderConfig``, ``CommonCAProviderConfig``), so keys are CamelCase,
whereas the agent file's are snake_case (translated by the config loader). Every key the chart or the
additional config can set is translated here; an unknown one is refused rather than dropped.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

VAULT_CA_FILE = "/consul/vault-ca/tls.crt"
"""Where the chart mounts Vault's CA in the servers when ``global.secretsBackend.vault.ca`` is set."""

API_KEYS: dict[str, str] = {
    "address": "Address",
    "ca_file": "CAFile",
    "intermediate_pki_path": "IntermediatePKIPath",
    "root_pki_path": "RootPKIPath",
    "namespace": "Namespace",
    "tls_server_name": "TLSServerName",
    "leaf_cert_ttl": "LeafCertTTL",
    "intermediate_cert_ttl": "IntermediateCertTTL",
    "root_cert_ttl": "RootCertTTL",
    "private_key_type": "PrivateKeyType",
    "private_key_bits": "PrivateKeyBits",
}
"""Agent-file key → API key (consul ``VaultCAProviderConfig`` / ``CommonCAProviderConfig`` field names)."""


def _additional_ca_config(vault: Mapping[str, Any]) -> dict[str, Any]:
    """The ``ca_config`` block of ``connectCA.additionalConfig`` (the chart merges it over its own file)."""
    text = vault.get("connectCA", {}).get("additionalConfig")
    if not text:
        return {}
    document = json.loads(text)
    blocks = [block for connect in document.get("connect", []) for block in connect.get("ca_config", [])]
    merged: dict[str, Any] = {}
    for block in blocks:
        merged.update(block)
    return merged


def connect_ca_api_config(vault: Mapping[str, Any]) -> dict[str, Any]:
    """The Vault CA provider's API ``Config`` that equals what the chart renders from ``global.secretsBackend.vault``.

    The chart's file (connect-ca-config.json): address, ``ca_file`` when ``vault.ca`` names a Secret, the
    intermediate and root paths, the Vault namespace unless the additional config sets one, and the Kubernetes auth
    method with the servers' role; then the additional config on top.
    """
    connect_ca = vault["connectCA"]
    file_config: dict[str, Any] = {
        "address": connect_ca["address"],
        "intermediate_pki_path": connect_ca["intermediatePKIPath"],
        "root_pki_path": connect_ca["rootPKIPath"],
    }
    ca = vault.get("ca") or {}
    if ca.get("secretName") and ca.get("secretKey"):
        file_config["ca_file"] = VAULT_CA_FILE
    additional = _additional_ca_config(vault)
    if vault.get("vaultNamespace") and "namespace" not in (connect_ca.get("additionalConfig") or ""):
        file_config["namespace"] = vault["vaultNamespace"]
    file_config.update(additional)
    unknown = sorted(set(file_config) - set(API_KEYS))
    if unknown:
        raise ValueError(f"connect CA keys without an API name: {unknown} (add them to API_KEYS)")
    config = {API_KEYS[key]: value for key, value in file_config.items()}
    config["AuthMethod"] = {
        "Type": "kubernetes",
        "MountPath": connect_ca["authMethodPath"],
        "Params": {"role": vault["consulServerRole"]},
    }
    return dict(sorted(config.items()))
