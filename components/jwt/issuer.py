"""Layer 3: a Vault identity-token issuer for the mesh's JWT providers, as plain data and checks.

A ``vault-identity`` provider (``mesh.jwtProviders[].kind``) is one Vault OIDC key and one OIDC role per calling
app. Each role's ``client_id`` is the provider's audience (the ``aud`` of its tokens, vault
``identity_store_oidc.go`` ``pathOIDCGenerateToken``), and the key lets exactly that client id sign
(``allowed_client_ids``: "If empty no roles are allowed. If "*" all roles are allowed"). The role's template copies
the caller's Kubernetes identity from its entity alias on this stack's Kubernetes auth mount — named by the mount's
accessor — into two claims: the Kubernetes auth method records ``service_account_name`` and
``service_account_namespace`` as the alias's metadata at every login (vault-plugin-auth-kubernetes ``path_login.go``).
A token read by another app's Vault token carries that app's service account, so a permission requiring the claim
admits exactly one app, whatever role it could read.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi

from ..vocabulary import JWT_NAMESPACE_CLAIM, JWT_SERVICE_ACCOUNT_CLAIM

SUPPORTED_ALGORITHMS = ("RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "EdDSA")
"""What Vault signs identity tokens with (``supportedAlgs``) — every one of them Envoy's jwt_authn verifies."""
VAULT_RESERVED_CLAIMS = ("iat", "aud", "exp", "iss", "sub", "namespace")
"""Top-level claims Vault sets itself and refuses in a template ("top level key %q not allowed")."""
MIN_ROTATION_PERIOD_S = 60
"""Vault: "rotation_period must be at least one minute"."""


@dataclass(frozen=True)
class JwtRoleArgs:
    """One calling app's OIDC role: the app fetches its tokens at ``identity/oidc/token/<name>``."""

    name: str
    """The role's name in Vault (global in a Vault namespace)."""
    app: str
    """The app the role is for (keys the component's outputs)."""


@dataclass(frozen=True)
class VaultJwtIssuerArgs:
    """Inputs of :class:`~secure_mesh.jwt.component.VaultJwtIssuer`: one key, its roles, the auth mount's accessor."""

    provider: str
    """The JWT provider these tokens are for (``mesh.jwtProviders[].name``)."""
    key_name: str
    """The Vault OIDC key that signs them."""
    audience: str
    """Every role's ``client_id``, the tokens' ``aud`` (what the provider's ``audiences`` accept)."""
    rotation_period: int
    """Seconds between Vault's rotations of the signing key (at least 60)."""
    verification_ttl: int
    """Seconds a rotated key stays in the key set (at most ten rotation periods, at least the token TTL)."""
    token_ttl: int
    """Seconds a token lives."""
    roles: Sequence[JwtRoleArgs]
    """One role per calling app (none yet: the key alone)."""
    auth_mount_accessor: pulumi.Input[str]
    """The Kubernetes auth mount's accessor (from the mount's output): the templates name the caller's alias by it."""
    algorithm: str = "RS256"
    """The signing algorithm (Vault's default)."""


def token_path(role: str) -> str:
    """``identity/oidc/token/<role>``: where an app reads its token (what its policy grants ``read`` on)."""
    return f"identity/oidc/token/{role}"


def role_template(accessor: str) -> str:
    """The role's claims template (Vault's JSON templating: each ``{{…}}`` renders as a JSON value).

    ``{"k8s_namespace": {{identity.entity.aliases.<accessor>.metadata.service_account_namespace}},
    "k8s_service_account": {{identity.entity.aliases.<accessor>.metadata.service_account_name}}}``
    """
    alias = f"identity.entity.aliases.{accessor}.metadata"
    claims = {
        JWT_NAMESPACE_CLAIM: f"{alias}.service_account_namespace",
        JWT_SERVICE_ACCOUNT_CLAIM: f"{alias}.service_account_name",
    }
    body = ", ".join(f'"{claim}": {{{{{source}}}}}' for claim, source in sorted(claims.items()))
    return "{" + body + "}"


def issuer_problems(args: VaultJwtIssuerArgs) -> list[str]:
    """What Vault would refuse (and what this project refuses) in an issuer's args, one line each."""
    where = "VaultJwtIssuerArgs"
    problems = []
    if args.rotation_period < MIN_ROTATION_PERIOD_S:
        problems.append(f"{where}.rotation_period: {args.rotation_period} is below Vault's minimum of 60 seconds")
    if args.verification_ttl > 10 * args.rotation_period:
        problems.append(
            f"{where}.verification_ttl: {args.verification_ttl} is longer than 10x rotation_period "
            f"({args.rotation_period}); Vault refuses it"
        )
    if args.token_ttl > args.verification_ttl:
        problems.append(
            f"{where}.token_ttl: {args.token_ttl} is longer than verification_ttl ({args.verification_ttl}); Vault "
            "refuses the role (a token would outlive the key that verifies it)"
        )
    if args.token_ttl <= 0:
        problems.append(f"{where}.token_ttl: {args.token_ttl} must be positive")
    if args.algorithm not in SUPPORTED_ALGORITHMS:
        problems.append(f"{where}.algorithm: '{args.algorithm}' is not one of {', '.join(SUPPORTED_ALGORITHMS)}")
    if not args.audience or args.audience == "*":
        problems.append(
            f"{where}.audience: '{args.audience}' must name this provider's audience ('*' lets any role sign)"
        )
    counts = Counter(role.name for role in args.roles)
    for index, role in enumerate(args.roles):
        if counts[role.name] > 1:
            problems.append(f"{where}.roles[{index}].name: '{role.name}' is listed more than once")
    return problems
