"""Issue 14 class 8: mesh bypasses — permissive mTLS, non-mesh destinations, weak mesh TLS, missing or doubled
mesh entries, gateways open to every namespace — in every rendering a change can use.

Compliant shapes are the resources the program registers (custom resources in the dev stack, config entries
in the dev stack rendered with ``config-entries``); violating shapes change one field of those, or add the
resource a hand-written change would (a ``consul.ConfigEntry``, a CR from YAML).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from secure_mesh_policy import types as t

from tests.conftest import stack_run
from tests.harness import ProgramRun, deep_merge, load_stack_config, run_program
from tests.policy.support import (
    RULES,
    Subject,
    check,
    check_stack,
    from_run,
    mandatory,
    private_subjects,
    run_rules,
    subject,
)

MESH_RULES = ["mesh-mtls-strict", "mesh-destinations", "mesh-tls-version", "mesh-gateway-routes"]
CONFIG_ENTRIES = {"consul": {"intentionsRendering": "config-entries", "address": "https://localhost:8501"}}


@pytest.fixture(scope="module")
def entries_run() -> ProgramRun:
    return run_program(deep_merge(load_stack_config("dev"), CONFIG_ENTRIES), stack="dev")


def inputs_of(run: ProgramRun, name: str) -> tuple[str, dict[str, Any]]:
    resource = next(r for r in run.resources if r.name == name)
    return resource.type, copy.deepcopy(resource.inputs)


def found(policy: str, type_: str, props: dict[str, Any]) -> list[str]:
    return check(policy, type_, props)


# ----------------------------------------------------------------------------- compliant program shapes


@pytest.mark.parametrize("rendering", ["crds", "config-entries"])
def test_program_mesh_resources_pass_every_mesh_rule(rendering: str, entries_run: ProgramRun) -> None:
    run = stack_run("dev") if rendering == "crds" else entries_run
    subjects = from_run(run.resources)
    violations, unknowns = run_rules(subjects, [RULES[p] for p in [*MESH_RULES, "mesh-entry"]])
    assert violations == [] and unknowns == []
    checked = [s for s in subjects if "intentions-mesh" in s.name or "proxy-defaults" in s.name]
    assert len(checked) == 2, "the rules must have had both mesh-wide entries to read"


def test_prod_passes_every_mesh_rule_also_as_preview() -> None:
    for preview in (False, True):
        violations, unknowns = run_rules(
            from_run(stack_run("prod", preview=preview).resources), [RULES[p] for p in [*MESH_RULES, "mesh-entry"]]
        )
        assert (violations, unknowns) == ([], []), preview


# ----------------------------------------------------------------------------------- permissive mTLS


def _crd(kind: str, name: str, spec: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return (
        f"kubernetes:consul.hashicorp.com/v1alpha1:{kind}",
        {
            "apiVersion": "consul.hashicorp.com/v1alpha1",
            "kind": kind,
            "metadata": {"name": name, "namespace": "consul"},
            "spec": spec,
        },
    )


def _entry(kind: str, name: str, document: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return t.CONSUL_CONFIG_ENTRY, {"kind": kind, "name": name, "configJson": json.dumps(document)}


PERMISSIVE = [
    ("crd-service-defaults", _crd("ServiceDefaults", "web", {"protocol": "http", "mutualTLSMode": "permissive"})),
    ("crd-proxy-defaults", _crd("ProxyDefaults", "global", {"mutualTLSMode": "permissive"})),
    ("crd-mesh", _crd("Mesh", "mesh", {"allowEnablingPermissiveMutualTLS": True})),
    ("entry-service-defaults", _entry("service-defaults", "web", {"MutualTLSMode": "permissive"})),
    ("entry-proxy-defaults", _entry("proxy-defaults", "global", {"mutual_tls_mode": "permissive"})),
    ("entry-mesh", _entry("mesh", "mesh", {"AllowEnablingPermissiveMutualTLS": True})),
    (
        "pulumi-service-defaults",
        (
            t.CONSUL_SERVICE_DEFAULTS,
            {"name": "web", "protocol": "http", "mutualTlsMode": "permissive", "exposes": [{}]},
        ),
    ),
    (
        "crd-expose-paths",
        _crd("ServiceDefaults", "web", {"expose": {"paths": [{"path": "/metrics", "listenerPort": 20200}]}}),
    ),
    (
        "pulumi-expose-paths",
        (
            t.CONSUL_SERVICE_DEFAULTS,
            {"name": "web", "protocol": "http", "exposes": [{"paths": [{"path": "/admin", "listenerPort": 21500}]}]},
        ),
    ),
    ("entry-expose-paths", _entry("proxy-defaults", "global", {"Expose": {"Paths": [{"Path": "/"}]}})),
]


@pytest.mark.parametrize(("case", "resource"), PERMISSIVE, ids=[p[0] for p in PERMISSIVE])
def test_permissive_mtls_is_caught_in_every_rendering(case: str, resource: tuple[str, dict[str, Any]]) -> None:
    messages = found("mesh-mtls-strict", *resource)
    assert len(messages) == 1, messages
    assert "Fix:" in messages[0]


def test_program_service_defaults_made_permissive_are_caught(entries_run: ProgramRun) -> None:
    type_, props = inputs_of(entries_run, "secure-mesh-intentions-web-defaults")
    assert found("mesh-mtls-strict", type_, props) == []
    assert found("mesh-mtls-strict", type_, {**props, "mutualTlsMode": "permissive"})
    type_, props = inputs_of(stack_run("dev"), "secure-mesh-intentions-web-defaults")
    assert found("mesh-mtls-strict", type_, props) == []
    assert found("mesh-mtls-strict", type_, {**props, "spec": {**props["spec"], "mutualTLSMode": "permissive"}})


# -------------------------------------------------------------------------- the mesh entry itself


def _program_mesh(rendering: str, entries_run: ProgramRun) -> tuple[str, dict[str, Any], Callable[..., Any]]:
    """The program's mesh entry, and an editor that changes its document in that rendering's field names."""
    if rendering == "crds":
        type_, props = inputs_of(stack_run("dev"), "secure-mesh-intentions-mesh")

        def edit_crd(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
            edited = copy.deepcopy(props)
            change(edited["spec"])
            return edited

        return type_, props, edit_crd
    type_, props = inputs_of(entries_run, "secure-mesh-intentions-mesh")

    def edit_entry(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        document = json.loads(props["configJson"])
        change(document)
        return {**props, "configJson": json.dumps(document)}

    return type_, props, edit_entry


def _keys(rendering: str) -> dict[str, str]:
    if rendering == "crds":
        return {"tp": "transparentProxy", "only": "meshDestinationsOnly", "tls": "tls", "in": "incoming",
                "out": "outgoing", "min": "tlsMinVersion", "max": "tlsMaxVersion"}  # fmt: skip
    return {"tp": "TransparentProxy", "only": "MeshDestinationsOnly", "tls": "TLS", "in": "Incoming",
            "out": "Outgoing", "min": "TLSMinVersion", "max": "TLSMaxVersion"}  # fmt: skip


@pytest.mark.parametrize("rendering", ["crds", "config-entries"])
def test_non_mesh_destinations_are_caught(rendering: str, entries_run: ProgramRun) -> None:
    type_, props, edit = _program_mesh(rendering, entries_run)
    k = _keys(rendering)
    assert found("mesh-destinations", type_, props) == []
    for change in (
        lambda d: d[k["tp"]].__setitem__(k["only"], False),
        lambda d: d[k["tp"]].pop(k["only"]),
        lambda d: d.pop(k["tp"]),
    ):
        messages = found("mesh-destinations", type_, edit(change))
        assert len(messages) == 1 and "outside the mesh" in messages[0], messages


@pytest.mark.parametrize("rendering", ["crds", "config-entries"])
def test_weak_mesh_tls_is_caught(rendering: str, entries_run: ProgramRun) -> None:
    type_, props, edit = _program_mesh(rendering, entries_run)
    k = _keys(rendering)
    assert found("mesh-tls-version", type_, props) == []
    for direction in ("in", "out"):
        side = k[direction]

        def setting(key: str, value: str, side: str = side) -> Callable[[dict[str, Any]], None]:
            return lambda d: d[k["tls"]][side].__setitem__(k[key], value)

        for weak in ("TLSv1_1", "TLSv1_0", "TLS_AUTO"):
            messages = found("mesh-tls-version", type_, edit(setting("min", weak)))
            assert len(messages) == 1 and "TLS 1.2+" in messages[0], messages
        messages = found("mesh-tls-version", type_, edit(lambda d, side=side: d[k["tls"]][side].pop(k["min"])))
        assert len(messages) == 1, messages
        messages = found("mesh-tls-version", type_, edit(setting("max", "TLSv1_1")))
        assert len(messages) == 1 and "below 1.2" in messages[0], messages
    tls12 = edit(lambda d: d[k["tls"]][k["in"]].__setitem__(k["min"], "TLSv1_2"))
    assert found("mesh-tls-version", type_, tls12) == []
    assert len(found("mesh-tls-version", type_, edit(lambda d: d.pop(k["tls"])))) == 2


def test_terminating_gateway_to_everything_is_caught() -> None:
    wildcard = _crd("TerminatingGateway", "terminating", {"services": [{"name": "*"}]})
    assert found("mesh-destinations", *wildcard)
    assert found("mesh-destinations", *_entry("terminating-gateway", "tgw", {"Services": [{"Name": "*"}]}))
    named = _crd("TerminatingGateway", "terminating", {"services": [{"name": "billing-api"}]})
    assert found("mesh-destinations", *named) == []


# ------------------------------------------------------------------------- one owner per mesh entry


def _dev() -> list[Subject]:
    return private_subjects(stack_run("dev").resources)


@pytest.mark.parametrize(
    ("case", "weaken", "expect"),
    [
        ("no-mesh", lambda s: [x for x in s if x.name != "secure-mesh-intentions-mesh"], "no mesh entry"),
        (
            "no-proxy-defaults",
            lambda s: [x for x in s if x.name != "secure-mesh-intentions-proxy-defaults"],
            "no proxy-defaults entry",
        ),
        (
            "second-mesh-as-config-entry",
            lambda s: [*s, subject(t.CONSUL_CONFIG_ENTRY, "extra-mesh", _entry("mesh", "mesh", {})[1])],
            "2 mesh entries",
        ),
        ("misnamed-proxy-defaults", lambda s: _rename(s), "named 'global'"),
    ],
)
def test_mesh_entry_has_exactly_one_owner(
    case: str, weaken: Callable[[list[Subject]], list[Subject]], expect: str
) -> None:
    findings = check_stack("mesh-entry", weaken(_dev()))
    assert findings and any(expect in message for message, _ in findings), findings


def _rename(subjects: list[Subject]) -> list[Subject]:
    target = next(s for s in subjects if s.name == "secure-mesh-intentions-proxy-defaults")
    target.props = {**target.props, "metadata": {**target.props["metadata"], "name": "default"}}
    return subjects


# ----------------------------------------------------------------------------- gateway listeners


def _program_gateway() -> tuple[str, dict[str, Any]]:
    resource = next(r for r in stack_run("dev").resources if r.type.endswith(":Gateway"))
    return resource.type, copy.deepcopy(resource.inputs)


@pytest.mark.parametrize(
    ("namespaces", "caught"),
    [
        ({"from": "All"}, True),
        ({"from": "Selector"}, True),
        ({"from": "Selector", "selector": {}}, True),
        ({"from": "Selector", "selector": {"matchLabels": {}}}, True),
        ({"from": "Same"}, False),
        ({}, False),
        ({"from": "Selector", "selector": {"matchLabels": {"kubernetes.io/metadata.name": "web"}}}, False),
    ],
)
def test_gateway_listeners_open_to_every_namespace(namespaces: dict[str, Any], caught: bool) -> None:
    type_, props = _program_gateway()
    assert found("mesh-gateway-routes", type_, props) == []
    for api_version in ("v1", "v1beta1"):
        listener = {**props["spec"]["listeners"][0], "allowedRoutes": {"namespaces": namespaces}}
        edited = {**props, "spec": {**props["spec"], "listeners": [listener]}}
        type_token = f"kubernetes:gateway.networking.k8s.io/{api_version}:Gateway"
        assert bool(found("mesh-gateway-routes", type_token, edited)) is caught, (namespaces, api_version)


def test_a_permissive_dev_stack_is_blocked() -> None:
    subjects = _dev()
    target = next(s for s in subjects if s.name == "secure-mesh-intentions-mesh")
    target.props = {**target.props, "spec": {**target.props["spec"], "allowEnablingPermissiveMutualTLS": True}}
    violations, _ = run_rules(subjects)
    blocking = mandatory(violations)
    assert [v.policy for v in blocking] == ["mesh-mtls-strict"]
    assert "Mesh 'secure-mesh-intentions-mesh': spec.allowEnablingPermissiveMutualTLS = True" in blocking[0].message


# ----------------------------------------------------------------------------- transparent proxy


def _deployment(annotations: dict[str, str]) -> dict[str, Any]:
    """A meshed ``apps/v1`` Deployment as pulumi-kubernetes registers it."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "web"},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}, "annotations": annotations},
                "spec": {"serviceAccountName": "web", "containers": [{"name": "web", "image": "web:1"}]},
            },
        },
    }


