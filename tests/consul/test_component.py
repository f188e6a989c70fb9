"""The Consul cluster under mocks: namespace, Vault CA secret, the pinned release, the Vault injector, ordering."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as kubernetes
import pytest
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from secure_mesh.composition.consul import consul_cluster_args
from secure_mesh.consul.component import ConsulCluster
from secure_mesh.consul.helm_values import build_consul_values, flatten
from secure_mesh.consul.vault_injector import VAULT_CHART_KEYS, VAULT_CHART_VERSION, build_vault_injector_values
from secure_mesh.layout import CONSUL_CHART_NAME, CONSUL_CHART_REPOSITORY, VAULT_CHART_NAME, VAULT_CHART_REPOSITORY
from tests.conftest import stack_run
from tests.consul.helpers import settings_and_layout
from tests.harness import (
    PROJECT,
    ProgramMocks,
    ProgramRun,
    RecordingMonitor,
    RegisteredResource,
    _collect_mock_outputs,
    deep_merge,
    load_stack_config,
    run_program,
)
from tests.onboarding.stacks import ALL_IMAGES_PINNED, PLACEHOLDER_DIGEST

RELEASE = "kubernetes:helm.sh/v3:Release"
NAMESPACE = "kubernetes:core/v1:Namespace"
SECRET = "kubernetes:core/v1:Secret"
CONSUL_RELEASE = "secure-mesh-consul-release"
INJECTOR_RELEASE = "secure-mesh-consul-vault-injector"
COMPONENT = "secure-mesh:index:ConsulCluster"


def _stack(request: pytest.FixtureRequest, stack: str) -> ProgramRun:
    return request.getfixturevalue(f"{stack}_run")


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_namespace_is_the_layouts(request: pytest.FixtureRequest, stack: str) -> None:
    run = _stack(request, stack)
    _, layout = settings_and_layout(stack)
    namespace = run.one(NAMESPACE, "secure-mesh-consul-namespace")
    assert namespace.inputs["metadata"]["name"] == layout.consul_namespace
    assert namespace.protect is (stack == "prod"), f"{namespace}: protect must follow is_production"


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_release_installs_the_pinned_chart_with_the_builders_values(request: pytest.FixtureRequest, stack: str) -> None:
    run = _stack(request, stack)
    settings, layout = settings_and_layout(stack)
    release = run.one(RELEASE, CONSUL_RELEASE)
    assert release.inputs["chart"] == CONSUL_CHART_NAME
    assert release.inputs["version"] == "2.0.3"
    assert release.inputs["repositoryOpts"] == {"repo": CONSUL_CHART_REPOSITORY}
    assert release.inputs["namespace"] == layout.consul_namespace
    assert release.inputs["name"] == layout.consul_release_name
    assert release.inputs["atomic"] is True
    assert release.inputs["values"] == build_consul_values(settings, layout), f"{release}: values differ from builder"
    assert release.secret_inputs == frozenset(), f"{release}: nothing secret may reach Helm values"
    assert release.protect is (stack == "prod")


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_consul_resources_use_the_explicit_kubernetes_provider(request: pytest.FixtureRequest, stack: str) -> None:
    run = _stack(request, stack)
    children = run.children_of(run.one(COMPONENT))
    assert len(children) >= 2, f"the Consul component registered only {children}"
    for child in children:
        assert child.provider.split("$")[-1].startswith("pulumi:providers:kubernetes::kubernetes::"), (
            f"{child} does not use the stack's explicit kubernetes provider: {child.provider!r}"
        )


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_release_waits_for_everything_the_platform_passed(request: pytest.FixtureRequest, stack: str) -> None:
    run = _stack(request, stack)
    component = run.one(COMPONENT)
    release = run.one(RELEASE, CONSUL_RELEASE)
    namespace = run.one(NAMESPACE, "secure-mesh-consul-namespace")
    missing = set(component.dependencies) - set(release.dependencies)
    assert not missing, f"{release} does not wait for Vault objects the platform passed: {sorted(missing)}"
    assert namespace.urn in release.dependencies
    passed_types = {run.by_urn(urn).type.split(":")[0] for urn in component.dependencies}
    assert passed_types <= {"vault", "kubernetes", "random", "secure-mesh"}, passed_types


@pytest.fixture(scope="module")
def unit_cluster() -> tuple[ConsulCluster, dict[str, RegisteredResource]]:
    """The component alone (dev settings) under mocks, with a stand-in Vault object passed as depends_on."""
    mocks = ProgramMocks(_collect_mock_outputs())
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack="unit", preview=False, monitor=monitor)
    pulumi.runtime.set_all_config({}, [])
    settings, layout = settings_and_layout("dev")
    built: list[ConsulCluster] = []

    def program() -> None:
        vault_object = kubernetes.core.v1.ConfigMap("stand-in-vault-object", data={"a": "b"})
        built.append(
            ConsulCluster(
                "unit-consul",
                consul_cluster_args(settings, layout),
                pulumi.ResourceOptions(depends_on=[vault_object]),
            )
        )

    _sync_await(run_pulumi_func(program))
    return built[0], {r.name: r for r in monitor.recorded}


def test_release_lists_a_passed_dependency_itself(unit_cluster: tuple[ConsulCluster, dict]) -> None:
    """A component's depends_on does not hold back its children, so the release must carry it."""
    _, recorded = unit_cluster
    stand_in = recorded["stand-in-vault-object"]
    assert stand_in.urn in recorded["unit-consul-release"].dependencies


