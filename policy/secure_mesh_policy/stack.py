"""Stack-level least privilege: the Helm values, the Kubernetes-auth roles and the Vault policies checked together.

The Consul chart names, in its values, each Vault role its pods log in with and each Vault path they
read or write. These rules follow those names to the declared roles and parse the policies the roles
attach: every path the chart uses must be granted to exactly the role the chart uses for it (contract
§3), and no identity may reach another purpose's secrets.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from . import types as t
from .chart import (
    CA_PATHS,
    ISSUE_PATHS,
    KV_SECRETS,
    ConsulValues,
    consul_values,
    mesh_intermediate_paths,
    previous_connect_roots,
)
from .consumers import APP_ROLE_PREFIX, app_of_kv_path, database_mounts, declared_uses
from .documents import REACH, capabilities_on, is_glob, literal_prefix
from .framework import Res, StackView, norm_path, stack_rule
from .index import (
    Identity,
    auth_roles,
    declared_mount_paths,
    identities,
    kv2_mounts,
    pki_mounts,
    policies_by_name,
    role_acl,
)
from .onboarding import is_address_update
from .vaultpaths import ANY_SEGMENT, Reach, one_per_rule, reach, target

Finding = tuple[str, str | None]
Need = tuple[str, str, frozenset[str], str]
"""(role key in the values, Vault path, capabilities needed, the values key that names the path)."""

UPDATE = frozenset({"update"})
READ = frozenset({"read"})


def needs_of(values: ConsulValues) -> list[Need]:
    """What each chart identity must be able to do in Vault, from the values (contract §3)."""
    needs: list[Need] = []
    for key, path in values.kv_paths().items():
        kv_readers = list(KV_SECRETS[key])
        if key == "global.acls.replicationToken" and values.get("global.acls.createReplicationToken") is not True:
            # Servers template it as their agent and replication tokens unless this datacenter creates it (the
            # primary): chart 2.0.3 templates/server-statefulset.yaml L101-104, a federation secondary's servers.
            kv_readers.append(("consulServerRole", READ))
        for role_key, capabilities in kv_readers:
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
                ("consulServerRole", f"sys/mounts/{intermediate}", READ, key),
                ("consulServerRole", f"sys/mounts/{intermediate}/tune", UPDATE, key),
                ("consulServerRole", f"{intermediate}/intermediate/generate/internal", UPDATE, key),
            ]
        )
        if not values.is_federation_secondary:
            # A secondary never signs with the root: the primary's servers sign its CSR (consul
            # agent/connect/ca/provider_vault.go, agent/consul/leader_connect_ca.go secondaryRequestNewSigningCert).
            needs.extend(
                [
                    ("consulServerRole", f"sys/mounts/{root}", READ, key),
                    ("consulServerRole", f"{root}/root/sign-intermediate", UPDATE, key),
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


ROTATION_JOB_PREFIXES = ("gossip-rotate-v", "bootstrap-token-rotate-v", "replication-token-rotate-v")
"""The program's rotation Jobs (``components/rotation``): the gossip key's, the bootstrap token's and the
replication token's. Each one's Vault role may use the one secret the Job rotates (its ``KV_CURRENT``)."""


def rotation_writers(view: StackView) -> Iterator[tuple[str, str]]:
    """(KV-v2 data path, Vault role) of every rotation Job: the one role besides the chart's that may write the
    secret it rotates, read from the Job's own environment (``VAULT_ROLE``, ``KV_MOUNT``, ``KV_CURRENT``).
    """
    for job in view.of("kubernetes:batch/v1:Job"):
        metadata = job.props.get("metadata")
        name = metadata.get("name") if isinstance(metadata, Mapping) else None
        if not isinstance(name, str) or not name.startswith(ROTATION_JOB_PREFIXES):
            continue
        spec = job.props.get("spec")
        pod = spec.get("template", {}).get("spec", {}) if isinstance(spec, Mapping) else {}
        for container in pod.get("containers", []) if isinstance(pod, Mapping) else []:
            env = {e.get("name"): e.get("value") for e in container.get("env", []) if isinstance(e, Mapping)}
            role, mount, current = env.get("VAULT_ROLE"), env.get("KV_MOUNT"), env.get("KV_CURRENT")
            if isinstance(role, str) and isinstance(mount, str) and isinstance(current, str):
                yield f"{mount}/data/{current}", role


def _exact_grants(identity: Identity) -> set[str]:
    """The paths an identity's policies name exactly (no ``*``, ``+`` or template)."""
    return {r.pattern.path for r in identity.acl.rules if r.pattern.is_exact and not r.denies}


