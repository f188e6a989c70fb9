"""Vault policies and Kubernetes auth: least privilege, KV-v2 data paths, no root, tightly bound roles."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from pulumi_policy.proxy import UnknownValueError

from . import types as t
from .chart import consul_values
from .documents import CAPABILITIES, REACH, acl_of, duration_seconds, human, literal_prefix, names, parse_policy
from .framework import UNSET, Res, Setting, StackView, as_bool, as_list, resource_rule, stack_rule
from .index import identities, kv2_mounts, pki_mounts, policies_by_name
from .pki import cross_sign_exception
from .vaultpaths import Pattern, one_per_rule, reach, target

Finding = tuple[str, str | None]

ALLOWED_AUTH_PATHS = {"auth/token/renew-self": frozenset({"update"}), "auth/token/lookup-self": frozenset({"read"})}


def _sys_allowed(pattern: str, capabilities: frozenset[str]) -> bool:
    """The only sys/ paths: the mesh CA provider's ``sys/mounts/<p>`` (read) and ``sys/mounts/<p>/tune`` (update)."""
    if "*" in pattern or "+" in pattern.split("/") or not pattern.startswith("sys/mounts/"):
        return False
    if pattern.endswith("/tune"):
        return capabilities <= {"read", "update"}
    return capabilities <= {"read"}


@resource_rule(
    "POL-LEAST",
    checks="Vault policies parse as JSON, use only known capabilities, never grant sudo (but for the connect root's "
    "cross-sign shape, <R>/root/sign-self-issued beside a sys/mounts/<R> read, whose R PKI-SENSITIVE-PATHS checks), "
    "never glob from the top, "
    "and touch sys/ and auth/ only in the mesh CA's shapes (an exact sys/mounts/<path> read, an exact "
    "sys/mounts/<path>/tune update; which mounts, and for whom, pol-least-sys decides) and the token self-endpoints.",
    why="Vault policy docs and the chart contract §3: each identity gets exactly the paths it needs.",
    fix="Render policies in Vault's JSON syntax from the chart contract's path table; drop sudo and broad globs.",
    types=(t.POLICY,),
)
def pol_least(res: Res, config: Mapping[str, Any]) -> Iterator[str]:
    """A policy document is well formed and narrow."""
    parsed = parse_policy(str(res.get("name") or res.name), res.get("policy"))
    if parsed.error:
        yield res.finding(
            "policy", res.get("policy"), parsed.error, 'write {"path": {"<path>": {"capabilities": [..]}}}'
        )
        return
    for pattern, capabilities in parsed.rules.items():
        prop = f"policy.path[{pattern!r}]"
        path = pattern.lstrip("/")
        unknown = capabilities - CAPABILITIES
        if unknown:
            yield res.finding(
                prop,
                sorted(capabilities),
                f"unknown capabilities {sorted(unknown)} are ignored by Vault",
                "use create, read, update, patch, delete, list or deny",
            )
        if "sudo" in capabilities and cross_sign_exception(pattern, capabilities, parsed.rules) is None:
            yield res.finding(prop, sorted(capabilities), "sudo reaches root-protected endpoints", "remove sudo")
        if not capabilities & REACH:
            continue
        if "/" not in literal_prefix(path).rstrip("/") and literal_prefix(path) != path:
            yield res.finding(prop, sorted(capabilities), "the glob spans every mount", "grant exact paths")
        elif path.startswith("sys/") and not _sys_allowed(path, capabilities):
            yield res.finding(
                prop, sorted(capabilities), "sys/ access beyond the mesh CA's mount read and tune", "remove the path"
            )
        elif path.startswith("auth/") and not capabilities <= ALLOWED_AUTH_PATHS.get(path, frozenset()):
            yield res.finding(
                prop,
                sorted(capabilities),
                "an identity may reconfigure or use auth methods",
                "only auth/token/renew-self (update) and auth/token/lookup-self (read) are allowed",
            )


def _segments(pattern: str) -> list[str]:
    return pattern.strip("/").split("/")


