"""Stack outputs are an API: names and types are pinned by a checked-in contract, and nothing secret leaks."""

from __future__ import annotations

import json
import re
import runpy
from pathlib import Path
from typing import Any

import pulumi
import pytest
from pulumi.runtime import mocks as pulumi_mocks

from secure_mesh.outputs import STACK_OUTPUTS, stack_outputs_markdown
from secure_mesh.settings.vault_ca_file import OFFLINE_PLACEHOLDER_PEM
from tests.conftest import stack_run
from tests.harness import PROJECT_DIR, ProgramRun, RecordingMonitor, _reset_runtime, layout_of_run, load_stack_config
from tests.mocks.identities import OUTPUTS as IDENTITY_OUTPUTS

CONTRACT_FILE = Path(__file__).with_name("stack_outputs_contract.json")
KINDS = {"string": str, "map": dict, "list": list}


def test_contract_matches_the_checked_in_snapshot() -> None:
    """Removing or retyping an output breaks consumers: it must be a deliberate change to this file too."""
    pinned = json.loads(CONTRACT_FILE.read_text())
    current = {o.name: {"kind": o.kind, "secret": o.secret} for o in STACK_OUTPUTS}
    missing = sorted(set(pinned) - set(current))
    assert not missing, f"outputs removed from the contract: {missing}"
    changed = {name: (pinned[name], current[name]) for name in pinned if pinned[name] != current[name]}
    assert not changed, f"outputs changed type or secrecy: {changed}"
    added = sorted(set(current) - set(pinned))
    assert not added, f"new outputs must be added to {CONTRACT_FILE.name}: {added}"


def test_every_stack_exports_exactly_the_contract_with_its_types(any_stack: ProgramRun) -> None:
    assert set(any_stack.outputs) == {o.name for o in STACK_OUTPUTS}
    for output in STACK_OUTPUTS:
        value = any_stack.outputs[output.name]
        assert isinstance(value, KINDS[output.kind]), f"{output.name} is {type(value).__name__}, not {output.kind}"
        assert (output.name in any_stack.secret_outputs) == output.secret, f"{output.name} secrecy changed"


def test_outputs_carry_no_generated_secret(any_stack: ProgramRun) -> None:
    exported = json.dumps(any_stack.outputs)
    # A federation secondary generates no secret of its own: it must not export its primary's either.
    holders = [any_stack, stack_run("fed-primary")] if layout_of_run(any_stack).is_federation_secondary else [any_stack]
    secrets = [
        value
        for run in holders
        for resource in run.resources
        for key, value in resource.inputs.items()
        if key in resource.secret_inputs and isinstance(value, str) and len(value) >= 8
    ]
    assert secrets, "expected the stack to hold generated secrets to compare against"
    for secret in secrets:
        assert secret not in exported, "a secret input value appears in the stack outputs"


def test_dev_outputs_name_the_paths_the_layout_computes(dev_run: ProgramRun) -> None:
    outputs = dev_run.outputs
    assert outputs["pkiIssuePaths"]["server"] == "consul/server/pki_int2/issue/consul-server"
    assert outputs["meshRootPkiPath"] == "consul/connect/pki_int2"
    assert outputs["consulKvPaths"]["gossip"] == "consul/kv/data/consul/gossip"
    assert outputs["vaultAuthRoles"]["server"] == "consul-server"
    assert outputs["pkiLevel1Csrs"] == {}
    assert outputs["serverCaChainPem"].startswith("-----BEGIN CERTIFICATE-----")


def test_settings_page_lists_every_output() -> None:
    page = (PROJECT_DIR / "docs" / "settings.md").read_text()
    assert stack_outputs_markdown() in page, "regenerate docs/settings.md's stack-output table: make readme"


# -------------------------------------------------------------------------- the consumer example


class ConsumerMocks(pulumi_mocks.Mocks):
    """Serve a StackReference with the real dev stack's outputs; echo everything else."""

    def __init__(self, mesh_outputs: dict[str, Any]) -> None:
        self.mesh_outputs = mesh_outputs

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        if args.typ == "pulumi:pulumi:StackReference":
            return args.name, {"name": args.name, "outputs": self.mesh_outputs, "secretOutputNames": []}
        state = dict(args.inputs)
        extra = IDENTITY_OUTPUTS.get(args.typ)
        if extra is not None:
            state.update(extra(args.name, state))
        return f"{args.name}-id", state

    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


def test_consumer_example_requires_only_contract_outputs() -> None:
    source = (PROJECT_DIR / "examples" / "consumer" / "__main__.py").read_text()
    required = set(re.findall(r'require_output\("([A-Za-z]+)"\)', source))
    assert required, "the consumer reads no output"
    declared = {o.name for o in STACK_OUTPUTS}
    assert required <= declared, f"not in the contract: {required - declared}"


def _run_consumer(mesh_outputs: dict[str, Any]) -> list[Any]:
    mocks = ConsumerMocks(dict(mesh_outputs))
    monitor = RecordingMonitor(mocks)
    _reset_runtime()
    pulumi.runtime.set_mocks(mocks, project="secure-mesh-consumer", stack="dev", preview=False, monitor=monitor)
    pulumi.runtime.set_all_config(
        {"secure-mesh-consumer:meshStack": "acme/secure-mesh/dev", "secure-mesh-consumer:service": "billing"}
    )
    from pulumi.runtime.stack import run_pulumi_func
    from pulumi.runtime.sync_await import _sync_await

    def program() -> None:
        runpy.run_path(str(PROJECT_DIR / "examples" / "consumer" / "__main__.py"), run_name="__main__")

    _sync_await(run_pulumi_func(program))
    return list(monitor.recorded)


