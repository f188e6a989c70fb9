"""The Pulumi YAML program of examples/yaml-program (issue 15 item 5): checked against the schema, run under mocks."""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

import pulumi_consul as consul
import pulumi_kubernetes as kubernetes
import pulumi_vault as vault
import pytest

import secure_mesh
from secure_mesh.component_package import PACKAGE_NAME, hosted_components
from tests.package.support import NOT_YET_IN_THE_YAML_PROGRAM, PROJECT_DIR, SCHEMA_FILE
from tests.package.yaml_program import ProgramChecker, YamlProgram, run_program

VAULT = "https://vault.example.internal:8200"
"""The program's ``vaultAddress`` default."""
PROGRAM_FILE = PROJECT_DIR / "examples" / "yaml-program" / "Pulumi.yaml"
PROVIDERS: dict[str, Any] = {"kubernetes": kubernetes.Provider, "vault": vault.Provider, "consul": consul.Provider}


def _program() -> YamlProgram:
    return YamlProgram.load(PROGRAM_FILE)


def _schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA_FILE.read_text())
    return loaded


def test_the_program_uses_the_package_from_this_checkout() -> None:
    program = _program()
    assert program.document["runtime"] == "yaml"
    assert (PROGRAM_FILE.parent / program.document["packages"][PACKAGE_NAME]).resolve() == PROJECT_DIR / "provider"
    assert program.component_resources(), "the example uses no component of the package"


def test_every_property_the_program_sets_matches_the_schema() -> None:
    assert ProgramChecker(_program(), _schema()).check() == []


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda r: r["consul"]["properties"].pop("chart"), "consul: required properties missing ['chart']"),
        (lambda r: r["consul"]["properties"].update(chartVersion=2), "consul.chartVersion: 2 is not a string"),
        (lambda r: r["consul"]["properties"].update(bogus=1), "consul: unknown properties ['bogus']"),
        (lambda r: r["consul"]["properties"].update(protect="${consul.status}"), "takes {'type': 'boolean'}"),
        (lambda r: r["consul"]["properties"].update(releaseName="${consul.nope}"), "has no output 'nope'"),
        (lambda r: r["consul"]["properties"].update(protect="yes ${datacenter}"), "an interpolated string"),
        (lambda r: r["consul"]["options"]["providers"].update(kubernetes="${consul}"), "not a kubernetes provider"),
        (lambda r: r["consul"]["properties"]["values"].update(x="${nothing}"), "${nothing} names nothing"),
        (lambda r: r["consul"]["properties"].update(releaseName="${secrets.kvMount}"), "a plain input cannot take"),
        (lambda r: r["consul"]["properties"]["values"].update(x="${secrets.kvMount}"), "a plain input cannot take"),
        (lambda r: r["gossipRotation"]["properties"]["job"].update(credsPath="${aclEngine.mount}"), "plain input"),
        (lambda r: r["intentions"]["properties"]["services"].update(ledger=3), "intentions.services.ledger: 3 is not"),
        (
            lambda r: r["intentions"]["properties"]["intentions"][2]["sources"][0].update(action="permit"),
            "intentions.intentions[2].sources[0].action: 'permit' is not one of ['allow', 'deny']",
        ),
        (lambda r: r["peering"]["properties"].update(meshEntry="${intentions.ready}"), "has no output 'ready'"),
    ],
)
def test_the_schema_check_of_the_program_catches_each_mistake(change: Any, problem: str) -> None:
    program = _program()
    document = copy.deepcopy(program.document)
    change(document["resources"])
    problems = ProgramChecker(YamlProgram(program.path, document), _schema()).check()
    assert any(problem in found for found in problems), problems