@resource_rule(
    "POL-KV-DATA",
    checks="No policy grants KV-v2 delete or destroy: no delete on data/ or metadata/ paths, nothing on destroy/ "
    "or the delete/ and undelete/ endpoints.",
    why="Vault KV-v2 API: delete/destroy lose secret history; workloads only read.",
    fix="Grant read on <kv>/data/<path> only.",
    types=(t.POLICY,),
)
def pol_kv_data(res: Res, config: Mapping[str, Any]) -> Iterator[str]:
    """Workloads never delete KV secrets or their history."""
    parsed = parse_policy(str(res.get("name") or res.name), res.get("policy"))
    for pattern, capabilities in parsed.rules.items():
        segments = _segments(pattern)
        prop = f"policy.path[{pattern!r}]"
        if not capabilities & REACH:
            continue
        if "destroy" in segments or "undelete" in segments:
            yield res.finding(prop, sorted(capabilities), "reaches KV-v2 version destruction", "remove the path")
        elif "delete" in segments[1:] and capabilities & {"update", "create"}:
            yield res.finding(prop, sorted(capabilities), "can soft-delete KV-v2 versions", "remove the path")
        elif ("data" in segments or "metadata" in segments) and "delete" in capabilities:
            yield res.finding(
                prop, sorted(capabilities), "grants delete on KV-v2 data or metadata", "drop the delete capability"
            )


KV_DESTRUCTIVE = (
    ("destroy", frozenset({"create", "update", "patch"}), "destroys KV-v2 versions"),
    ("delete", frozenset({"create", "update", "patch"}), "soft-deletes KV-v2 versions"),
    ("undelete", frozenset({"create", "update", "patch"}), "restores deleted KV-v2 versions"),
    ("data", frozenset({"delete"}), "deletes KV-v2 secrets"),
    ("metadata", frozenset({"delete", "create", "update", "patch"}), "deletes KV-v2 history or rewrites its "
     "retention (max_versions, delete_version_after, cas_required)"),
)
"""KV-v2 endpoints (``<mount>/<endpoint>/<path>``), the capabilities that make them destructive, and why."""


@stack_rule(
    "POL-KV-DATA",
    part="stack",
    checks="Every policy path inside a KV-v2 mount goes through data/ (or metadata/ for read/list only), and no "
    "identity can reach, through any glob or '+' segment, delete on data/ or metadata/, writes to metadata/ or "
    "destroy/, delete/ and undelete/ in a KV-v2 mount.",
    why="Vault KV-v2 API: a path without /data/ matches nothing (or the wrong endpoint) in a v2 mount; delete, "
    "destroy and metadata writes lose secret history.",
    fix="Write KV-v2 policy paths as <mount>/data/<path> with read only.",
)
def pol_kv_data_stack(view: StackView, config: Mapping[str, Any]) -> Iterator[Finding]:
    """KV-v2 paths in policies include /data/, and no identity can destroy history."""
    mounts = kv2_mounts(view)
    for declared in policies_by_name(view).values():
        for pattern, capabilities in declared.parsed.rules.items():
            path = pattern.lstrip("/")
            for mount in mounts:
                if not path.startswith(mount + "/"):
                    continue
                first = path[len(mount) + 1 :].split("/", 1)[0]
                if first == "data" or (first == "metadata" and capabilities <= {"read", "list", "deny"}):
                    continue
                yield (
                    declared.res.finding(
                        f"policy.path[{pattern!r}]",
                        sorted(capabilities),
                        f"a path in the KV-v2 mount {mount} outside data/ (metadata/ only for read/list)",
                        f"use {mount}/data/...",
                    ),
                    declared.res.urn,
                )
    for identity in identities(view):
        for mount in sorted(mounts):
            for endpoint, capabilities, problem in KV_DESTRUCTIVE:
                for found in reach(identity.acl, target(f"{mount}/{endpoint}", subtree=True), capabilities):
                    yield (
                        identity.res.finding(
                            identity.prop,
                            list(identity.policy_names),
                            f"may {sorted(found.capabilities)} {found.shown} (via {found.rule.pattern.raw!r} in "
                            f"{list(found.rule.policies)}): {problem}",
                            f"grant read on {mount}/data/<path> only",
                        ),
                        identity.res.urn,
                    )
                    break


