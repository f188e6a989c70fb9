"""Vault identities for Consul's components: the Kubernetes auth mount and its config, policies and roles.

The component takes plain data (:class:`VaultIdentitiesArgs`): the policies as path → capabilities, the
roles, the mount and how logins are reviewed; the composition builds them for a stack from :mod:`.policies`,
:mod:`.roles` and :mod:`.reviewers`, so the policy pack can check them during preview. The auth method's config
depends on where Vault runs and on ``vault.tokenReviewer`` (which of ``client_jwt_review`` and
``reviewer_secret`` the composition sets):

- neither (Vault ``in-cluster``): Vault reviews logins with its own pod's short-lived, rotating token and CA
  (``disable_local_ca_jwt`` false, no reviewer JWT: K8S-REVIEWER);
- ``client_jwt_review`` (``external`` with ``client-jwt``, the default): ``disable_local_ca_jwt`` true and no
  ``token_reviewer_jwt``, so each login's own short-lived JWT is the TokenReview bearer; one
  ClusterRoleBinding gives ``system:auth-delegator`` to exactly the service accounts that log in
  (:func:`.reviewers.vault_login_service_accounts`). Nothing long-lived is stored anywhere;
- ``reviewer_secret`` (``external`` with ``long-lived-secret``, explicit opt-in): a dedicated token-reviewer
  service account with ``system:auth-delegator`` and a ``kubernetes.io/service-account-token`` secret whose JWT
  (it never expires) becomes ``token_reviewer_jwt`` (a Pulumi secret, but copied into Vault and into state). The
  reviewer lives in its own namespace (``Layout.token_reviewer_namespace``), not in Consul's: Consul's
  namespace is created by the Consul release, which itself waits for these identities, so a reviewer
  there would be a dependency cycle.

A short-lived reviewer token requested at each ``up`` (TokenRequest) is not offered: pulumi-kubernetes
has no resource or function for the ``serviceaccounts/token`` subresource, and a token minted during a
deployment would have to outlive it anyway (Vault keeps using the configured JWT until the next ``up``).

Dependencies are the data: the config takes the mount's path from the mount, every role takes it from the
config and its policy names from the policies, and :attr:`VaultIdentities.auth_mount_path` comes from the
config, so whatever takes it (apps' roles, the Consul release) waits for a mount logins can use. Vault checks
none of these at write time (a role may name a missing policy, a policy a missing path); a login needs them all.

Production stacks protect the auth mount (losing it logs every Consul pod out of Vault).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import pulumi
import pulumi_kubernetes as kubernetes
import pulumi_vault as vault

from ..args import coerce_args
from .documents import (
    AUTH_DELEGATOR_CLUSTER_ROLE,
    TOKEN_MAX_TTL_SECONDS,
    TOKEN_TTL_SECONDS,
    AuthRoleSpec,
    render_policy,
)

TYPE_TOKEN = "secure-mesh:index:VaultIdentities"
OLD_TYPE_TOKEN = "secure-mesh:identities:VaultIdentities"
"""The token before issue 15: an alias keeps deployed stacks' URNs."""
SERVICE_ACCOUNT_TOKEN_TYPE = "kubernetes.io/service-account-token"


@dataclass(frozen=True)
class VaultPolicyArgs:
    """One Vault policy: its name and what it grants."""

    key: str
    """Names the policy's resource (``<component>-<key>-policy``) and its entry in ``policy_names``."""
    name: str
    """The policy's name in Vault."""
    paths: Mapping[str, Sequence[str]]
    """Path (exact, or with Vault's ``*``/``+`` globs) → capabilities; rendered as Vault's JSON policy syntax."""
    temporary_paths: pulumi.Input[Mapping[str, Sequence[str]]] | None = None
    """More grants, held only while this resolves to them: an output that resolves to ``{}`` once they are no
    longer needed rewrites the same policy without them (the connect root's cross-sign grant, which must reach the
    token Consul already holds). A path also in ``paths`` is refused."""


@dataclass(frozen=True)
class KubernetesAuthRoleArgs:
    """One Kubernetes-auth role: which service accounts log in with it, and what their tokens carry.

    Every role also names identity aliases by service-account UID and never attaches Vault's ``default`` policy
    (not settable: see :class:`~.documents.AuthRoleSpec`).
    """

    key: str
    """Names the role's resource (``<component>-<key>-role``) and its entry in ``role_names``."""
    role_name: str
    """The role's name in Vault (what a client logs in as)."""
    service_account_names: Sequence[str]
    """The service accounts it binds (``*`` only for a role that grants nothing but public CA reads)."""
    service_account_namespaces: Sequence[str]
    """Their namespaces."""
    audience: str
    """The audience the login's JWT must carry."""
    policies: Sequence[str]
    """The policies its tokens carry; a name of one of ``policies`` makes the role wait for that policy."""
    token_ttl: int = TOKEN_TTL_SECONDS
    """Token TTL in seconds."""
    token_max_ttl: int = TOKEN_MAX_TTL_SECONDS
    """Token maximum TTL in seconds (then the client logs in again)."""


