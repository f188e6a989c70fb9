"""The JWT variant of the dev stack shared by the JWT tests (pure settings; program runs cached once)."""

from __future__ import annotations

from functools import cache
from typing import Any

from tests.harness import ProgramRun, deep_merge, load_stack_config, run_program
from tests.pki.helpers import self_signed_certificate

REMOTE_CA_PEM = self_signed_certificate("corp JWKS CA")
"""The remote issuer's JWKS CA (not Vault's: the tests tell which CA reached which provider)."""

JWT_MESH: dict[str, Any] = {
    "mesh": {
        "services": [
            {"name": "web", "protocol": "http"},
            {"name": "api", "protocol": "http"},
            {"name": "payments", "protocol": "grpc"},
            {"name": "ledger", "protocol": "tcp"},
        ],
        "jwtProviders": [
            {"name": "vault", "tokenTtl": "20m"},
            {
                "name": "corp",
                "kind": "remote",
                "issuer": "https://login.example.com/",
                "jwksUri": "https://login.example.com/.well-known/jwks.json",
                "jwksCaCertPem": REMOTE_CA_PEM,
                "audiences": ["mesh-dc1"],
                "jwksCacheDuration": "10m",
            },
        ],
        "intentions": [
            {
                "source": "api",
                "destination": "payments",
                "permissions": [
                    {
                        "pathPrefix": "/payments.v1.Payments/",
                        "methods": ["POST"],
                        "jwt": {"provider": "vault", "claims": [{"path": ["team"], "value": "checkout"}]},
                    },
                    {
                        "pathExact": "/payments.v1.Payments/Refund",
                        "jwt": {"provider": "corp", "claims": [{"path": ["realm", "roles"], "value": "refunds"}]},
                    },
                ],
            },
            {"source": "web", "destination": "ledger", "action": "deny"},
            {
                "source": "web",
                "destination": "api",
                "permissions": [{"pathPrefix": "/v1/", "jwt": {"provider": "vault"}}],
            },
        ],
    }
}
"""The dev stack's services with both kinds of provider: api → payments requires a Vault token of the app ``api``
(with a team claim) on one path and a corporate token with a role on another; web → api requires a Vault token
of the app ``web`` (the dev stack's ``web`` upstream allow is replaced by this L7 rule)."""


def jwt_config() -> dict[str, Any]:
    """The dev stack's config with :data:`JWT_MESH`."""
    return deep_merge(load_stack_config("dev"), JWT_MESH)


@cache
def jwt_run() -> ProgramRun:
    """The JWT variant of the dev stack, run once under mocks and shared (read-only)."""
    return run_program(jwt_config())