@resource_rule(
    "POL-NO-ROOT",
    checks="No role or token attaches the root policy.",
    why="Vault tokens docs: the root policy bypasses every ACL.",
    fix="Attach the identity's own least-privilege policy.",
    types=None,
)
def pol_no_root(res: Res, config: Mapping[str, Any]) -> Iterator[str]:
    """The root policy is never attached."""
    if not res.type.startswith("vault:"):
        return
    for prop in ("tokenPolicies", "policies"):
        if res.has(prop) and "root" in names(res.get(prop)):
            yield res.finding(prop, names(res.get(prop)), "attaches the root policy", "remove 'root'")


# -------------------------------------------------------------------------------- Kubernetes auth


@resource_rule(
    "K8S-NAMESPACE",
    checks="bound_service_account_namespaces is never empty, never '*' and has no globs.",
    why="Vault Kubernetes auth API: '*' lets any namespace's service account of that name log in.",
    fix="Bind the role to the exact namespace(s) of its service accounts.",
    types=(t.K8S_AUTH_ROLE,),
)
def k8s_namespace(res: Res, config: Mapping[str, Any]) -> Iterator[str]:
    """The role is pinned to named namespaces."""
    namespaces = names(res.get("boundServiceAccountNamespaces"))
    if not namespaces:
        yield res.finding("boundServiceAccountNamespaces", namespaces, "empty", "list the namespaces explicitly")
    elif any("*" in n for n in namespaces):
        yield res.finding(
            "boundServiceAccountNamespaces", namespaces, "a wildcard binds every namespace", "list the exact namespaces"
        )


@resource_rule(
    "K8S-NAMES",
    checks="bound_service_account_names is never empty, never a namespace's 'default' service account, and never "
    "'*' (or a glob), except the CA-read role: exactly ['*'], one pinned namespace and a single policy.",
    why="Vault Kubernetes auth API; chart contract §1: only consulCARole binds '*', and it may only read the CA. "
    "Every pod without its own service account runs as 'default', so a role bound to it serves them all.",
    fix="Bind the role to the exact, dedicated service account names the chart or the app creates.",
    types=(t.K8S_AUTH_ROLE,),
)
def k8s_names(res: Res, config: Mapping[str, Any]) -> Iterator[str]:
    """Service accounts are named and dedicated, except in the CA-read shape."""
    accounts = names(res.get("boundServiceAccountNames"))
    if not accounts:
        yield res.finding("boundServiceAccountNames", accounts, "empty", "list the service accounts")
        return
    if "default" in accounts:
        yield res.finding(
            "boundServiceAccountNames",
            accounts,
            "binds the namespace's 'default' service account, which every pod without its own account runs as",
            "create a dedicated service account for the workload and bind that",
        )
    if not any("*" in a for a in accounts):
        return
    namespaces = names(res.get("boundServiceAccountNamespaces"))
    policies = [p for p in names(res.get("tokenPolicies")) if p != "default"]
    ca_read_shape = accounts == ["*"] and len(namespaces) == 1 and "*" not in namespaces[0] and len(policies) == 1
    if not ca_read_shape:
        yield res.finding(
            "boundServiceAccountNames",
            accounts,
            "a wildcard binding outside the CA-read shape (['*'], one namespace, one policy)",
            "name the service accounts",
        )