BYPASSES = [
    {"consul.hashicorp.com/transparent-proxy": "false"},
    {"consul.hashicorp.com/transparent-proxy-exclude-inbound-ports": "8080"},
    {"consul.hashicorp.com/transparent-proxy-exclude-outbound-ports": "5432"},
    {"consul.hashicorp.com/transparent-proxy-exclude-outbound-cidrs": "0.0.0.0/0"},
    {"consul.hashicorp.com/transparent-proxy-exclude-uids": "1000"},
]


@pytest.mark.parametrize("annotations", BYPASSES, ids=[next(iter(a)).rsplit("/", 1)[-1] for a in BYPASSES])
def test_workloads_that_pass_around_their_sidecar_are_caught(annotations: dict[str, str]) -> None:
    meshed = {"consul.hashicorp.com/connect-inject": "true", **annotations}
    deployment = _deployment(meshed)
    messages = found("mesh-tproxy", "kubernetes:apps/v1:Deployment", deployment)
    assert len(messages) == 1 and "spec.template.metadata.annotations" in messages[0], messages
    cron = {"spec": {"jobTemplate": {"spec": {"template": deployment["spec"]["template"]}}}}
    assert len(found("mesh-tproxy", "kubernetes:batch/v1:CronJob", cron)) == 1
    pod = {"metadata": {"name": "web", "annotations": meshed}, "spec": {}}
    assert len(found("mesh-tproxy", "kubernetes:core/v1:Pod", pod)) == 1


