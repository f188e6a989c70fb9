"""Layer 3: each onboarded app's Vault identity, and the API gateway's, as plain data.

An app's Kubernetes-auth role binds exactly its service account in exactly its namespace and carries
exactly its own policy; the policy grants ``read`` on the app's own KV-v2 secrets (``/data/`` paths)
and on its database credentials endpoint, nothing else. The gateway's role binds the service account
consul-k8s creates for the ``Gateway`` (named after it) in Consul's namespace, and its policy may only
request listener certificates from the gateway chain's issue endpoint.

Both roles set ``token_no_default_policy`` (see :mod:`secure_mesh.identities.roles`); an app's policy also
grants its Vault agent renew/lookup on its own token. The gateway's token is used once by the CSI provider
for one issue request, so its policy has nothing else. Both check :func:`workload_audience`: the dedicated
``vault.workloadAudience`` where the reviewer allows it: the app's agent presents a projected token of that
audience (:mod:`.annotations`), the Vault CSI provider requests one through TokenRequest (vault-csi-provider
1.5.1 ``internal/auth/kubernetes_jwt.go``, the ``SecretProviderClass``'s ``audience`` parameter).

Documents reuse :class:`~secure_mesh.identities.policies.PolicyDocument` so the same matching decides
what an identity can reach in tests and in the policy pack.
"""

from __future__ import annotations

from ..identities.policies import ISSUE, READ, TOKEN_SELF, PolicyDocument
from ..identities.roles import AuthRoleSpec, workload_audience
from ..layout import Layout
from ..settings import AppSettings, GatewayCertificateDelivery


def app_policy(layout: Layout, app: AppSettings) -> PolicyDocument:
    """The app's policy: read on each of its KV secrets and, with a database, on its credentials endpoint."""
    names = layout.app(app)
    grants = [(layout.app_kv(app, secret).data_path, READ) for secret in app.secrets]
    if app.database is not None:
        grants.append((names.database_creds_path, READ))
    return PolicyDocument.build(names.policy, [*grants, *TOKEN_SELF])


def app_role(layout: Layout, app: AppSettings) -> AuthRoleSpec:
    """The role an app's pods log in with: its service account, its namespace, its policy only."""
    names = layout.app(app)
    return AuthRoleSpec(
        role_name=names.auth_role,
        bound_service_account_names=(app.service_account,),
        bound_service_account_namespaces=(app.namespace,),
        audience=workload_audience(layout.settings),
        token_policies=(names.policy,),
    )


def gateway_policy(layout: Layout) -> PolicyDocument:
    """The gateway's policy: request listener certificates from the gateway chain's role, nothing else."""
    return PolicyDocument.build(layout.gateway_policy_name, [(layout.gateway_pki_issue_path, ISSUE)])


def gateway_certificate_account(layout: Layout) -> str:
    """Who logs in for the listener certificate: VSO's own account for it (``vso``), or the Gateway's (``csi``)."""
    if layout.settings.consul.api_gateway_certificate_delivery is GatewayCertificateDelivery.VSO:
        return layout.gateway_certificate_service_account
    return layout.gateway_service_account


def gateway_role(layout: Layout) -> AuthRoleSpec:
    """The role the listener certificate is issued with: one service account in Consul's namespace.

    With ``vso`` it is the account Vault Secrets Operator presents for the gateway's ``VaultAuth``; with
    ``csi`` the Gateway's own (the CSI volume is mounted by a pod running as it).
    """
    return AuthRoleSpec(
        role_name=layout.gateway_auth_role,
        bound_service_account_names=(gateway_certificate_account(layout),),
        bound_service_account_namespaces=(layout.consul_namespace,),
        audience=workload_audience(layout.settings),
        token_policies=(layout.gateway_policy_name,),
    )
