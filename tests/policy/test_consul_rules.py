"""Issue 14 class 7: Consul settings smuggled through free-form keys, exposed APIs and floating charts.

Every case starts from the Consul release the program registers for a checked-in stack (the real values
document) and changes one thing the way a careless pull request would; the hand-written Kubernetes
``Service`` and Helm ``Chart`` cases use the shapes pulumi-kubernetes registers.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from secure_mesh_policy import types as t
from secure_mesh_policy.chart import ConsulValues
from secure_mesh_policy.framework import Res

from tests.conftest import stack_run
from tests.policy.support import RULES, Subject, check, mandatory, private_subjects, run_rules

RELEASE = "secure-mesh-consul-release"


def release_props(stack: str = "dev", **values: Any) -> dict[str, Any]:
    """The program's Consul release inputs for a stack, with Helm values set by dotted key (None deletes)."""
    release = next(r for r in stack_run(stack).resources if r.name == RELEASE)
    props = copy.deepcopy(release.inputs)
    for dotted, value in values.items():
        node = props["values"]
        keys = dotted.split(".")
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        if value is None:
            node.pop(keys[-1], None)
        else:
            node[keys[-1]] = value
    return props


def messages(policy: str, props: dict[str, Any], type_: str = t.HELM_RELEASE, stack: str = "dev") -> list[str]:
    return check(policy, type_, props, name=RELEASE if type_ == t.HELM_RELEASE else "subject", stack=stack)


@pytest.mark.parametrize("stack", ["dev", "prod"])
@pytest.mark.parametrize("policy", ["csl-extra-config", "csl-expose", "csl-chart-pin"])
def test_program_release_passes(policy: str, stack: str) -> None:
    assert messages(policy, release_props(stack), stack=stack) == []


# ------------------------------------------------------------------------------------ extraConfig

SMUGGLED = [
    ("server", {"verify_incoming": False}, "verify_incoming", "verification off"),
    ("server", {"verify_outgoing": "false"}, "verify_outgoing", "verification off"),
    ("server", {"verify_server_hostname": False}, "verify_server_hostname", "verification off"),
    ("server", {"tls": {"defaults": {"verify_incoming": False}}}, "tls.defaults.verify_incoming", "verification"),
    ("client", {"tls": {"internal_rpc": {"verify_server_hostname": False}}}, "internal_rpc", "verification"),
    ("server", {"tls": {"https": {"verify_outgoing": False}}}, "tls.https.verify_outgoing", "verification"),
    ("server", {"tls": {"defaults": {"tls_min_version": "TLSv1_0"}}}, "tls_min_version", "below 1.2"),
    ("server", {"tls_min_version": "tls11"}, "tls_min_version", "below 1.2"),
    ("server", {"ports": {"http": 8500}}, "ports.http", "plain-text listener"),
    ("server", {"ports": {"http": "8500"}}, "ports.http", "plain-text listener"),
    ("server", {"ports": {"grpc": 8502}}, "ports.grpc", "plain-text listener"),
    ("client", {"ports": {"http": 0}}, "ports.http", "plain-text listener"),
    ("server", {"acl": {"down_policy": "allow"}}, "acl.down_policy", "while ACLs cannot be resolved"),
    ("server", {"acl_down_policy": "allow"}, "acl_down_policy", "while ACLs cannot be resolved"),
    ("server", {"acl": {"tokens": {"default": "b1gs3cr3t"}}}, "acl.tokens.default", "ACL token"),
    ("server", {"acl": {"tokens": {"initial_management": "b1gs3cr3t"}}}, "initial_management", "ACL token"),
    ("server", {"acl_token": "b1gs3cr3t"}, "acl_token", "ACL token"),
    ("server", {"auto_encrypt": {"allow_tls": False}}, "auto_encrypt.allow_tls", "auto-encrypt off"),
    ("client", {"auto_encrypt": {"tls": False}}, "auto_encrypt.tls", "auto-encrypt off"),
]


@pytest.mark.parametrize(("agent", "extra", "path", "problem"), SMUGGLED, ids=[s[2] + "@" + s[0] for s in SMUGGLED])
def test_extra_config_smuggling_is_caught(agent: str, extra: dict[str, Any], path: str, problem: str) -> None:
    # The real values keep their other extraConfig keys: the smuggled option is merged into them.
    props = release_props()
    current = json.loads(props["values"].get(agent, {}).get("extraConfig", "{}"))
    props["values"].setdefault(agent, {})["extraConfig"] = json.dumps({**current, **extra})
    found = messages("csl-extra-config", props)
    assert len(found) == 1, found
    assert f"values.{agent}.extraConfig." in found[0] and path in found[0] and problem in found[0], found
    assert "b1gs3cr3t" not in found[0], "a token must never be echoed into a policy message"


