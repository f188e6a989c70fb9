"""Every resource uses an explicit provider built from settings; none falls back to a default provider."""

from __future__ import annotations

import yaml

from tests.harness import PROJECT_DIR, ProgramRun


def test_the_stack_registers_the_platform_and_its_providers(any_stack: ProgramRun) -> None:
    platform = any_stack.one("secure-mesh:index:Platform", "secure-mesh")
    stack = platform.urn.split("::")[0].removeprefix("urn:pulumi:")
    assert platform.parent == f"urn:pulumi:{stack}::secure-mesh::pulumi:pulumi:Stack::secure-mesh-{stack}"
    provider_types = {r.type for r in any_stack.resources if r.type.startswith("pulumi:providers:")}
    assert {"pulumi:providers:vault", "pulumi:providers:kubernetes", "pulumi:providers:random"} <= provider_types


def test_no_resource_uses_a_default_provider(any_stack: ProgramRun) -> None:
    custom = [r for r in any_stack.resources if r.custom and not r.type.startswith("pulumi:providers:")]
    for resource in custom:
        if resource.type.startswith("pulumi-python:dynamic"):
            continue
        assert resource.provider, f"{resource} has no provider reference"
        assert "::default" not in resource.provider, f"{resource} uses a default provider: {resource.provider}"
        package = resource.type.split(":")[0]
        assert f"pulumi:providers:{package}::" in resource.provider, f"{resource} uses {resource.provider}"


def test_every_explicit_provider_is_named_for_what_it_talks_to(any_stack: ProgramRun) -> None:
    providers = {r.urn for r in any_stack.resources if r.type.startswith("pulumi:providers:")}
    used = {r.provider.rsplit("::", 1)[0] for r in any_stack.resources if r.provider}
    assert used <= providers, f"resources use providers the program did not create: {used - providers}"


def test_vault_provider_targets_the_program_address_and_never_skips_tls(dev_run: ProgramRun) -> None:
    provider = dev_run.one("pulumi:providers:vault", "vault")
    assert provider.inputs["address"] == "https://127.0.0.1:8200"
    assert provider.inputs["skipTlsVerify"] == "false"
    # vault.tls.caCertFile: the laptop Vault's CA, which scripts/dev-up.sh writes into the project.
    assert provider.inputs["caCertFile"] == str(PROJECT_DIR / ".pulumi-state" / "vault-ca.pem")
    assert "token" not in provider.inputs, "the Vault token must come from VAULT_TOKEN, not config"


def test_prod_vault_provider_uses_the_https_address_and_server_name(prod_run: ProgramRun) -> None:
    provider = prod_run.one("pulumi:providers:vault", "vault")
    assert provider.inputs["address"] == "https://vault.prod.example.com:8200"
    assert provider.inputs["tlsServerName"] == "vault.prod.example.com"
    assert "caCertFile" not in provider.inputs, "prod's CA is in the stack file; the provider reads VAULT_CACERT"


def test_kubernetes_provider_uses_the_configured_context(dev_run: ProgramRun) -> None:
    assert dev_run.one("pulumi:providers:kubernetes", "kubernetes").inputs["context"] == "kind-secure-mesh"


def test_default_providers_are_disabled_for_vault_consul_and_kubernetes() -> None:
    project = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text())
    disabled = project["config"]["pulumi:disable-default-providers"]["value"]
    assert set(disabled) >= {"vault", "consul", "kubernetes"}


def test_the_entry_point_tunes_garbage_collection_before_the_run(dev_run: ProgramRun) -> None:
    import gc

    from secure_mesh.program import YOUNG_GENERATION_THRESHOLD

    source = (PROJECT_DIR / "__main__.py").read_text()
    assert source.index("tune_garbage_collection()") < source.index("main()")
    assert gc.get_threshold()[0] == YOUNG_GENERATION_THRESHOLD


def test_vault_child_token_outlives_a_long_deploy(any_stack: ProgramRun) -> None:
    """terraform-provider-vault's child token lives 1200 s by default; a deploy job may run 45 minutes."""
    provider = any_stack.one("pulumi:providers:vault", "vault")
    assert int(provider.inputs["maxLeaseTtlSeconds"]) == 3600
