"""Stack-level least privilege: the Helm values, the Kubernetes-auth roles and the Vault policies checked together.

The Consul chart names, in its values, each Vault role its pods log in with and each Vault path they
read or write. These rules follow those names to the declared roles and parse the policies the roles
attach: every path the chart uses must be granted to exactly the role the chart uses for it (contract
§3), and no identity may reach another purpose's secrets.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from .chart import CA_PATHS, ISSUE_PATHS, KV_SECRETS, ConsulValues, consul_values, mesh_intermediate_paths
from .documents import REACH, capabilities_on, is_glob, literal_prefix
from .framework import Res, StackView, norm_path, stack_rule
from .index import auth_roles, declared_mount_paths, policies_by_name, role_acl

Finding = tuple[str, str | None]
Need = tuple[str, str, frozenset[str], str]
"""(role key in the values, Vault path, capabilities needed, the values key that names the path)."""

UPDATE = frozenset({"update"})
READ = frozenset({"read"})


def needs_of(values: ConsulValues) -> list[Need]:
    """What each chart identity must be able to do in Vault, from the values (contract §3)."""
    needs: list[Need] = []
    for key, path in values.kv_paths().items():
        for role_key, capabilities in KV_SECRETS[key]:
            if role_key == "consulClientRole" and not values.clients_enabled:
                continue
            if role_key == "adminPartitionsRole" and role_key not in values.roles:
                continue
            needs.append((role_key, path, capabilities, f"{key}.secretName"))
    for key, path in values.issue_paths().items():
        needs.append((ISSUE_PATHS[key], path, UPDATE, key))
    for key, path in values.ca_paths().items():
        readers = values.role_keys_in_use() if key == "global.tls.caCert.secretName" else CA_PATHS[key]
        needs.extend((role_key, path, READ, key) for role_key in readers)
    root, intermediate = values.root_pki_path, values.intermediate_pki_path
    if root and intermediate:
        key = "global.secretsBackend.vault.connectCA"
        needs.extend(
            [
                ("consulServerRole", f"sys/mounts/{root}", READ, key),
                ("consulServerRole", f"sys/mounts/{intermediate}", READ, key),
                ("consulServerRole", f"sys/mounts/{intermediate}/tune", UPDATE, key),
                ("consulServerRole", f"{root}/root/sign-intermediate", UPDATE, key),
                ("consulServerRole", f"{intermediate}/intermediate/generate/internal", UPDATE, key),
            ]
        )
    return needs


def _find_role(roles: list[Res], name: str, mount: str) -> tuple[Res | None, list[str]]:
    """The role with a name on an auth mount, and the other mounts that have a role of that name."""
    named = [r for r in roles if str(r.get("roleName")) == name]
    on_mount = [r for r in named if norm_path(r.get("backend")) == mount]
    return (on_mount[0] if on_mount else None), sorted({norm_path(r.get("backend")) for r in named})


@stack_rule(
    "POL-LEAST",
    part="granted",
    checks="Every Vault path the Consul chart uses (KV secrets, PKI issue and CA paths, the mesh CA paths) is granted, "
    "with the capabilities the contract lists, by a parsed policy attached to the Kubernetes-auth role the values "
    "name for that reader, on the auth mount the chart logs in to.",
    why="Chart contract §3 and §6 (the known traps: wrong service account, forgotten issue policy).",
    fix="Attach the identity's policy (rendered from the contract table) to the role named in "
    "global.secretsBackend.vault.<role key>, on the auth mount in the agent annotations.",
)
def pol_least_granted(view: StackView, config: Mapping[str, Any]) -> Iterator[Finding]:
    """What the chart needs, Vault grants."""
    policies = policies_by_name(view)
    roles = auth_roles(view)
    for values in consul_values(view):
        if not values.vault_enabled:
            continue
        release = values.release
        for role_key, path, wanted, source in needs_of(values):
            name = values.roles.get(role_key)
            prop = f"values.global.secretsBackend.vault.{role_key}"
            if name is None:
                yield (
                    release.finding(
                        prop, None, f"no role is named for the pods that use {source} ({path})", f"set {role_key}"
                    ),
                    release.urn,
                )
                continue
            mount = values.connect_auth_mount if source.endswith("connectCA") else values.auth_mount
            role, elsewhere = _find_role(roles, name, mount)
            if role is None:
                where = f" (found on {elsewhere})" if elsewhere else ""
                yield (
                    release.finding(
                        prop,
                        name,
                        f"no Kubernetes-auth role {name!r} on auth mount {mount!r}{where}",
                        "declare the role on the mount the chart logs in to",
                    ),
                    release.urn,
                )
                continue
            granted = capabilities_on(role_acl(role, policies), path)
            missing = wanted - granted
            if missing:
                yield (
                    role.finding(
                        "tokenPolicies",
                        [str(p) for p in (role.get("tokenPolicies") or [])],
                        f"its policies do not grant {sorted(missing)} on {path} (needed for values.{source})",
                        f"add path {path!r} with {sorted(wanted)} to the role's policy",
                    ),
                    role.urn,
                )


def _allowed_readers(values: ConsulValues) -> dict[str, set[str]]:
    """Sensitive path → the role names allowed to reach it."""
    allowed: dict[str, set[str]] = {}
    for key, path in values.kv_paths().items():
        keys = {k for k, _ in KV_SECRETS[key]}
        if key == "global.acls.replicationToken":
            keys.add("consulServerRole")
        allowed.setdefault(path, set()).update(values.roles[k] for k in keys if k in values.roles)
    for key, path in values.issue_paths().items():
        if ISSUE_PATHS[key] in values.roles:
            allowed.setdefault(path, set()).add(values.roles[ISSUE_PATHS[key]])
    if values.root_pki_path and "consulServerRole" in values.roles:
        allowed.setdefault(f"{values.root_pki_path}/root/sign-intermediate", set()).add(
            values.roles["consulServerRole"]
        )
    return allowed


@stack_rule(
    "POL-LEAST",
    part="purpose",
    checks="No identity reaches another purpose's secrets: only the roles the contract lists can reach each KV secret, "
    "issue path and the mesh root's sign-intermediate; no policy globs over a whole mount (except Consul's own "
    "intermediate mount) or over several mounts.",
    why="Chart contract §3; Vault policy docs: a glob that crosses a purpose grants every secret under it.",
    fix="Grant exact paths per identity; never share a policy between purposes.",
)
def pol_least_purpose(view: StackView, config: Mapping[str, Any]) -> Iterator[Finding]:
    """Each secret is reachable only by its own readers; no whole-mount globs."""
    policies = policies_by_name(view)
    for values in consul_values(view):
        allowed = _allowed_readers(values)
        for role in auth_roles(view):
            acl = role_acl(role, policies)
            name = str(role.get("roleName"))
            for path, readers in allowed.items():
                reach = capabilities_on(acl, path) & REACH
                if reach and name not in readers:
                    yield (
                        role.finding(
                            "tokenPolicies",
                            [str(p) for p in (role.get("tokenPolicies") or [])],
                            f"reaches {path} ({sorted(reach)}), which only {sorted(readers)} may use",
                            "remove the path (or the glob covering it) from this role's policies",
                        ),
                        role.urn,
                    )
    owned = mesh_intermediate_paths(view)
    mounts = {p: m for p, m in declared_mount_paths(view).items() if p not in owned}
    for declared in policies.values():
        for pattern, capabilities in declared.parsed.rules.items():
            if not is_glob(pattern) or not capabilities & REACH:
                continue
            prefix = literal_prefix(pattern.lstrip("/"))
            covered = sorted(p for p in mounts if (p + "/").startswith(prefix))
            if covered:
                yield (
                    declared.res.finding(
                        f"policy.path[{pattern!r}]",
                        sorted(capabilities),
                        f"the glob covers the whole mount(s) {covered}",
                        "grant exact paths inside the mount",
                    ),
                    declared.res.urn,
                )