def test_component_exposes_names_for_stack_references(unit_cluster: tuple[ConsulCluster, dict]) -> None:
    cluster, _ = unit_cluster
    _, layout = settings_and_layout("dev")
    outputs = {
        key: _sync_await(getattr(cluster, key).future())
        for key in (
            "release_name", "namespace", "status", "datacenter", "domain", "ui_service", "api_service",
            "server_ca_path", "server_ca_pem",
        )
    }
    assert outputs == {
        "release_name": "consul",
        "namespace": "consul",
        "status": "deployed",
        "datacenter": "dc1",
        "domain": "consul",
        "ui_service": "consul-consul-ui",
        "api_service": "consul-consul-server",
        "server_ca_path": "consul/server/pki_int2/cert/ca",
        "server_ca_pem": "",
    }
    assert (outputs["ui_service"], outputs["api_service"], outputs["server_ca_path"]) == (
        layout.consul_ui_service,
        layout.consul_server_service,
        layout.server_ca_path,
    )
    assert cluster.ready == [cluster.release], "intentions must wait for the Consul release"


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_vault_ca_secret_only_when_vault_uses_a_private_ca(
    stack: str, dev_run: ProgramRun, prod_run: ProgramRun
) -> None:
    # dev: the laptop Vault's CA comes from vault.tls.caCertFile (offline, its placeholder); prod: caCertPem.
    run = {"dev": dev_run, "prod": prod_run}[stack]
    settings, layout = settings_and_layout(stack)
    secret = run.one(SECRET, "secure-mesh-consul-vault-ca")
    assert secret.inputs["metadata"] == {"name": layout.vault_ca_secret_name, "namespace": layout.consul_namespace}
    assert secret.inputs["stringData"] == {layout.vault_ca_secret_key: settings.vault.tls.ca_cert_pem}
    assert secret.urn in run.one(RELEASE, CONSUL_RELEASE).dependencies


def test_no_vault_ca_secret_when_vaults_certificate_is_publicly_trusted() -> None:
    public_ca = run_program(deep_merge(load_stack_config("dev"), {"vault": {"tls": {"caCertFile": None}}}))
    assert [r.name for r in public_ca.of_type(SECRET) if r.name.startswith("secure-mesh-consul-")] == []