def test_meshed_workloads_without_exclusions_and_non_mesh_workloads_pass() -> None:
    assert found("mesh-tproxy", "kubernetes:apps/v1:Deployment", _deployment({})) == []
    tproxy_on = _deployment({"consul.hashicorp.com/transparent-proxy": "true"})
    assert found("mesh-tproxy", "kubernetes:apps/v1:Deployment", tproxy_on) == []
    # Not in the mesh at all (the program's own certificate-sync Deployment): nothing to bypass.
    outside = {"consul.hashicorp.com/connect-inject": "false", "consul.hashicorp.com/transparent-proxy": "false"}
    assert found("mesh-tproxy", "kubernetes:apps/v1:Deployment", _deployment(outside)) == []


def test_transparent_proxy_off_for_a_namespace_or_the_whole_chart_is_caught() -> None:
    namespace = {"metadata": {"name": "web", "labels": {"consul.hashicorp.com/transparent-proxy": "false"}}}
    assert found("mesh-tproxy", "kubernetes:core/v1:Namespace", namespace)
    release = next(r for r in stack_run("dev").resources if r.name == "secure-mesh-consul-release")
    props = copy.deepcopy(release.inputs)
    assert found("mesh-tproxy", t.HELM_RELEASE, props) == []
    props["values"]["connectInject"]["transparentProxy"] = {"defaultEnabled": False}
    messages = found("mesh-tproxy", t.HELM_RELEASE, props)
    assert len(messages) == 1 and "connectInject.transparentProxy.defaultEnabled" in messages[0], messages


