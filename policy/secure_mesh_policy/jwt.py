"""JWT-authorized intentions: the providers proxies trust, the claims permissions require, Vault's token issuer.

Every place a JWT setting can enter is read: a provider as a consul-k8s ``JWTProvider`` resource (camelCase) or a
``jwt-provider`` config entry (``configJson`` in Consul's API names, or the snake_case aliases Consul also decodes);
a requirement on a ``ServiceIntentions`` resource, a ``service-intentions`` config entry or the typed
``ConfigEntryServiceIntentions`` (its top-level ``jwts``), both at the top of an entry and inside each permission.

Upstream facts: consul ``agent/structs/config_entry_jwt_provider.go`` (a remote key set has a URI; without
``TLSCertificates`` "If not specified and a peer certificate is presented it will not be verified"),
``agent/consul/state/config_entry.go`` ``validateJWTProvidersExist`` (an intention naming a missing provider is
refused), consul-k8s v2.0.3 ``jwtprovider_types.go`` (its webhook refuses a ``jwksCluster`` without
``discoveryType``), vault ``vault/identity_store_oidc.go`` (an OIDC key's ``rotation_period`` is at least a minute,
its ``verification_ttl`` at most ten of them; ``allowed_client_ids`` "*" lets every role sign; a role's ``ttl``
above its key's ``verification_ttl`` is refused only when the key already exists).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from . import types as t
from .documents import parse_json_text
from .framework import Res, StackView, as_int, as_list, resource_rule, stack_rule
from .intentions import _get, _reaches  # the same field lookup and dependency walk as the intention rules

Finding = tuple[str, str | None]
PROVIDER_TYPES = (t.CRD_JWT_PROVIDER, t.CONSUL_CONFIG_ENTRY)
REQUIREMENT_TYPES = (t.CRD_SERVICE_INTENTIONS, t.CONSUL_INTENTIONS, t.CONSUL_CONFIG_ENTRY)
MAX_TOKEN_TTL_S = 3600
"""Vault identity tokens are bearer credentials presented on every request: at most an hour."""
MIN_ROTATION_PERIOD_S = 60
"""Vault: "rotation_period must be at least one minute"."""


@dataclass(frozen=True)
class Provider:
    """A JWT provider as one of its renderings declares it."""

    res: Res
    name: str
    spec: Any
    prop: str
    """Where the provider's fields sit on the resource (``spec`` or ``configJson``)."""


def read_provider(res: Res) -> Provider | None:
    """The provider a resource declares (None for other resources)."""
    if res.type == t.CRD_JWT_PROVIDER:
        return Provider(res, str(_get(res.get("metadata", {}), "name") or ""), res.get("spec", {}), "spec")
    if res.type == t.CONSUL_CONFIG_ENTRY and str(res.get("kind", "")) == "jwt-provider":
        data, _ = parse_json_text(res.get("configJson"))
        return Provider(res, str(res.get("name", "")), data, "configJson")
    return None


@resource_rule(
    "INT-JWT",
    part="provider",
    checks="A JWT provider names its issuer and at least one audience, and a remote key set is fetched over https "
    "with a CA to verify its server (`jwksCluster.tlsCertificates`, a trusted CA or a certificate provider) and an "
    "explicit discovery type.",
    why="Consul: without TLSCertificates a proxy does not verify the key set's server, so whoever answers for its "
    "host decides which tokens pass; without an audience a proxy accepts the issuer's tokens minted for any "
    "service. consul-k8s refuses a jwksCluster without discoveryType.",
    fix="Fetch the key set over https with jwksCluster {discoveryType: STRICT_DNS, tlsCertificates: {trustedCA: ...}} "
    "and list the audiences and issuer.",
    types=PROVIDER_TYPES,
)
def int_jwt_provider(res: Res, config: Mapping[str, Any]) -> Iterator[str]:
    """Providers verify where their keys come from and whom tokens are for."""
    provider = read_provider(res)
    if provider is None:
        return
    spec, base = provider.spec, provider.prop
    if not _get(spec, "issuer", "Issuer"):
        yield res.finding(f"{base}.issuer", _get(spec, "issuer", "Issuer"), "no issuer", "set the tokens' iss")
    if not as_list(_get(spec, "audiences", "Audiences")):
        yield res.finding(
            f"{base}.audiences", _get(spec, "audiences", "Audiences"), "no audience", "list the aud values accepted"
        )
    keys = _get(spec, "jsonWebKeySet", "JSONWebKeySet", "json_web_key_set")
    remote = _get(keys, "remote", "Remote")
    if remote is None:
        return  # a local key set (inline or a file on every proxy) is fetched from nowhere
    where = f"{base}.jsonWebKeySet.remote"
    uri = str(_get(remote, "uri", "URI") or "")
    if not uri.startswith("https://"):
        yield res.finding(f"{where}.uri", uri, "the key set is not fetched over https", "use an https URI")
    cluster = _get(remote, "jwksCluster", "JWKSCluster", "jwks_cluster")
    tls = _get(cluster, "tlsCertificates", "TLSCertificates", "tls_certificates")
    trusted = _get(tls, "trustedCA", "TrustedCA", "trusted_ca")
    instance = _get(
        tls, "caCertificateProviderInstance", "CaCertificateProviderInstance", "ca_certificate_provider_instance"
    )
    sources = [
        _get(trusted, "filename", "Filename"),
        _get(trusted, "environmentVariable", "EnvironmentVariable", "environment_variable"),
        _get(trusted, "inlineString", "InlineString", "inline_string"),
        _get(trusted, "inlineBytes", "InlineBytes", "inline_bytes"),
    ]
    if not any(sources) and instance is None:
        yield res.finding(
            f"{where}.jwksCluster.tlsCertificates",
            tls,
            "the key set's server certificate is not verified",
            "give tlsCertificates.trustedCA (the CA of the key set's server)",
        )
    if res.type == t.CRD_JWT_PROVIDER and cluster is not None and not _get(cluster, "discoveryType"):
        yield res.finding(
            f"{where}.jwksCluster.discoveryType",
            _get(cluster, "discoveryType"),
            "consul-k8s refuses a jwksCluster without a discovery type",
            "set discoveryType: STRICT_DNS",
        )


