"""Layer 3: each onboarded app's Vault identity, and the API gateway's, as plain data.

An app's Kubernetes-auth role binds exactly its service account in exactly its namespace and carries
exactly its own policy; the policy grants ``read`` on the app's own KV-v2 secrets (``/data/`` paths)
and on its database credentials endpoint, nothing else. The gateway's role binds the service account
consul-k8s creates for the ``Gateway`` (named after it) in Consul's namespace, and its policy may only
request listener certificates from the gateway chain's issue endpoint.

Both roles set ``token_no_default_policy`` (see :mod:`secure_mesh.identities.roles`); an app's policy also
grants its Vault agent renew/lookup on its own token. The gateway's token is used once by the CSI provider
for one issue request, so its policy has nothing else. Both check the audience they are given
(:func:`~secure_mesh.identities.roles.workload_audience`, from the composition): the dedicated
``vault.workloadAudience`` where the reviewer allows it: the app's agent presents a projected token of that
audience (:mod:`.annotations`), the Vault CSI provider requests one through TokenRequest (vault-csi-provider
1.5.1 ``internal/auth/kubernetes_jwt.go``, the ``SecretProviderClass``'s ``audience`` parameter).

Documents reuse :class:`~secure_mesh.identities.policies.PolicyDocument` so the same matching decides
what an identity can reach in tests and in the policy pack.
"""

from __future__ import annotations

from ..identities.documents import ISSUE, READ, TOKEN_SELF, AuthRoleSpec, PolicyDocument
from .args import AppArgs, GatewayArgs


def app_policy(app: AppArgs) -> PolicyDocument:
    """The app's policy: read on each of its KV secrets, with a database on its credentials endpoint, and on the
    token endpoint of each JWT provider it calls with (a Vault identity token of its own entity).
    """
    grants = [(path, READ) for path in app.kv_read_paths]
    if app.database is not None:
        grants.append((app.database.creds_path, READ))
    grants.extend((path, READ) for path in app.jwt_token_paths.values())
    return PolicyDocument.build(app.policy, [*grants, *TOKEN_SELF])


def app_role(app: AppArgs, audience: str) -> AuthRoleSpec:
    """The role an app's pods log in with: its service account, its namespace, its policy only."""
    return AuthRoleSpec(
        role_name=app.auth_role,
        bound_service_account_names=(app.service_account,),
        bound_service_account_namespaces=(app.namespace,),
        audience=audience,
        token_policies=(app.policy,),
    )


def gateway_issue_path(gateway: GatewayArgs) -> str:
    """``<pki>/issue/<role>``: the gateway chain's endpoint that issues listener certificates."""
    return f"{gateway.pki_mount}/issue/{gateway.pki_role}"


def gateway_policy(gateway: GatewayArgs) -> PolicyDocument:
    """The gateway's policy: request listener certificates from the gateway chain's role, nothing else."""
    return PolicyDocument.build(gateway.policy, [(gateway_issue_path(gateway), ISSUE)])


def gateway_role(gateway: GatewayArgs, audience: str) -> AuthRoleSpec:
    """The role the listener certificate is issued with: one service account in Consul's namespace.

    With ``vso`` it is the account Vault Secrets Operator presents for the gateway's ``VaultAuth``; with
    ``csi`` the Gateway's own (the CSI volume is mounted by a pod running as it).
    """
    return AuthRoleSpec(
        role_name=gateway.auth_role,
        bound_service_account_names=(gateway.login_service_account,),
        bound_service_account_namespaces=(gateway.namespace,),
        audience=audience,
        token_policies=(gateway.policy,),
    )