# ------------------------------------------------------------------------------------- write order


@pytest.mark.parametrize("rendering", ["crds", "config-entries"])
def test_l7_intentions_must_be_ordered_after_their_destination_defaults(
    rendering: str, entries_run: ProgramRun
) -> None:
    run = stack_run("dev") if rendering == "crds" else entries_run
    subjects = private_subjects(run.resources)
    assert check_stack("int-order", subjects) == []
    target = next(s for s in subjects if s.name == "secure-mesh-intentions-payments-intentions")
    # Keep only the dependency on the release: what the program registered before issue 12 item 2.
    target.dependencies = [urn for urn in target.dependencies if "helm.sh" in urn]
    findings = check_stack("int-order", subjects)
    assert [urn for _, urn in findings] == [target.urn], findings
    assert "'secure-mesh-intentions-payments-defaults'" in findings[0][0]


def test_a_secondary_datacenter_stack_passes_without_mesh_entries_and_is_caught_with_them() -> None:
    subjects = from_run(stack_run("fed-secondary").resources)
    rules = [
        RULES[p]
        for p in [*MESH_RULES, "mesh-entry", "mesh-tproxy", "csl-bootstrap-token", "int-order", "int-default-deny"]
    ]
    violations, unknowns = run_rules(subjects, rules)
    assert violations == [] and unknowns == []
    # The primary's entry declared again from the secondary: a second owner for a federation-wide entry.
    mesh_type, mesh_props = _crd("Mesh", "mesh", {"transparentProxy": {"meshDestinationsOnly": True}})
    mesh = subject(mesh_type, "mesh-again", mesh_props)
    findings = check_stack("mesh-entry", [*subjects, mesh])
    assert [(urn, "secondary datacenter" in message) for message, urn in findings] == [(mesh.urn, True)]