def _finding(identity: Identity, found: Reach, problem: str, fix: str) -> Finding:
    """A finding against the identity, naming the witness path, the capabilities and the rule that grants them."""
    via = f"{found.rule.pattern.raw!r} in {list(found.rule.policies)}"
    return (
        identity.res.finding(
            identity.prop,
            list(identity.policy_names),
            f"may {sorted(found.capabilities)} {found.shown} (via {via}): {problem}",
            fix,
        ),
        identity.res.urn,
    )


def _kv_problem(identity: Identity, path: str, mounts: set[str], exact: set[str]) -> str | None:
    """Why an identity must not reach a KV-v2 path (None when it may)."""
    app = app_of_kv_path(path, mounts)
    if app is not None:
        shown = app.replace(ANY_SEGMENT, "<any>")
        return None if identity.name == f"{APP_ROLE_PREFIX}{app}" else f"another app's KV secrets (app {shown!r})"
    if path in exact:
        return None
    return "KV paths no policy names exactly (the glob reaches the whole KV tree, today's and future secrets)"


def _database_problem(identity: Identity, path: str, mount: str) -> str | None:
    """Why an identity must not reach a database-engine path (None: its own app's credentials)."""
    own = {f"{mount}/creds/{identity.name}", f"{mount}/static-creds/{identity.name}"}
    if path in own and identity.name.startswith(APP_ROLE_PREFIX):
        return None
    parts = path[len(mount) + 1 :].split("/")
    if len(parts) == 2 and parts[0] in ("creds", "static-creds"):
        role = parts[1].replace(ANY_SEGMENT, "<any>")
        if identity.name.startswith(APP_ROLE_PREFIX):
            return f"database credentials of role {role!r}, which is not this identity's own ({identity.name!r})"
        return f"database credentials of role {role!r}; only an app's own role (app-<app>) may read them"
    return "the database engine's configuration, roles or root credentials"


