"""Indexes over a whole stack that several stack rules share: mounts, parsed policies, auth roles."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from . import types as t
from .documents import VaultPolicy, acl_of, merge, parse_policy
from .framework import Res, StackView, as_list, norm_path
from .vaultpaths import Acl


def pki_mounts(view: StackView) -> dict[str, Res]:
    """Declared PKI mounts by path."""
    return {norm_path(m.get("path")): m for m in view.of(t.MOUNT) if m.get("type") == "pki"}


GENERATION_NAME = re.compile(r"^(?P<level>.+-l\d+)(?:-g(?P<generation>[1-9]\d*))?-(?P<part>[a-z-]+)$")
"""A CA resource's name as the certificate authority component writes it: ``<component>-<chain>-l<level>`` and, from
generation 2 of a chain's issuing CA on, ``-g<N>``, then the part (``mount``, ``csr``, ``signed``, ``set-signed``,
``issuer``, …)."""


def generation_of(res: Res) -> tuple[str, str, int] | None:
    """(level, part, generation) of a CA resource named by generation; None for other names."""
    found = GENERATION_NAME.match(res.name)
    if found is None:
        return None
    return found["level"], found["part"], int(found["generation"] or 1)


def previous_generation_mount(view: StackView, path: str) -> str | None:
    """The declared PKI mount holding the generation before the one at ``path`` (the same level's ``…-l<k>-mount``
    or ``…-l<k>-g<N-1>-mount`` beside ``…-l<k>-g<N>-mount``); None when ``path`` is no later generation's mount.
    """
    mounts = pki_mounts(view)
    mine = generation_of(mounts[path]) if path in mounts else None
    if mine is None or mine[1] != "mount" or mine[2] < 2:
        return None
    level, _, generation = mine
    for other_path, other in mounts.items():
        if generation_of(other) == (level, "mount", generation - 1):
            return other_path
    return None


def is_kv2_mount(mount: Res) -> bool:
    """A ``vault.Mount`` of a KV version 2 engine (``kv-v2``, or ``kv`` with ``options.version`` 2)."""
    kind = mount.get("type")
    if kind == "kv-v2":
        return True
    options = mount.get("options", {})
    version = options["version"] if isinstance(options, Mapping) and any(k == "version" for k in options) else None
    return kind == "kv" and str(version) == "2"


def kv2_mounts(view: StackView) -> set[str]:
    """Paths of every declared KV version 2 ``vault.Mount`` (``kv-v2``, or ``kv`` with ``options.version`` 2)."""
    paths = {norm_path(m.get("path")) for m in view.of(t.MOUNT) if is_kv2_mount(m)}
    return paths


def declared_kv2_mounts(view: StackView) -> dict[str, Res]:
    """Every declared KV version 2 ``vault.Mount`` by path."""
    return {norm_path(m.get("path")): m for m in view.of(t.MOUNT) if is_kv2_mount(m)}


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


@dataclass(frozen=True)
class Identity:
    """Something that logs in to Vault or holds a token, with the ACL its declared policies give it."""

    res: Res
    name: str
    """The name Vault knows it by (a Kubernetes-auth role's ``roleName``, else the resource name)."""
    policy_names: tuple[str, ...]
    """Every policy it carries (``default`` and undeclared ones included, for messages)."""
    acl: Acl

    @property
    def prop(self) -> str:
        """The property that attaches its policies."""
        return "tokenPolicies" if self.res.has("tokenPolicies") else "policies"


def identities(view: StackView) -> list[Identity]:
    """Every Vault resource that attaches policies (auth roles, tokens): who can reach what."""
    declared = policies_by_name(view)
    found: list[Identity] = []
    for res in view.resources:
        if not res.type.startswith("vault:") or res.type == t.POLICY:
            continue
        prop = "tokenPolicies" if res.has("tokenPolicies") else "policies" if res.has("policies") else None
        if prop is None:
            continue
        attached = tuple(str(n) for n in as_list(res.get(prop)))
        name = str(res.get("roleName") or res.get("name") or res.name)
        acl = acl_of(declared[n].parsed for n in attached if n in declared)
        found.append(Identity(res, name, attached, acl))
    return found


def mounts_of_type(view: StackView, *kinds: str) -> dict[str, Res]:
    """Declared ``vault.Mount`` paths of some engine types (``pki``, ``database``, …)."""
    return {norm_path(m.get("path")): m for m in view.of(t.MOUNT) if m.get("type") in kinds}