@stack_rule(
    "K8S-NAMES",
    part="stack",
    checks="A role bound to '*' service accounts only reaches (with Vault's path matching, over all its policies) "
    "read on <pki mount>/cert/ca or cert/ca_chain of a PKI mount, and the token self-endpoints.",
    why="Chart contract §1: consulCARole is bound to '*' and may only read the CA.",
    fix="Attach only the CA-read policy (<mount>/cert/ca read) to the wildcard role.",
)
def k8s_names_stack(view: StackView, config: Mapping[str, Any]) -> Iterator[Finding]:
    """The wildcard role can only read CAs."""
    policies = policies_by_name(view)
    pki = set(pki_mounts(view))
    for values in consul_values(view):
        pki |= {p.rsplit("/cert/", 1)[0] for p in values.ca_paths().values() if "/cert/" in p}
    for role in view.of(t.K8S_AUTH_ROLE):
        if not any("*" in a for a in names(role.get("boundServiceAccountNames"))):
            continue
        attached = [p for p in names(role.get("tokenPolicies")) if p != "default"]
        for name in attached:
            if name not in policies:
                yield (
                    role.finding(
                        "tokenPolicies",
                        attached,
                        f"policy {name!r} is not declared in this stack, so "
                        "what the wildcard role can do cannot be checked",
                        "declare the CA-read policy",
                    ),
                    role.urn,
                )
                continue
        acl = acl_of(policies[n].parsed for n in attached if n in policies)
        for found in one_per_rule(reach(acl, Pattern.parse("*"))):
            mount, _, endpoint = found.path.rpartition("/cert/")
            ca_read = endpoint in ("ca", "ca_chain") and mount in pki and found.capabilities <= {"read"}
            if ca_read or found.capabilities <= ALLOWED_AUTH_PATHS.get(found.path, frozenset()):
                continue
            yield (
                role.finding(
                    "tokenPolicies",
                    attached,
                    f"grants {sorted(found.capabilities)} on {found.shown} (via {found.rule.pattern.raw!r} in "
                    f"{list(found.rule.policies)}) to any service account",
                    "the wildcard role may only read <pki mount>/cert/ca",
                ),
                role.urn,
            )


@resource_rule(
    "K8S-AUDIENCE",
    checks="Every Kubernetes-auth role sets audience.",
    why="Vault Kubernetes auth API: without an audience any token for any audience logs in (Vault warns).",
    fix="Set audience (e.g. 'vault').",
    types=(t.K8S_AUTH_ROLE,),
)
def k8s_audience(res: Res, config: Mapping[str, Any]) -> Iterator[str]:
    """The role checks the token's audience."""
    audience = res.get("audience", UNSET)
    if not audience or audience is UNSET or audience == "*":
        yield res.finding("audience", audience, "the token audience is not checked", "set audience")


@resource_rule(
    "K8S-ALIAS",
    checks="alias_name_source is serviceaccount_uid (Vault's default when unset).",
    why="Vault Kubernetes auth API: serviceaccount_name aliases can be re-taken by a new account with the same name.",
    fix="Set alias_name_source = 'serviceaccount_uid' (or leave it unset).",
    types=(t.K8S_AUTH_ROLE,),
)
def k8s_alias(res: Res, config: Mapping[str, Any]) -> Iterator[str]:
    """Entity aliases follow the service account's UID."""
    source = res.get("aliasNameSource", UNSET)
    if source is not UNSET and source not in ("", "serviceaccount_uid"):
        yield res.finding(
            "aliasNameSource", source, "aliases by name survive account re-creation", "set 'serviceaccount_uid'"
        )


MAX_TOKEN_TTL = Setting("maxTokenTtlSeconds", "integer", 3600, "The longest token_ttl a Kubernetes-auth role may set.")


@resource_rule(
    "K8S-TTL",
    checks="token_ttl is set and short (<= 1h by default), token_max_ttl is set, token_ttl <= token_max_ttl, and "
    "tokens are not periodic.",
    why="Vault token docs: long-lived or periodic tokens outlive the pod that logged in.",
    fix="Set token_ttl = 3600 and token_max_ttl (e.g. 14400); leave token_period unset.",
    types=(t.K8S_AUTH_ROLE,),
    settings=(MAX_TOKEN_TTL,),
)
def k8s_ttl(res: Res, config: Mapping[str, Any]) -> Iterator[str]:
    """Tokens are short-lived."""
    ttl = duration_seconds(res.get("tokenTtl"))
    max_ttl = duration_seconds(res.get("tokenMaxTtl"))
    limit = int(config.get("maxTokenTtlSeconds") or 3600)
    if not ttl:
        yield res.finding(
            "tokenTtl", res.get("tokenTtl", UNSET), "the system default (32 days) applies", f"set token_ttl <= {limit}"
        )
    elif ttl > limit:
        yield res.finding("tokenTtl", res.get("tokenTtl"), f"longer than {human(limit)}", f"set token_ttl <= {limit}")
    if not max_ttl:
        yield res.finding(
            "tokenMaxTtl",
            res.get("tokenMaxTtl", UNSET),
            "tokens can be renewed up to the system max",
            "set token_max_ttl",
        )
    elif ttl and ttl > max_ttl:
        yield res.finding(
            "tokenTtl", res.get("tokenTtl"), f"longer than tokenMaxTtl {max_ttl}", "set token_ttl <= token_max_ttl"
        )
    if duration_seconds(res.get("tokenPeriod")):
        yield res.finding(
            "tokenPeriod", res.get("tokenPeriod"), "periodic tokens can be renewed forever", "leave token_period unset"
        )


