"""Vault identities for Consul's components: the Kubernetes auth mount and its config, policies and roles.

Policy documents and role inputs are plain data computed by :mod:`.policies` and :mod:`.roles`, so the
policy pack can check them during preview. The auth method's config depends on where Vault runs and on
``vault.tokenReviewer``:

- ``in-cluster``: Vault reviews logins with its own pod's short-lived, rotating token and CA
  (``disable_local_ca_jwt`` false, no reviewer JWT: K8S-REVIEWER);
- ``external`` with ``client-jwt`` (the default): ``disable_local_ca_jwt`` true and no
  ``token_reviewer_jwt``, so each login's own short-lived JWT is the TokenReview bearer; one
  ClusterRoleBinding gives ``system:auth-delegator`` to exactly the service accounts that log in
  (:func:`.reviewers.vault_login_service_accounts`). Nothing long-lived is stored anywhere;
- ``external`` with ``long-lived-secret`` (explicit opt-in): a dedicated token-reviewer service account
  with ``system:auth-delegator`` and a ``kubernetes.io/service-account-token`` secret whose JWT (it never
  expires) becomes ``token_reviewer_jwt`` (a Pulumi secret, but copied into Vault and into state). The
  reviewer lives in its own namespace (``Layout.token_reviewer_namespace``), not in Consul's: Consul's
  namespace is created by the Consul release, which itself waits for these identities, so a reviewer
  there would be a dependency cycle.

A short-lived reviewer token requested at each ``up`` (TokenRequest) is not offered: pulumi-kubernetes
has no resource or function for the ``serviceaccounts/token`` subresource, and a token minted during a
deployment would have to outlive it anyway (Vault keeps using the configured JWT until the next ``up``).

Production stacks protect the auth mount (losing it logs every Consul pod out of Vault).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as kubernetes
import pulumi_vault as vault

from ..layout import Identity, Layout
from ..settings import Settings, VaultPlacement
from ..settings.models import TokenReviewer
from .policies import PolicyDocument, identity_policies, mesh_ca_policy
from .reviewers import AUTH_DELEGATOR_CLUSTER_ROLE, vault_login_service_accounts
from .roles import role_specs

SERVICE_ACCOUNT_TOKEN_TYPE = "kubernetes.io/service-account-token"


@dataclass(frozen=True)
class VaultIdentitiesArgs:
    """Inputs of :class:`VaultIdentities`."""

    settings: Settings
    layout: Layout


def reviewer_jwt_from_secret_data(secret_name: str, data: Mapping[str, str] | None) -> str:
    """The reviewer JWT from a service-account-token secret's ``data`` (base64, as the API returns it)."""
    token = (data or {}).get("token")
    if not token:
        raise ValueError(
            f"Kubernetes secret {secret_name} has no token yet: the token controller fills it in; run `pulumi up` again"
        )
    return base64.b64decode(token).decode()