@pytest.mark.parametrize(
    "extra",
    [
        {"verify_incoming": True, "verify_outgoing": True, "verify_server_hostname": True},
        {"tls": {"defaults": {"tls_min_version": "TLSv1_3"}}},
        {"ports": {"http": -1, "grpc": -1, "grpc_tls": 8502, "https": 8501}},
        {"ports": {"http": "-1"}},
        {"acl": {"default_policy": "deny", "down_policy": "extend-cache"}},
        {"auto_encrypt": {"allow_tls": True}},
        {"log_level": "INFO", "performance": {"raft_multiplier": 1}},
    ],
)
def test_extra_config_that_keeps_the_chart_secure_passes(extra: dict[str, Any]) -> None:
    props = release_props(**{"server.extraConfig": json.dumps(extra)})
    assert messages("csl-extra-config", props) == []


def test_extra_config_must_be_json() -> None:
    found = messages("csl-extra-config", release_props(**{"client.extraConfig": "verify_incoming = false"}))
    assert len(found) == 1 and "not valid JSON" in found[0], found


def test_other_charts_extra_config_is_not_read_as_consuls() -> None:
    props = release_props(**{"server.extraConfig": json.dumps({"verify_incoming": False})})
    assert messages("csl-extra-config", {**props, "chart": "vault"}) == []


# ------------------------------------------------------------------------------------ exposure


@pytest.mark.parametrize(
    ("values", "key"),
    [
        ({"ui.service.type": "LoadBalancer"}, "ui.service.type"),
        ({"ui.service.type": "NodePort"}, "ui.service.type"),
        ({"ui.ingress.enabled": True}, "ui.ingress.enabled"),
        ({"server.exposeService.enabled": True}, "server.exposeService.enabled"),
        ({"server.exposeService.enabled": "true"}, "server.exposeService.enabled"),
        ({"global.adminPartitions.enabled": True}, "server.exposeService.enabled"),  # the chart's "-" default
        ({"server.exposeGossipAndRPCPorts": True}, "server.exposeGossipAndRPCPorts"),
        ({"client.exposeGossipPorts": True}, "client.exposeGossipPorts"),
        ({"client.hostNetwork": "true"}, "client.hostNetwork"),
    ],
)
def test_exposed_ui_or_api_is_caught(values: dict[str, Any], key: str) -> None:
    found = messages("csl-expose", release_props(**values))
    assert len(found) == 1 and f"values.{key}" in found[0], found


@pytest.mark.parametrize(
    "values",
    [
        {"ui.service.type": "ClusterIP"},
        {"ui.ingress.enabled": False},
        {"server.exposeService.enabled": False, "global.adminPartitions.enabled": True},
        {"server.exposeService.enabled": "-"},
        {"server.exposeGossipAndRPCPorts": False, "client.hostNetwork": False, "client.exposeGossipPorts": False},
    ],
)
def test_cluster_internal_ui_and_api_pass(values: dict[str, Any]) -> None:
    assert messages("csl-expose", release_props(**values)) == []