IN_CLUSTER_NAMES = ("kubernetes.default.svc", "kubernetes.default", "kubernetes")
"""The in-cluster API server's Service names a pod resolves (the ``kubernetes`` Service in ``default``)."""
CLUSTER_DOMAIN_OF_THE_API = "kubernetes.default.svc."
"""Its fully qualified form starts so and ends in the cluster domain (``cluster.local`` unless configured)."""


def in_cluster_host(host: str) -> bool:
    """Whether ``kubernetes_host`` is the in-cluster API server: https, one of its Service names (or the FQDN
    under any cluster domain), any port. ``https://kubernetes.example.com`` is a public name, not in-cluster.
    """
    parts = urlsplit(host.strip())
    name = (parts.hostname or "").lower()
    return parts.scheme == "https" and (name in IN_CLUSTER_NAMES or name.startswith(CLUSTER_DOMAIN_OF_THE_API))


@resource_rule(
    "K8S-REVIEWER",
    checks="When Vault runs inside the cluster (kubernetes_host is the in-cluster service), it reviews logins with "
    "its own short-lived token: no token_reviewer_jwt, and the local token is not disabled.",
    why="Vault Kubernetes auth docs: a long-lived reviewer JWT is a standing credential; the local token rotates.",
    fix="Leave token_reviewer_jwt unset and disable_local_ca_jwt false when Vault runs in the cluster.",
    types=(t.K8S_AUTH_CONFIG,),
)
def k8s_reviewer(res: Res, config: Mapping[str, Any]) -> Iterator[str]:
    """In-cluster Vault uses its local reviewer token."""
    if not in_cluster_host(str(res.get("kubernetesHost", ""))):
        return
    if res.has("tokenReviewerJwt") or res.has("tokenReviewerJwtWo"):
        yield res.finding(
            "tokenReviewerJwt",
            "<secret>",
            "a long-lived reviewer JWT although Vault runs in the cluster",
            "remove it; Vault uses its own service account token",
        )
    if as_bool(res.get("disableLocalCaJwt"), False):
        yield res.finding(
            "disableLocalCaJwt",
            True,
            "Vault cannot use its local token although it runs in the cluster",
            "set disable_local_ca_jwt = false",
        )


# ------------------------------------------------------------------------- Kubernetes RBAC for Vault

AUTH_DELEGATOR = "system:auth-delegator"
_REVIEW_RESOURCES = {("authentication.k8s.io", "tokenreviews"), ("authorization.k8s.io", "subjectaccessreviews")}


def _role_ref(binding: Res) -> tuple[str, str]:
    """A binding's (roleRef.kind, roleRef.name)."""
    ref = binding.get("roleRef", {})
    if not isinstance(ref, Mapping):
        return "", ""
    return str(ref.get("kind") or ""), str(ref.get("name") or "")


def _subjects(binding: Res) -> list[tuple[str, str, str]]:
    """A binding's subjects as (kind, namespace, name); a ServiceAccount without namespace takes the binding's."""
    metadata = binding.get("metadata", {})
    own_namespace = str(metadata.get("namespace") or "") if isinstance(metadata, Mapping) else ""
    found = []
    for subject in as_list(binding.get("subjects")):
        if isinstance(subject, Mapping):
            kind = str(subject.get("kind") or "")
            namespace = str(subject.get("namespace") or (own_namespace if kind == "ServiceAccount" else ""))
            found.append((kind, namespace, str(subject.get("name") or "")))
    return found


