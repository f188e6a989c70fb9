"""Both intention renderings, read back from the registered resources, mean the same allow/deny matrix."""

from __future__ import annotations

import pytest

from secure_mesh.mesh.graph import build_graph
from tests.consul.helpers import stack_settings
from tests.harness import ProgramRun, deep_merge, load_stack_config, run_program
from tests.mesh.readback import (
    CRD_DEFAULTS,
    CRD_INTENTIONS,
    ENTRY_DEFAULTS,
    ENTRY_INTENTIONS,
    config_entry_matrix,
    crd_matrix,
    entries_from_config_entries,
    entries_from_crds,
)

DEV_SERVICES = ["api", "ledger", "payments", "web"]
EXPECTED_DEV_MATRIX = {
    ("web", "api"): "allow",  # apps[0].upstreams
    ("api", "ledger"): "allow",  # apps[1].upstreams
    ("api", "payments"): "l7[POST prefix /payments.v1.Payments/]",  # mesh.intentions[0]
    ("web", "ledger"): "deny",  # mesh.intentions[1]
    ("web", "payments"): "deny",
    ("api", "web"): "deny",
    ("ledger", "api"): "deny",
    ("ledger", "payments"): "deny",
    ("ledger", "web"): "deny",
    ("payments", "api"): "deny",
    ("payments", "ledger"): "deny",
    ("payments", "web"): "deny",
}
CONFIG_ENTRIES = {"consul": {"intentionsRendering": "config-entries", "address": "https://consul.example.test:8501"}}


@pytest.fixture(scope="module")
def config_entries_run() -> ProgramRun:
    """The dev stack rendered as Consul config entries instead of custom resources."""
    return run_program(deep_merge(load_stack_config("dev"), CONFIG_ENTRIES), stack="dev")


def test_crd_rendering_means_the_expected_dev_matrix(dev_run: ProgramRun) -> None:
    assert crd_matrix(dev_run, DEV_SERVICES) == EXPECTED_DEV_MATRIX


def test_config_entry_rendering_means_the_expected_dev_matrix(config_entries_run: ProgramRun) -> None:
    assert config_entry_matrix(config_entries_run, DEV_SERVICES) == EXPECTED_DEV_MATRIX


def test_both_renderings_and_the_graph_agree(dev_run: ProgramRun, config_entries_run: ProgramRun) -> None:
    graph = {pair: access.describe() for pair, access in build_graph(stack_settings("dev")).matrix().items()}
    assert crd_matrix(dev_run, DEV_SERVICES) == config_entry_matrix(config_entries_run, DEV_SERVICES) == graph


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_crd_rendering_matches_the_graph_of_every_stack(request: pytest.FixtureRequest, stack: str) -> None:
    run = request.getfixturevalue(f"{stack}_run")
    graph = build_graph(stack_settings(stack))
    expected = {pair: access.describe() for pair, access in graph.matrix().items()}
    assert crd_matrix(run, sorted(graph.services)) == expected


def test_each_rendering_has_exactly_one_default_deny_and_no_wildcard_allow(
    dev_run: ProgramRun, config_entries_run: ProgramRun
) -> None:
    for name, entries in (
        ("crds", entries_from_crds(dev_run)),
        ("config-entries", entries_from_config_entries(config_entries_run)),
    ):
        wildcard = [(dest, s) for dest, sources in entries.items() for s in sources if "*" in (dest, s["name"])]
        assert wildcard == [("*", {"name": "*", "action": "deny", **({"type": "consul"} if name != "crds" else {})})], (
            f"{name}: the only rule naming '*' must be the single '*' → '*' deny; found {wildcard}"
        )
        for dest, sources in entries.items():
            for source in sources:
                assert ("action" in source) != ("permissions" in source), f"{name}: {source['name']} → {dest}"


def test_one_entry_per_destination_with_all_its_sources(dev_run: ProgramRun) -> None:
    entries = entries_from_crds(dev_run)
    assert sorted(entries) == ["*", "api", "ledger", "payments", "web"]
    assert [s["name"] for s in entries["ledger"]] == ["api", "web"]
    assert [(s["name"], s["action"]) for s in entries["web"]] == [("api-gateway", "allow")]


def test_service_defaults_carry_each_protocol(dev_run: ProgramRun, config_entries_run: ProgramRun) -> None:
    expected = {"web": "http", "api": "http", "payments": "grpc", "ledger": "tcp"}
    crds = {r.inputs["metadata"]["name"]: r.inputs["spec"]["protocol"] for r in dev_run.of_type(CRD_DEFAULTS)}
    entries = {r.inputs["name"]: r.inputs["protocol"] for r in config_entries_run.of_type(ENTRY_DEFAULTS)}
    assert crds == expected
    assert entries == expected


def test_custom_resources_live_in_consuls_namespace_and_wait_for_the_release(dev_run: ProgramRun) -> None:
    release = dev_run.one("kubernetes:helm.sh/v3:Release", "secure-mesh-consul-release")
    for resource in [*dev_run.of_type(CRD_INTENTIONS), *dev_run.of_type(CRD_DEFAULTS)]:
        assert resource.inputs["apiVersion"] == "consul.hashicorp.com/v1alpha1", resource
        assert resource.inputs["metadata"]["namespace"] == "consul", resource
        assert release.urn in resource.dependencies, f"{resource} does not wait for the chart that installs its CRD"
        assert resource.provider.split("$")[-1].startswith("pulumi:providers:kubernetes::"), resource


def test_config_entries_go_through_the_consul_provider(config_entries_run: ProgramRun) -> None:
    release = config_entries_run.one("kubernetes:helm.sh/v3:Release", "secure-mesh-consul-release")
    resources = [*config_entries_run.of_type(ENTRY_INTENTIONS), *config_entries_run.of_type(ENTRY_DEFAULTS)]
    assert len(resources) == 9  # 5 intention entries (4 destinations + '*') and 4 service defaults
    for resource in resources:
        assert resource.provider.split("$")[-1].startswith("pulumi:providers:consul::consul::"), (
            f"{resource} would talk to a default Consul: {resource.provider}"
        )
        assert release.urn in resource.dependencies, f"{resource} does not wait for Consul"
        assert "namespace" not in resource.inputs and "partition" not in resource.inputs, f"{resource}: OSS scope"
    assert config_entries_run.of_type(CRD_INTENTIONS) == []


def test_enterprise_config_entries_pin_namespace_and_partition() -> None:
    config = deep_merge(
        load_stack_config("dev"),
        deep_merge(
            CONFIG_ENTRIES,
            {"consul": {"enterprise": True}, "images": {"consul": "hashicorp/consul-enterprise:1.22-ent"}},
        ),
    )
    run = run_program(config, secrets={"consulLicense": "02MV4UU43BK5HGYYTOJZWFQMTMNNEWU33JLFVE"})
    for resource in run.of_type(ENTRY_INTENTIONS):
        assert (resource.inputs["namespace"], resource.inputs["partition"]) == ("default", "default"), resource
        for source in resource.inputs["sources"]:
            assert (source["namespace"], source["partition"]) == ("default", "default"), resource
