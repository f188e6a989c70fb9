"""Bad app settings fail in settings, before any resource, with errors naming the key path."""

from __future__ import annotations

import json
from typing import Any

import pytest

from secure_mesh.settings import SettingsError, load_settings, split_stack_config
from tests.harness import run_program_expecting_failure
from tests.onboarding.stacks import ROOT_CREDENTIALS, onboarding_config


def _load(config: dict[str, Any], secrets: dict[str, Any] | None = None, plain: dict[str, Any] | None = None) -> None:
    full = {f"secure-mesh:{k}": v for k, v in {**config, **(plain or {})}.items()}
    secret_values = {f"secure-mesh:{k}": json.dumps(v) for k, v in (secrets or {}).items()}
    split = split_stack_config({**full, **secret_values}, set(secret_values))
    load_settings(*split)


def _expect(config: dict[str, Any], path: str, message: str, **kwargs: Any) -> None:
    with pytest.raises(SettingsError) as error:
        _load(config, **kwargs)
    assert path in error.value.paths, f"expected a problem at {path}; got {error.value}"
    assert message in str(error.value)


def _with_app(index: int, **changes: Any) -> dict[str, Any]:
    config = onboarding_config()
    config["apps"][index] = {**config["apps"][index], **changes}
    return config


CREDENTIALS = {"databaseRootCredentials": ROOT_CREDENTIALS}


def test_the_onboarding_stack_itself_is_valid() -> None:
    _load(onboarding_config(), secrets=CREDENTIALS)


def test_unknown_upstream() -> None:
    _expect(
        _with_app(0, upstreams=["inventory"]),
        "apps[0].upstreams[0]",
        "'inventory' is not a service in mesh.services",
        secrets=CREDENTIALS,
    )


def test_duplicate_service_account() -> None:
    _expect(
        _with_app(1, namespace="web", serviceAccount="web"),
        "apps[1].serviceAccount",
        "'web/web' is already another app's identity",
        secrets=CREDENTIALS,
    )


def test_database_without_credentials() -> None:
    _expect(onboarding_config(), "apps[2].database", "has no root credentials", secrets={})
    _expect(
        onboarding_config(),
        "apps[2].database",
        "has no root credentials",
        secrets={"databaseRootCredentials": {"web": {"username": "u", "password": "p"}}},
    )


def test_credentials_for_an_app_without_a_database() -> None:
    extra = {**ROOT_CREDENTIALS, "web": {"username": "u", "password": "p"}}
    _expect(
        onboarding_config(),
        "databaseRootCredentials.web",
        "names no app with a database",
        secrets={"databaseRootCredentials": extra},
    )


def test_credentials_in_plain_text_are_refused() -> None:
    _expect(
        onboarding_config(),
        "databaseRootCredentials",
        "it is a secret: set it with --secret",
        plain={"databaseRootCredentials": ROOT_CREDENTIALS},
    )


def test_route_hostname_outside_the_gateway_domains() -> None:
    route = {"hostname": "web.example.org", "pathPrefix": "/"}
    _expect(
        _with_app(0, route=route),
        "apps[0].route.hostname",
        "'web.example.org' is not within the gateway's domains (pki.chains.gateway.domains: apps.secure-mesh.test)",
        secrets=CREDENTIALS,
    )


def test_database_address_needs_exactly_one_of_host_and_consul_service() -> None:
    database = {**onboarding_config()["apps"][2]["database"], "address": {"host": "db", "consulService": "orders-db"}}
    _expect(_with_app(2, database=database), "apps[2].database.address", "exactly one of", secrets=CREDENTIALS)


def test_encrypted_stack_file_value_defers_the_names_check() -> None:
    full = {f"secure-mesh:{k}": v for k, v in onboarding_config().items()}
    full["secure-mesh:databaseRootCredentials"] = {"secure": "v1:abc"}
    plain, secret_keys = split_stack_config(full)
    assert "databaseRootCredentials" not in plain
    load_settings(plain, secret_keys)


def test_split_keeps_only_the_names_of_the_secret_object() -> None:
    full = {"secure-mesh:databaseRootCredentials": json.dumps(ROOT_CREDENTIALS)}
    plain, secret_keys = split_stack_config(full, set(full))
    assert plain == {}
    assert secret_keys == frozenset({"databaseRootCredentials", "databaseRootCredentials.orders"})
    assert "s3cret" not in repr(secret_keys)


def test_the_program_stops_before_any_resource_without_credentials() -> None:
    error, registered = run_program_expecting_failure(onboarding_config())
    assert "apps[2].database" in str(error) and "has no root credentials" in str(error)
    assert [r for r in registered if r.custom] == []


def test_follow_catalog_needs_a_consul_service() -> None:
    database = {**onboarding_config()["apps"][2]["database"], "address": {"host": "db", "followCatalog": True}}
    _expect(
        _with_app(2, database=database),
        "apps[2].database.address.followCatalog",
        "true needs consulService: only a Consul catalog service can be followed; allowed with a static host: false "
        "or unset",
        secrets=CREDENTIALS,
    )
    for follow in (False, None):
        address = {"host": "db"} if follow is None else {"host": "db", "followCatalog": follow}
        database = {**onboarding_config()["apps"][2]["database"], "address": address}
        _load(_with_app(2, database=database), secrets=CREDENTIALS)


def test_gateway_certificate_delivery_names_the_allowed_values() -> None:
    config = onboarding_config(consul={"apiGatewayCertificateDelivery": "vault-csi"})
    with pytest.raises(SettingsError) as error:
        _load(config, secrets=CREDENTIALS)
    assert "consul.apiGatewayCertificateDelivery" in error.value.paths
    assert "'vault-csi'" in str(error.value) and "vso" in str(error.value) and "csi" in str(error.value)
