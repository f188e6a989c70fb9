"""Indexes over a whole stack that several stack rules share: mounts, parsed policies, auth roles."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from . import types as t
from .documents import VaultPolicy, merge, parse_policy
from .framework import Res, StackView, as_list, norm_path


def pki_mounts(view: StackView) -> dict[str, Res]:
    """Declared PKI mounts by path."""
    return {norm_path(m.get("path")): m for m in view.of(t.MOUNT) if m.get("type") == "pki"}


def is_kv2_mount(mount: Res) -> bool:
    """A ``vault.Mount`` of a KV version 2 engine (``kv-v2``, or ``kv`` with ``options.version`` 2)."""
    kind = mount.get("type")
    if kind == "kv-v2":
        return True
    options = mount.get("options", {})
    version = options["version"] if isinstance(options, Mapping) and any(k == "version" for k in options) else None
    return kind == "kv" and str(version) == "2"


def kv2_mounts(view: StackView) -> set[str]:
    """Paths of every KV version 2 mount (``vault.Mount`` or ``kv.SecretBackendV2`` settings)."""
    paths = {norm_path(m.get("path")) for m in view.of(t.MOUNT) if is_kv2_mount(m)}
    return paths


def declared_mount_paths(view: StackView) -> dict[str, Res]:
    """Every path a mount occupies in Vault's API: secret engines at ``<path>``, auth methods at ``auth/<path>``."""
    found = {norm_path(m.get("path")): m for m in view.of(t.MOUNT)}
    for auth in view.of(t.AUTH_BACKEND):
        found[f"auth/{norm_path(auth.get('path') or auth.get('type'))}"] = auth
    return found


@dataclass(frozen=True)
class DeclaredPolicy:
    """A ``vault.Policy`` resource with its parsed document."""

    res: Res
    parsed: VaultPolicy


def policies_by_name(view: StackView) -> dict[str, DeclaredPolicy]:
    """Every declared Vault policy by its Vault name (the ``name`` prop, else the resource name)."""
    found: dict[str, DeclaredPolicy] = {}
    for res in view.of(t.POLICY):
        name = str(res.get("name") or res.name)
        found[name] = DeclaredPolicy(res, parse_policy(name, res.get("policy")))
    return found


def role_policies(role: Res, policies: Mapping[str, DeclaredPolicy]) -> list[DeclaredPolicy]:
    """The declared policies a role's ``tokenPolicies`` attach (names Vault knows otherwise are skipped)."""
    return [policies[str(n)] for n in as_list(role.get("tokenPolicies")) if str(n) in policies]


def role_acl(role: Res, policies: Mapping[str, DeclaredPolicy]) -> dict[str, frozenset[str]]:
    """The merged ACL a role's tokens get from its declared policies."""
    return merge(p.parsed for p in role_policies(role, policies))


def auth_roles(view: StackView) -> list[Res]:
    """Every Kubernetes-auth role."""
    return view.of(t.K8S_AUTH_ROLE)
