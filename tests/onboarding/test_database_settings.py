"""App database settings: TLS verification outside dev and Vault Enterprise's automated root rotation are refused
before any resource, with errors that name the key path, the bad value and what is allowed."""

from __future__ import annotations

import json
from typing import Any

import pytest

from secure_mesh.settings import SettingsError, load_settings, split_stack_config
from tests.harness import run_program_expecting_failure
from tests.onboarding.stacks import DATABASE_CA_PEM, ROOT_CREDENTIALS, onboarding_config

CREDENTIALS = {"databaseRootCredentials": ROOT_CREDENTIALS}
BASE = "apps[2].database"


def _config(environment: str = "dev", enterprise: bool = False, **database: Any) -> dict[str, Any]:
    """The onboarding stack with the orders database changed (a value of None removes the key)."""
    config = onboarding_config("prod" if environment == "prod" else "dev")
    config["environment"] = environment
    config["vault"] = {**config["vault"], "enterprise": enterprise}
    orders = config["apps"][2]
    changed = {**orders["database"], **database}
    config["apps"][2] = {**orders, "database": {k: v for k, v in changed.items() if v is not None}}
    return config


def _problems(config: dict[str, Any]) -> dict[str, str]:
    """The problems of the orders database's settings by key path (other keys are other rules' business: a
    staging stack built from dev may break rules that are not about databases)."""
    full = {f"secure-mesh:{k}": v for k, v in config.items()}
    full.update({f"secure-mesh:{k}": json.dumps(v) for k, v in CREDENTIALS.items()})
    try:
        load_settings(*split_stack_config(full, {f"secure-mesh:{k}" for k in CREDENTIALS}))
    except SettingsError as error:
        return {p.path: p.message for p in error.problems if p.path.startswith(BASE)}
    return {}


WEAK_MODES = ["disable", "allow", "prefer", "require", "verify-ca"]


@pytest.mark.parametrize("environment", ["staging", "prod"])
@pytest.mark.parametrize("mode", WEAK_MODES)
def test_weak_tls_modes_are_refused_outside_dev(environment: str, mode: str) -> None:
    problems = _problems(_config(environment, tls={"mode": mode, "caCertPem": DATABASE_CA_PEM}))
    assert problems == {
        f"{BASE}.tls.mode": (
            f"'{mode}' is not allowed in {environment}: it does not verify both the database's certificate and its "
            "host name; use 'verify-full' (disable, allow, prefer, require and verify-ca are for dev only)"
        )
    }


@pytest.mark.parametrize("environment", ["staging", "prod"])
def test_the_database_ca_is_required_outside_dev(environment: str) -> None:
    assert _problems(_config(environment, tls={"mode": "verify-full"})) == {
        f"{BASE}.tls.caCertPem": (
            f"is required in {environment}: the PEM of the CA that signed the database's certificate, so Vault "
            "verifies it against exactly that CA"
        )
    }
    assert _problems(_config(environment, tls={"caCertPem": DATABASE_CA_PEM})) == {}, "verify-full is the default"


@pytest.mark.parametrize("mode", [*WEAK_MODES, "verify-full"])
def test_dev_allows_what_a_laptop_database_needs(mode: str) -> None:
    assert _problems(_config("dev", tls={"mode": mode})) == {}


def test_an_unknown_tls_mode_names_the_allowed_ones() -> None:
    problems = _problems(_config("dev", tls={"mode": "verify"}))
    assert list(problems) == [f"{BASE}.tls.mode"]
    for allowed in [*WEAK_MODES, "verify-full"]:
        assert f"'{allowed}'" in problems[f"{BASE}.tls.mode"]


@pytest.mark.parametrize(
    ("pem", "fragment"),
    [
        ("not a certificate", "expected a PEM certificate"),
        ("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----", "does not parse as an X.509 PEM certificate"),
    ],
)
def test_the_database_ca_must_parse_as_x509(pem: str, fragment: str) -> None:
    problems = _problems(_config("prod", tls={"caCertPem": pem}))
    assert list(problems) == [f"{BASE}.tls.caCertPem"]
    assert fragment in problems[f"{BASE}.tls.caCertPem"]


ENTERPRISE_ONLY = (
    "needs Vault Enterprise 1.19+ (set vault.enterprise: true): automated root rotation is an Enterprise feature, "
    "and the Vault provider silently drops rotation_period/rotation_schedule for any other server, so the stack "
    "would claim a rotation that never happens; remove it on Vault Community (raise rootPasswordVersion to rotate "
    "instead)"
)


def test_automated_rotation_is_refused_unless_the_stack_says_vault_enterprise() -> None:
    rotation = {"period": "720h"}
    assert _problems(_config(automatedRootRotation=rotation)) == {f"{BASE}.automatedRootRotation": ENTERPRISE_ONLY}
    assert _problems(_config(enterprise=True, automatedRootRotation=rotation)) == {}


@pytest.mark.parametrize(
    ("rotation", "path", "message"),
    [
        ({}, "", "give exactly one of 'period' or 'schedule' (Vault refuses both, and needs one)"),
        (
            {"period": "24h", "schedule": "0 3 * * SAT"},
            "",
            "give exactly one of 'period' or 'schedule' (Vault refuses both, and needs one)",
        ),
        ({"period": "9s"}, ".period", "'9s' is shorter than Vault's minimum of 10s"),
        (
            {"period": "24h", "window": "2h"},
            ".window",
            "applies only with 'schedule' (Vault: cannot use rotation_window without rotation_schedule)",
        ),
        ({"schedule": "0 3 * * SAT", "window": "59m"}, ".window", "'59m' is shorter than Vault's minimum of 1h"),
    ],
)
def test_automated_rotation_fields_follow_vaults_rules(rotation: dict[str, str], path: str, message: str) -> None:
    problems = _problems(_config(enterprise=True, automatedRootRotation=rotation))
    assert problems == {f"{BASE}.automatedRootRotation{path}": message}


@pytest.mark.parametrize("rotation", [{"period": "10s"}, {"schedule": "0 3 * * SAT", "window": "1h"}])
def test_automated_rotation_boundaries_are_accepted(rotation: dict[str, str]) -> None:
    assert _problems(_config(enterprise=True, automatedRootRotation=rotation)) == {}


def test_a_schedule_must_have_five_cron_fields() -> None:
    problems = _problems(_config(enterprise=True, automatedRootRotation={"schedule": "0 3 * *"}))
    assert list(problems) == [f"{BASE}.automatedRootRotation.schedule"]


def test_the_program_stops_before_any_resource_on_unverified_tls_in_prod() -> None:
    config = _config("prod", tls={"mode": "require", "caCertPem": DATABASE_CA_PEM})
    error, registered = run_program_expecting_failure(config, {k: json.dumps(v) for k, v in CREDENTIALS.items()})
    assert f"secure-mesh:{BASE}.tls.mode: 'require' is not allowed in prod" in str(error)
    assert [r for r in registered if r.custom] == []
