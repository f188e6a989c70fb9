"""ConsulCluster alone: built from hand-written Args (no settings, no layout, no stack file) under mocks.

Whole inputs of every resource it registers, the Vault-computed values riding in the release's values (so the
release waits for the resources behind them), the explicit ``depends_on`` reaching the children, and the wire
(dict) form the component provider host passes building exactly the same resources.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_vault as vault
import pytest

from secure_mesh.consul.component import (
    ConsulCluster,
    ConsulClusterArgs,
    VaultCaArgs,
    VaultInjectorArgs,
    with_values_at,
)
from tests.consul.helpers import recorded_shape, run_alone, to_wire
from tests.harness import ProgramRun

CA_PEM = "-----BEGIN CERTIFICATE-----\nMIIBstand-in\n-----END CERTIFICATE-----\n"
VALUES: dict[str, Any] = {
    "global": {
        "name": "edge-consul",
        "datacenter": "lab",
        "domain": "mesh",
        "secretsBackend": {"vault": {"enabled": True, "consulServerRole": "edge-server", "ca": {"secretName": "vca"}}},
    },
    "server": {"replicas": 1},
}
INJECTOR_VALUES: dict[str, Any] = {"server": {"enabled": False}, "injector": {"enabled": True}}


def _args(role_name: pulumi.Input[str] | None = None, **overrides: Any) -> ConsulClusterArgs:
    fields: dict[str, Any] = {
        "namespace": "edge",
        "release_name": "edge",
        "chart": "consul",
        "chart_version": "2.0.3",
        "chart_repository": "https://helm.releases.hashicorp.com",
        "values": VALUES,
        "ui_service": "edge-consul-ui",
        "api_service": "edge-consul-server",
        "server_ca_path": "pki/cert/ca",
        "protect": True,
        "vault_values": {"global.secretsBackend.vault.consulServerRole": role_name} if role_name is not None else {},
        "server_ca_pem": CA_PEM,
        "vault_ca": VaultCaArgs(pem=CA_PEM, secret_name="vca", secret_key="tls.crt"),
        "vault_injector": VaultInjectorArgs(
            namespace="vault-agents",
            release_name="vault",
            chart="vault",
            chart_version="0.30.1",
            chart_repository="https://helm.releases.hashicorp.com",
            values=INJECTOR_VALUES,
        ),
    }
    fields.update(overrides)
    return ConsulClusterArgs(**fields)


def _build(wire: bool, **overrides: Any) -> tuple[ProgramRun, list[ConsulCluster]]:
    built: list[ConsulCluster] = []

    def program() -> None:
        role = vault.kubernetes.AuthBackendRole(
            "stand-in-role",
            backend="kubernetes",
            role_name="edge-server",
            bound_service_account_names=["edge-server"],
            bound_service_account_namespaces=["edge"],
        )
        policy = vault.Policy("stand-in-policy", name="edge-server", policy='path "x" { capabilities = ["read"] }')
        args = _args(role.role_name, **overrides)
        built.append(
            ConsulCluster(
                "edge-consul", to_wire(args) if wire else args, pulumi.ResourceOptions(depends_on=[policy])
            )
        )

    return run_alone(program), built


@pytest.fixture(scope="module")
def alone() -> tuple[ProgramRun, ConsulCluster]:
    run, built = _build(wire=False)
    return run, built[0]


def test_every_resource_with_its_whole_inputs(alone: tuple[ProgramRun, ConsulCluster]) -> None:
    run, _ = alone
    mine = {r.name: r for r in run.resources if r.name.startswith("edge-consul-")}
    assert {name: r.inputs for name, r in mine.items()} == {
        "edge-consul-namespace": {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "edge"}},
        "edge-consul-vault-ca": {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "vca", "namespace": "edge"},
            "type": "Opaque",
            "stringData": {"tls.crt": CA_PEM},
        },
        "edge-consul-vault-namespace": {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "vault-agents"}},
        "edge-consul-vault-ca-for-csi": {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "vca", "namespace": "vault-agents"},
            "type": "Opaque",
            "stringData": {"tls.crt": CA_PEM},
        },
        "edge-consul-vault-injector": {
            "name": "vault",
            "chart": "vault",
            "version": "0.30.1",
            "repositoryOpts": {"repo": "https://helm.releases.hashicorp.com"},
            "namespace": "vault-agents",
            "values": INJECTOR_VALUES,
            "atomic": True,
            "cleanupOnFail": True,
            "compat": "true",  # added by the kubernetes SDK to every Release
            "timeout": 300,
        },
        "edge-consul-release": {
            "name": "edge",
            "chart": "consul",
            "version": "2.0.3",
            "repositoryOpts": {"repo": "https://helm.releases.hashicorp.com"},
            "namespace": "edge",
            "values": VALUES,  # the role name the stand-in role computed is the one the plain values held
            "atomic": True,
            "cleanupOnFail": True,
            "compat": "true",  # added by the kubernetes SDK to every Release
            "timeout": 900,
            "maxHistory": 10,
        },
    }
    component = run.one("secure-mesh:index:ConsulCluster")
    assert all(r.parent == component.urn for r in mine.values())
    assert {name for name, r in mine.items() if r.protect} == {
        "edge-consul-namespace",
        "edge-consul-vault-namespace",
        "edge-consul-release",
    }


def test_the_release_waits_for_computed_values_and_for_what_the_caller_passed(
    alone: tuple[ProgramRun, ConsulCluster],
) -> None:
    run, _ = alone
    release = run.one("kubernetes:helm.sh/v3:Release", "edge-consul-release")
    role, policy = run.one("vault:kubernetes/authBackendRole:AuthBackendRole"), run.one("vault:index/policy:Policy")
    names = {run.by_urn(urn).name for urn in release.dependencies}
    assert names == {
        "stand-in-role",  # data: the role name in the values
        "stand-in-policy",  # explicit: named by no value
        "edge-consul-namespace",
        "edge-consul-vault-ca",
        "edge-consul-vault-injector",
    }
    assert role.urn in release.property_dependencies["values"], "the dependency on the role is the values' data"
    assert policy.urn not in release.property_dependencies.get("values", ()), policy
    injector = run.one("kubernetes:helm.sh/v3:Release", "edge-consul-vault-injector")
    assert {run.by_urn(urn).name for urn in injector.dependencies} == {
        "edge-consul-vault-namespace",
        "edge-consul-vault-ca-for-csi",
    }


def test_outputs(alone: tuple[ProgramRun, ConsulCluster]) -> None:
    _, cluster = alone
    resolved = {
        key: pulumi.runtime.sync_await._sync_await(getattr(cluster, key).future())
        for key in ConsulCluster.__annotations__
    }
    assert resolved == {
        "release_name": "edge",
        "namespace": "edge",
        "status": "deployed",
        "datacenter": "lab",
        "domain": "mesh",
        "ui_service": "edge-consul-ui",
        "api_service": "edge-consul-server",
        "server_ca_path": "pki/cert/ca",
        "server_ca_pem": CA_PEM,
    }


def test_without_a_private_vault_ca_or_injector_only_the_namespace_and_release() -> None:
    run, _ = _build(wire=False, vault_ca=None, vault_injector=None, protect=False)
    mine = [r for r in run.resources if r.name.startswith("edge-consul-")]
    assert [(r.name, r.protect) for r in mine] == [("edge-consul-namespace", False), ("edge-consul-release", False)]


def test_the_wire_form_builds_the_same_resources(alone: tuple[ProgramRun, ConsulCluster]) -> None:
    run, _ = alone
    wire_run, _ = _build(wire=True)
    assert recorded_shape(wire_run) == recorded_shape(run)


def test_values_at_sets_paths_without_touching_the_plain_values() -> None:
    merged = with_values_at(VALUES, {"global.secretsBackend.vault.consulServerRole": "x", "a.b": "y"})
    assert merged["global"]["secretsBackend"]["vault"]["consulServerRole"] == "x"
    assert merged["a"] == {"b": "y"}
    assert VALUES["global"]["secretsBackend"]["vault"]["consulServerRole"] == "edge-server"
    assert with_values_at(VALUES, {}) == VALUES
