"""The JWT-authorization rules on ``mesh.jwtProviders`` and ``mesh.intentions[].permissions[].jwt`` (issue 17 item 5).

What Vault and Consul refuse at ``pulumi up``, refused before anything is registered, each naming its key:

* Vault's OIDC keys and roles (vault ``vault/identity_store_oidc.go``): ``rotation_period must be at least one
  minute``; ``verification_ttl cannot be longer than 10x rotation_period``; ``a role's token ttl cannot be longer
  than the verification_ttl of the key it references``.
* Consul's jwt-provider entry (``agent/structs/config_entry_jwt_provider.go``): a remote key set needs its URI, and
  an intention may name only a provider that exists (``agent/consul/state/config_entry.go``,
  ``validateJWTProvidersExist``: "Referenced JWT Provider does not exist").

And this project's rules: a provider's key set is fetched over https and verified with a CA (Consul's JWKS cluster
verifies no certificate when none is given, "If not specified ... it will not be verified"), every permission names
a provider and at least one claim (a ``vault-identity`` provider binds the caller's service account and namespace
itself), a ``remote`` provider names its audiences, tokens live 10 minutes to an hour, and proxies cache the key
set for at most an hour and less than a key rotation period.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from pydantic.alias_generators import to_camel

from ..vocabulary import JWT_NAMESPACE_CLAIM, JWT_SERVICE_ACCOUNT_CLAIM, IntentionsRendering, JwtProviderKind
from .durations import duration_seconds
from .errors import Problem
from .models import PLAIN_HTTP_ENVIRONMENTS, JwtProviderSettings, Settings

REMOTE_ONLY = ("jwks_uri", "jwks_ca_cert_pem", "audiences")
"""Fields only a ``remote`` provider takes (a ``vault-identity`` provider's are Vault's and derived)."""
VAULT_ONLY = ("token_ttl", "key_rotation_period", "key_verification_ttl")
"""Fields only a ``vault-identity`` provider takes (Vault's OIDC key and roles)."""
MIN_KEY_ROTATION_S = 60
"""Vault: "rotation_period must be at least one minute"."""
MAX_VERIFICATION_ROTATIONS = 10
"""Vault: "verification_ttl cannot be longer than 10x rotation_period"."""
MIN_TOKEN_TTL_S = 600
"""Ten minutes: an app's Vault agent re-reads a secret without a lease on its static secret render interval (5 minutes
by default; the program's annotations leave it so), so a token always has at least 5 minutes left when read."""
MAX_TOKEN_TTL_S = 3600
"""An hour: the tokens are bearer credentials presented on every request; short-lived like the mesh's leaves."""
MAX_JWKS_CACHE_S = 3600
"""An hour: a key removed from the key set stays trusted by a proxy for as long as it caches the set."""
RESERVED_CLAIMS = (JWT_SERVICE_ACCOUNT_CLAIM, JWT_NAMESPACE_CLAIM)
"""The claims a ``vault-identity`` provider's roles set from the caller's Kubernetes identity."""


def jwt_problems(settings: Settings) -> Iterator[Problem]:
    """Every problem of the JWT settings: the providers, then each permission's requirement."""
    yield from _providers(settings)
    yield from _requirements(settings)


def _providers(settings: Settings) -> Iterator[Problem]:
    providers = settings.mesh.jwt_providers
    if providers and settings.topology.mode.value == "federation-secondary":
        yield Problem(
            "mesh.jwtProviders",
            "is not supported in a WAN-federation secondary: Consul forwards jwt-provider writes to the primary "
            "datacenter, whose stack owns them; declare the providers (and the JWT permissions) in the primary",
        )
    counts = Counter(provider.name for provider in providers)
    for index, provider in enumerate(providers):
        base = f"mesh.jwtProviders[{index}]"
        if counts[provider.name] > 1:
            yield Problem(f"{base}.name", f"'{provider.name}' is declared more than once")
        if provider.kind is JwtProviderKind.REMOTE:
            yield from _remote(provider, base)
        else:
            yield from _vault_identity(settings, provider, base)
        # Outside dev every URL setting is refused as plain http already (consistency._plain_http).
        plain = provider.jwks_uri is not None and provider.jwks_uri.startswith("http://")
        if plain and settings.environment.value in PLAIN_HTTP_ENVIRONMENTS:
            yield Problem(
                f"{base}.jwksUri",
                f"'{provider.jwks_uri}' is not https: the key set decides which tokens are trusted, in every "
                "environment; allowed: an https URL",
            )
        cache = duration_seconds(provider.jwks_cache_duration)
        if cache > MAX_JWKS_CACHE_S:
            yield Problem(
                f"{base}.jwksCacheDuration",
                f"'{provider.jwks_cache_duration}' is too long: a key dropped from the key set stays trusted this "
                "long; allowed: at most 1h",
            )


def _remote(provider: JwtProviderSettings, base: str) -> Iterator[Problem]:
    for field in VAULT_ONLY:
        if field in provider.model_fields_set:
            yield Problem(f"{base}.{to_camel(field)}", "applies to kind 'vault-identity' only")
    for field in ("issuer", "jwks_uri", "jwks_ca_cert_pem"):
        if getattr(provider, field) is None:
            yield Problem(f"{base}.{to_camel(field)}", "is required for kind 'remote'")
    if not provider.audiences:
        yield Problem(
            f"{base}.audiences",
            "needs at least one audience for kind 'remote': without one a proxy accepts the issuer's tokens "
            "minted for any other service",
        )


def _vault_identity(settings: Settings, provider: JwtProviderSettings, base: str) -> Iterator[Problem]:
    for field in REMOTE_ONLY:
        if field in provider.model_fields_set:
            yield Problem(
                f"{base}.{to_camel(field)}",
                "applies to kind 'remote' only: a 'vault-identity' provider's key set is Vault's and its audience "
                "is derived",
            )
    vault = settings.vault
    if not vault.address.startswith("https://"):
        yield Problem(
            f"{base}.kind",
            f"'vault-identity' needs vault.address over https (it is '{vault.address}'): every proxy fetches "
            "Vault's key set from it",
        )
    if vault.tls.ca_cert_pem is None and vault.tls.ca_cert_file is None:
        yield Problem(
            f"{base}.kind",
            "'vault-identity' needs Vault's CA (vault.tls.caCertPem or vault.tls.caCertFile): proxies verify the "
            "key set's server with it",
        )
    rotation = duration_seconds(provider.key_rotation_period)
    verification = duration_seconds(provider.key_verification_ttl)
    token = duration_seconds(provider.token_ttl)
    if rotation < MIN_KEY_ROTATION_S:
        yield Problem(
            f"{base}.keyRotationPeriod",
            f"'{provider.key_rotation_period}' is refused by Vault (rotation_period must be at least one minute); "
            "allowed: 1m or more",
        )
    if verification > MAX_VERIFICATION_ROTATIONS * rotation:
        yield Problem(
            f"{base}.keyVerificationTtl",
            f"'{provider.key_verification_ttl}' is refused by Vault (verification_ttl cannot be longer than 10x "
            f"rotation_period, here {provider.key_rotation_period})",
        )
    if token > verification:
        yield Problem(
            f"{base}.tokenTtl",
            f"'{provider.token_ttl}' is refused by Vault (a role's token ttl cannot be longer than the "
            f"verification_ttl of the key it references, here {provider.key_verification_ttl})",
        )
    if not MIN_TOKEN_TTL_S <= token <= MAX_TOKEN_TTL_S:
        yield Problem(
            f"{base}.tokenTtl",
            f"'{provider.token_ttl}' is outside 10m to 1h: tokens are bearer credentials (at most an hour) that an "
            "app's Vault agent re-reads every 5 minutes by default (at least ten)",
        )
    if duration_seconds(provider.jwks_cache_duration) >= rotation:
        yield Problem(
            f"{base}.jwksCacheDuration",
            f"'{provider.jwks_cache_duration}' is not below keyRotationPeriod ({provider.key_rotation_period}): a "
            "proxy would miss every new signing key for a whole rotation",
        )


def _requirements(settings: Settings) -> Iterator[Problem]:
    declared = {provider.name: provider for provider in settings.mesh.jwt_providers}
    services = Counter(app.service for app in settings.apps)
    crds = settings.consul.intentions_rendering is IntentionsRendering.CRDS
    for i_index, intention in enumerate(settings.mesh.intentions):
        for p_index, permission in enumerate(intention.permissions or ()):
            requirement = permission.jwt
            if requirement is None:
                continue
            base = f"mesh.intentions[{i_index}].permissions[{p_index}].jwt"
            if not crds:
                yield Problem(
                    base,
                    "needs consul.intentionsRendering 'crds' (it is 'config-entries'): pulumi-consul's "
                    "ConfigEntryServiceIntentions has no per-permission jwt",
                )
            provider = declared.get(requirement.provider)
            if provider is None:
                names = ", ".join(sorted(declared)) or "none"
                yield Problem(
                    f"{base}.provider",
                    f"'{requirement.provider}' is not a provider in mesh.jwtProviders; declared: {names}",
                )
                continue
            if provider.kind is JwtProviderKind.REMOTE:
                if not requirement.claims:
                    yield Problem(
                        f"{base}.claims",
                        f"needs at least one claim: any token '{provider.name}' issues for these audiences would "
                        "pass otherwise",
                    )
                continue
            if services[intention.source] != 1:
                shown = "no app's" if services[intention.source] == 0 else "more than one app's"
                yield Problem(
                    f"{base}.provider",
                    f"'vault-identity' tokens carry the calling app's service account, but source "
                    f"'{intention.source}' is {shown} service (apps[].service)",
                )
            for c_index, claim in enumerate(requirement.claims):
                if claim.path[0] in RESERVED_CLAIMS:
                    yield Problem(
                        f"{base}.claims[{c_index}].path",
                        f"'{claim.path[0]}' is set by the provider from the calling app's Kubernetes identity",
                    )