def test_the_program_uses_every_public_component() -> None:
    used = {resource["type"].rsplit(":", 1)[-1] for resource in _program().component_resources().values()}
    public = {component.__name__ for component in hosted_components()}
    missing = public - used - set(NOT_YET_IN_THE_YAML_PROGRAM)
    assert not missing, (
        f"examples/yaml-program/Pulumi.yaml uses no {sorted(missing)}: add a resource of that type (checked against "
        "the schema and run through the component host here), or list it in "
        "tests/package/support.py NOT_YET_IN_THE_YAML_PROGRAM"
    )
    assert used <= public
    stale = set(NOT_YET_IN_THE_YAML_PROGRAM) & used
    assert not stale, f"{sorted(stale)} are in the YAML program: remove them from NOT_YET_IN_THE_YAML_PROGRAM"


@pytest.fixture(scope="module")
def yaml_run() -> Any:
    from pulumi.provider.experimental.component import ComponentProvider

    host = ComponentProvider(hosted_components(), PACKAGE_NAME, None, secure_mesh.__version__)
    # As after `pulumi config set gossipKeyVersion 2` (and bootstrapTokenVersion): both rotations run, so each
    # rotation component builds its Job.
    return run_program(_program(), host, PROVIDERS, config={"gossipKeyVersion": 2, "bootstrapTokenVersion": 2})


def test_each_component_is_constructed_by_the_host_with_its_type_token(yaml_run: Any) -> None:
    for name, resource in _program().component_resources().items():
        (registered,) = [r for r in yaml_run.resources if r.type == resource["type"] and r.name == name]
        assert yaml_run.constructed[name] == registered.urn
        children = [r for r in yaml_run.resources if r.parent == registered.urn]
        assert children, f"{name} registered no resource"


def test_every_resource_uses_the_program_s_explicit_providers(yaml_run: Any) -> None:
    """The program disables default providers: each component hands its providers on to its children."""
    disabled = _program().disabled_default_providers
    assert disabled == {"vault", "kubernetes", "consul"}
    custom = [r for r in yaml_run.resources if r.custom and not r.type.startswith("pulumi:providers:")]
    assert {r.type.split(":")[0] for r in custom} >= disabled
    for resource in custom:
        package = resource.type.split(":")[0]
        if package not in disabled:
            continue
        assert f"pulumi:providers:{package}::" in resource.provider, resource
        assert not resource.provider.split("::")[-1].startswith("default"), f"{resource} uses a default provider"


def yaml_run_name(run: Any, urn: str) -> str:
    return str(next(r.name for r in run.resources if r.urn == urn))


def test_outputs_flow_from_one_component_into_the_next(yaml_run: Any) -> None:
    release = next(r for r in yaml_run.resources if r.type == "kubernetes:helm.sh/v3:Release")
    assert release.inputs["namespace"] == "edge-consul"
    vault_values = release.inputs["values"]["global"]
    assert vault_values["datacenter"] == "edge"
    assert vault_values["secretsBackend"]["vault"]["consulServerRole"] == "edge-consul-server"
    assert vault_values["gossipEncryption"]["secretName"] == "consul-edge/data/gossip"
    # The values a Vault component computed ride in the release's inputs: it waits for the resources behind them.
    waits_for = {yaml_run_name(yaml_run, urn) for urn in release.dependencies}
    assert waits_for == {
        "consul-namespace",
        "identities-consul-server-role",
        "identities-gossip-rotator-role",
        "secrets-bootstrap-token",
        "secrets-gossip",
        # The server chain's issue path waits for its role; its CA path for the CA's issuer and hygiene.
        "ca-server-role",
        *(f"ca-server-l1-{kind}" for kind in ("urls", "crl", "tidy", "issuer", "default-issuer")),
    }
    assert release.inputs["values"]["server"]["serverCert"]["secretName"] == "pki-server/issue/consul-server"
    assert vault_values["tls"]["caCert"]["secretName"] == "pki-server/cert/ca"
    assert set(yaml_run.outputs) == set(_program().document["outputs"])
    assert yaml_run.outputs["consulApi"] == "edge-consul-server"
    assert yaml_run.outputs["authMount"] == "kubernetes-edge"
    assert yaml_run.outputs["gossipKeyVersion"] == 2
    assert yaml_run.outputs["bootstrapTokenVersion"] == 2
    # Each rotation's Job is named after the version the program declares (registration order is the engine's).
    jobs = {r.name for r in yaml_run.resources if r.type == "kubernetes:batch/v1:Job"}
    assert jobs == {"gossipRotation-job-v2", "bootstrapTokenRotation-job-v2"}


