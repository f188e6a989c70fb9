"""Layer 3: the Kubernetes-auth role of every Consul identity, as plain data.

A role binds exactly one service account (the chart's name for that component, from the layout) in
exactly the Consul namespace, checks the token's audience, names identity aliases by service-account
UID (a deleted and re-created account with the same name is a new identity), issues short-lived
tokens with an explicit maximum, and carries exactly that identity's policy. The CA-reader role is the
only one bound to ``*``: still only in the pinned namespace, and only with the CA-read policy.

Tokens never carry Vault's ``default`` policy (``token_no_default_policy``): it grants far more than a
workload uses (cubbyhole, response wrapping, ``sys/leases/*``, ``sys/capabilities-self``, …). What a Vault
agent needs on its own token (``auth/token/renew-self``, ``lookup-self``) is in each identity's own policy.

Audience: Consul's identities check ``vault.kubernetesAudience`` (the API server's default audience): the
chart's Vault agents and Consul's Vault CA provider log in with the pod's default service-account token,
and the chart offers no way to mount a token of another audience into its pods (see docs/identities.md, "What
every role sets"). Onboarded apps and the API gateway present a token requested for Vault
(:func:`workload_audience`).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..layout import Identity, Layout
from ..settings import Settings, VaultPlacement
from ..settings.models import TokenReviewer
from .documents import ALIAS_NAME_SOURCE as ALIAS_NAME_SOURCE
from .documents import TOKEN_MAX_TTL_SECONDS as TOKEN_MAX_TTL_SECONDS
from .documents import TOKEN_TTL_SECONDS as TOKEN_TTL_SECONDS
from .documents import AuthRoleSpec as AuthRoleSpec
from .policies import attached_policies


@dataclass(frozen=True, kw_only=True)
class RoleSpec(AuthRoleSpec):
    """The role of one Consul identity."""

    identity: Identity


def role_spec(layout: Layout, identity: Identity) -> RoleSpec:
    """The role one Consul identity logs in with."""
    return RoleSpec(
        identity=identity,
        role_name=layout.auth_role(identity),
        bound_service_account_names=(layout.service_account(identity),),
        bound_service_account_namespaces=(layout.consul_namespace,),
        audience=layout.settings.vault.kubernetes_audience,
        token_policies=attached_policies(layout, identity),
    )


def role_specs(layout: Layout) -> tuple[RoleSpec, ...]:
    """The roles of every identity this stack needs, in the layout's order."""
    return tuple(role_spec(layout, identity) for identity in layout.identities)


def client_jwt_reviews(settings: Settings) -> bool:
    """Whether Vault reviews a login with the client's own JWT (external Vault, ``tokenReviewer: client-jwt``)."""
    vault = settings.vault
    return vault.placement is VaultPlacement.EXTERNAL and vault.token_reviewer is TokenReviewer.CLIENT_JWT


def dedicated_audience_possible(settings: Settings) -> bool:
    """Whether roles may check a dedicated audience: only when the client's JWT is not also the reviewer's bearer.

    With a client-JWT review, Vault sends the client's token as the bearer of the TokenReview request
    (vault-plugin-auth-kubernetes ``token_review.go``: ``bearer = jwt`` when no reviewer JWT is set), and the
    API server authenticates a bearer only if its audience is one of ``--api-audiences``.
    """
    return not client_jwt_reviews(settings)


def workload_audience(settings: Settings) -> str:
    """The audience of roles whose clients request their own token (apps' agents, the gateway's CSI volume)."""
    vault = settings.vault
    return vault.workload_audience if dedicated_audience_possible(settings) else vault.kubernetes_audience