def test_external_vault_gets_the_injector_and_csi_provider(prod_run: ProgramRun) -> None:
    settings, layout = settings_and_layout("prod")
    injector = prod_run.one(RELEASE, INJECTOR_RELEASE)
    assert injector.inputs["chart"] == VAULT_CHART_NAME
    assert injector.inputs["version"] == VAULT_CHART_VERSION
    assert injector.inputs["repositoryOpts"] == {"repo": VAULT_CHART_REPOSITORY}
    assert injector.inputs["namespace"] == layout.vault_namespace
    assert injector.inputs["values"] == {
        "global": {"externalVaultAddr": settings.vault.address},
        "server": {"enabled": False},
        "injector": {
            "enabled": True,
            "replicas": 2,
            "authPath": layout.kubernetes_auth_login_path,
            # Pulumi.prod.yaml's images.vaultInjector / vaultAgent: the digest rides in the chart's tag.
            "image": {"repository": "hashicorp/vault-k8s", "tag": "1.7.0" + PLACEHOLDER_DIGEST},
            "agentImage": {"repository": "hashicorp/vault", "tag": "1.20.1" + PLACEHOLDER_DIGEST},
        },
        "csi": {
            "enabled": True,
            "volumes": [{"name": "vault-ca", "secret": {"secretName": layout.vault_ca_secret_name}}],
            "volumeMounts": [{"name": "vault-ca", "mountPath": "/vault/tls", "readOnly": True}],
            "image": {"repository": "hashicorp/vault-csi-provider", "tag": "1.5.1" + PLACEHOLDER_DIGEST},
            "agent": {"image": {"repository": "hashicorp/vault", "tag": "1.20.1" + PLACEHOLDER_DIGEST}},
        },
    }
    assert set(flatten(injector.inputs["values"])) <= VAULT_CHART_KEYS
    namespace = prod_run.one(NAMESPACE, "secure-mesh-consul-vault-namespace")
    assert namespace.inputs["metadata"]["name"] == layout.vault_namespace
    assert namespace.urn in injector.dependencies
    assert injector.urn in prod_run.one(RELEASE, CONSUL_RELEASE).dependencies, "Consul must wait for the injector"


def test_the_csi_provider_trusts_vaults_private_ca(prod_run: ProgramRun) -> None:
    settings, layout = settings_and_layout("prod")
    copy = prod_run.one("kubernetes:core/v1:Secret", "secure-mesh-consul-vault-ca-for-csi")
    assert copy.inputs["metadata"] == {"name": layout.vault_ca_secret_name, "namespace": layout.vault_namespace}
    assert copy.inputs["stringData"] == {layout.vault_ca_secret_key: settings.vault.tls.ca_cert_pem}
    assert copy.urn in prod_run.one(RELEASE, INJECTOR_RELEASE).dependencies, "the provider mounts it at start"
    csi = run_program(
        deep_merge(
            load_stack_config("prod"), {"consul": {"apiGatewayCertificateDelivery": "csi"}, "images": ALL_IMAGES_PINNED}
        ),
        stack="prod",
    )
    spc = csi.one(
        "kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass", "secure-mesh-onboarding-gateway-tls-provider"
    )
    assert spc.inputs["spec"]["parameters"]["vaultCACertPath"] == "/vault/tls/tls.crt"


def test_without_a_private_ca_the_csi_provider_mounts_nothing() -> None:
    settings, layout = settings_and_layout("prod", {"vault": {"tls": {"caCertPem": None}}})
    csi = build_vault_injector_values(settings, layout)["csi"]
    assert {key: value for key, value in csi.items() if key not in ("image", "agent")} == {"enabled": True}


def test_in_cluster_vault_installs_no_injector(dev_run: ProgramRun) -> None:
    # The Consul release alone (the gateway certificate's Vault Secrets Operator is onboarding's, not Vault's).
    assert [r.name for r in dev_run.of_type(RELEASE) if r.name != "secure-mesh-onboarding-vso"] == [CONSUL_RELEASE]
    assert [r.name for r in dev_run.of_type(NAMESPACE) if r.name.startswith("secure-mesh-consul-")] == [
        "secure-mesh-consul-namespace"
    ]


@pytest.mark.parametrize("stack", ["dev", "prod", "fed-primary"])
def test_role_names_auth_mount_and_kv_paths_reach_the_release_as_data(stack: str) -> None:
    """The values' role names, connectCA.authMethodPath and KV secret paths are Vault components' Outputs: the
    release waits for the roles, the auth mount's config and every KV secret it names through its values."""
    run = stack_run(stack)
    release = run.one(RELEASE, CONSUL_RELEASE)
    carried = {run.by_urn(urn).name for urn in release.property_dependencies["values"]}
    roles = {
        r.name
        for r in run.of_type("vault:kubernetes/authBackendRole:AuthBackendRole")
        if r.name.startswith("secure-mesh-identities-")
    }
    kv_secrets = {
        r.name for r in run.of_type("vault:kv/secretV2:SecretV2") if r.name.startswith("secure-mesh-secrets-")
    }
    assert len(roles) >= 4 and len(kv_secrets) >= 2, (roles, kv_secrets)
    assert carried == roles | kv_secrets | {"secure-mesh-identities-kubernetes-auth-config"}
