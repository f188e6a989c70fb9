"""The mesh-wide entries (``mesh``, ``global`` proxy-defaults), the order Consul validates entries in, and the
Consul provider's trust in the server chain — under mocks, for both renderings.

Consul validates a config entry write or delete against the entries it reads
(agent/consul/state/config_entry.go ``validateProposedConfigEntryInGraph``): an intentions entry with L7
permissions against its destination's protocol (service-defaults, else proxy-defaults), service-defaults and
proxy-defaults against the mesh entry's ``AllowEnablingPermissiveMutualTLS``. Pulumi creates in dependency
order and deletes in reverse, so these dependencies are what make ``up`` and ``destroy`` succeed.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.harness import ProgramRun, RegisteredResource, deep_merge, load_stack_config, run_program
from tests.mesh.readback import CRD_DEFAULTS, CRD_INTENTIONS, ENTRY_DEFAULTS, ENTRY_INTENTIONS

CRD_MESH = "kubernetes:consul.hashicorp.com/v1alpha1:Mesh"
CRD_PROXY_DEFAULTS = "kubernetes:consul.hashicorp.com/v1alpha1:ProxyDefaults"
CONFIG_ENTRY = "consul:index/configEntry:ConfigEntry"
CONSUL_PROVIDER = "pulumi:providers:consul"
RELEASE = "kubernetes:helm.sh/v3:Release"
CONFIG_ENTRIES = {"consul": {"intentionsRendering": "config-entries", "address": "https://localhost:8501"}}

EXPECTED_MESH_SPEC = {
    "allowEnablingPermissiveMutualTLS": False,
    "tls": {"incoming": {"tlsMinVersion": "TLSv1_3"}, "outgoing": {"tlsMinVersion": "TLSv1_3"}},
    "transparentProxy": {"meshDestinationsOnly": True},
}
"""consul-k8s ``Mesh`` spec field names: charts/consul/templates/crd-meshes.yaml (chart 2.0.3)."""
EXPECTED_MESH_ENTRY = {
    "AllowEnablingPermissiveMutualTLS": False,
    "TLS": {"Incoming": {"TLSMinVersion": "TLSv1_3"}, "Outgoing": {"TLSMinVersion": "TLSv1_3"}},
    "TransparentProxy": {"MeshDestinationsOnly": True},
}
"""The same entry in Consul's API field names (api/config_entry_mesh.go)."""


@pytest.fixture(scope="module")
def entries_run() -> ProgramRun:
    return run_program(deep_merge(load_stack_config("dev"), CONFIG_ENTRIES), stack="dev")


def _release(run: ProgramRun) -> RegisteredResource:
    return run.one(RELEASE, "secure-mesh-consul-release")


# ------------------------------------------------------------------------------------ whole documents


def test_crd_rendering_declares_the_mesh_and_proxy_defaults_documents(dev_run: ProgramRun) -> None:
    assert dev_run.one(CRD_MESH).inputs == {
        "apiVersion": "consul.hashicorp.com/v1alpha1",
        "kind": "Mesh",
        "metadata": {"name": "mesh", "namespace": "consul"},
        "spec": EXPECTED_MESH_SPEC,
    }
    assert dev_run.one(CRD_PROXY_DEFAULTS).inputs == {
        "apiVersion": "consul.hashicorp.com/v1alpha1",
        "kind": "ProxyDefaults",
        "metadata": {"name": "global", "namespace": "consul"},
        "spec": {"mutualTLSMode": "strict"},
    }


def test_crd_service_defaults_are_strict_mtls_whole_documents(dev_run: ProgramRun) -> None:
    found = {r.inputs["metadata"]["name"]: r.inputs for r in dev_run.of_type(CRD_DEFAULTS)}
    protocols = {"web": "http", "api": "http", "payments": "grpc", "ledger": "tcp"}
    assert found == {
        service: {
            "apiVersion": "consul.hashicorp.com/v1alpha1",
            "kind": "ServiceDefaults",
            "metadata": {"name": service, "namespace": "consul"},
            "spec": {"protocol": protocol, "mutualTLSMode": "strict"},
        }
        for service, protocol in protocols.items()
    }


