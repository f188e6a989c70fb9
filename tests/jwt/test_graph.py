"""JWT-authorized permissions from settings to the documents Consul receives, compared whole.

Upstream behaviour relied on (read, not recalled):
* consul-k8s v2.0.3 ``control-plane/api/v1alpha1/serviceintentions_types.go``: a permission's ``jwt`` is
  ``providers[].name`` with ``verifyClaims[].path`` (a list of keys) and ``value``;
* ``jwtprovider_types.go``: ``spec.issuer``, ``audiences``, ``jsonWebKeySet.remote.{uri, cacheDuration,
  fetchAsynchronously, jwksCluster.{discoveryType, tlsCertificates.trustedCA.inlineString}}``; the webhook refuses a
  ``jwksCluster`` with an empty ``discoveryType``;
* vault ``identity_store_oidc.go``: the issuer is ``<base>/v1/<namespace/>identity/oidc``, the key set
  ``<issuer>/.well-known/keys``; the token's ``aud`` is the role's ``client_id``.
"""

from __future__ import annotations

from typing import Any

import pytest

from secure_mesh.layout import Layout
from secure_mesh.mesh.graph import build_graph
from secure_mesh.mesh.model import HttpMatch, JwtClaim, JwtRequirement
from secure_mesh.mesh.render import crd_jwt_provider, crd_service_intentions
from secure_mesh.settings import load_settings
from secure_mesh.settings.vault_ca_file import OFFLINE_PLACEHOLDER_PEM
from tests.harness import deep_merge
from tests.jwt.variants import JWT_MESH, REMOTE_CA_PEM, jwt_config

VAULT = "https://vault.vault.svc.cluster.local:8200/v1"
ISSUER = "https://v.example.com/v1/admin/team-a/identity/oidc"
"""An issuer set explicitly (Vault's api_addr differs from vault.address)."""
CORP = JWT_MESH["mesh"]["jwtProviders"][1]


def _graph(override: dict[str, Any] | None = None) -> Any:
    return build_graph(load_settings(deep_merge(jwt_config(), override or {})))


def test_each_permission_requires_its_provider_and_claims_the_vault_ones_bound_to_the_calling_app() -> None:
    graph = _graph()
    payments = graph.entry("payments")
    assert payments is not None
    (api,) = payments.sources
    assert api.permissions == (
        HttpMatch(
            path_prefix="/payments.v1.Payments/",
            methods=("POST",),
            jwt=JwtRequirement(
                "vault",
                (
                    JwtClaim(("k8s_service_account",), "api"),
                    JwtClaim(("k8s_namespace",), "api"),
                    JwtClaim(("team",), "checkout"),
                ),
            ),
        ),
        HttpMatch(
            path_exact="/payments.v1.Payments/Refund",
            jwt=JwtRequirement("corp", (JwtClaim(("realm", "roles"), "refunds"),)),
        ),
    )
    api_entry = graph.entry("api")
    assert api_entry is not None
    assert [(rule.source, rule.permissions) for rule in api_entry.sources] == [
        (
            "web",
            (
                HttpMatch(
                    path_prefix="/v1/",
                    jwt=JwtRequirement(
                        "vault", (JwtClaim(("k8s_service_account",), "web"), JwtClaim(("k8s_namespace",), "web"))
                    ),
                ),
            ),
        )
    ]
    # The readable form the offline render prints says who must present which token.
    assert graph.access("web", "api").describe() == (
        "l7[ANY prefix /v1/ jwt vault[k8s_service_account=web,k8s_namespace=web]]"
    )


def test_an_app_in_its_own_namespace_and_account_is_bound_by_both() -> None:
    apps = jwt_config()["apps"]
    apps[1] = {**apps[1], "namespace": "payments-callers", "serviceAccount": "api-sa"}
    graph = _graph({"apps": apps})
    payments = graph.entry("payments")
    assert payments is not None
    jwt = payments.sources[0].permissions[0].jwt  # type: ignore[index]
    assert jwt.claims[:2] == (
        JwtClaim(("k8s_service_account",), "api-sa"),
        JwtClaim(("k8s_namespace",), "payments-callers"),
    )


