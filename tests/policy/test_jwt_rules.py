"""The JWT rules read every spelling Consul accepts, one field at a time, and apply Vault's defaults.

INT-JWT-PROVIDER, INT-JWT-CLAIMS and INT-JWT-ORDER read providers and requirements in each rendering; VLT-OIDC-KEY
and VLT-OIDC-ROLE apply Vault's defaults for what a key or role leaves unset (``rotation_period``,
``verification_ttl`` and a role's ``ttl``: 24h, vault ``identity_store_oidc.go``).

Upstream: a provider is a consul-k8s ``JWTProvider`` resource (camelCase, ``jwtprovider_types.go``) or a
``jwt-provider`` config entry, whose JSON Consul decodes in its API names (``Issuer``, ``JSONWebKeySet``,
``TLSCertificates``, ``TrustedCA``…) and in the snake_case aliases (``json_web_key_set``, ``trusted_ca``…;
``agent/structs/config_entry_jwt_provider.go``). A remote key set's server is verified by a trusted CA given as a
file, an environment variable, an inline string or inline bytes, or by a certificate provider instance; any one
of them is enough. Mutation testing (issue 19) showed every one of those lookups could be dropped in one spelling
with no test noticing: each case below holds exactly one of them, in one spelling.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from secure_mesh_policy import types as t

from tests.policy.support import check, check_stack, subject, urn_of

POLICY = "int-jwt-provider"
CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
SPELLINGS: dict[str, dict[str, str]] = {
    "crd": {},
    "api": {
        "issuer": "Issuer",
        "audiences": "Audiences",
        "jsonWebKeySet": "JSONWebKeySet",
        "remote": "Remote",
        "uri": "URI",
        "jwksCluster": "JWKSCluster",
        "discoveryType": "DiscoveryType",
        "tlsCertificates": "TLSCertificates",
        "trustedCA": "TrustedCA",
        "caCertificateProviderInstance": "CaCertificateProviderInstance",
        "filename": "Filename",
        "environmentVariable": "EnvironmentVariable",
        "inlineString": "InlineString",
        "inlineBytes": "InlineBytes",
    },
    "snake": {
        "jsonWebKeySet": "json_web_key_set",
        "jwksCluster": "jwks_cluster",
        "tlsCertificates": "tls_certificates",
        "trustedCA": "trusted_ca",
        "caCertificateProviderInstance": "ca_certificate_provider_instance",
        "environmentVariable": "environment_variable",
        "inlineString": "inline_string",
        "inlineBytes": "inline_bytes",
    },
}
"""Each rendering's name for the CRD's camelCase key (missing: the same name)."""
TRUSTED_CA_SOURCES = {
    "filename": "/etc/ssl/idp.pem",
    "environmentVariable": "IDP_CA",
    "inlineString": CA,
    "inlineBytes": "LS0tLS1CRUdJTg==",
}


def _spelled(spelling: str, value: Any) -> Any:
    """``value`` (written with the CRD's camelCase keys) with every key renamed as ``spelling`` names it."""
    names = SPELLINGS[spelling]
    if isinstance(value, dict):
        return {names.get(key, key): _spelled(spelling, item) for key, item in value.items()}
    return value


def _provider(spelling: str, tls: dict[str, Any], **top: Any) -> tuple[str, dict[str, Any]]:
    """A provider with a remote key set verified by ``tls`` (camelCase keys), as ``spelling`` renders it."""
    spec = {
        "issuer": "https://idp.example.com/",
        "audiences": ["mesh"],
        "jsonWebKeySet": {
            "remote": {
                "uri": "https://idp.example.com/keys",
                "jwksCluster": {"discoveryType": "STRICT_DNS", "tlsCertificates": tls},
            }
        },
        **top,
    }
    if spelling == "crd":
        return t.CRD_JWT_PROVIDER, {"metadata": {"name": "idp"}, "spec": spec}
    document = json.dumps(_spelled(spelling, spec))
    return t.CONSUL_CONFIG_ENTRY, {"kind": "jwt-provider", "name": "idp", "configJson": document}


def _where(spelling: str) -> str:
    return "spec" if spelling == "crd" else "configJson"


def _kind(spelling: str) -> str:
    return "JWTProvider" if spelling == "crd" else "ConfigEntry"


@pytest.mark.parametrize("spelling", sorted(SPELLINGS))
@pytest.mark.parametrize("source", sorted(TRUSTED_CA_SOURCES))
def test_one_trusted_ca_source_in_any_spelling_verifies_the_key_set(spelling: str, source: str) -> None:
    type_token, props = _provider(spelling, {"trustedCA": {source: TRUSTED_CA_SOURCES[source]}})
    assert check(POLICY, type_token, props) == [], (spelling, source)


@pytest.mark.parametrize("spelling", sorted(SPELLINGS))
def test_a_certificate_provider_instance_in_any_spelling_verifies_the_key_set(spelling: str) -> None:
    type_token, props = _provider(spelling, {"caCertificateProviderInstance": {"instanceName": "idp"}})
    assert check(POLICY, type_token, props) == [], spelling


@pytest.mark.parametrize("spelling", sorted(SPELLINGS))
def test_a_trusted_ca_whose_every_source_is_empty_verifies_nothing(spelling: str) -> None:
    """Each source written empty in the rendering's own names (so a lookup that misses a name is caught)."""
    tls = {"trustedCA": dict.fromkeys(TRUSTED_CA_SOURCES, "")}
    type_token, props = _provider(spelling, tls)
    trusted_ca = {"api": "TrustedCA", "snake": "trusted_ca"}.get(spelling, "trustedCA")
    messages = check(POLICY, type_token, props)
    assert len(messages) == 1, messages
    where = f"{_where(spelling)}.jsonWebKeySet.remote.jwksCluster.tlsCertificates"
    assert messages[0].startswith(f"{_kind(spelling)} 'subject': {where} = {{"), messages
    assert f"{{{trusted_ca}: {{" in messages[0], messages  # the key set's TLS settings, shown as written
    assert messages[0].endswith(
        ": the key set's server certificate is not verified. Fix: give tlsCertificates.trustedCA (the CA of the key "
        "set's server)"
    ), messages


@pytest.mark.parametrize("spelling", sorted(SPELLINGS))
def test_an_empty_issuer_and_audience_list_are_shown_as_written(spelling: str) -> None:
    trusted = {"trustedCA": {"inlineString": CA}}
    type_token, props = _provider(spelling, trusted, issuer="", audiences=[])
    where = _where(spelling)
    assert check(POLICY, type_token, props) == [
        f"{_kind(spelling)} 'subject': {where}.issuer = '': no issuer. Fix: set the tokens' iss",
        f"{_kind(spelling)} 'subject': {where}.audiences = []: no audience. Fix: list the aud values "
        "accepted",
    ]


def test_a_resources_empty_discovery_type_is_shown_as_written() -> None:
    """consul-k8s refuses a jwksCluster without discoveryType (jwtprovider_types.go); '' is shown as given."""
    type_token, props = _provider("crd", {"trustedCA": {"inlineString": CA}})
    props["spec"]["jsonWebKeySet"]["remote"]["jwksCluster"]["discoveryType"] = ""
    assert check(POLICY, type_token, props) == [
        "JWTProvider 'subject': spec.jsonWebKeySet.remote.jwksCluster.discoveryType = '': consul-k8s "
        "refuses a jwksCluster without a discovery type. Fix: set discoveryType: STRICT_DNS"
    ]


# ------------------------------------------------------------------------------- requirements (INT-JWT-CLAIMS)
NO_CLAIM = "no claim to verify. Fix: list the claims the token must carry"
ENTRY = t.CONSUL_CONFIG_ENTRY


def _entry(document: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "service-intentions", "name": "api", "configJson": json.dumps(document)}


REQUIREMENTS = {
    # an entry-wide requirement, in the API's and the snake_case names
    "api-entry-top": (ENTRY, _entry({"JWT": {"Providers": [{"Name": "idp"}]}}), "configJson.JWT.providers[0]"),
    "snake-entry-top": (ENTRY, _entry({"jwt": {"providers": [{"name": "idp"}]}}), "configJson.JWT.providers[0]"),
    # a permission's requirement, in the API's and the snake_case names
    "api-entry-permission": (
        ENTRY,
        _entry({"Sources": [{"Name": "web", "Permissions": [{"JWT": {"Providers": [{"Name": "idp"}]}}]}]}),
        "configJson.sources[0].permissions[0].jwt.providers[0]",
    ),
    "snake-entry-permission": (
        ENTRY,
        _entry({"sources": [{"name": "web", "permissions": [{"jwt": {"providers": [{"name": "idp"}]}}]}]}),
        "configJson.sources[0].permissions[0].jwt.providers[0]",
    ),
    # the typed resource: a permission's requirement (its properties sit at the top, no prefix)
    "typed-permission": (
        t.CONSUL_INTENTIONS,
        {"name": "api", "sources": [{"name": "web", "permissions": [{"jwt": {"providers": [{"name": "idp"}]}}]}]},
        "sources[0].permissions[0].jwt.providers[0]",
    ),
    # the custom resource: entry-wide and per permission
    "crd-top": (
        t.CRD_SERVICE_INTENTIONS,
        {"spec": {"destination": {"name": "api"}, "jwt": {"providers": [{"name": "idp"}]}}},
        "spec.jwt.providers[0]",
    ),
}


@pytest.mark.parametrize("case", sorted(REQUIREMENTS))
def test_a_requirement_without_claims_is_found_in_every_rendering(case: str) -> None:
    type_token, props, where = REQUIREMENTS[case]
    kind = type_token.rsplit(":", 1)[-1]
    assert check("int-jwt-claims", type_token, props) == [f"{kind} 'subject': {where}.verifyClaims = 'idp': {NO_CLAIM}"]


def test_snake_case_verify_claims_are_read() -> None:
    """Consul decodes ``verify_claims`` as ``VerifyClaims``: a provider that lists them has claims."""
    provider = {"name": "idp", "verify_claims": [{"path": ["team"], "value": "pay"}]}
    assert check("int-jwt-claims", ENTRY, _entry({"jwt": {"providers": [provider]}})) == []


# ------------------------------------------------------------------------------------------ INT-JWT-ORDER
def _crd_provider(name: str | None) -> Any:
    metadata = {} if name is None else {"name": name}
    return subject(t.CRD_JWT_PROVIDER, "provider", {"metadata": metadata, "spec": {}})


def _entry_provider(name: str | None) -> Any:
    props = {"kind": "jwt-provider", "configJson": "{}", **({} if name is None else {"name": name})}
    return subject(ENTRY, "provider", props)


def _requiring(provider: dict[str, Any]) -> Any:
    """An API-spelled intentions entry whose permission requires ``provider``, ordered after the provider."""
    document = {"Sources": [{"Name": "web", "Permissions": [{"JWT": {"Providers": [provider]}}]}]}
    return subject(ENTRY, "intentions", _entry(document), dependencies=[urn_of(t.CRD_JWT_PROVIDER, "provider")])


def test_an_api_spelled_provider_name_is_matched_against_the_declarations() -> None:
    """``Name`` is the API's spelling; a name no provider declares is reported with the name as written."""
    declared = _crd_provider("idp")
    assert check_stack("int-jwt-order", [declared, _requiring({"Name": "idp", "VerifyClaims": []})]) == []
    found = check_stack("int-jwt-order", [declared, _requiring({"Name": "other"})])
    assert found == [
        (
            "ConfigEntry 'intentions': configJson.sources[0].permissions[0].jwt.providers[0].name = 'other': names a "
            "JWT provider the stack does not declare. Fix: declare it",
            urn_of(ENTRY, "intentions"),
        )
    ]


@pytest.mark.parametrize("provider", [_crd_provider, _entry_provider], ids=["resource", "config-entry"])
def test_a_nameless_reference_matches_only_a_nameless_declaration(provider: Any) -> None:
    """Names are compared as written, the empty name included (no stand-in name on either side)."""
    nameless = provider(None)
    nameless = subject(nameless.type, "provider", nameless.props)
    reference = _requiring({})
    reference = subject(reference.type, "intentions", reference.props, dependencies=[nameless.urn])
    assert check_stack("int-jwt-order", [nameless, reference]) == []
    named_one = provider("idp")
    named_one = subject(named_one.type, "provider", named_one.props)
    assert [m for m, _ in check_stack("int-jwt-order", [named_one, reference])] == [
        "ConfigEntry 'intentions': configJson.sources[0].permissions[0].jwt.providers[0].name = '': names a JWT "
        "provider the stack does not declare. Fix: declare it"
    ]


# ------------------------------------------------------------------------------------- VLT-OIDC-KEY / -ROLE
KEY = t.OIDC_KEY
ROLE = t.OIDC_ROLE


def test_a_keys_unset_rotation_period_is_vaults_24h() -> None:
    """Ten rotations of the default 86400 s are 864000 s: one second more is refused (Vault's own check)."""
    assert check("vlt-oidc-key", KEY, {"allowedClientIds": ["a"], "verificationTtl": 864000.0}) == []
    assert check("vlt-oidc-key", KEY, {"allowedClientIds": ["a"], "verificationTtl": 864001.0}) == [
        "OidcKey 'subject': verificationTtl = 864001: longer than ten rotations (86400 s each). Fix: shorten it"
    ]


def test_a_keys_unset_verification_ttl_is_vaults_24h() -> None:
    """86400 s is ten rotations of 8640 s exactly; of 8639 s it is one second too many."""
    assert check("vlt-oidc-key", KEY, {"allowedClientIds": ["a"], "rotationPeriod": 8640.0}) == []
    assert check("vlt-oidc-key", KEY, {"allowedClientIds": ["a"], "rotationPeriod": 8639.0}) == [
        "OidcKey 'subject': verificationTtl = 86400: longer than ten rotations (8639 s each). Fix: shorten it"
    ]


def _key(name: str, **props: Any) -> Any:
    return subject(KEY, name, {"name": name, "allowedClientIds": ["a"], **props})


def _role(name: str, **props: Any) -> Any:
    return subject(ROLE, name, {"name": name, "clientId": "a", "ttl": 900.0, **props})


def test_a_roles_unset_ttl_is_vaults_24h() -> None:
    key = _key("k", verificationTtl=86400.0 * 2)
    role = _role("r", key="k")
    role = subject(ROLE, "r", {k: v for k, v in role.props.items() if k != "ttl"}, dependencies=[key.urn])
    assert [m for m, _ in check_stack("vlt-oidc-role", [key, role])] == [
        "OidcRole 'r': ttl = 86400: tokens live longer than an hour. Fix: set ttl to 3600 or less"
    ]


def test_a_keys_unset_verification_ttl_bounds_its_roles_ttl_at_24h() -> None:
    key = _key("k")
    role = subject(ROLE, "r", {**_role("r", key="k").props, "ttl": 86401.0}, dependencies=[key.urn])
    assert [m for m, _ in check_stack("vlt-oidc-role", [key, role])] == [
        "OidcRole 'r': ttl = 86401: tokens live longer than an hour. Fix: set ttl to 3600 or less",
        "OidcRole 'r': ttl = 86401: longer than its key's verification_ttl (86400 s). Fix: shorten it",
    ]


def test_a_role_without_a_client_id_is_shown_as_empty_and_the_rule_goes_on_past_a_role_without_a_key() -> None:
    key = _key("k")
    keyless = _role("keyless", key="missing")
    role = subject(ROLE, "r", {"name": "r", "key": "k", "ttl": 900.0}, dependencies=[key.urn])
    assert [m for m, _ in check_stack("vlt-oidc-role", [key, keyless, role])] == [
        "OidcRole 'r': clientId = '': not allowed by its key 'k'. Fix: use an id the key allows"
    ]


def test_a_role_ordered_after_its_key_through_another_resource_passes() -> None:
    """The dependency may run through other resources (the role's policy, say), as Pulumi orders them."""
    key = _key("k")
    between = subject(t.POLICY, "between", {"name": "p"}, dependencies=[key.urn])
    role = subject(ROLE, "r", _role("r", key="k").props, dependencies=[between.urn])
    assert check_stack("vlt-oidc-role", [key, between, role]) == []
    unordered = subject(ROLE, "r", _role("r", key="k").props, dependencies=[])
    assert [m for m, _ in check_stack("vlt-oidc-role", [key, between, unordered])] == [
        "OidcRole 'r': dependencies = 'k': not ordered after its key. Fix: depend on 'k'"
    ]


def test_a_remote_key_set_without_a_uri_is_shown_as_empty() -> None:
    type_token, props = _provider("crd", {"trustedCA": {"inlineString": CA}})
    del props["spec"]["jsonWebKeySet"]["remote"]["uri"]
    assert check(POLICY, type_token, props) == [
        "JWTProvider 'subject': spec.jsonWebKeySet.remote.uri = '': the key set is not fetched over https. Fix: use "
        "an https URI"
    ]


def test_only_service_intentions_entries_are_read_for_requirements() -> None:
    """A config entry of another kind holding the same fields is not an intentions entry: nothing is required."""
    document = {"Sources": [{"Name": "web", "Permissions": [{"JWT": {"Providers": [{"Name": "idp"}]}}]}]}
    other = {"kind": "jwt-provider", "name": "api", "configJson": json.dumps(document)}
    assert check("int-jwt-claims", ENTRY, other) == []
    assert len(check("int-jwt-claims", ENTRY, {**other, "kind": "service-intentions"})) == 1