def test_config_entry_rendering_declares_the_same_mesh_and_proxy_defaults(entries_run: ProgramRun) -> None:
    entries = {r.inputs["kind"]: r.inputs for r in entries_run.of_type(CONFIG_ENTRY)}
    assert sorted(entries) == ["mesh", "proxy-defaults"]
    mesh, proxy = entries["mesh"], entries["proxy-defaults"]
    assert {k: v for k, v in mesh.items() if k != "configJson"} == {"kind": "mesh", "name": "mesh"}
    assert json.loads(mesh["configJson"]) == EXPECTED_MESH_ENTRY
    assert {k: v for k, v in proxy.items() if k != "configJson"} == {"kind": "proxy-defaults", "name": "global"}
    assert json.loads(proxy["configJson"]) == {"MutualTLSMode": "strict"}
    for resource in entries_run.of_type(ENTRY_DEFAULTS):
        assert resource.inputs["mutualTlsMode"] == "strict", resource


def test_enterprise_mesh_entries_live_in_the_default_partition_and_namespace() -> None:
    config = deep_merge(
        load_stack_config("dev"),
        deep_merge(
            CONFIG_ENTRIES,
            {"consul": {"enterprise": True}, "images": {"consul": "hashicorp/consul-enterprise:1.22-ent"}},
        ),
    )
    run = run_program(config, secrets={"consulLicense": "02MV4UU43BK5HGYYTOJZWFQMTMNNEWU33JLFVE"})
    for resource in run.of_type(CONFIG_ENTRY):
        assert (resource.inputs["namespace"], resource.inputs["partition"]) == ("default", "default"), resource


# ------------------------------------------------------------------------------------- one owner each


@pytest.mark.parametrize("rendering", ["crds", "config-entries"])
def test_each_mesh_wide_entry_has_exactly_one_owner(
    rendering: str, dev_run: ProgramRun, entries_run: ProgramRun
) -> None:
    run = dev_run if rendering == "crds" else entries_run
    crd_mesh, crd_proxy = run.of_type(CRD_MESH), run.of_type(CRD_PROXY_DEFAULTS)
    entry_kinds = sorted(r.inputs["kind"] for r in run.of_type(CONFIG_ENTRY))
    if rendering == "crds":
        assert (len(crd_mesh), len(crd_proxy), entry_kinds) == (1, 1, [])
    else:
        assert (len(crd_mesh), len(crd_proxy), entry_kinds) == (0, 0, ["mesh", "proxy-defaults"])
    # The chart writes neither entry itself: no values key of the release names a mesh or proxy-defaults entry.
    values = json.dumps(_release(run).inputs["values"])
    assert "proxy-defaults" not in values and "meshDestinationsOnly" not in values


# --------------------------------------------------------------------------- what Consul validates against


def _ordering(
    run: ProgramRun, mesh: RegisteredResource, proxy: RegisteredResource, defaults: dict[str, RegisteredResource],
    intentions: dict[str, RegisteredResource],
) -> None:
    release = _release(run).urn
    assert set(mesh.dependencies) == {release}, mesh
    assert set(proxy.dependencies) == {release, mesh.urn}, "proxy-defaults' write reads the mesh entry"
    for service, resource in defaults.items():
        assert set(resource.dependencies) == {release, mesh.urn, proxy.urn}, f"{service} defaults"
    assert sorted(intentions) == ["*", "api", "ledger", "payments", "web"]
    for destination, resource in intentions.items():
        expected = {release} if destination == "*" else {release, defaults[destination].urn, proxy.urn}
        assert set(resource.dependencies) == expected, (
            f"intentions of {destination!r} must wait for the entries Consul checks their L7 permissions against"
        )


def test_config_entries_wait_for_what_consul_checks_them_against(entries_run: ProgramRun) -> None:
    entries = {r.inputs["kind"]: r for r in entries_run.of_type(CONFIG_ENTRY)}
    _ordering(
        entries_run,
        entries["mesh"],
        entries["proxy-defaults"],
        {r.inputs["name"]: r for r in entries_run.of_type(ENTRY_DEFAULTS)},
        {r.inputs["name"]: r for r in entries_run.of_type(ENTRY_INTENTIONS)},
    )


def test_custom_resources_wait_for_what_consul_checks_them_against(dev_run: ProgramRun) -> None:
    _ordering(
        dev_run,
        dev_run.one(CRD_MESH),
        dev_run.one(CRD_PROXY_DEFAULTS),
        {r.inputs["metadata"]["name"]: r for r in dev_run.of_type(CRD_DEFAULTS)},
        {r.inputs["spec"]["destination"]["name"]: r for r in dev_run.of_type(CRD_INTENTIONS)},
    )


