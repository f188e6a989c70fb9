"""What the settings decide about Vault-issued JWTs, read from the settings and the layout (the component never
imports it): which app calls with which ``vault-identity`` provider, its role and token path, each issuer's Args.
"""

from __future__ import annotations

import pulumi

from ..layout import Layout
from ..settings import AppSettings, Settings, duration_seconds
from ..vocabulary import JwtProviderKind
from .issuer import JwtRoleArgs, VaultJwtIssuerArgs, token_path


def jwt_callers(settings: Settings) -> dict[str, list[AppSettings]]:
    """Each ``vault-identity`` provider → the apps whose service is the source of a permission requiring it (in
    ``apps`` order): each gets a role of the provider's key. Every provider is listed, callers or not.
    """
    callers: dict[str, list[AppSettings]] = {
        provider.name: [] for provider in settings.mesh.jwt_providers if provider.kind is JwtProviderKind.VAULT_IDENTITY
    }
    required = {
        (intention.source, permission.jwt.provider)
        for intention in settings.mesh.intentions
        for permission in intention.permissions or ()
        if permission.jwt is not None
    }
    for app in settings.apps:
        for provider, apps in callers.items():
            if (app.service, provider) in required:
                apps.append(app)
    return callers


def app_token_paths(layout: Layout, app: AppSettings) -> dict[str, str]:
    """Provider → ``identity/oidc/token/<role>`` for every ``vault-identity`` provider the app calls with."""
    providers = {provider.name: provider for provider in layout.settings.mesh.jwt_providers}
    return {
        name: token_path(layout.jwt_role(providers[name], app))
        for name, apps in jwt_callers(layout.settings).items()
        if app in apps
    }


def jwt_issuer_args(layout: Layout, auth_mount_accessor: pulumi.Input[str]) -> list[VaultJwtIssuerArgs]:
    """One :class:`VaultJwtIssuerArgs` per ``vault-identity`` provider: its key, audience, TTLs and callers' roles."""
    settings = layout.settings
    callers = jwt_callers(settings)
    issuers = []
    for provider in settings.mesh.jwt_providers:
        if provider.kind is not JwtProviderKind.VAULT_IDENTITY:
            continue
        names = layout.jwt_provider(provider)
        issuers.append(
            VaultJwtIssuerArgs(
                provider=provider.name,
                key_name=names.oidc_key or "",
                audience=names.audiences[0],
                rotation_period=duration_seconds(provider.key_rotation_period),
                verification_ttl=duration_seconds(provider.key_verification_ttl),
                token_ttl=duration_seconds(provider.token_ttl),
                roles=tuple(
                    JwtRoleArgs(name=layout.jwt_role(provider, app), app=app.name) for app in callers[provider.name]
                ),
                auth_mount_accessor=auth_mount_accessor,
            )
        )
    return issuers
