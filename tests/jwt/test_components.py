"""The JWT pieces of MeshIntentions and the VaultJwtIssuer component alone, from hand-written Args (issue 15 style).

Each refusal is checked with its exact message, before anything is registered; the valid boundary graphs build and
are compared as whole inputs, from Python and from the component host's wire form alike. Upstream facts: consul-k8s
v2.0.3 ``jwtprovider_types.go`` (a ``jwksCluster`` needs a ``discoveryType``; without ``tlsCertificates`` the key
set's server certificate is not verified), consul ``agent/consul/state/config_entry.go``
(``validateJWTProvidersExist``), vault ``identity_store_oidc.go`` (the key's and role's limits).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pulumi
import pulumi_kubernetes as kubernetes
import pytest

from secure_mesh.jwt.component import VaultJwtIssuer, VaultJwtIssuerError
from secure_mesh.jwt.issuer import JwtRoleArgs, VaultJwtIssuerArgs, role_template
from secure_mesh.mesh.component import (
    JWT_NEEDS_CRDS,
    JWT_PROVIDERS_NEED_OWNER,
    MeshIntentions,
    MeshIntentionsArgs,
    delivery_problems,
)
from secure_mesh.mesh.model import (
    DEFAULT_DENY,
    DestinationEntry,
    HttpMatch,
    JwtClaim,
    JwtProviderEntry,
    JwtRequirement,
    SourceRule,
)
from secure_mesh.mesh.rules import JWT_NEEDS_CLAIMS, GraphError
from secure_mesh.naming import DNS_LABEL_HELP
from secure_mesh.offline.program_run import ProgramRun
from secure_mesh.settings.vault_ca_file import OFFLINE_PLACEHOLDER_PEM
from secure_mesh.vocabulary import IntentionsRendering
from tests.consul.helpers import recorded_shape, run_alone, to_wire

CA = OFFLINE_PLACEHOLDER_PEM
IDP = JwtProviderEntry(
    name="idp",
    issuer="https://idp.example.com/",
    jwks_uri="https://idp.example.com/keys",
    jwks_ca_pem=CA,
    audiences=("mesh",),
)
TEAM = JwtRequirement("idp", (JwtClaim(("team",), "pay"),))
NESTED = JwtRequirement("idp", (JwtClaim(("realm", "roles"), "admin"), JwtClaim(("sub",), "ops")))
SERVICES = {"web": "http", "api": "http", "db": "tcp"}


def _entries(*matches: HttpMatch) -> tuple[DestinationEntry, ...]:
    return (
        DestinationEntry("api", (SourceRule("web", permissions=matches),)),
        DestinationEntry("*", (DEFAULT_DENY,)),
    )


VALID = _entries(HttpMatch(path_prefix="/v1/", jwt=TEAM), HttpMatch(path_exact="/admin", methods=("GET",), jwt=NESTED))


def _args(**fields: Any) -> MeshIntentionsArgs:
    return MeshIntentionsArgs(
        **{"services": SERVICES, "intentions": VALID, "jwt_providers": (IDP,), "namespace": "mesh", **fields}
    )


def _refusal(args: MeshIntentionsArgs) -> list[str]:
    with pytest.raises(GraphError) as raised:
        MeshIntentions("mesh", args)
    return str(raised.value).splitlines()


def _build(args: Any) -> ProgramRun:
    def program() -> None:
        release = kubernetes.core.v1.ConfigMap("stand-in-release", data={"stands": "in"})
        MeshIntentions("mesh", args, pulumi.ResourceOptions(depends_on=[release]))

    return run_alone(program)


@pytest.fixture(scope="module")
def built() -> ProgramRun:
    return _build(_args())


def test_the_provider_and_the_intentions_reach_kubernetes_whole(built: ProgramRun) -> None:
    inputs = {r.name: r.inputs for r in built.resources if r.name in ("mesh-idp-jwt-provider", "mesh-api-intentions")}
    assert inputs == {
        "mesh-idp-jwt-provider": {
            "apiVersion": "consul.hashicorp.com/v1alpha1",
            "kind": "JWTProvider",
            "metadata": {"name": "idp", "namespace": "mesh"},
            "spec": {
                "issuer": "https://idp.example.com/",
                "audiences": ["mesh"],
                "jsonWebKeySet": {
                    "remote": {
                        "uri": "https://idp.example.com/keys",
                        "cacheDuration": "5m",
                        "fetchAsynchronously": False,
                        "jwksCluster": {
                            "discoveryType": "STRICT_DNS",
                            "tlsCertificates": {"trustedCA": {"inlineString": CA}},
                        },
                    }
                },
            },
        },
        "mesh-api-intentions": {
            "apiVersion": "consul.hashicorp.com/v1alpha1",
            "kind": "ServiceIntentions",
            "metadata": {"name": "api-intentions", "namespace": "mesh"},
            "spec": {
                "destination": {"name": "api"},
                "sources": [
                    {
                        "name": "web",
                        "permissions": [
                            {
                                "action": "allow",
                                "http": {"pathPrefix": "/v1/"},
                                "jwt": {
                                    "providers": [
                                        {"name": "idp", "verifyClaims": [{"path": ["team"], "value": "pay"}]}
                                    ]
                                },
                            },
                            {
                                "action": "allow",
                                "http": {"pathExact": "/admin", "methods": ["GET"]},
                                "jwt": {
                                    "providers": [
                                        {
                                            "name": "idp",
                                            "verifyClaims": [
                                                {"path": ["realm", "roles"], "value": "admin"},
                                                {"path": ["sub"], "value": "ops"},
                                            ],
                                        }
                                    ]
                                },
                            },
                        ],
                    }
                ],
            },
        },
    }


def test_the_intentions_wait_for_the_provider_which_waits_only_for_the_release(built: ProgramRun) -> None:
    def deps(name: str) -> set[str]:
        resource = next(r for r in built.resources if r.name == name)
        return {built.by_urn(urn).name for urn in resource.dependencies}

    assert deps("mesh-idp-jwt-provider") == {"stand-in-release"}
    assert deps("mesh-api-intentions") == {
        "stand-in-release",
        "mesh-api-defaults",
        "mesh-proxy-defaults",
        "mesh-idp-jwt-provider",
    }
    assert "mesh-idp-jwt-provider" not in deps("mesh-default-deny")


def test_the_wire_form_builds_the_same_resources(built: ProgramRun) -> None:
    assert recorded_shape(_build(to_wire(_args()))) == recorded_shape(built)


# (what is broken, the args, the exact lines of the refusal)
REFUSALS: dict[str, tuple[MeshIntentionsArgs, list[str]]] = {
    "an undeclared provider": (
        _args(intentions=_entries(HttpMatch(path_prefix="/", jwt=replace(TEAM, provider="okta")))),
        [
            "MeshIntentionsArgs.intentions[0].sources[0].permissions[0].jwt.provider: 'okta' is not a provider in "
            "MeshIntentionsArgs.jwt_providers; declared: idp"
        ],
    ),
    "no provider at all": (
        _args(jwt_providers=()),
        [
            f"MeshIntentionsArgs.intentions[0].sources[0].permissions[{k}].jwt.provider: 'idp' is not a provider in "
            "MeshIntentionsArgs.jwt_providers; declared: none"
            for k in (0, 1)
        ],
    ),
    "a requirement without claims, after a valid permission": (
        _args(
            intentions=_entries(HttpMatch(path_prefix="/"), HttpMatch(path_prefix="/x", jwt=JwtRequirement("idp", ())))
        ),
        [f"MeshIntentionsArgs.intentions[0].sources[0].permissions[1].jwt.claims: {JWT_NEEDS_CLAIMS}"],
    ),
    "a claim with no path, one with an empty key and one with no value": (
        _args(
            intentions=_entries(
                HttpMatch(
                    path_prefix="/",
                    jwt=JwtRequirement(
                        "idp", (JwtClaim((), "x"), JwtClaim(("a", ""), "x"), JwtClaim(("team",), ""))
                    ),
                )
            )
        ),
        [
            "MeshIntentionsArgs.intentions[0].sources[0].permissions[0].jwt.claims[0].path: [] must list at least "
            "one key, none of them empty",
            "MeshIntentionsArgs.intentions[0].sources[0].permissions[0].jwt.claims[1].path: ['a', ''] must list at "
            "least one key, none of them empty",
            "MeshIntentionsArgs.intentions[0].sources[0].permissions[0].jwt.claims[2].value: is empty; give the "
            "value the claim must hold",
        ],
    ),
    "a provider whose key set is plain http, without a CA, issuer or audience, not a DNS label": (
        _args(
            jwt_providers=(
                IDP,
                JwtProviderEntry("Corp", "", "http://idp.example.com/keys", "not a certificate", ()),
            )
        ),
        [
            f"MeshIntentionsArgs.jwt_providers[1].name: 'Corp' is not a DNS label; expected {DNS_LABEL_HELP}",
            "MeshIntentionsArgs.jwt_providers[1].jwks_uri: 'http://idp.example.com/keys' is not https: the key set "
            "decides which tokens are trusted",
            "MeshIntentionsArgs.jwt_providers[1].jwks_ca_pem: holds no PEM certificate: proxies verify the key "
            "set's server with it",
            "MeshIntentionsArgs.jwt_providers[1].issuer: is empty; give the iss the tokens carry",
            "MeshIntentionsArgs.jwt_providers[1].audiences: is empty; without an audience a proxy accepts the "
            "issuer's tokens minted for anyone",
        ],
    ),
    "a provider declared twice": (
        _args(jwt_providers=(IDP, IDP)),
        ["MeshIntentionsArgs.jwt_providers: 'idp' is declared more than once; one provider per name"],
    ),
    "JWT through config entries": (
        _args(rendering=IntentionsRendering.CONFIG_ENTRIES),
        [f"MeshIntentionsArgs.intentions[0].sources[0].permissions[{k}].jwt: {JWT_NEEDS_CRDS}" for k in (0, 1)],
    ),
    "providers where the stack does not own the mesh-wide entries": (
        _args(owns_mesh_entries=False),
        [f"MeshIntentionsArgs.jwt_providers: {JWT_PROVIDERS_NEED_OWNER}"],
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_each_broken_rule_is_refused_with_its_exact_lines(case: str) -> None:
    args, lines = REFUSALS[case]
    assert _refusal(args) == lines


def test_config_entries_carry_l7_permissions_without_jwt() -> None:
    # The refusal is about per-permission JWT only: the same permissions without it go through config entries.
    args = _args(intentions=_entries(HttpMatch(path_prefix="/v1/")), rendering=IntentionsRendering.CONFIG_ENTRIES)
    assert delivery_problems(args) == []


# ------------------------------------------------------------------------------------------ VaultJwtIssuer

ISSUER = VaultJwtIssuerArgs(
    provider="vault",
    key_name="lab-jwt-vault",
    audience="lab-jwt-vault",
    rotation_period=60,  # Vault's minimum
    verification_ttl=600,  # exactly ten rotations, Vault's maximum
    token_ttl=600,  # exactly the verification TTL, Vault's maximum
    roles=(JwtRoleArgs(name="lab-jwt-vault-web", app="web"), JwtRoleArgs(name="lab-jwt-vault-api", app="api")),
    auth_mount_accessor="auth_kubernetes_0a1b2c3d",
)


def _issuer_run(args: Any) -> ProgramRun:
    return run_alone(lambda: VaultJwtIssuer("lab", args))


def test_the_template_copies_the_callers_kubernetes_identity_from_its_alias() -> None:
    assert role_template("auth_kubernetes_0a1b2c3d") == (
        '{"k8s_namespace": {{identity.entity.aliases.auth_kubernetes_0a1b2c3d.metadata.service_account_namespace}}, '
        '"k8s_service_account": {{identity.entity.aliases.auth_kubernetes_0a1b2c3d.metadata.service_account_name}}}'
    )


def test_the_issuer_at_vault_s_limits_registers_the_key_and_its_roles_whole() -> None:
    run = _issuer_run(ISSUER)
    custom = {r.name: (r.type, r.inputs) for r in run.resources if r.custom}
    template = role_template("auth_kubernetes_0a1b2c3d")
    assert custom == {
        "lab-key": (
            "vault:identity/oidcKey:OidcKey",
            {
                "name": "lab-jwt-vault",
                "algorithm": "RS256",
                "rotationPeriod": 60,
                "verificationTtl": 600,
                "allowedClientIds": ["lab-jwt-vault"],
            },
        ),
        **{
            f"lab-{app}-role": (
                "vault:identity/oidcRole:OidcRole",
                {"name": f"lab-jwt-vault-{app}", "key": "lab-jwt-vault", "template": template, "ttl": 600,
                 "clientId": "lab-jwt-vault"},
            )
            for app in ("web", "api")
        },
    }
    assert recorded_shape(_issuer_run(to_wire(ISSUER))) == recorded_shape(run)


ISSUER_REFUSALS: dict[str, tuple[dict[str, Any], list[str]]] = {
    "a rotation a second under a minute": (
        {"rotation_period": 59},
        [
            "VaultJwtIssuerArgs.rotation_period: 59 is below Vault's minimum of 60 seconds",
            "VaultJwtIssuerArgs.verification_ttl: 600 is longer than 10x rotation_period (59); Vault refuses it",
        ],
    ),
    "a verification a second over ten rotations": (
        {"verification_ttl": 601, "token_ttl": 601},
        ["VaultJwtIssuerArgs.verification_ttl: 601 is longer than 10x rotation_period (60); Vault refuses it"],
    ),
    "a token a second longer than its key's verification": (
        {"token_ttl": 601},
        [
            "VaultJwtIssuerArgs.token_ttl: 601 is longer than verification_ttl (600); Vault refuses the role (a "
            "token would outlive the key that verifies it)"
        ],
    ),
    "no token lifetime": ({"token_ttl": 0}, ["VaultJwtIssuerArgs.token_ttl: 0 must be positive"]),
    "an algorithm Vault does not sign with": (
        {"algorithm": "HS256"},
        ["VaultJwtIssuerArgs.algorithm: 'HS256' is not one of RS256, RS384, RS512, ES256, ES384, ES512, EdDSA"],
    ),
    "any client id": (
        {"audience": "*"},
        ["VaultJwtIssuerArgs.audience: '*' must name this provider's audience ('*' lets any role sign)"],
    ),
    "no audience": (
        {"audience": ""},
        ["VaultJwtIssuerArgs.audience: '' must name this provider's audience ('*' lets any role sign)"],
    ),
    "a role listed twice": (
        {"roles": (*ISSUER.roles, ISSUER.roles[0])},
        [
            "VaultJwtIssuerArgs.roles[0].name: 'lab-jwt-vault-web' is listed more than once",
            "VaultJwtIssuerArgs.roles[2].name: 'lab-jwt-vault-web' is listed more than once",
        ],
    ),
}


@pytest.mark.parametrize("case", sorted(ISSUER_REFUSALS))
def test_the_issuer_refuses_what_vault_would_before_registering_anything(case: str) -> None:
    change, lines = ISSUER_REFUSALS[case]
    with pytest.raises(VaultJwtIssuerError) as raised:
        VaultJwtIssuer("lab", replace(ISSUER, **change))
    assert str(raised.value).splitlines() == lines


def test_an_issuer_without_callers_yet_holds_the_key_alone() -> None:
    run = _issuer_run(replace(ISSUER, roles=()))
    assert [(r.type, r.name) for r in run.resources if r.custom] == [("vault:identity/oidcKey:OidcKey", "lab-key")]
