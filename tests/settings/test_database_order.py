"""The database checks look at every app, also after apps without a database (issue 19: a check that stopped at
the first app it skips would pass a bad database listed later)."""

from __future__ import annotations

import pytest

from secure_mesh.settings import SettingsError
from tests.onboarding.stacks import onboarding_config, onboarding_settings


def test_a_bad_database_after_apps_without_one_is_found() -> None:
    config = onboarding_config("dev")
    names = [app["name"] for app in config["apps"]]
    assert names[-1] == "orders" and all("database" not in app for app in config["apps"][:-1])
    config["apps"] = [
        {**app, "database": {**app["database"], "automatedRootRotation": {"period": "24h"}}}
        if app["name"] == "orders"
        else app
        for app in config["apps"]
    ]
    with pytest.raises(SettingsError) as caught:
        onboarding_settings("dev", config)
    problems = {p.path: p.message for p in caught.value.problems}
    path = f"apps[{len(names) - 1}].database.automatedRootRotation"
    assert list(problems) == [path]
    assert problems[path].startswith("needs Vault Enterprise 1.19+ (set vault.enterprise: true)")


def test_a_bad_rotation_after_a_database_without_rotation_is_found() -> None:
    config = onboarding_config("dev")
    orders = next(app for app in config["apps"] if app["name"] == "orders")
    billing = {
        **orders,
        "name": "billing",
        "namespace": "billing",
        "serviceAccount": "billing",
        "service": "billing",
        "secrets": [],
        "database": {**orders["database"], "databaseName": "billing", "automatedRootRotation": {"period": "24h"}},
    }
    config["apps"] = [*config["apps"], billing]
    config["mesh"] = {
        **config["mesh"],
        "services": [*config["mesh"]["services"], {"name": "billing", "protocol": "http"}],
    }
    with pytest.raises(SettingsError) as caught:
        onboarding_settings("dev", config)
    path = f"apps[{len(config['apps']) - 1}].database.automatedRootRotation"
    rotation = [p.message for p in caught.value.problems if p.path == path]
    assert len(rotation) == 1 and rotation[0].startswith("needs Vault Enterprise 1.19+")