def _declared_roles(view: StackView) -> dict[tuple[str, str], Res]:
    """Declared ClusterRoles and Roles by (kind, name)."""
    found: dict[tuple[str, str], Res] = {}
    for res in view.of(t.CLUSTER_ROLE, t.ROLE):
        metadata = res.get("metadata", {})
        name = str(metadata.get("name") or res.name) if isinstance(metadata, Mapping) else res.name
        found[("ClusterRole" if res.type == t.CLUSTER_ROLE else "Role", name)] = res
    return found


def _grants_only_reviews(role: Res) -> bool:
    """A role whose rules only create token and subject-access reviews (what system:auth-delegator grants)."""
    if role.get("aggregationRule"):
        return False
    rules = as_list(role.get("rules"))
    for rule in rules:
        if not isinstance(rule, Mapping) or as_list(rule.get("nonResourceURLs")):
            return False
        pairs = {(str(g), str(r)) for g in as_list(rule.get("apiGroups")) for r in as_list(rule.get("resources"))}
        if not pairs or not pairs <= _REVIEW_RESOURCES or set(names(rule.get("verbs"))) - {"create"}:
            return False
    return bool(rules)


def _reviews_tokens(role: Res) -> bool:
    """A role whose rules (with wildcards) let its subjects create TokenReviews."""
    for rule in as_list(role.get("rules")):
        if not isinstance(rule, Mapping):
            continue
        groups, resources, verbs = (set(names(rule.get(k))) for k in ("apiGroups", "resources", "verbs"))
        if (groups & {"authentication.k8s.io", "*"}) and (resources & {"tokenreviews", "*"}) and (
            verbs & {"create", "*"}
        ):
            return True
    return False


def _jwt_service_account(token: Any) -> tuple[str, str] | None:
    """The (namespace, name) a service account JWT was issued to, from its unverified ``sub`` claim."""
    if not isinstance(token, str) or token.count(".") != 2:
        return None
    payload = token.split(".")[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, binascii.Error):
        return None
    subject = claims.get("sub") if isinstance(claims, dict) else None
    parts = subject.split(":") if isinstance(subject, str) else []
    if len(parts) == 4 and parts[:2] == ["system", "serviceaccount"]:
        return parts[2], parts[3]
    return None


def _configured_reviewers(view: StackView) -> set[tuple[str, str]]:
    """Service accounts whose token a Kubernetes auth config uses as reviewer JWT (from the token or its Secret)."""
    found: set[tuple[str, str]] = set()
    for auth_config in view.of(t.K8S_AUTH_CONFIG):
        for prop in ("tokenReviewerJwt", "tokenReviewerJwtWo"):
            if not auth_config.has(prop):
                continue
            try:
                account = _jwt_service_account(auth_config.get(prop))
            except UnknownValueError:
                account = None
            if account is not None:
                found.add(account)
            for source in view.sources_of(auth_config, prop):
                metadata = source.get("metadata", {})
                annotations = metadata.get("annotations") if isinstance(metadata, Mapping) else None
                if not isinstance(annotations, Mapping):
                    continue
                name = annotations.get("kubernetes.io/service-account.name")
                if source.type == t.K8S_SECRET and isinstance(name, str):
                    found.add((str(metadata.get("namespace") or "default"), name))
    return found


def _client_jwt_reviewers(view: StackView) -> set[tuple[str, str]]:
    """In client-JWT mode (no reviewer JWT, local token disabled) every service account that logs in reviews itself."""
    modes = {}
    for auth_config in view.of(t.K8S_AUTH_CONFIG):
        client_jwt = not (auth_config.has("tokenReviewerJwt") or auth_config.has("tokenReviewerJwtWo"))
        modes[str(auth_config.get("backend") or "kubernetes").strip("/")] = client_jwt and as_bool(
            auth_config.get("disableLocalCaJwt"), False
        )
    found: set[tuple[str, str]] = set()
    for role in view.of(t.K8S_AUTH_ROLE):
        if not modes.get(str(role.get("backend") or "kubernetes").strip("/")):
            continue
        for namespace in names(role.get("boundServiceAccountNamespaces")):
            for account in names(role.get("boundServiceAccountNames")):
                if "*" not in namespace and "*" not in account:
                    found.add((namespace, account))
    return found