@dataclass(frozen=True)
class ServiceAccountArgs:
    """One Kubernetes service account."""

    namespace: str
    """Its namespace."""
    name: str
    """Its name."""


@dataclass(frozen=True)
class ClientJwtReviewArgs:
    """Vault outside the cluster reviews each login with the client's own JWT (no reviewer token anywhere)."""

    binding_name: str
    """The ClusterRoleBinding that gives ``system:auth-delegator`` to exactly ``service_accounts``."""
    service_accounts: Sequence[ServiceAccountArgs]
    """Every service account that logs in to this mount (each reviews its own JWT)."""


@dataclass(frozen=True)
class ReviewerSecretArgs:
    """Vault outside the cluster reviews logins with a reviewer's long-lived token Secret (explicit opt-in)."""

    namespace: str
    """The reviewer's own namespace (created here)."""
    service_account: str
    """The reviewer service account."""
    binding_name: str
    """The ClusterRoleBinding that gives it ``system:auth-delegator``."""
    secret_name: str
    """Its ``kubernetes.io/service-account-token`` Secret, whose JWT becomes ``token_reviewer_jwt``."""


@dataclass(frozen=True)
class VaultIdentitiesArgs:
    """Inputs of :class:`VaultIdentities`: the Kubernetes auth mount, how logins are reviewed, policies and roles."""

    auth_path: str
    """The Kubernetes auth mount's path (``kubernetes-dc1``)."""
    auth_description: str
    """The mount's description in Vault."""
    kubernetes_host: str
    """The Kubernetes API server Vault sends TokenReview requests to."""
    kubernetes_ca_cert: str | None = None
    """PEM of the API server's CA (None: Vault in the cluster uses its pod's CA)."""
    client_jwt_review: ClientJwtReviewArgs | None = None
    """Vault outside the cluster, reviewing with each client's JWT (the default outside the cluster)."""
    reviewer_secret: ReviewerSecretArgs | None = None
    """Vault outside the cluster, reviewing with a long-lived reviewer token (opt-in); excludes the one above."""
    policies: Sequence[VaultPolicyArgs] = ()
    """The policies to write."""
    roles: Sequence[KubernetesAuthRoleArgs] = ()
    """The roles to write on the mount."""
    protect: bool = False
    """Protect the auth mount (production: losing it logs every client out of Vault)."""


def check_identities_args(args: VaultIdentitiesArgs) -> None:
    """Refuse Args that cannot work as meant, before anything is registered.

    The role checks are the ones Vault itself makes when a role is written (vault-plugin-auth-kubernetes
    ``path_role.go``, ``pathRoleCreateUpdate``: names not empty, ``*`` not mixed with names, namespaces not empty
    without a selector, ``token_ttl`` not above ``token_max_ttl``), so a bad role fails at preview, not mid-``up``.
    Vault checks neither the auth config nor the policies a role names when it writes the role.
    """
    if args.client_jwt_review is not None and args.reviewer_secret is not None:
        raise ValueError("VaultIdentitiesArgs: client_jwt_review and reviewer_secret exclude each other")
    for field, keys in (("policies", [p.key for p in args.policies]), ("roles", [r.key for r in args.roles])):
        repeated = sorted({key for key in keys if keys.count(key) > 1})
        if repeated:
            raise ValueError(f"VaultIdentitiesArgs.{field}: key(s) {', '.join(repeated)} given more than once")
    for role in args.roles:
        where = f"VaultIdentitiesArgs.roles[{role.key}]"
        for field, values in (
            ("service_account_names", role.service_account_names),
            ("service_account_namespaces", role.service_account_namespaces),
        ):
            if not values:
                raise ValueError(f"{where}.{field} can not be empty")
            if len(values) > 1 and "*" in values:
                raise ValueError(f"{where}.{field}: can not mix '*' with values {sorted(set(values) - {'*'})}")
        if role.token_max_ttl > 0 and role.token_ttl > role.token_max_ttl:
            raise ValueError(
                f"{where}: token_ttl {role.token_ttl} is greater than token_max_ttl {role.token_max_ttl}"
            )


