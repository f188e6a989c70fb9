"""What the Consul Helm release's values say about Vault: roles, KV paths, PKI paths, the mesh CA.

The chart contract (consul-k8s 2.0.3 with the Vault secrets backend) is the interface between the
Helm values and Vault: these readers give the stack rules the role names and Vault paths the chart
will use, so the rules can check that Vault grants exactly those.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from . import types as t
from .documents import effective, value_at
from .framework import Res, StackView, norm_path
from .index import previous_generation_mount

VAULT = "global.secretsBackend.vault"

ROLE_KEYS = (
    "consulServerRole",
    "consulClientRole",
    "manageSystemACLsRole",
    "adminPartitionsRole",
    "connectInjectRole",
    "consulCARole",
)
"""The values keys under ``global.secretsBackend.vault`` that name Kubernetes-auth roles."""

KV_SECRETS: dict[str, tuple[tuple[str, frozenset[str]], ...]] = {
    "global.gossipEncryption": (("consulServerRole", frozenset({"read"})), ("consulClientRole", frozenset({"read"}))),
    "global.acls.bootstrapToken": (
        ("consulServerRole", frozenset({"read"})),
        ("manageSystemACLsRole", frozenset({"read", "update"})),
    ),
    "global.acls.replicationToken": (("manageSystemACLsRole", frozenset({"read"})),),
    "global.acls.partitionToken": (
        ("manageSystemACLsRole", frozenset({"read"})),
        ("adminPartitionsRole", frozenset({"read"})),
    ),
    "global.enterpriseLicense": (("consulServerRole", frozenset({"read"})), ("consulClientRole", frozenset({"read"}))),
    "server.snapshotAgent.configSecret": (("consulServerRole", frozenset({"read"})),),
}
"""KV-v2 secrets the chart reads (values key → the roles that read it and what they need), contract §3."""

ISSUE_PATHS: dict[str, str] = {
    "server.serverCert.secretName": "consulServerRole",
    "global.secretsBackend.vault.connectInject.tlsCert.secretName": "connectInjectRole",
}
"""PKI issue endpoints the chart requests certificates from, and the role that requests them."""

CA_PATHS: dict[str, tuple[str, ...]] = {
    "global.tls.caCert.secretName": ROLE_KEYS,
    "global.secretsBackend.vault.connectInject.caCert.secretName": ("connectInjectRole",),
}
"""PKI CA endpoints the chart reads, and the roles whose pods read them (with TLS on: every role)."""

_ISSUE = re.compile(r"^(?P<mount>.+)/issue/(?P<role>[^/]+)$")
_AUTH_PATH_ANNOTATION = re.compile(r"vault\.hashicorp\.com/auth-path['\"]?\s*:\s*['\"]?([^'\"\s,}]+)")


def is_consul_release(res: Res) -> bool:
    """A Helm release of the ``consul`` chart (by name, repository-qualified or not)."""
    if res.type != t.HELM_RELEASE:
        return False
    chart = str(res.get("chart", ""))
    return chart.rstrip("/").rsplit("/", 1)[-1] == "consul"


def split_issue(path: str) -> tuple[str, str] | None:
    """``<mount>/issue/<role>`` as (mount, role)."""
    found = _ISSUE.match(norm_path(path))
    return (found["mount"], found["role"]) if found else None


@dataclass
class ConsulValues:
    """The Vault-facing facts of one Consul release's values."""

    release: Res
    values: Any
    roles: dict[str, str] = field(default_factory=dict)
    """Values key (``consulServerRole``) → role name, for the keys that are set."""

    @classmethod
    def of(cls, release: Res) -> ConsulValues:
        """Read a Consul release."""
        values = release.get("values", {})
        roles: dict[str, str] = {}
        for key in ROLE_KEYS:
            value = value_at(values, f"{VAULT}.{key}")
            if isinstance(value, str) and value:
                roles[key] = value
        return cls(release, values, roles)

    def get(self, dotted: str) -> Any:
        """A value with the chart default applied."""
        return effective(self.values, dotted)

    @property
    def vault_enabled(self) -> bool:
        """Whether the chart reads its secrets from Vault."""
        return self.get(f"{VAULT}.enabled") is True

    @property
    def clients_enabled(self) -> bool:
        """Whether the chart runs client agents (whose role then reads the gossip key and the CA)."""
        return self.get("client.enabled") is True

    def kv_paths(self) -> dict[str, str]:
        """Values key (``global.gossipEncryption``) → the KV-v2 path the chart reads, for the ones set."""
        found: dict[str, str] = {}
        for key in KV_SECRETS:
            name = value_at(self.values, f"{key}.secretName")
            if isinstance(name, str) and name:
                found[key] = norm_path(name)
        return found

    def issue_paths(self) -> dict[str, str]:
        """Values key → PKI issue path, for the ones set."""
        found: dict[str, str] = {}
        for key in ISSUE_PATHS:
            value = value_at(self.values, key)
            if isinstance(value, str) and value:
                found[key] = norm_path(value)
        return found

    def ca_paths(self) -> dict[str, str]:
        """Values key → PKI CA read path, for the ones set."""
        found: dict[str, str] = {}
        for key in CA_PATHS:
            value = value_at(self.values, key)
            if isinstance(value, str) and value:
                found[key] = norm_path(value)
        return found

    @property
    def root_pki_path(self) -> str | None:
        """``connectCA.rootPKIPath``: the Vault-held CA Consul signs its intermediate with."""
        value = value_at(self.values, f"{VAULT}.connectCA.rootPKIPath")
        return norm_path(value) if isinstance(value, str) and value else None

    @property
    def intermediate_pki_path(self) -> str | None:
        """``connectCA.intermediatePKIPath``: the mount Consul creates and owns."""
        value = value_at(self.values, f"{VAULT}.connectCA.intermediatePKIPath")
        return norm_path(value) if isinstance(value, str) and value else None

    @property
    def annotation_auth_path(self) -> str | None:
        """The auth mount from ``agentAnnotations`` (``vault.hashicorp.com/auth-path``), without ``auth/``."""
        annotations = value_at(self.values, f"{VAULT}.agentAnnotations")
        if not isinstance(annotations, str):
            return None
        found = _AUTH_PATH_ANNOTATION.search(annotations)
        if not found:
            return None
        path = norm_path(found.group(1))
        return path[len("auth/") :] if path.startswith("auth/") else path

    @property
    def auth_mount(self) -> str:
        """The Kubernetes auth mount the chart's Vault agents log in to (``kubernetes`` unless annotated)."""
        return self.annotation_auth_path or "kubernetes"

    @property
    def connect_auth_mount(self) -> str:
        """The auth mount the servers' mesh CA provider logs in to (``connectCA.authMethodPath``)."""
        return norm_path(self.get(f"{VAULT}.connectCA.authMethodPath"))

    @property
    def is_federation_secondary(self) -> bool:
        """A WAN-federation secondary: federation on, with a primary datacenter other than this one. Its gossip key,
        replication token, server CA and connect root are its primary's (another stack's paths).
        """
        primary = value_at(self.values, "global.federation.primaryDatacenter")
        datacenter = value_at(self.values, "global.datacenter") or "dc1"
        return self.get("global.federation.enabled") is True and bool(primary) and primary != datacenter

    @property
    def is_federation_primary(self) -> bool:
        """A WAN-federation primary: federation on, and no other datacenter named as the primary."""
        return self.get("global.federation.enabled") is True and not self.is_federation_secondary

    def role_keys_in_use(self) -> tuple[str, ...]:
        """The role keys whose pods exist with these values (client role only with clients enabled)."""
        return tuple(k for k in self.roles if k != "consulClientRole" or self.clients_enabled)


def consul_values(view: StackView) -> list[ConsulValues]:
    """Every Consul release in the stack, read."""
    return [ConsulValues.of(r) for r in view.resources if is_consul_release(r)]


def previous_connect_roots(view: StackView) -> dict[str, str]:
    """Previous connect root → the rootPKIPath that replaced it: for each Consul release whose root is a later
    generation of its level's mount (``rotation.connectRootGeneration``), the mount of the generation before,
    which Consul cross-signs the new root with while it switches (consul provider_vault.go ``CrossSignCA``).
    """
    previous: dict[str, str] = {}
    for values in consul_values(view):
        root = values.root_pki_path
        before = previous_generation_mount(view, root) if root else None
        if root and before is not None:
            previous[before] = root
    return previous


def mesh_intermediate_paths(view: StackView) -> set[str]:
    """Every ``intermediatePKIPath`` in the stack: mounts Consul owns (the program declares nothing there)."""
    return {v.intermediate_pki_path for v in consul_values(view) if v.intermediate_pki_path}