BROAD_CLUSTER_ROLES = frozenset({"cluster-admin", "admin", "edit"})
"""Kubernetes' user-facing roles: far broader than the token review a Vault reviewer needs."""


def _is_wildcard(role: Res) -> bool:
    """A role with a ``*`` in any rule's apiGroups, resources or verbs (or aggregated from others)."""
    if role.get("aggregationRule"):
        return True
    for rule in as_list(role.get("rules")):
        if isinstance(rule, Mapping) and any("*" in names(rule.get(k)) for k in ("apiGroups", "resources", "verbs")):
            return True
    return False


@stack_rule(
    "K8S-REVIEWER",
    part="rbac",
    checks="The Kubernetes service accounts that review tokens for Vault (whose JWT the auth config holds; bound to "
    "system:auth-delegator or a role that creates tokenreviews; in client-JWT mode every service account that logs "
    "in) are bound to nothing broader: no ClusterRoleBinding or RoleBinding gives them cluster-admin, admin, edit, a "
    "role with a wildcard rule, or a custom role that reviews tokens and does more; and token review goes to named "
    "service accounts, never to groups or users.",
    why="Vault Kubernetes auth docs: the reviewer only needs system:auth-delegator; its JWT is a credential Vault "
    "holds (or, in client-JWT mode, receives at every login), so anything more it can do is exposed with it.",
    fix="Bind the reviewer service account only to the ClusterRole system:auth-delegator.",
)
def k8s_reviewer_rbac(view: StackView, config: Mapping[str, Any]) -> Iterator[Finding]:
    """The token reviewer can review tokens, and nothing else."""
    roles = _declared_roles(view)
    bindings = view.of(t.CLUSTER_ROLE_BINDING, t.ROLE_BINDING)

    def is_review_role(binding: Res) -> bool:
        kind, name = _role_ref(binding)
        if kind == "ClusterRole" and name == AUTH_DELEGATOR:
            return True
        declared = roles.get((kind, name))
        return declared is not None and _reviews_tokens(declared)

    reviewers = _configured_reviewers(view) | _client_jwt_reviewers(view)
    for binding in bindings:
        if not is_review_role(binding):
            continue
        for index, (kind, namespace, name) in enumerate(_subjects(binding)):
            if kind == "ServiceAccount":
                reviewers.add((namespace, name))
            else:
                yield (
                    binding.finding(
                        f"subjects[{index}]",
                        f"{kind} {name}",
                        "grants token review to a group or user: every member can review tokens for Vault",
                        "bind the reviewer grant to Vault's dedicated reviewer service account only",
                    ),
                    binding.urn,
                )
    for binding in bindings:
        kind, name = _role_ref(binding)
        declared = roles.get((kind, name))
        if declared is not None:
            if _grants_only_reviews(declared):
                continue
            if _is_wildcard(declared):
                what = "a role with a wildcard rule"
            elif _reviews_tokens(declared):
                what = "a custom role that does more than review tokens"
            else:
                continue
        elif kind == "ClusterRole" and name in BROAD_CLUSTER_ROLES:
            what = f"{kind} {name}"
        else:
            continue
        for index, (subject_kind, namespace, subject) in enumerate(_subjects(binding)):
            if subject_kind != "ServiceAccount" or (namespace, subject) not in reviewers:
                continue
            yield (
                binding.finding(
                    "roleRef",
                    f"{kind} {name}",
                    f"binds the Vault token reviewer {namespace}/{subject} (subjects[{index}]) to {what}, broader "
                    f"than {AUTH_DELEGATOR}",
                    f"bind the reviewer only to the ClusterRole {AUTH_DELEGATOR}",
                ),
                binding.urn,
            )