@stack_rule(
    "POL-LEAST",
    part="purpose",
    checks="No identity reaches another identity's secrets, decided with Vault's own path matching (exact rules "
    "first, then the most specific of '*' prefixes and '+' segments; deny wins): the Consul chart's KV secrets, issue "
    "paths and the mesh root's sign-intermediate only by the roles the contract lists (the gossip key and the "
    "bootstrap and replication tokens also by the role a gossip-rotate-v<N>, bootstrap-token-rotate-v<N> or "
    "replication-token-rotate-v<N> Job that rotates it logs in with); the gateway's issue path (and "
    "any a CSI class or agent annotations name) only by the role they log in with; an app's KV subtree "
    "(<kv>/data|metadata/apps/<app>/) only by its role app-<app>; no KV-v2 path through a glob outside the "
    "identity's own app subtree; database credentials only the identity's own (<db>/creds/app-<app>), nothing else "
    "in a database mount; no policy globs over a whole mount (except Consul's own intermediate mount) or several.",
    why="Chart contract §3 and the onboarding contract; Vault policy docs (vault/acl.go): a glob that crosses a "
    "purpose grants every secret under it, including secrets written later.",
    fix="Grant exact paths per identity (an app may glob only inside <kv>/data/apps/<app>/); never share a policy "
    "between purposes.",
)
def pol_least_purpose(view: StackView, config: Mapping[str, Any]) -> Iterator[Finding]:
    """Each secret is reachable only by its own readers; no whole-mount globs."""
    policies = policies_by_name(view)
    kv_mounts = kv2_mounts(view)
    db_mounts = database_mounts(view)
    contract: dict[str, set[str]] = {}
    for values in consul_values(view):
        for path, readers in _allowed_readers(values).items():
            contract.setdefault(path, set()).update(readers)
    for use in declared_uses(view):
        if "/issue/" in use.path and use.source.type != t.HELM_RELEASE:
            contract.setdefault(use.path, set()).add(use.role)  # the gateway's (CSI) and agents' issue paths
    for path, role in rotation_writers(view):
        if path in contract:
            contract[path].add(role)
    for identity in identities(view):
        exact = _exact_grants(identity)
        for path, readers in contract.items():
            for found in reach(identity.acl, target(path)):
                if identity.name not in readers:
                    yield _finding(
                        identity,
                        found,
                        f"only {sorted(readers)} may use {path}",
                        "remove the path (or the glob covering it) from this role's policies",
                    )
        for mount in sorted(kv_mounts):
            for found in one_per_rule(reach(identity.acl, target(mount, subtree=True))):
                if found.path in contract:
                    continue
                problem = _kv_problem(identity, found.path, kv_mounts, exact)
                if problem:
                    yield _finding(
                        identity,
                        found,
                        problem,
                        "grant the identity's own exact KV paths (an app may glob only inside "
                        f"{mount}/data/apps/<its name>/)",
                    )
        for mount in sorted(db_mounts):
            for found in one_per_rule(reach(identity.acl, target(mount, subtree=True))):
                if is_address_update(found, mount):
                    continue  # one connection's address, update only: POL-DB-ADDRESS decides its parameters
                problem = _database_problem(identity, found.path, mount)
                if problem:
                    yield _finding(
                        identity, found, problem, f"grant read on {mount}/creds/<the identity's own role> only"
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


WRITE = frozenset({"create", "update", "patch"})
CROSS_SIGN_PATHS = ("root/sign-intermediate", "root/sign-self-issued")
"""What Consul's server role may write on the previous connect root while it rotates."""
SIGNING = ("issue/", "sign/", "sign-verbatim", "root/sign-", "issuer/", "intermediate/", "root/generate", "issuers/")


@stack_rule(
    "POL-LEAST",
    part="issue",
    checks="No identity may write into a PKI mount (issue, sign, sign-verbatim, root/sign-intermediate, "
    "root/sign-self-issued, issuer/<ref>/sign-*, generate, roles, config) except: issue/<role> where a declared "
    "consumer (the Consul chart's values, a CSI SecretProviderClass, Vault agent annotations) uses that role with "
    "this identity; and Consul's server role inside its own mesh intermediate mount and on its root's "
    "sign-intermediate (and, while its root rotates, the previous root's sign-intermediate and sign-self-issued). "
    "Decided with Vault's path matching, so globs and '+' segments count.",
    why="Cross-purpose issuance: an identity that can issue on the gateway's, the servers' or the webhook's role "
    "(or sign verbatim, or sign a CA) can impersonate that purpose; chart contract §3; Vault PKI API.",
    fix="Grant create/update on exactly <mount>/issue/<role> for the role the identity's consumer names; nothing "
    "else in PKI mounts.",
)
def pol_least_issue(view: StackView, config: Mapping[str, Any]) -> Iterator[Finding]:
    """Each identity issues only from its own purpose's role, through the mount that serves it."""
    mounts = set(pki_mounts(view))
    servers: dict[str, tuple[str | None, str | None]] = {}
    previous = previous_connect_roots(view)
    for values in consul_values(view):
        mounts |= {p for p in (values.root_pki_path, values.intermediate_pki_path) if p}
        mounts |= {path.rsplit("/issue/", 1)[0] for path in values.issue_paths().values() if "/issue/" in path}
        if "consulServerRole" in values.roles:
            servers[values.roles["consulServerRole"]] = (values.root_pki_path, values.intermediate_pki_path)
    uses: dict[str, set[str]] = {}
    for use in declared_uses(view):
        uses.setdefault(use.path, set()).add(use.role)
    for identity in identities(view):
        exact = _exact_grants(identity)
        root, intermediate = servers.get(identity.name, (None, None))
        for mount in sorted(mounts):
            if mount == intermediate:
                continue
            fix = f"grant create/update on exactly {mount}/issue/<its own role> only"
            reported: set[str] = set()
            for path in sorted(p for p in uses if p.startswith(mount + "/issue/")):
                if identity.name in uses[path]:
                    continue
                for found in reach(identity.acl, target(path), WRITE)[:1]:
                    reported.add(found.rule.pattern.raw)
                    yield _finding(identity, found, f"issues on a role only {sorted(uses[path])} may use", fix)
            for found in one_per_rule(reach(identity.acl, target(mount, subtree=True), WRITE)):
                rest = found.path[len(mount) + 1 :]
                if found.rule.pattern.raw in reported or (mount == root and rest == "root/sign-intermediate"):
                    continue
                # while Consul's root rotates: the previous root keeps signing until the switch, then cross-signs
                if root is not None and previous.get(mount) == root and rest in CROSS_SIGN_PATHS:
                    continue
                if rest.startswith("issue/") and found.path in exact and identity.name in uses.get(found.path, set()):
                    continue
                if rest.startswith("issue/") and found.path in uses:
                    problem = f"issues on a role only {sorted(uses[found.path])} may use"
                elif rest.startswith(SIGNING):
                    problem = "issues, signs or mints certificates through a role or endpoint no consumer uses with it"
                else:
                    problem = "reconfigures the PKI mount (roles, config, keys)"
                yield _finding(identity, found, problem, fix)


@stack_rule(
    "POL-LEAST",
    part="sys",
    checks="Nothing under sys/ is reachable (read or tune of any mount, auth tune, policies, audit) except what "
    "Consul's Vault CA provider needs, and only by the chart's consulServerRole: read sys/mounts/<rootPKIPath> and "
    "sys/mounts/<intermediatePKIPath>, update sys/mounts/<intermediatePKIPath>/tune (and, while the root rotates, "
    "read sys/mounts/<the previous root>).",
    why="Consul's Vault CA provider docs (the only documented sys/ paths); tuning any other mount can change TTLs, "
    "audit HMAC settings or listing visibility of another purpose's secrets.",
    fix="Drop sys/ paths; keep only the mesh CA policy's sys/mounts reads and its own intermediate's tune.",
)
def pol_least_sys(view: StackView, config: Mapping[str, Any]) -> Iterator[Finding]:
    """sys/ only for Consul's CA provider, on its own mounts."""
    allowed: dict[str, dict[str, frozenset[str]]] = {}
    for values in consul_values(view):
        server = values.roles.get("consulServerRole")
        if server is None:
            continue
        paths = allowed.setdefault(server, {})
        rotated_from = [old for old, new in previous_connect_roots(view).items() if new == values.root_pki_path]
        for mount in (values.root_pki_path, values.intermediate_pki_path, *rotated_from):
            if mount:
                paths[f"sys/mounts/{mount}"] = frozenset({"read"})
        if values.intermediate_pki_path:
            paths[f"sys/mounts/{values.intermediate_pki_path}/tune"] = frozenset({"update"})
    for identity in identities(view):
        own = allowed.get(identity.name, {})
        for found in one_per_rule(reach(identity.acl, target("sys", subtree=True))):
            if found.capabilities <= own.get(found.path, frozenset()):
                continue
            if found.path in own:
                problem = f"more than {sorted(own[found.path])} on the mesh CA provider's own path"
            elif found.path.endswith("/tune"):
                problem = "tunes a mount other than Consul's own mesh intermediate"
            else:
                problem = "reaches sys/ beyond the mesh CA provider's documented mount reads"
            yield _finding(
                identity,
                found,
                problem,
                "remove the sys/ path; only the server role's mesh CA policy reads sys/mounts/<its PKI paths> and "
                "tunes its own intermediate",
            )