def test_the_mesh_s_entries_reach_kubernetes_whole_and_in_the_order_consul_checks(yaml_run: Any) -> None:
    """The intentions resource: every protocol and action crossed the host, and every entry waits for the release."""

    def crd(kind: str, name: str, spec: dict[str, Any], **metadata: Any) -> dict[str, Any]:
        return {
            "apiVersion": "consul.hashicorp.com/v1alpha1",
            "kind": kind,
            "metadata": {"name": name, "namespace": "edge-consul", **metadata},
            "spec": spec,
        }

    mine = {r.name: r for r in yaml_run.resources if r.name.startswith("intentions-")}
    vault_ca = _program().config["vaultCaPem"]["default"]
    assert {name: r.inputs for name, r in mine.items()} == {
        "intentions-mesh": crd(
            "Mesh",
            "mesh",
            {
                "allowEnablingPermissiveMutualTLS": False,
                "peering": {"peerThroughMeshGateways": True},
                "tls": {"incoming": {"tlsMinVersion": "TLSv1_3"}, "outgoing": {"tlsMinVersion": "TLSv1_3"}},
                "transparentProxy": {"meshDestinationsOnly": True},
            },
            annotations={"pulumi.com/waitFor": "condition=Synced"},
        ),
        "intentions-proxy-defaults": crd(
            "ProxyDefaults", "global", {"meshGateway": {"mode": "local"}, "mutualTLSMode": "strict"}
        ),
        **{
            f"intentions-{service}-defaults": crd(
                "ServiceDefaults", service, {"protocol": protocol, "mutualTLSMode": "strict"}
            )
            for service, protocol in (("billing", "http"), ("ledger", "grpc"), ("postgres", "tcp"))
        },
        "intentions-billing-intentions": crd(
            "ServiceIntentions",
            "billing-intentions",
            {"destination": {"name": "billing"}, "sources": [{"name": "frontend", "peer": "core", "action": "allow"}]},
        ),
        "intentions-ledger-intentions": crd(
            "ServiceIntentions",
            "ledger-intentions",
            {
                "destination": {"name": "ledger"},
                "sources": [
                    {
                        "name": "billing",
                        "permissions": [
                            {
                                "action": "allow",
                                "http": {"pathPrefix": "/ledger.v1.Ledger/", "methods": ["POST"]},
                                "jwt": {
                                    "providers": [
                                        {
                                            "name": "vault",
                                            "verifyClaims": [
                                                {"path": ["k8s_service_account"], "value": "billing"},
                                                {"path": ["k8s_namespace"], "value": "billing"},
                                            ],
                                        }
                                    ]
                                },
                            }
                        ],
                    }
                ],
            },
        ),
        "intentions-vault-jwt-provider": crd(
            "JWTProvider",
            "vault",
            {
                "issuer": f"{VAULT}/v1/identity/oidc",
                "audiences": ["edge-jwt-vault"],
                "jsonWebKeySet": {
                    "remote": {
                        "uri": f"{VAULT}/v1/identity/oidc/.well-known/keys",
                        "cacheDuration": "5m",
                        "fetchAsynchronously": False,
                        "jwksCluster": {
                            "discoveryType": "STRICT_DNS",
                            "tlsCertificates": {"trustedCA": {"inlineString": vault_ca}},
                        },
                    }
                },
            },
        ),
        "intentions-postgres-intentions": crd(
            "ServiceIntentions",
            "postgres-intentions",
            {
                "destination": {"name": "postgres"},
                "sources": [{"name": "ledger", "action": "allow"}, {"name": "billing", "action": "deny"}],
            },
        ),
        "intentions-default-deny": crd(
            "ServiceIntentions",
            "default-deny",
            {"destination": {"name": "*"}, "sources": [{"name": "*", "action": "deny"}]},
        ),
    }

    def waits_for(name: str) -> set[str]:
        return {yaml_run_name(yaml_run, urn) for urn in mine[name].dependencies}

    # consulRelease: ${consul.status} holds back every entry; then Consul's own validation order.
    assert waits_for("intentions-mesh") == {"consul-release"}
    assert waits_for("intentions-proxy-defaults") == {"consul-release", "intentions-mesh"}
    for service in ("billing", "ledger", "postgres"):
        assert waits_for(f"intentions-{service}-defaults") == {
            "consul-release", "intentions-mesh", "intentions-proxy-defaults"
        }
        # ledger's permission requires the provider's tokens: Consul refuses the entry until the provider exists.
        provider = {"intentions-vault-jwt-provider"} if service == "ledger" else set()
        assert waits_for(f"intentions-{service}-intentions") == {
            "consul-release", f"intentions-{service}-defaults", "intentions-proxy-defaults", *provider
        }
    assert waits_for("intentions-vault-jwt-provider") == {"consul-release"}
    assert waits_for("intentions-default-deny") == {"consul-release"}
    assert yaml_run.outputs["intentionDestinations"] == ["billing", "ledger", "postgres", "*"]


