"""The API gateway's certificate through the Vault CSI provider, the Gateway and the routes; renewal vs. TTL."""

from __future__ import annotations

import pytest
import yaml

from secure_mesh.onboarding.plan import rotation_poll_interval
from tests.consul.helpers import stack_settings
from tests.harness import deep_merge, load_stack_config, run_program
from tests.onboarding.stacks import PLACEHOLDER_DIGEST, csi_run, onboarding_run

SPC = "kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass"
GATEWAY = "kubernetes:gateway.networking.k8s.io/v1:Gateway"
ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
RELEASE = "kubernetes:helm.sh/v3:Release"


def test_secret_provider_class_issues_from_the_gateway_chain_and_syncs_a_tls_secret() -> None:
    spc = csi_run().one(SPC, "secure-mesh-onboarding-gateway-tls-provider")
    assert spc.inputs["metadata"] == {"name": "api-gateway-vault-tls", "namespace": "consul"}
    spec = spc.inputs["spec"]
    assert spec["provider"] == "vault"
    parameters = dict(spec["parameters"])
    objects = yaml.safe_load(parameters.pop("objects"))
    assert parameters == {
        "vaultAddress": "https://vault.vault.svc.cluster.local:8200",
        "roleName": "api-gateway",
        "vaultKubernetesMountPath": "kubernetes-dc1",
        "audience": "vault",  # in-cluster Vault reviews with its own token: the dedicated workload audience
        # scripts/dev-up.sh mounts the laptop Vault's CA there in the CSI provider it installs.
        "vaultCACertPath": "/vault/tls/tls.crt",
    }
    request = {"common_name": "web.apps.secure-mesh.test", "alt_names": "web.apps.secure-mesh.test", "ttl": "720h"}
    assert objects == [
        {
            "objectName": "tls.crt",
            "secretPath": "consul/gateway/pki_int1/issue/api-gateway",
            "secretKey": "certificate",
            "method": "PUT",
            "secretArgs": request,
        },
        {
            "objectName": "tls.key",
            "secretPath": "consul/gateway/pki_int1/issue/api-gateway",
            "secretKey": "private_key",
            "method": "PUT",
            "secretArgs": request,
        },
    ]
    assert spec["secretObjects"] == [
        {
            "secretName": "api-gateway-tls",
            "type": "kubernetes.io/tls",
            "data": [{"objectName": "tls.crt", "key": "tls.crt"}, {"objectName": "tls.key", "key": "tls.key"}],
        }
    ]