def service(kind: str, selector: dict[str, str], ports: list[dict[str, Any]]) -> dict[str, Any]:
    """A ``kubernetes.core.v1.Service`` as pulumi-kubernetes registers it."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "consul-public", "namespace": "consul"},
        "spec": {"type": kind, "selector": selector, "ports": ports},
    }


@pytest.mark.parametrize(
    ("props", "caught"),
    [
        (service("LoadBalancer", {"app": "consul", "component": "server"}, [{"port": 443, "targetPort": 8501}]), True),
        (service("NodePort", {"app": "consul", "component": "ui"}, [{"port": 80}]), True),
        (service("LoadBalancer", {"app": "anything"}, [{"port": 8500}]), True),
        (service("ClusterIP", {"app": "consul", "component": "server"}, [{"port": 8501}]), False),
        (service("LoadBalancer", {"app": "web"}, [{"port": 443, "targetPort": 8443}]), False),
    ],
)
def test_hand_written_services_in_front_of_consul(props: dict[str, Any], caught: bool) -> None:
    found = messages("csl-expose", props, type_=t.K8S_SERVICE)
    assert bool(found) is caught, found
    if caught:
        assert "spec.type" in found[0] and "Fix: use ClusterIP" in found[0]


# ------------------------------------------------------------------------------------ chart pins


@pytest.mark.parametrize("version", [None, "", "^2.0.3", "~2.0", "2.0", ">=2.0.3", "2.0.x", "*", "latest"])
def test_floating_chart_versions_are_caught(version: str | None) -> None:
    found = messages("csl-chart-pin", release_props() | {"version": version})
    assert len(found) == 1 and "not one exact chart version" in found[0], found


def test_the_consul_chart_must_be_the_version_the_pack_reads() -> None:
    found = messages("csl-chart-pin", release_props() | {"version": "1.9.2"})
    assert len(found) == 1 and "2.0.3" in found[0], found


@pytest.mark.parametrize(
    ("chart", "is_consul"),
    [
        ("consul", True),
        ("hashicorp/consul", True),  # a repository alias
        ("oci://registry.example/hashicorp/consul/", True),  # an OCI reference, trailing slash and all
        ("oci://registry.example/consul-k8s", False),
        ("hashicorp/vault", False),
    ],
)
def test_the_consul_chart_is_known_by_the_last_segment_of_its_reference(chart: str, is_consul: bool) -> None:
    found = messages("csl-chart-pin", release_props() | {"chart": chart, "version": "1.9.2"})
    assert len(found) == (1 if is_consul else 0), found
    assert messages("csl-chart-pin", release_props() | {"chart": chart, "version": "v2.0.3"}) == []


def test_other_charts_need_only_an_exact_version() -> None:
    vault = {"chart": "vault", "version": "0.30.1", "repositoryOpts": {"repo": "https://helm.releases.hashicorp.com"}}
    assert messages("csl-chart-pin", vault) == []
    assert messages("csl-chart-pin", {**vault, "version": "0.30"})


def test_helm_v4_charts_are_checked_too() -> None:
    chart = {"chart": "oci://registry.example/consul", "version": "^2"}
    assert messages("csl-chart-pin", chart, type_=t.HELM_CHART_V4)
    assert messages("csl-chart-pin", {**chart, "version": "2.0.3"}, type_=t.HELM_CHART_V4) == []


# ------------------------------------------------------------------------------ over whole stacks


def _weakened_dev(**values: Any) -> list[Subject]:
    subjects = private_subjects(stack_run("dev").resources)
    release = next(s for s in subjects if s.name == RELEASE)
    release.props = release_props(**values)
    return subjects


@pytest.mark.parametrize(
    ("policy", "values"),
    [
        ("csl-extra-config", {"server.extraConfig": json.dumps({"ports": {"http": 8500}})}),
        ("csl-expose", {"ui.service.type": "LoadBalancer"}),
    ],
)
def test_a_weakened_dev_stack_is_blocked(policy: str, values: dict[str, Any]) -> None:
    violations, _ = run_rules(_weakened_dev(**values))
    assert [v.policy for v in mandatory(violations)] == [policy]
    assert RULES[policy].info.enforcement.value == "mandatory"


def test_agent_configuration_the_pack_cannot_read_is_refused() -> None:
    volume = {"type": "configMap", "name": "consul-extra", "load": True}
    found = messages("csl-extra-config", release_props(**{"server.extraVolumes": [volume]}))
    assert len(found) == 1 and "server.extraVolumes[0].load" in found[0], found
    mounted_only = {"type": "secret", "name": "certs", "load": False}
    assert messages("csl-extra-config", release_props(**{"client.extraVolumes": [mounted_only]})) == []
    found = messages("csl-extra-config", release_props() | {"valueYamlFiles": ["values-extra.yaml"]})
    assert len(found) == 1 and "valueYamlFiles" in found[0], found


# ------------------------------------------------------------------- CSL-CA-TTL: Consul's own CA validation


def _ca_extra(**ca_config: str) -> dict[str, Any]:
    return release_props(**{"server.extraConfig": json.dumps({"connect": {"ca_config": ca_config}})})


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_program_s_consul_ca_config_passes_consul_s_validation(stack: str) -> None:
    assert messages("csl-ca-ttl", release_props(stack), stack=stack) == []


@pytest.mark.parametrize(
    ("ca_config", "finding"),
    [
        # leaf_cert_ttl: 1h..8760h inclusive (MinLeafCertTTL / MaxLeafCertTTL).
        ({"leaf_cert_ttl": "1h", "intermediate_cert_ttl": "3h"}, None),
        (
            {"leaf_cert_ttl": "59m"},
            "leaf_cert_ttl in values.server.extraConfig = '59m': Consul refuses a leaf_cert_ttl outside 1h to "
            "8760h. Fix: set leaf_cert_ttl to 72h",
        ),
        ({"leaf_cert_ttl": "8760h", "intermediate_cert_ttl": "26280h"}, None),
        ({"leaf_cert_ttl": "8761h", "intermediate_cert_ttl": "87600h"}, "outside 1h to 8760h"),
        # intermediate_cert_ttl >= 3 x leaf, exactly 3 x passes.
        ({"intermediate_cert_ttl": "216h"}, None),
        (
            {"intermediate_cert_ttl": "215h"},
            "intermediate_cert_ttl in values.server.extraConfig = '215h': Consul refuses an "
            "intermediate_cert_ttl below 3h and below 3 × leaf_cert_ttl (72h). Fix: set intermediate_cert_ttl to at "
            "least 216h",
        ),
        # root_cert_ttl >= intermediate_cert_ttl (default 87600h), equal passes.
        ({"root_cert_ttl": "8760h"}, None),
        (
            {"root_cert_ttl": "8759h"},
            "root_cert_ttl in values.server.extraConfig = '8759h': Consul refuses a root_cert_ttl shorter "
            "than intermediate_cert_ttl (8760h)",
        ),
    ],
)
def test_consul_ca_ttl_boundaries(ca_config: dict[str, str], finding: str | None) -> None:
    found = messages("csl-ca-ttl", _ca_extra(**ca_config))
    if finding is None:
        assert found == []
    else:
        assert len(found) == 1 and finding in found[0], found


def test_extra_config_overrides_the_connect_ca_additional_config() -> None:
    """The chart loads server.extraConfig after everything else, so its value is the one Consul validates."""
    props = _ca_extra(intermediate_cert_ttl="100h")
    found = messages("csl-ca-ttl", props)
    assert len(found) == 1 and "intermediate_cert_ttl in values.server.extraConfig = '100h'" in found[0], found


def test_a_consul_certificate_authority_resource_is_checked_with_consul_s_defaults() -> None:
    """After bootstrap the CA config goes through the provider's resource; missing keys take Consul's defaults."""
    only_leaf = {"connectProvider": "vault", "configJson": json.dumps({"LeafCertTTL": "4000h"})}
    found = messages("csl-ca-ttl", only_leaf, type_=t.CONSUL_CA)
    assert found == [
        "CertificateAuthority 'subject': intermediate_cert_ttl (unset: Consul's default) = '8760h': Consul refuses an "
        "intermediate_cert_ttl below 3h and below 3 × leaf_cert_ttl (4000h). Fix: set intermediate_cert_ttl to at "
        "least 12000h"
    ]
    legacy_map = {"connectProvider": "vault", "config": {"LeafCertTTL": "72h", "IntermediateCertTTL": "2h"}}
    assert len(messages("csl-ca-ttl", legacy_map, type_=t.CONSUL_CA)) == 1



def test_the_client_role_is_in_use_only_with_client_agents() -> None:
    """Chart 2.0.3 runs no client DaemonSet unless client.enabled (charts/consul/templates/client-daemonset.yaml), so
    the client role's needs (gossip key, CA) count only then; every other role key is in use whenever set."""

    def in_use(clients: bool) -> list[str]:
        props = release_props(
            **{"client.enabled": clients, "global.secretsBackend.vault.consulClientRole": "consul-client"}
        )
        return list(ConsulValues.of(Res(t.HELM_RELEASE, RELEASE, "urn:consul", props)).role_keys_in_use())

    with_clients = in_use(True)
    assert "consulClientRole" in with_clients and "consulServerRole" in with_clients
    assert in_use(False) == [k for k in with_clients if k != "consulClientRole"]


@pytest.mark.parametrize("port", ["8500.0", "²", "http", "", [8500]])
def test_a_port_value_that_is_no_whole_decimal_number_opens_nothing(port: Any) -> None:
    """Consul decodes ports as integers and refuses anything else at start-up, so only a whole number (or its
    decimal text) opens a listener; a superscript digit, which str.isdigit() accepts but int() refuses, is no
    port either, and reading it must not fail."""
    from secure_mesh_policy.consul_agent import agent_config_findings

    assert list(agent_config_findings({"ports": {"http": port, "grpc": -1}})) == []
    assert [p for p, *_ in agent_config_findings({"ports": {"http": 8500.0}})] == ["ports.http"]