@dataclass(frozen=True)
class Requirement:
    """One JWT requirement: at the top of an intentions entry or inside one permission."""

    res: Res
    prop: str
    providers: list[Any]


def read_requirements(res: Res) -> list[Requirement]:
    """Every JWT requirement an intentions resource declares, in any rendering."""
    found = []
    if res.type == t.CRD_SERVICE_INTENTIONS:
        spec, prefix = res.get("spec", {}), "spec."
        tops, sources = [("spec.jwt", _get(spec, "jwt"))], as_list(_get(spec, "sources"))
    elif res.type == t.CONSUL_INTENTIONS:
        # The typed resource holds entry-wide requirements as a list (``jwts``) and none per permission.
        prefix = ""
        tops = [(f"jwts[{index}]", jwt) for index, jwt in enumerate(as_list(res.get("jwts")))]
        sources = as_list(res.get("sources"))
    elif res.type == t.CONSUL_CONFIG_ENTRY and str(res.get("kind", "")) == "service-intentions":
        data, _ = parse_json_text(res.get("configJson"))
        prefix = "configJson."
        tops, sources = [("configJson.JWT", _get(data, "JWT", "jwt"))], as_list(_get(data, "Sources", "sources"))
    else:
        return []
    for prop, top in tops:
        if top is not None:
            found.append(Requirement(res, prop, as_list(_get(top, "providers", "Providers"))))
    for i, source in enumerate(sources):
        for j, permission in enumerate(as_list(_get(source, "permissions", "Permissions"))):
            jwt = _get(permission, "jwt", "JWT")
            if jwt is not None:
                path = f"{prefix}sources[{i}].permissions[{j}].jwt"
                found.append(Requirement(res, path, as_list(_get(jwt, "providers", "Providers"))))
    return found


def _claims(provider: Any) -> list[Any]:
    return as_list(_get(provider, "verifyClaims", "VerifyClaims", "verify_claims"))


@resource_rule(
    "INT-JWT",
    part="claims",
    checks="Every JWT requirement of an intention (an entry's or a permission's) names at least one provider, and "
    "each provider at least one claim with a non-empty path and a value.",
    why="A requirement without claims admits any token the provider issues for its audiences: every workload that "
    "can get one. The claims say whose token it must be.",
    fix="List verifyClaims (e.g. the calling app's service account) for each provider of the requirement.",
    types=REQUIREMENT_TYPES,
)
def int_jwt_claims(res: Res, config: Mapping[str, Any]) -> Iterator[str]:
    """JWT requirements say whose token they want."""
    for requirement in read_requirements(res):
        if not requirement.providers:
            yield res.finding(f"{requirement.prop}.providers", [], "no provider", "name the provider")
        for index, provider in enumerate(requirement.providers):
            where = f"{requirement.prop}.providers[{index}]"
            claims = _claims(provider)
            if not claims:
                yield res.finding(
                    f"{where}.verifyClaims",
                    _get(provider, "name", "Name"),
                    "no claim to verify",
                    "list the claims the token must carry",
                )
            for c_index, claim in enumerate(claims):
                path = as_list(_get(claim, "path", "Path", "paths"))  # the typed resource spells it "paths"
                if not path or not all(path) or not _get(claim, "value", "Value"):
                    yield res.finding(
                        f"{where}.verifyClaims[{c_index}]",
                        claim,
                        "a claim without a path or a value",
                        "give the claim's path and the value it must hold",
                    )