def test_the_peering_waits_for_the_release_and_the_mesh_entry(yaml_run: Any) -> None:
    """meshEntry: ${intentions.meshEntryName}: the token advertises the gateways only once the mesh entry says so."""
    token = next(r for r in yaml_run.resources if r.type == "consul:index/peeringToken:PeeringToken")
    exported = next(r for r in yaml_run.resources if r.name == "peering-exported-services")
    assert token.inputs == {"peerName": "core", "meta": {"secure-mesh/dialer-stack": "acme/secure-mesh/core"}}
    assert {yaml_run_name(yaml_run, urn) for urn in token.dependencies} == {"consul-release", "intentions-mesh"}
    assert exported.inputs["spec"] == {"services": [{"name": "billing", "consumers": [{"peer": "core"}]}]}
    assert {yaml_run_name(yaml_run, urn) for urn in exported.dependencies} == {
        "consul-release", "intentions-mesh", "peering-core-token"
    }


def test_billing_s_vault_tokens_come_from_its_own_role_and_its_policy_reads_only_that(yaml_run: Any) -> None:
    """``authMountAccessor: ${identities.authMountAccessor}``: the role's template names the mount the app logs in
    through, so the role waits for the mount; the key allows exactly the audience the provider accepts."""
    oidc = {r.name: r for r in yaml_run.resources if r.type.startswith("vault:identity/oidc")}
    accessor = "auth_kubernetes_" + hashlib.sha256(b"identities-kubernetes-auth").hexdigest()[:8]
    alias = f"identity.entity.aliases.{accessor}.metadata"
    assert {name: r.inputs for name, r in oidc.items()} == {
        "jwtIssuer-key": {
            "name": "edge-jwt-vault",
            "algorithm": "RS256",
            "rotationPeriod": 86400,
            "verificationTtl": 86400,
            "allowedClientIds": ["edge-jwt-vault"],
        },
        "jwtIssuer-billing-role": {
            "name": "edge-jwt-vault-billing",
            "key": "edge-jwt-vault",
            "template": (
                f'{{"k8s_namespace": {{{{{alias}.service_account_namespace}}}}, '
                f'"k8s_service_account": {{{{{alias}.service_account_name}}}}}}'
            ),
            "ttl": 900,
            "clientId": "edge-jwt-vault",
        },
    }
    assert {yaml_run_name(yaml_run, urn) for urn in oidc["jwtIssuer-billing-role"].dependencies} == {
        "jwtIssuer-key", "identities-kubernetes-auth"
    }
    policy = next(r for r in yaml_run.resources if r.type == "vault:index/policy:Policy" and "billing" in r.name)
    assert json.loads(policy.inputs["policy"])["path"]["identity/oidc/token/edge-jwt-vault-billing"] == {
        "capabilities": ["read"]
    }
    assert yaml_run.outputs["billingJwtTokenPath"] == "identity/oidc/token/edge-jwt-vault-billing"