def test_gateway_serves_https_with_the_synced_secret_to_route_namespaces_only() -> None:
    gateway = onboarding_run().one(GATEWAY, "secure-mesh-onboarding-gateway")
    assert gateway.inputs["metadata"] == {"name": "api-gateway", "namespace": "consul"}
    assert gateway.inputs["spec"] == {
        "gatewayClassName": "consul",
        "listeners": [
            {
                "name": "https",
                "protocol": "HTTPS",
                "port": 443,
                "hostname": "web.apps.secure-mesh.test",
                "tls": {"mode": "Terminate", "certificateRefs": [{"kind": "Secret", "name": "api-gateway-tls"}]},
                "allowedRoutes": {
                    "kinds": [{"kind": "HTTPRoute"}],
                    "namespaces": {
                        "from": "Selector",
                        "selector": {
                            "matchExpressions": [
                                {"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["web"]}
                            ]
                        },
                    },
                },
            }
        ],
    }


def test_each_routed_app_gets_an_http_route_to_its_service() -> None:
    run = onboarding_run()
    route = run.one(ROUTE, "secure-mesh-onboarding-web-route")
    assert route.inputs["metadata"] == {"name": "web-route", "namespace": "web"}
    assert route.inputs["spec"] == {
        "parentRefs": [{"name": "api-gateway", "namespace": "consul", "sectionName": "https"}],
        "hostnames": ["web.apps.secure-mesh.test"],
        "rules": [
            {
                "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                "backendRefs": [{"name": "web", "port": 80}],
            }
        ],
    }
    assert [r.name for r in run.of_type(ROUTE)] == ["secure-mesh-onboarding-web-route"], "only apps with a route"


def test_sync_workload_mounts_the_csi_volume_as_the_gateway_service_account() -> None:
    run = csi_run()
    deployment = run.one(DEPLOYMENT, "secure-mesh-onboarding-gateway-certificate-sync")
    pod = deployment.inputs["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "api-gateway"
    assert pod["volumes"][0]["csi"] == {
        "driver": "secrets-store.csi.k8s.io",
        "readOnly": True,
        "volumeAttributes": {"secretProviderClass": "api-gateway-vault-tls"},
    }
    assert pod["containers"][0]["volumeMounts"][0]["name"] == pod["volumes"][0]["name"]
    needs = {run.by_urn(urn).name for urn in deployment.dependencies}
    assert {
        "secure-mesh-onboarding-gateway-tls-provider",
        "secure-mesh-onboarding-gateway",
        "secure-mesh-onboarding-gateway-role",
    } <= needs


@pytest.mark.parametrize(
    ("leaf_ttl", "expected"),
    [("720h", "24h"), ("72h", "24h"), ("24h", "8h"), ("6h", "2h"), ("1h", "20m"), ("10m", "5m")],
)
def test_rotation_poll_is_a_third_of_the_leaf_ttl_within_bounds(leaf_ttl: str, expected: str) -> None:
    override = {"pki": {"chains": {"gateway": {"leafTtl": leaf_ttl, "leafMaxTtl": "720h"}}}}
    assert rotation_poll_interval(stack_settings("dev", override)) == expected


def test_external_vault_installs_the_csi_driver_with_rotation() -> None:
    release = csi_run("prod").one(RELEASE, "secure-mesh-onboarding-csi-driver")
    assert release.inputs["chart"] == "secrets-store-csi-driver"
    assert release.inputs["namespace"] == "kube-system"
    assert release.inputs["values"] == {
        "syncSecret": {"enabled": True},
        "enableSecretRotation": True,
        "rotationPollInterval": "24h",
        # Pulumi.prod.yaml's images.csi*: every image the chart runs, the digest riding in the chart's tag.
        "linux": {
            "image": {"repository": "registry.k8s.io/csi-secrets-store/driver", "tag": "v1.5.5" + PLACEHOLDER_DIGEST},
            "registrarImage": {
                "repository": "registry.k8s.io/sig-storage/csi-node-driver-registrar",
                "tag": "v2.13.0" + PLACEHOLDER_DIGEST,
            },
            "livenessProbeImage": {
                "repository": "registry.k8s.io/sig-storage/livenessprobe",
                "tag": "v2.15.0" + PLACEHOLDER_DIGEST,
            },
            "crds": {
                "image": {
                    "repository": "registry.k8s.io/csi-secrets-store/driver-crds",
                    "tag": "v1.5.5" + PLACEHOLDER_DIGEST,
                }
            },
        },
    }
    spc = csi_run("prod").one(SPC, "secure-mesh-onboarding-gateway-tls-provider")
    assert spc.inputs["spec"]["parameters"]["vaultTLSServerName"] == "vault.prod.example.com"
    needs = {csi_run("prod").by_urn(urn).name for urn in spc.dependencies}
    assert "secure-mesh-onboarding-csi-driver" in needs
    assert all(r.name != "secure-mesh-onboarding-csi-driver" for r in csi_run("dev").of_type(RELEASE)), (
        "dev-up.sh installs the driver next to the in-cluster Vault"
    )


def test_no_gateway_without_a_route_or_with_the_api_gateway_off() -> None:
    base = load_stack_config("dev")
    no_routes = deep_merge(base, {"apps": [{k: v for k, v in app.items() if k != "route"} for app in base["apps"]]})
    gateway_off = deep_merge(no_routes, {"consul": {"apiGateway": False}})
    for config in (no_routes, gateway_off):
        run = run_program(config)
        assert not run.of_type(GATEWAY) and not run.of_type(SPC) and not run.of_type(ROUTE)
        assert not [r for r in run.of_type("vault:index/policy:Policy") if r.inputs["name"].endswith("api-gateway")]
