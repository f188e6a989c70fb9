"""Root credential rotation: Vault's ``rotate-root`` runs for every connection right after it is written and again on
every new ``rootPasswordVersion``; a lower version is refused; Vault Enterprise's automated rotation reaches the
connection when configured."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import pytest

from secure_mesh.onboarding.database import rotate_root_data
from secure_mesh.onboarding.plan import database_plan
from secure_mesh.onboarding.root_version import RootPasswordVersionProvider
from tests.harness import ProgramRun, RegisteredResource, run_program
from tests.onboarding.stacks import ROOT_CREDENTIALS, onboarding_config, onboarding_layout, onboarding_run, secrets

CONNECTION = "vault:database/secretBackendConnection:SecretBackendConnection"
MOUNT = "vault:index/mount:Mount"
ENDPOINT = "vault:generic/endpoint:Endpoint"
VERSION = "pulumi-python:dynamic/onboarding:RootPasswordVersion"
ORDERS_VERSION_KEY = "apps[2].database.rootPasswordVersion"


def _with_database(config: dict[str, Any], index: int, **changes: Any) -> dict[str, Any]:
    app = config["apps"][index]
    config["apps"][index] = {**app, "database": {**app["database"], **changes}}
    return config


@cache
def two_database_run(orders_version: int) -> ProgramRun:
    """The onboarding stack plus a ``billing`` app with a static database; orders at ``rootPasswordVersion``."""
    config = onboarding_config()
    orders = config["apps"][2]
    billing = {
        **orders,
        "name": "billing",
        "namespace": "billing",
        "serviceAccount": "billing",
        "secrets": [],
        "database": {**orders["database"], "databaseName": "billing", "address": {"host": "billing-db.internal"}},
    }
    config["apps"].append(billing)
    _with_database(config, 2, rootPasswordVersion=orders_version)
    credentials = {**ROOT_CREDENTIALS, "billing": {"username": "vault-billing", "password": "billing-root-pw"}}
    return run_program(config, secrets=secrets(credentials), stack="dev")


def _inputs(resource: RegisteredResource) -> dict[str, Any]:
    """A resource's inputs without a dynamic resource's pickled provider."""
    return {k: v for k, v in resource.inputs.items() if k != "__provider"}


def test_every_connection_gets_a_rotate_root_endpoint_that_runs_after_it() -> None:
    run = two_database_run(1)
    connections = {r.inputs["name"]: r for r in run.of_type(CONNECTION)}
    rotations = {r.inputs["path"]: r for r in run.of_type(ENDPOINT)}
    assert sorted(connections) == ["billing-billing", "orders-orders"]
    assert sorted(rotations) == [
        "consul/database/rotate-root/billing-billing",
        "consul/database/rotate-root/orders-orders",
    ]
    for name, connection in connections.items():
        rotation = rotations[f"consul/database/rotate-root/{name}"]
        assert rotation.inputs == {
            "path": f"consul/database/rotate-root/{name}",
            "dataJson": '{"root_password_version": 1}',
            "disableRead": True,
            "disableDelete": True,
        }, "rotate-root has no GET or DELETE in Vault's API, and no response field is kept in state"
        assert rotation.dependencies == (connection.urn,), "rotation runs only once the connection is written"
        assert rotation.order > connection.order


def test_the_connection_waits_for_the_mount_and_the_version_record() -> None:
    run = onboarding_run()
    connection = run.one(CONNECTION, "secure-mesh-onboarding-orders-db-connection")
    mount = run.one(MOUNT, "secure-mesh-onboarding-database")
    version = run.one(VERSION, "secure-mesh-onboarding-orders-db-root-version")
    assert mount.urn in connection.dependencies
    assert version.urn in connection.dependencies, "a refused (lowered) version must stop before Vault is written"
    assert _inputs(version) == {
        "version": 1,
        "connection": "consul/database/config/orders-orders",
        "setting": ORDERS_VERSION_KEY,
    }


def test_a_new_version_changes_exactly_the_inputs_that_resend_the_password_and_rotate_again() -> None:
    before, after = two_database_run(1), two_database_run(2)
    assert sorted((r.type, r.name) for r in before.resources) == sorted((r.type, r.name) for r in after.resources)
    changed: dict[str, dict[str, tuple[Any, Any]]] = {}
    for old in before.resources:
        new = after.one(old.type, old.name)
        old_inputs, new_inputs = _inputs(old), _inputs(new)
        if old_inputs != new_inputs:
            keys = sorted(set(old_inputs) | set(new_inputs))
            changed[old.name] = {
                k: (old_inputs.get(k), new_inputs.get(k)) for k in keys if old_inputs.get(k) != new_inputs.get(k)
            }
    connection = "secure-mesh-onboarding-orders-db-connection"
    # The catalog watcher restarts (its revision digest changes) to re-apply the address after the update.
    old_spec, new_spec = changed.pop("secure-mesh-onboarding-orders-db-address-watcher")["spec"]
    revision = "secure-mesh.io/connection-revision"
    old_annotations = dict(old_spec["template"]["metadata"]["annotations"])
    new_annotations = dict(new_spec["template"]["metadata"]["annotations"])
    assert old_annotations.pop(revision) != new_annotations.pop(revision)
    assert old_annotations == new_annotations
    assert {**old_spec, "template": {}} == {**new_spec, "template": {}}
    assert old_spec["template"]["spec"] == new_spec["template"]["spec"]
    old_pg, new_pg = changed[connection]["postgresql"]
    assert {**old_pg, "passwordWoVersion": 2} == new_pg, "only the write-only version changes in the connection"
    assert old_pg["passwordWoVersion"] == 1
    assert changed == {
        "secure-mesh-onboarding-orders-db-root-version": {"version": (1, 2)},
        connection: {"postgresql": (old_pg, new_pg)},
        "secure-mesh-onboarding-orders-db-rotate-root": {
            "dataJson": ('{"root_password_version": 1}', '{"root_password_version": 2}')
        },
    }, "only orders' record, password version and rotation data change; billing and everything else stay put"


def test_the_rotation_data_is_only_the_version() -> None:
    layout = onboarding_layout()
    plan = database_plan(layout, next(a for a in layout.settings.apps if a.name == "orders"))
    assert json.loads(rotate_root_data(plan.root_password_version)) == {"root_password_version": 1}
    assert plan.rotate_root_path == "consul/database/rotate-root/orders-orders"


def _refusal(deployed: int, requested: int) -> str:
    return (
        f"secure-mesh:{ORDERS_VERSION_KEY}: {requested} is lower than the deployed version {deployed}; versions only "
        f"go up. Set it to {deployed} to keep the current root password, or to {deployed + 1} or higher to hand "
        "Vault the password now in databaseRootCredentials and rotate it again"
    )


@pytest.mark.parametrize(
    ("deployed", "requested", "refused"),
    [(None, 1, False), (1, 1, False), (1, 2, False), (3, 7, False), (2, 1, True), (7, 6, True)],
)
def test_the_version_record_refuses_only_a_lower_version(deployed: int | None, requested: int, refused: bool) -> None:
    # Pulumi calls a dynamic provider's check with the deployed inputs (olds; empty at creation) and the new ones,
    # numbers as floats (pulumi/dynamic/__main__.py, Check).
    olds = {} if deployed is None else {"version": float(deployed), "setting": ORDERS_VERSION_KEY}
    news = {"version": float(requested), "setting": ORDERS_VERSION_KEY, "connection": "consul/database/config/x"}
    result = RootPasswordVersionProvider().check(olds, news)
    assert result.inputs == news
    expected = [("version", _refusal(deployed, requested))] if refused and deployed is not None else []
    assert [(f.property, f.reason) for f in result.failures] == expected


def test_the_version_record_lets_an_unknown_version_through_during_preview() -> None:
    result = RootPasswordVersionProvider().check({"version": 2.0}, {"version": "04da6b54-80e4-46f7-96ec-b56ff0331ba9"})
    assert result.failures == []


def test_the_version_record_updates_on_a_new_version_and_replaces_only_for_another_connection() -> None:
    provider = RootPasswordVersionProvider()
    base = {"version": 1.0, "connection": "consul/database/config/a", "setting": ORDERS_VERSION_KEY}
    same = provider.diff("id", base, dict(base))
    assert (same.changes, same.replaces) == (False, [])
    bumped = provider.diff("id", base, {**base, "version": 2.0})
    assert (bumped.changes, bumped.replaces) == (True, [])
    moved = provider.diff("id", base, {**base, "connection": "consul/database/config/b"})
    assert (moved.changes, moved.replaces) == (True, ["connection"])
    assert provider.create(base).id == "consul/database/config/a"
    assert provider.update("id", base, {**base, "version": 2.0}).outs == {**base, "version": 2.0}


def _enterprise(config: dict[str, Any]) -> dict[str, Any]:
    config["vault"] = {**config["vault"], "enterprise": True}
    return config


@pytest.mark.parametrize(
    ("rotation", "expected"),
    [
        ({"schedule": "0 3 * * SAT", "window": "2h"}, {"rotationSchedule": "0 3 * * SAT", "rotationWindow": 7200}),
        ({"period": "720h"}, {"rotationPeriod": 720 * 3600}),
    ],
)
def test_automated_root_rotation_reaches_the_connection_on_vault_enterprise(
    rotation: dict[str, str], expected: dict[str, Any]
) -> None:
    config = _enterprise(_with_database(onboarding_config(), 2, automatedRootRotation=rotation))
    run = run_program(config, secrets=secrets(), stack="dev")
    connection = run.one(CONNECTION, "secure-mesh-onboarding-orders-db-connection")
    base = onboarding_run().one(CONNECTION, "secure-mesh-onboarding-orders-db-connection")
    assert connection.inputs == {**base.inputs, **expected}, "the rotation fields are the only difference"
    assert run.one(ENDPOINT, "secure-mesh-onboarding-orders-db-rotate-root").inputs["path"] == (
        "consul/database/rotate-root/orders-orders"
    ), "the rotation at creation and on a new version stays"


def test_a_moved_database_rewrites_only_its_url_and_neither_resends_the_password_nor_rotates() -> None:
    def run_at(host: str) -> ProgramRun:
        config = _with_database(onboarding_config(), 2, address={"host": host})
        return run_program(config, secrets=secrets(), stack="dev")

    before, after = run_at("orders-db-a.internal"), run_at("orders-db-b.internal")
    changed = {r.name for r in before.resources if _inputs(r) != _inputs(after.one(r.type, r.name))}
    assert changed == {"secure-mesh-onboarding-orders-db-connection"}
    old = before.one(CONNECTION, "secure-mesh-onboarding-orders-db-connection").inputs["postgresql"]
    new = after.one(CONNECTION, "secure-mesh-onboarding-orders-db-connection").inputs["postgresql"]
    assert {**old, "connectionUrl": new["connectionUrl"]} == new, "same write-only version: no password is sent"
    assert new["connectionUrl"].endswith("@orders-db-b.internal:5432/orders?sslmode=verify-full")