def test_consumer_example_runs_against_the_real_dev_outputs(dev_run: ProgramRun) -> None:
    recorded = _run_consumer(dict(dev_run.outputs))
    role = next(r for r in recorded if r.type == "vault:kubernetes/authBackendRole:AuthBackendRole")
    assert role.inputs["backend"] == "kubernetes-dc1"
    assert role.inputs["audience"] == dev_run.outputs["vaultKubernetesAudience"]
    policy = next(r for r in recorded if r.type == "vault:index/policy:Policy")
    assert json.loads(policy.inputs["policy"]) == {
        "path": {"consul/kv/data/apps/billing/*": {"capabilities": ["read"]}}
    }
    config_map = next(r for r in recorded if r.type == "kubernetes:core/v1:ConfigMap")
    assert config_map.inputs["data"]["ca.crt"] == dev_run.outputs["serverCaChainPem"]


def test_consumer_reaches_vault_at_the_external_address_and_trusts_its_ca(any_stack: ProgramRun) -> None:
    """The consumer runs outside the cluster: the in-cluster address (a cluster DNS name) is unreachable there."""
    outputs = any_stack.outputs
    recorded = _run_consumer(dict(outputs))
    provider = next(r for r in recorded if r.type == "pulumi:providers:vault")
    assert provider.inputs["address"] == outputs["vaultExternalAddress"]
    assert provider.inputs.get("skipTlsVerify") in (False, "false")
    ca_file = provider.inputs.get("caCertFile")
    if outputs["vaultCaCertPem"]:
        assert ca_file and Path(ca_file).read_text() == outputs["vaultCaCertPem"]
    else:
        assert not ca_file, "no CA is published: the provider uses the system's trust store"
    assert provider.inputs.get("tlsServerName") == (outputs["vaultTlsServerName"] or None)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_vault_addresses_follow_the_settings(stack: str) -> None:
    run = stack_run(stack)
    vault = load_stack_config(stack)["vault"]
    assert run.outputs["vaultAddress"] == vault["address"]
    assert run.outputs["vaultExternalAddress"] == vault.get("providerAddress", vault["address"])
    # dev names a file (vault.tls.caCertFile) that mocked runs never read: its offline placeholder stands in.
    expected_ca = OFFLINE_PLACEHOLDER_PEM if "caCertFile" in vault.get("tls", {}) else vault["tls"]["caCertPem"]
    assert run.outputs["vaultCaCertPem"] == expected_ca
    assert run.outputs["vaultTlsServerName"] == vault.get("tls", {}).get("serverName", "")
    if stack == "dev":
        assert run.outputs["vaultExternalAddress"] != run.outputs["vaultAddress"], "dev's Vault is port-forwarded"


def test_app_outputs_hand_each_app_its_own_identity(dev_run: ProgramRun) -> None:
    outputs = dev_run.outputs
    assert outputs["appVaultRoles"] == {"web": "app-web", "api": "app-api"}
    annotations = outputs["appVaultAnnotations"]["web"]
    assert annotations["vault.hashicorp.com/agent-inject"] == "true"
    assert annotations["vault.hashicorp.com/role"] == "app-web"
    assert annotations["vault.hashicorp.com/auth-path"] == "auth/kubernetes-dc1"
    assert outputs["appDatabaseCredsPaths"] == {}, "no dev app declares a database"


# ------------------------------------------------------------------------------------------ CA expiry


def _expected_not_after(stack: str) -> dict[str, str]:
    """What ``pkiNotAfter`` must be for a checked-in stack under mocks, computed independently of the program.

    Mocked Vault certificates expire at the mock's issue time plus the ``ttl`` asked for (tests/mocks/pki.py);
    a chain's value is its earliest-expiring level; an offline or KMS root's is read from its configured PEM.
    """
    from secure_mesh.layout import Layout
    from secure_mesh.pki.certificates import load_certificate
    from secure_mesh.pki.plan import build_plan
    from secure_mesh.settings import load_settings
    from tests.mocks.pki import mock_not_after

    settings = load_settings(load_stack_config(stack))
    plan = build_plan(settings, Layout(settings))
    expected = {
        chain.value: mock_not_after(min(level.ttl_seconds for level in levels)) for chain, levels in plan.chains.items()
    }
    if plan.root is not None:
        expected["root"] = mock_not_after(plan.root.ttl_seconds)
    else:
        offline = settings.pki.aws_kms or settings.pki.external
        assert offline is not None and offline.root_certificate_pem is not None
        pem = offline.root_certificate_pem
        expected["root"] = load_certificate(pem, "root").not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    return expected


def test_every_stack_exports_each_ca_expiry_as_iso_8601(any_stack: ProgramRun) -> None:
    from tests.harness import stack_of_run

    not_after = any_stack.outputs["pkiNotAfter"]
    assert not_after == _expected_not_after(stack_of_run(any_stack))
    for value in not_after.values():
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", value), value


def test_dev_ca_expiry_is_the_earliest_level_of_each_chain(dev_run: ProgramRun) -> None:
    """Dev under mocks (issued 2026-01-01): root 10 years, level 1 two years, level 2 eighteen months."""
    assert dev_run.outputs["pkiNotAfter"] == {
        "root": "2035-12-30T00:00:00Z",
        "server": "2027-07-02T12:00:00Z",
        "connect": "2027-07-02T12:00:00Z",
        "gateway": "2028-01-01T00:00:00Z",
        "webhook": "2028-01-01T00:00:00Z",
    }