class VaultIdentities(pulumi.ComponentResource):
    """The Kubernetes auth mount, its config, and one role and policy per Consul identity."""

    ready: list[pulumi.Resource]
    """Resources that must exist before the Consul release reads from Vault."""
    auth_mount_path: str
    """The Kubernetes auth mount (``connectCA.authMethodPath``; agents log in at ``auth/<path>``)."""
    role_names: dict[Identity, str]
    """The Kubernetes-auth role of each identity (the chart's ``...Role`` values)."""
    policy_names: dict[Identity, str]
    """The Vault policy of each identity."""
    policies: dict[str, vault.Policy]
    roles: dict[Identity, vault.kubernetes.AuthBackendRole]

    def __init__(self, name: str, args: VaultIdentitiesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("secure-mesh:identities:VaultIdentities", name, None, opts)
        settings, layout = args.settings, args.layout
        protect = settings.is_production
        self.auth_mount_path = layout.kubernetes_auth_path

        self.auth = vault.AuthBackend(
            f"{name}-kubernetes-auth",
            type="kubernetes",
            path=layout.kubernetes_auth_path,
            description=f"Kubernetes auth for Consul datacenter {layout.datacenter}",
            opts=pulumi.ResourceOptions(parent=self, protect=protect),
        )
        self.reviewer: list[pulumi.Resource] = []
        self.auth_config = self._auth_config(name, settings, layout)

        documents: dict[str, PolicyDocument] = {
            identity.value: document for identity, document in identity_policies(layout).items()
        }
        documents["mesh-ca"] = mesh_ca_policy(layout)
        self.policies = {
            key: vault.Policy(
                f"{name}-{key}-policy",
                name=document.name,
                policy=document.render(),
                opts=pulumi.ResourceOptions(parent=self),
            )
            for key, document in documents.items()
        }
        by_name = {document.name: self.policies[key] for key, document in documents.items()}

        specs = role_specs(layout)
        self.roles = {}
        for spec in specs:
            self.roles[spec.identity] = vault.kubernetes.AuthBackendRole(
                f"{name}-{spec.identity.value}-role",
                **spec.resource_args(layout.kubernetes_auth_path),
                opts=pulumi.ResourceOptions(
                    parent=self,
                    depends_on=[self.auth, self.auth_config, *(by_name[p] for p in spec.token_policies)],
                ),
            )
        self.role_names = {spec.identity: spec.role_name for spec in specs}
        self.policy_names = {identity: layout.policy_name(identity) for identity in layout.identities}

        self.ready = [self.auth, self.auth_config, *self.reviewer, *self.policies.values(), *self.roles.values()]
        self.register_outputs(
            {
                "authMountPath": self.auth_mount_path,
                "roleNames": {identity.value: role for identity, role in self.role_names.items()},
                "policyNames": {identity.value: policy for identity, policy in self.policy_names.items()},
                "meshCaPolicyName": layout.mesh_ca_policy_name,
            }
        )

    def _auth_config(self, name: str, settings: Settings, layout: Layout) -> vault.kubernetes.AuthBackendConfig:
        """The auth config: Vault's own token in the cluster; outside it, the client's JWT or an opt-in secret."""
        vault_settings = settings.vault
        resource_name = f"{name}-kubernetes-auth-config"
        common: dict[str, Any] = {
            "backend": layout.kubernetes_auth_path,
            "kubernetes_host": vault_settings.kubernetes_host,
            "kubernetes_ca_cert": vault_settings.kubernetes_ca_cert_pem,
        }
        if vault_settings.placement is VaultPlacement.IN_CLUSTER:
            return vault.kubernetes.AuthBackendConfig(
                resource_name,
                **common,
                disable_local_ca_jwt=False,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.auth]),
            )
        if vault_settings.token_reviewer is TokenReviewer.CLIENT_JWT:
            self.reviewer = [self._client_reviewers(name, layout)]
            return vault.kubernetes.AuthBackendConfig(
                resource_name,
                **common,
                disable_local_ca_jwt=True,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.auth, *self.reviewer]),
            )
        reviewer_jwt = self._token_reviewer(name, layout)
        return vault.kubernetes.AuthBackendConfig(
            resource_name,
            **common,
            token_reviewer_jwt=reviewer_jwt,
            disable_local_ca_jwt=True,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.auth, *self.reviewer]),
        )

    def _client_reviewers(self, name: str, layout: Layout) -> kubernetes.rbac.v1.ClusterRoleBinding:
        """``system:auth-delegator`` for exactly the service accounts that log in (each reviews its own JWT)."""
        return kubernetes.rbac.v1.ClusterRoleBinding(
            f"{name}-vault-clients-auth-delegator",
            metadata=kubernetes.meta.v1.ObjectMetaArgs(name=layout.vault_clients_binding_name),
            role_ref=kubernetes.rbac.v1.RoleRefArgs(
                api_group="rbac.authorization.k8s.io", kind="ClusterRole", name=AUTH_DELEGATOR_CLUSTER_ROLE
            ),
            subjects=[
                kubernetes.rbac.v1.SubjectArgs(kind="ServiceAccount", name=account.name, namespace=account.namespace)
                for account in vault_login_service_accounts(layout)
            ],
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _token_reviewer(self, name: str, layout: Layout) -> pulumi.Output[str]:
        """The reviewer service account, its TokenReview permission and token secret; returns the JWT (secret)."""
        namespace_name = layout.token_reviewer_namespace
        account_name = layout.token_reviewer_service_account
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
            metadata=kubernetes.meta.v1.ObjectMetaArgs(name=layout.token_reviewer_binding_name),
            role_ref=kubernetes.rbac.v1.RoleRefArgs(
                api_group="rbac.authorization.k8s.io", kind="ClusterRole", name=AUTH_DELEGATOR_CLUSTER_ROLE
            ),
            subjects=[
                kubernetes.rbac.v1.SubjectArgs(kind="ServiceAccount", name=account_name, namespace=namespace_name)
            ],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[account]),
        )
        secret_name = layout.token_reviewer_secret_name
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