@stack_rule(
    "INT-JWT",
    part="order",
    checks="Every intentions resource that names a JWT provider depends on each declaration of that provider in the "
    "stack (directly or through other resources), and names only providers the stack declares.",
    why="Consul refuses an intentions write naming a provider that does not exist ('Referenced JWT Provider does not "
    "exist', agent/consul/state/config_entry.go): without the dependency `pulumi up` can write the intentions first.",
    fix="Declare the provider in the stack and give the intentions resource depends_on it.",
)
def int_jwt_order(view: StackView, config: Mapping[str, Any]) -> Iterator[Finding]:
    """Intentions are written after the providers they name."""
    declared: dict[str, list[Res]] = {}
    for res in view.of(*PROVIDER_TYPES):
        provider = read_provider(res)
        if provider is not None:
            declared.setdefault(provider.name, []).append(res)
    for res in view.of(*REQUIREMENT_TYPES):
        for requirement in read_requirements(res):
            for index, provider in enumerate(requirement.providers):
                name = str(_get(provider, "name", "Name") or "")
                where = f"{requirement.prop}.providers[{index}].name"
                if name not in declared:
                    yield (
                        res.finding(where, name, "names a JWT provider the stack does not declare", "declare it"),
                        res.urn,
                    )
                for found in declared.get(name, []):
                    if not _reaches(view, res, found.urn):
                        yield (
                            res.finding(
                                "dependencies",
                                found.name,
                                f"not ordered after the JWT provider {name!r}",
                                f"depend on '{found.name}'",
                            ),
                            res.urn,
                        )


@resource_rule(
    "VLT-OIDC",
    part="key",
    checks="A Vault OIDC key lets named client ids sign (never '*', never none), rotates no more often than once a "
    "minute (rotation_period >= 60 s) and keeps rotated keys at most ten rotations (verification_ttl).",
    why="Vault: allowed_client_ids '*' lets every role in the namespace sign tokens with this key, so any role's "
    "tokens would pass as the provider's; Vault refuses the rotation and verification limits at write time.",
    fix="Set allowed_client_ids to the provider's audience and keep the key's periods within Vault's limits.",
    types=(t.OIDC_KEY,),
)
def vlt_oidc_key(res: Res, config: Mapping[str, Any]) -> Iterator[str]:
    """Keys sign for their provider only."""
    allowed = [str(x) for x in as_list(res.get("allowedClientIds"))]
    if not allowed or "*" in allowed:
        yield res.finding(
            "allowedClientIds", allowed, "every role (or none) may sign with the key", "allow the provider's audience"
        )
    rotation = as_int(res.get("rotationPeriod", 86400))
    verification = as_int(res.get("verificationTtl", 86400))
    if rotation is not None and rotation < MIN_ROTATION_PERIOD_S:
        yield res.finding(
            "rotationPeriod", rotation, "below Vault's minimum of 60 seconds", "set 60 seconds or more"
        )
    if rotation is not None and verification is not None and verification > 10 * rotation:
        yield res.finding(
            "verificationTtl", verification, f"longer than ten rotations ({rotation} s each)", "shorten it"
        )


@stack_rule(
    "VLT-OIDC",
    part="role",
    checks="A Vault OIDC role issues tokens for at most an hour, under a client id its key allows, no longer than its "
    "key keeps rotated keys, and is written after its key.",
    why="Vault checks a role's ttl against its key only when the key already exists, and a key signs only for the "
    "client ids it allows; a token outliving its key's verification is refused by every verifier before it expires.",
    fix="Set ttl <= 1h and <= the key's verification_ttl, client_id to an id the key allows, and depend on the key.",
)
def vlt_oidc_role(view: StackView, config: Mapping[str, Any]) -> Iterator[Finding]:
    """Roles issue short-lived tokens their key can sign and verify."""
    keys = {str(res.get("name") or res.name): res for res in view.of(t.OIDC_KEY)}
    for role in view.of(t.OIDC_ROLE):
        ttl = as_int(role.get("ttl", 86400))
        if ttl is not None and ttl > MAX_TOKEN_TTL_S:
            yield role.finding("ttl", ttl, "tokens live longer than an hour", "set ttl to 3600 or less"), role.urn
        key = keys.get(str(role.get("key", "")))
        if key is None:
            continue
        client = str(role.get("clientId", ""))
        if client not in [str(x) for x in as_list(key.get("allowedClientIds"))]:
            yield (
                role.finding("clientId", client, f"not allowed by its key '{key.name}'", "use an id the key allows"),
                role.urn,
            )
        verification = as_int(key.get("verificationTtl", 86400))
        if ttl is not None and verification is not None and ttl > verification:
            yield (
                role.finding("ttl", ttl, f"longer than its key's verification_ttl ({verification} s)", "shorten it"),
                role.urn,
            )
        if not _reaches(view, role, key.urn):
            yield (
                role.finding("dependencies", key.name, "not ordered after its key", f"depend on '{key.name}'"),
                role.urn,
            )