def test_l7_destination_defaults_are_created_before_its_intentions(entries_run: ProgramRun) -> None:
    # 'payments' carries L7 permissions (mesh.intentions[0]): the registration order must put its grpc defaults
    # first, which Pulumi guarantees only through the dependency checked above.
    order = [r.urn for r in entries_run.resources]
    payments_intentions = entries_run.one(ENTRY_INTENTIONS, "secure-mesh-intentions-payments-intentions")
    payments_defaults = entries_run.one(ENTRY_DEFAULTS, "secure-mesh-intentions-payments-defaults")
    assert payments_intentions.inputs["sources"][0]["permissions"], "the dev stack's payments entry is L7"
    assert order.index(payments_defaults.urn) < order.index(payments_intentions.urn)
    assert payments_defaults.urn in payments_intentions.dependencies


# ---------------------------------------------------------------------------------- the provider's trust


def test_consul_provider_trusts_the_server_chain_ca_from_vault(entries_run: ProgramRun) -> None:
    provider = entries_run.one(CONSUL_PROVIDER, "consul")
    inputs: dict[str, Any] = provider.inputs
    assert inputs == {
        "address": "localhost:8501",
        "scheme": "https",
        "datacenter": "dc1",
        "caPem": entries_run.outputs["serverCaChainPem"],
        "insecureHttps": "false",
    }
    assert inputs["caPem"].startswith("-----BEGIN CERTIFICATE-----")
    # The CA comes from the server chain's signed intermediates in Vault, not from a file or the environment.
    sources = provider.property_dependencies["caPem"]
    assert sources and all("server-l" in urn or "root" in urn for urn in sources), sources
    assert any("secure-mesh-pki-server-l" in urn for urn in sources), sources



def test_no_consul_provider_where_nothing_talks_to_consuls_api(dev_run: ProgramRun, prod_run: ProgramRun) -> None:
    # Both checked-in stacks render CRDs and resolve no database through the catalog: no Consul provider at all,
    # so no stack needs a reachable Consul (or its CA) to preview.
    for run in (dev_run, prod_run):
        assert run.of_type(CONSUL_PROVIDER) == []
        assert run.of_type(CONFIG_ENTRY) == [] and run.of_type(ENTRY_INTENTIONS) == []


# ------------------------------------------------------------------------- WAN-federation secondaries

@pytest.mark.parametrize("rendering", ["crds", "config-entries"])
def test_a_secondary_datacenter_leaves_the_mesh_wide_entries_to_the_primary(rendering: str) -> None:
    # Consul forwards config entry writes to the primary datacenter and replicates them back
    # (agent/consul/config_endpoint.go Apply/Delete), and consul-k8s refuses an entry "managed in different
    # datacenter" (control-plane/controllers/configentries/configentry_controller.go): the mesh entry, the global
    # proxy-defaults and the `*` default deny belong to the primary's stack alone (it has all three); the secondary
    # writes only its own services' defaults and intentions (its services are disjoint from the primary's).
    extra = {} if rendering == "crds" else CONFIG_ENTRIES
    run = run_program(deep_merge(load_stack_config("fed-secondary"), extra), stack="fed-secondary")
    assert run.of_type(CRD_MESH) == [] and run.of_type(CRD_PROXY_DEFAULTS) == []
    release = _release(run).urn
    if rendering == "crds":
        defaults = {r.inputs["metadata"]["name"]: r for r in run.of_type(CRD_DEFAULTS)}
        intentions = {r.inputs["spec"]["destination"]["name"]: r for r in run.of_type(CRD_INTENTIONS)}
        kinds = {r.inputs["kind"] for r in run.of_type(CONFIG_ENTRY)}
        assert kinds == set(), kinds
    else:
        defaults = {r.inputs["name"]: r for r in run.of_type(ENTRY_DEFAULTS)}
        intentions = {r.inputs["name"]: r for r in run.of_type(ENTRY_INTENTIONS)}
        assert {r.inputs["kind"] for r in run.of_type(CONFIG_ENTRY)} == set(), "no mesh or proxy-defaults entry"
    assert sorted(defaults) == ["ratings", "reviews"]
    assert sorted(intentions) == ["ratings"], "no `*` entry: the primary's default deny is the federation's"
    assert all(set(r.dependencies) == {release} for r in defaults.values())
    assert set(intentions["ratings"].dependencies) == {release, defaults["ratings"].urn}
    primary = run_program(deep_merge(load_stack_config("fed-primary"), extra), stack="fed-primary")
    if rendering == "crds":
        wildcard = [r for r in primary.of_type(CRD_INTENTIONS) if r.inputs["spec"]["destination"]["name"] == "*"]
    else:
        wildcard = [r for r in primary.of_type(ENTRY_INTENTIONS) if r.inputs["name"] == "*"]
    assert len(wildcard) == 1, "the primary owns the federation's default deny"
