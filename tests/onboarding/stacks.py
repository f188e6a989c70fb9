"""The onboarding test stack: the dev stack plus an app with a database whose address comes from Consul's catalog.

``web`` (dev) has the public route and a KV secret; ``api`` (dev) nothing but upstreams; ``orders`` has a
PostgreSQL database resolved from the catalog service ``orders-db`` (see ``tests/mocks/onboarding.py``)
and a KV secret. Root credentials are passed as the secret object, never in the stack config.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from pydantic.alias_generators import to_camel

from secure_mesh.layout import Layout
from secure_mesh.settings import Settings, load_settings, split_stack_config
from secure_mesh.settings.images import CHART_DEFAULTS
from tests.harness import ProgramRun, deep_merge, load_stack_config, run_program
from tests.pki.helpers import self_signed_certificate

PLACEHOLDER_DIGEST = "@sha256:" + "0" * 64
"""The all-zero digest Pulumi.prod.yaml writes for every image (a placeholder no registry serves)."""
ALL_IMAGES_PINNED = {to_camel(image.value): f"{ref}{PLACEHOLDER_DIGEST}" for image, ref in CHART_DEFAULTS.items()}
"""``images`` naming every image the program can deploy by digest: what a production variant (CSI delivery, a
catalog watcher) must add to Pulumi.prod.yaml's own list."""


DATABASE_CA_PEM = self_signed_certificate("orders-db CA")
"""The CA of the orders database's TLS certificate (Vault's ``tls_ca``)."""

ORDERS_APP: dict[str, Any] = {
    "name": "orders",
    "namespace": "orders",
    "serviceAccount": "orders",
    "service": "orders",
    "upstreams": ["payments"],
    "secrets": ["api-key"],
    "database": {
        "databaseName": "orders",
        "address": {"consulService": "orders-db"},
        "credentialTtl": "30m",
        "credentialMaxTtl": "4h",
        "tls": {"caCertPem": DATABASE_CA_PEM},
    },
}
ROOT_CREDENTIALS = {"orders": {"username": "vault-root", "password": "s3cret-root-pw"}}
CONSUL_ADDRESS = "https://consul.dev.example:8501"


def onboarding_config(base_stack: str = "dev", **extra: Any) -> dict[str, Any]:
    """A checked-in stack with the ``orders`` app (and its ``orders`` mesh service) added."""
    base = load_stack_config(base_stack)
    services = [*base["mesh"]["services"], {"name": "orders", "protocol": "http"}]
    if base_stack == "prod":  # prod has no payments service: orders calls checkout there
        services.append({"name": "payments", "protocol": "grpc"})
    override: dict[str, Any] = {
        "apps": [*base["apps"], ORDERS_APP],
        "mesh": {"services": services},
        "consul": {"address": CONSUL_ADDRESS},
    }
    if base_stack == "prod":  # production names every image it deploys by digest: the watcher's, CSI's too
        override["images"] = ALL_IMAGES_PINNED
    return deep_merge(deep_merge(base, override), extra)


def secrets(credentials: dict[str, Any] | None = None) -> dict[str, str]:
    """The secret config of the onboarding stack (the root credentials object as JSON)."""
    return {"databaseRootCredentials": json.dumps(credentials or ROOT_CREDENTIALS)}


@cache
def onboarding_run(base_stack: str = "dev") -> ProgramRun:
    """The mocked run of the onboarding stack, computed once per session (treat it as read-only)."""
    return run_program(onboarding_config(base_stack), secrets=secrets(), stack=base_stack)


def onboarding_settings(base_stack: str = "dev", config: dict[str, Any] | None = None) -> Settings:
    """The onboarding stack's settings, validated exactly as the program does (secret names only)."""
    full = {f"secure-mesh:{k}": v for k, v in (config or onboarding_config(base_stack)).items()}
    full.update({f"secure-mesh:{k}": v for k, v in secrets().items()})
    plain, secret_keys = split_stack_config(full, {f"secure-mesh:{k}" for k in secrets()})
    return load_settings(plain, secret_keys)


def onboarding_layout(base_stack: str = "dev") -> Layout:
    """The layout of the onboarding stack."""
    return Layout(onboarding_settings(base_stack))


@cache
def csi_run(base_stack: str = "dev") -> ProgramRun:
    """The onboarding stack with the gateway certificate through the Vault CSI provider (read-only, cached)."""
    config = onboarding_config(base_stack, consul={"apiGatewayCertificateDelivery": "csi"})
    return run_program(config, secrets=secrets(), stack=base_stack)
