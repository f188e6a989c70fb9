"""The Connect CA configuration after bootstrap: the Consul provider's ``CertificateAuthority`` writes exactly what
the release's values bootstrap (consul ``initializeCAConfig`` keeps a stored configuration over the agent file, so
only the API changes a running cluster's CA; consul-k8s ``server-config-configmap.yaml`` renders the file)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from secure_mesh.consul.connect_ca import VAULT_CA_FILE, connect_ca_api_config
from secure_mesh.consul.helm_values import build_consul_values
from secure_mesh.layout import Layout
from secure_mesh.settings import load_settings
from tests.conftest import stack_run
from tests.harness import STACKS, deep_merge, load_stack_config

CA = "consul:index/certificateAuthority:CertificateAuthority"
RELEASE = "kubernetes:helm.sh/v3:Release"


def vault_values(stack: str, override: dict[str, Any] | None = None) -> dict[str, Any]:
    settings = load_settings(deep_merge(load_stack_config(stack), override or {}))
    primary = None
    if settings.topology.mode.value == "federation-secondary":
        from secure_mesh.settings.federation import primary_settings
        from tests.harness import PROJECT_DIR

        primary = primary_settings(settings, PROJECT_DIR)
    values: dict[str, Any] = build_consul_values(settings, Layout(settings, primary))["global"]
    return dict(values["secretsBackend"]["vault"])


def test_the_dev_stacks_api_configuration_whole() -> None:
    assert connect_ca_api_config(vault_values("dev")) == {
        "Address": "https://vault.vault.svc.cluster.local:8200",
        "AuthMethod": {"MountPath": "kubernetes-dc1", "Params": {"role": "consul-server"}, "Type": "kubernetes"},
        "CAFile": VAULT_CA_FILE,  # dev pins Vault's CA (vault.tls.caCertPem): the chart mounts it there
        "IntermediatePKIPath": "consul/connect/pki_consul_dc1",  # Consul's own intermediate mount
        "IntermediateCertTTL": "8760h",
        "LeafCertTTL": "72h",
        "PrivateKeyBits": 256,
        "PrivateKeyType": "ec",
        "RootPKIPath": "consul/connect/pki_int2",  # the last Vault-held level of the connect chain
    }


def test_a_vault_namespace_and_server_name_reach_the_api_configuration() -> None:
    config = connect_ca_api_config(
        vault_values("dev", {"vault": {"namespace": "admin/mesh", "tls": {"serverName": "vault.internal"}}})
    )
    assert (config["Namespace"], config["TLSServerName"]) == ("admin/mesh", "vault.internal")


def test_without_a_vault_ca_secret_there_is_no_ca_file() -> None:
    values = vault_values("dev")
    del values["ca"]
    assert "CAFile" not in connect_ca_api_config(values)


def test_an_additional_key_without_an_api_name_is_refused_not_dropped() -> None:
    values = vault_values("dev")
    values["connectCA"]["additionalConfig"] = json.dumps({"connect": [{"ca_config": [{"csr_max_per_second": 5}]}]})
    with pytest.raises(ValueError, match=r"connect CA keys without an API name: \['csr_max_per_second'\]"):
        connect_ca_api_config(values)


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_with_the_consul_provider_writes_the_bootstrapped_configuration_after_the_release(
    stack: str,
) -> None:
    run = stack_run(stack)
    authorities = run.of_type(CA)
    settings = load_settings(load_stack_config(stack))
    if settings.consul.address is None or settings.topology.mode.value == "federation-secondary":
        assert authorities == [], f"{stack}: no Consul provider or a federation secondary, so no CA resource"
        return
    (authority,) = authorities
    assert authority.inputs["connectProvider"] == "vault"
    assert json.loads(authority.inputs["configJson"]) == connect_ca_api_config(vault_values(stack))
    assert "::consul::" in authority.provider, f"{stack}: {authority.urn} must use the Consul provider"
    release = next(r for r in run.of_type(RELEASE) if r.name.endswith("consul-release"))
    assert release.urn in authority.dependencies, f"{stack}: {authority.urn} must wait for the Consul release"


def test_a_changed_ttl_in_the_settings_reaches_the_api_configuration() -> None:
    """The point of the resource: a TTL raised in settings changes what the API writes (Helm's copy alone would not
    reach a bootstrapped cluster)."""
    config = connect_ca_api_config(
        vault_values("dev", {"pki": {"chains": {"connect": {"leafTtl": "48h"}}, "consulIntermediateTtl": "4380h"}})
    )
    assert (config["LeafCertTTL"], config["IntermediateCertTTL"]) == ("48h", "4380h")