def test_l7_intentions_may_reach_their_destination_defaults_through_other_resources() -> None:
    """INT-ORDER follows dependencies transitively (a component between them, a cycle on the way), and a cycle
    that never reaches the defaults is reported, not followed forever."""
    from tests.policy.rule_cases import ALLOW_GET, _crd
    from tests.policy.support import subject, urn_of
    from tests.policy.test_resource_rules import crd

    http = _crd("ServiceDefaults", "payments", {"protocol": "http"})
    defaults = subject(t.CRD_SERVICE_DEFAULTS, "payments-defaults", http)
    a, b = urn_of("pulumi:pulumi:Component", "a"), urn_of("pulumi:pulumi:Component", "b")

    def stack(a_needs: list[str], b_needs: list[str]) -> list[Subject]:
        intention = crd("payments", [{"name": "api", "permissions": [ALLOW_GET]}])
        return [
            defaults,
            subject("pulumi:pulumi:Component", "a", {}, dependencies=a_needs),
            subject("pulumi:pulumi:Component", "b", {}, dependencies=b_needs),
            subject(t.CRD_SERVICE_INTENTIONS, "payments-intentions", intention, dependencies=[a]),
        ]

    assert check_stack("int-order", stack([b], [a, defaults.urn])) == []
    findings = check_stack("int-order", stack([b], [a]))
    assert [urn for _, urn in findings] == [urn_of(t.CRD_SERVICE_INTENTIONS, "payments-intentions")], findings