def with_temporary_paths(
    policy: VaultPolicyArgs, temporary: Mapping[str, Sequence[str]]
) -> Mapping[str, Sequence[str]]:
    """A policy's paths with its temporary grants as they resolved; a path in both is refused (one would hide the
    other's capabilities).
    """
    both = sorted(set(policy.paths) & set(temporary))
    if both:
        raise ValueError(f"VaultIdentitiesArgs.policies[{policy.key}].temporary_paths: {both} already in paths")
    return {**policy.paths, **temporary}


def _policy_text(policy: VaultPolicyArgs) -> pulumi.Input[str]:
    """The policy's JSON text: its paths, plus its temporary grants while they resolve to any."""
    if policy.temporary_paths is None:
        return render_policy(policy.paths)
    return pulumi.Output.from_input(policy.temporary_paths).apply(
        lambda temporary: render_policy(with_temporary_paths(policy, temporary or {}))
    )


def reviewer_jwt_from_secret_data(secret_name: str, data: Mapping[str, str] | None) -> str:
    """The reviewer JWT from a service-account-token secret's ``data`` (base64, as the API returns it)."""
    token = (data or {}).get("token")
    if not token:
        raise ValueError(
            f"Kubernetes secret {secret_name} has no token yet: the token controller fills it in; run `pulumi up` again"
        )
    return base64.b64decode(token).decode()


