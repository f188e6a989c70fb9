"""Vault identity tokens as a JWT provider's issuer: one OIDC key and one OIDC role per calling app.

The key is written first: Vault checks a role's ``ttl`` against its key's ``verification_ttl`` when the role is
written ("a role's token ttl cannot be longer than the verification_ttl of the key it references"), and a role
naming a key that does not exist yet is accepted unchecked, so each role takes the key's name from the key's
output. Each role's template names the Kubernetes auth mount by its accessor, an output of the mount, so the roles
also wait for the mount. An app reads its token at ``identity/oidc/token/<role>`` (its policy grants ``read`` there,
:mod:`secure_mesh.onboarding.identity`); proxies fetch the key set at ``identity/oidc/.well-known/keys``, which
needs no token.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_vault as vault

from ..args import coerce_args
from .issuer import VaultJwtIssuerArgs, issuer_problems, role_template, token_path

TYPE = "secure-mesh:index:VaultJwtIssuer"
"""The component's type token."""


class VaultJwtIssuerError(ValueError):
    """Issuer args Vault would refuse, one line per problem (raised before anything is registered)."""


class VaultJwtIssuer(pulumi.ComponentResource):
    """One ``vault-identity`` JWT provider's signing key and its per-app roles."""

    key_name: pulumi.Output[str]
    """The OIDC key's name once written."""
    audience: pulumi.Output[str]
    """The tokens' ``aud`` (every role's ``client_id``), once the key allows it."""
    token_paths: pulumi.Output[Mapping[str, str]]
    """App → ``identity/oidc/token/<role>``, once every role is written."""

    def __init__(self, name: str, args: VaultJwtIssuerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args = coerce_args(VaultJwtIssuerArgs, args)
        problems = issuer_problems(args)
        if problems:
            raise VaultJwtIssuerError("\n".join(problems))
        super().__init__(TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.key = vault.identity.OidcKey(
            f"{name}-key",
            name=args.key_name,
            algorithm=args.algorithm,
            rotation_period=args.rotation_period,
            verification_ttl=args.verification_ttl,
            allowed_client_ids=[args.audience],
            opts=child,
        )
        template = pulumi.Output.from_input(args.auth_mount_accessor).apply(role_template)
        self.roles: dict[str, vault.identity.OidcRole] = {
            role.app: vault.identity.OidcRole(
                f"{name}-{role.app}-role",
                name=role.name,
                key=self.key.name,
                template=template,
                ttl=args.token_ttl,
                client_id=args.audience,
                opts=child,
            )
            for role in args.roles
        }
        self.key_name = self.key.name
        self.audience = self.key.allowed_client_ids.apply(lambda ids: (ids or [""])[0])
        names = list(self.roles)
        self.token_paths = pulumi.Output.all(*(role.name for role in self.roles.values())).apply(
            lambda roles: {app: token_path(role) for app, role in zip(names, roles, strict=True)}
        )
        self.register_outputs({"keyName": self.key_name, "audience": self.audience, "tokenPaths": self.token_paths})