def test_the_intentions_resource_carries_each_requirement_whole() -> None:
    graph = _graph()
    payments = graph.entry("payments")
    assert payments is not None
    assert crd_service_intentions(payments, "consul") == {
        "apiVersion": "consul.hashicorp.com/v1alpha1",
        "kind": "ServiceIntentions",
        "metadata": {"name": "payments-intentions", "namespace": "consul"},
        "spec": {
            "destination": {"name": "payments"},
            "sources": [
                {
                    "name": "api",
                    "permissions": [
                        {
                            "action": "allow",
                            "http": {"pathPrefix": "/payments.v1.Payments/", "methods": ["POST"]},
                            "jwt": {
                                "providers": [
                                    {
                                        "name": "vault",
                                        "verifyClaims": [
                                            {"path": ["k8s_service_account"], "value": "api"},
                                            {"path": ["k8s_namespace"], "value": "api"},
                                            {"path": ["team"], "value": "checkout"},
                                        ],
                                    }
                                ]
                            },
                        },
                        {
                            "action": "allow",
                            "http": {"pathExact": "/payments.v1.Payments/Refund"},
                            "jwt": {
                                "providers": [
                                    {"name": "corp", "verifyClaims": [{"path": ["realm", "roles"], "value": "refunds"}]}
                                ]
                            },
                        },
                    ],
                }
            ],
        },
    }


def _provider(name: str, issuer: str, uri: str, ca: str, audience: str, cache: str) -> dict[str, Any]:
    return {
        "apiVersion": "consul.hashicorp.com/v1alpha1",
        "kind": "JWTProvider",
        "metadata": {"name": name, "namespace": "consul"},
        "spec": {
            "issuer": issuer,
            "audiences": [audience],
            "jsonWebKeySet": {
                "remote": {
                    "uri": uri,
                    "cacheDuration": cache,
                    "fetchAsynchronously": False,
                    "jwksCluster": {
                        "discoveryType": "STRICT_DNS",
                        "tlsCertificates": {"trustedCA": {"inlineString": ca}},
                    },
                }
            },
        },
    }


def test_each_provider_document_whole_vault_s_from_the_layout_and_its_ca() -> None:
    graph = _graph()
    assert [crd_jwt_provider(provider, "consul") for provider in graph.jwt_providers] == [
        _provider(
            "vault",
            f"{VAULT}/identity/oidc",
            f"{VAULT}/identity/oidc/.well-known/keys",
            OFFLINE_PLACEHOLDER_PEM,  # the dev stack's Vault CA (caCertFile; its placeholder where nothing deploys)
            "consul-dc1-jwt-vault",
            "5m",
        ),
        _provider(
            "corp",
            "https://login.example.com/",
            "https://login.example.com/.well-known/jwks.json",
            REMOTE_CA_PEM,
            "mesh-dc1",
            "10m",
        ),
    ]


@pytest.mark.parametrize(
    ("override", "issuer", "keys"),
    [
        (
            {"vault": {"namespace": "admin/team-a"}},
            f"{VAULT}/admin/team-a/identity/oidc",
            f"{VAULT}/admin/team-a/identity/oidc/.well-known/keys",
        ),
        (
            {
                "vault": {"namespace": "admin/team-a"},
                "mesh": {"jwtProviders": [{"name": "vault", "issuer": ISSUER}, CORP]},
            },
            ISSUER,
            f"{VAULT}/admin/team-a/identity/oidc/.well-known/keys",
        ),
    ],
    ids=["vault-namespace", "issuer-set"],
)
def test_vault_s_issuer_and_key_set_follow_its_namespace_an_issuer_set_changes_only_the_iss(
    override: dict[str, Any], issuer: str, keys: str
) -> None:
    settings = load_settings(deep_merge(jwt_config(), override))
    (names, *_) = [Layout(settings).jwt_provider(p) for p in settings.mesh.jwt_providers]
    assert (names.issuer, names.jwks_uri, names.audiences, names.oidc_key) == (
        issuer,
        keys,
        ("consul-dc1-jwt-vault",),
        "consul-dc1-jwt-vault",
    )