class VaultIdentities(pulumi.ComponentResource):
    """The Kubernetes auth mount, its config, and the policies and roles clients log in with."""

    auth_mount_path: pulumi.Output[str]
    """The Kubernetes auth mount's path, from its config: resolves once the mount can review logins (roles on
    it, and the Consul chart's ``authMethodPath``/``...Role`` values, take this)."""
    auth_mount_accessor: pulumi.Output[str]
    """The auth mount's accessor (what identity templating and entity aliases name the mount by)."""
    role_names: pulumi.Output[Mapping[str, str]]
    """Role key → the role's name in Vault, from the roles (resolves once every role is written)."""
    policy_names: pulumi.Output[Mapping[str, str]]
    """Policy key → the policy's name in Vault, from the policies (resolves once every policy is written)."""

    def __init__(self, name: str, args: VaultIdentitiesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args = coerce_args(VaultIdentitiesArgs, args)
        aliases = pulumi.ResourceOptions(aliases=[pulumi.Alias(type_=OLD_TYPE_TOKEN)])
        super().__init__(TYPE_TOKEN, name, None, pulumi.ResourceOptions.merge(opts, aliases))
        check_identities_args(args)

        self.auth = vault.AuthBackend(
            f"{name}-kubernetes-auth",
            type="kubernetes",
            path=args.auth_path,
            description=args.auth_description,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        self.reviewer: list[pulumi.Resource] = []
        self.auth_config = self._auth_config(name, args)

        self.policies: dict[str, vault.Policy] = {
            policy.key: vault.Policy(
                f"{name}-{policy.key}-policy",
                name=policy.name,
                policy=_policy_text(policy),
                opts=pulumi.ResourceOptions(parent=self),
            )
            for policy in args.policies
        }
        by_name = {policy.name: self.policies[policy.key] for policy in args.policies}

        self.roles: dict[str, vault.kubernetes.AuthBackendRole] = {}
        for role in args.roles:
            spec = AuthRoleSpec(
                role_name=role.role_name,
                bound_service_account_names=tuple(role.service_account_names),
                bound_service_account_namespaces=tuple(role.service_account_namespaces),
                audience=role.audience,
                token_policies=tuple(role.policies),
                token_ttl=role.token_ttl,
                token_max_ttl=role.token_max_ttl,
            )
            inputs = spec.resource_args(self.auth_config.backend)
            # A policy written here is named through its resource, so the role waits for it.
            inputs["token_policies"] = [by_name[p].name if p in by_name else p for p in role.policies]
            self.roles[role.key] = vault.kubernetes.AuthBackendRole(
                f"{name}-{role.key}-role", **inputs, opts=pulumi.ResourceOptions(parent=self)
            )

        self.ready: list[pulumi.Resource] = [
            self.auth,
            self.auth_config,
            *self.reviewer,
            *self.policies.values(),
            *self.roles.values(),
        ]
        """Everything a login needs (kept until consumers take the outputs instead)."""
        # The provider types ``backend`` optional (it defaults to ``kubernetes``); it is always given here.
        self.auth_mount_path = cast(pulumi.Output[str], self.auth_config.backend)
        self.auth_mount_accessor = self.auth.accessor
        self.role_names = pulumi.Output.all(**{key: role.role_name for key, role in self.roles.items()}).apply(dict)
        self.policy_names = pulumi.Output.all(**{key: p.name for key, p in self.policies.items()}).apply(dict)
        self.register_outputs(
            {
                "authMountPath": self.auth_mount_path,
                "authMountAccessor": self.auth_mount_accessor,
                "roleNames": self.role_names,
                "policyNames": self.policy_names,
            }
        )

    def _auth_config(self, name: str, args: VaultIdentitiesArgs) -> vault.kubernetes.AuthBackendConfig:
        """The auth config: Vault's own token in the cluster; outside it, the client's JWT or an opt-in secret.

        The reviewer's resources are a ``depends_on``: Vault does not check them when the config is written, but
        every login's TokenReview is refused until the binding exists, and everything that takes the mount's path
        from this config (roles, the Consul release, apps) must not log in before.
        """
        resource_name = f"{name}-kubernetes-auth-config"
        common: dict[str, Any] = {
            "backend": self.auth.path,
            "kubernetes_host": args.kubernetes_host,
            "kubernetes_ca_cert": args.kubernetes_ca_cert,
        }
        if args.client_jwt_review is None and args.reviewer_secret is None:
            return vault.kubernetes.AuthBackendConfig(
                resource_name, **common, disable_local_ca_jwt=False, opts=pulumi.ResourceOptions(parent=self)
            )
        if args.client_jwt_review is not None:
            self.reviewer = [self._client_reviewers(name, args.client_jwt_review)]
            return vault.kubernetes.AuthBackendConfig(
                resource_name,
                **common,
                disable_local_ca_jwt=True,
                opts=pulumi.ResourceOptions(parent=self, depends_on=self.reviewer),
            )
        assert args.reviewer_secret is not None
        reviewer_jwt = self._token_reviewer(name, args.reviewer_secret)
        return vault.kubernetes.AuthBackendConfig(
            resource_name,
            **common,
            token_reviewer_jwt=reviewer_jwt,
            disable_local_ca_jwt=True,
            opts=pulumi.ResourceOptions(parent=self, depends_on=self.reviewer),
        )

    def _client_reviewers(self, name: str, review: ClientJwtReviewArgs) -> kubernetes.rbac.v1.ClusterRoleBinding:
        """``system:auth-delegator`` for exactly the service accounts that log in (each reviews its own JWT)."""
        return kubernetes.rbac.v1.ClusterRoleBinding(
            f"{name}-vault-clients-auth-delegator",
            metadata=kubernetes.meta.v1.ObjectMetaArgs(name=review.binding_name),
            role_ref=kubernetes.rbac.v1.RoleRefArgs(
                api_group="rbac.authorization.k8s.io", kind="ClusterRole", name=AUTH_DELEGATOR_CLUSTER_ROLE
            ),
            subjects=[
                kubernetes.rbac.v1.SubjectArgs(kind="ServiceAccount", name=account.name, namespace=account.namespace)
                for account in review.service_accounts
            ],
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _token_reviewer(self, name: str, reviewer: ReviewerSecretArgs) -> pulumi.Output[str]:
        """The reviewer service account, its TokenReview permission and token secret; returns the JWT (secret)."""
        namespace_name = reviewer.namespace
        account_name = reviewer.service_account
        child = pulumi.ResourceOptions(parent=self)
        namespace = kubernetes.core.v1.Namespace(
            f"{name}-reviewer-namespace", metadata={"name": namespace_name}, opts=child
        )
        account = kubernetes.core.v1.ServiceAccount(
            f"{name}-token-reviewer",
            metadata={"name": account_name, "namespace": namespace_name},
            automount_service_account_token=False,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[namespace]),
        )
        binding = kubernetes.rbac.v1.ClusterRoleBinding(
            f"{name}-token-reviewer-binding",
            metadata=kubernetes.meta.v1.ObjectMetaArgs(name=reviewer.binding_name),
            role_ref=kubernetes.rbac.v1.RoleRefArgs(
                api_group="rbac.authorization.k8s.io", kind="ClusterRole", name=AUTH_DELEGATOR_CLUSTER_ROLE
            ),
            subjects=[
                kubernetes.rbac.v1.SubjectArgs(kind="ServiceAccount", name=account_name, namespace=namespace_name)
            ],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[account]),
        )
        secret_name = reviewer.secret_name
        token_secret = kubernetes.core.v1.Secret(
            f"{name}-token-reviewer-token",
            metadata={
                "name": secret_name,
                "namespace": namespace_name,
                "annotations": {"kubernetes.io/service-account.name": account_name},
            },
            type=SERVICE_ACCOUNT_TOKEN_TYPE,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[account]),
        )
        self.reviewer = [namespace, account, binding, token_secret]

        def to_jwt(data: Mapping[str, str] | None) -> str:
            return reviewer_jwt_from_secret_data(secret_name, data)

        jwt: pulumi.Output[str] = pulumi.Output.secret(token_secret.data.apply(to_jwt))
        return jwt
