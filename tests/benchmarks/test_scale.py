"""Scale regression: a 200-service mesh registers exactly what the design says per service, and no more.

The expected count is a formula, not a number: per declared service one ``ServiceDefaults``; per destination
one ``ServiceIntentions`` (all its sources in one entry) plus the single ``*`` deny; per app one Vault policy
and one Kubernetes-auth role (never one per upstream); per app database a connection and a role (plus one
database mount); per route an ``HTTPRoute`` (plus the gateway's own identity and objects, once). Everything
else is the stack's fixed base, measured on the checked-in dev stack through the same formula, so adding
services can only add the per-unit terms.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from benchmarks.generate import MeshShape, generate_config, mesh_shape
from secure_mesh.mesh.graph import build_graph
from secure_mesh.offline.render import REDACTED, intention_matrix_markdown, render_stack
from secure_mesh.settings import Settings, load_settings, split_stack_config
from tests.harness import PROJECT_DIR, ProgramRun, load_stack_config, run_program

SERVICES = 200
DEFAULTS = "kubernetes:consul.hashicorp.com/v1alpha1:ServiceDefaults"
INTENTIONS = "kubernetes:consul.hashicorp.com/v1alpha1:ServiceIntentions"
POLICY = "vault:index/policy:Policy"
ROLE = "vault:kubernetes/authBackendRole:AuthBackendRole"
AUTH_CONFIG = "vault:kubernetes/authBackendConfig:AuthBackendConfig"
CONNECTION = "vault:database/secretBackendConnection:SecretBackendConnection"
DB_ROLE = "vault:database/secretBackendRole:SecretBackendRole"
MOUNT = "vault:index/mount:Mount"
ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"
RELEASE = "kubernetes:helm.sh/v3:Release"
ONBOARDING = "secure-mesh:index:AppOnboarding"


@dataclass(frozen=True)
class Units:
    """The design's per-unit counts of one stack (from its config)."""

    services: int
    destinations: int
    apps: int
    databases: int
    routes: int
    vault_ca_copies: int
    """App namespaces that get a copy of Vault's CA (for the agent's ``tls-secret``) when Vault's CA is private."""

    @classmethod
    def of(cls, config: dict[str, object]) -> Units:
        shape: MeshShape = mesh_shape(config)  # type: ignore[arg-type]
        tls = config["vault"].get("tls", {})  # type: ignore[attr-defined]
        private_ca = bool(tls.get("caCertPem") or tls.get("caCertFile"))
        namespaces = {app["namespace"] for app in config.get("apps", [])}  # type: ignore[attr-defined]
        copies = len(namespaces) if private_ca else 0
        return cls(shape.services, shape.destinations, shape.apps, shape.databases, shape.routes, copies)

    def variable(self) -> int:
        """Resources that exist per unit (the fixed base excluded)."""
        return (
            self.services  # ServiceDefaults
            + self.destinations  # ServiceIntentions (one per destination, every source inside)
            + 2 * self.apps  # Vault policy + Kubernetes-auth role per app
            + 4 * self.databases  # connection, role, rotate-root endpoint and root-version record per app database
            + (1 if self.databases else 0)  # the database secrets mount
            + self.routes  # HTTPRoute per routed app
            + self.vault_ca_copies  # Vault's CA in each app namespace (dev: the laptop CA, vault.tls.caCertFile)
        )


@cache
def mesh_run() -> tuple[dict[str, object], ProgramRun]:
    config, secrets = generate_config(SERVICES)
    return config, run_program(config, secrets=secrets, stack="bench")


def _settings(config: dict[str, object], secrets: dict[str, str]) -> Settings:
    full = {f"secure-mesh:{k}": v for k, v in {**config, **secrets}.items()}
    plain, secret_keys = split_stack_config(full, {f"secure-mesh:{k}" for k in secrets})
    return load_settings(plain, secret_keys)


def test_generated_mesh_is_valid_deterministic_and_mixed() -> None:
    config, secrets = generate_config(SERVICES)
    assert (config, secrets) == generate_config(SERVICES), "the same size must give the same mesh"
    settings = _settings(config, secrets)  # raises SettingsError on any contradiction
    shape = mesh_shape(config)
    assert shape.services == shape.apps == SERVICES
    assert shape.databases == SERVICES // 10 and shape.routes == SERVICES // 10
    assert {s.protocol.value for s in settings.mesh.services} == {"http", "grpc", "tcp"}
    assert all(1 <= len(app.upstreams) <= 3 for app in settings.apps)
    assert shape.l7_intentions > 0 and shape.denies > 0
    denies = {(i.source, i.destination) for i in settings.mesh.intentions if i.action is not None}
    upstreams = {(app.service, u) for app in settings.apps for u in app.upstreams}
    assert not denies & upstreams, "a deny must never contradict an upstream"


def test_resource_count_is_the_fixed_base_plus_the_per_service_formula(dev_run: ProgramRun) -> None:
    config, run = mesh_run()
    fixed = len(dev_run.resources) - Units.of(load_stack_config("dev")).variable()
    units = Units.of(config)
    expected = fixed + units.variable()
    assert len(run.resources) == expected, (
        f"{SERVICES}-service mesh registered {len(run.resources)} resources, the design allows {expected} "
        f"(fixed base {fixed} + {units})"
    )


def test_per_unit_resources_are_one_per_service_destination_and_app(dev_run: ProgramRun) -> None:
    config, run = mesh_run()
    units = Units.of(config)
    gateway_identity = 1  # the API gateway's own policy and role (routes exist)
    counts = {
        DEFAULTS: (len(run.of_type(DEFAULTS)), units.services),
        INTENTIONS: (len(run.of_type(INTENTIONS)), units.destinations + 1),
        POLICY: (
            len([r for r in run.of_type(POLICY) if r.parent.endswith(f"{ONBOARDING}::secure-mesh-onboarding")]),
            units.apps + gateway_identity,
        ),
        ROLE: (
            len([r for r in run.of_type(ROLE) if r.parent.endswith(f"{ONBOARDING}::secure-mesh-onboarding")]),
            units.apps + gateway_identity,
        ),
        CONNECTION: (len(run.of_type(CONNECTION)), units.databases),
        DB_ROLE: (len(run.of_type(DB_ROLE)), units.databases),
        ROUTE: (len(run.of_type(ROUTE)), units.routes),
    }
    wrong = {type_: got_expected for type_, got_expected in counts.items() if got_expected[0] != got_expected[1]}
    assert not wrong, f"(registered, design) per type: {wrong}"
    upstream_pairs = sum(len(app["upstreams"]) for app in config["apps"])  # type: ignore[union-attr]
    assert units.destinations + 1 < upstream_pairs, "intentions must be per destination, not per source pair"


def test_app_resources_depend_only_on_what_their_data_carries() -> None:
    # Each app's policy and role once waited on ~55 Vault resources: O(apps x Vault) dependency bookkeeping in the
    # SDK. Now a policy waits for nothing (Vault does not check the paths a policy names) and a role for exactly
    # the Kubernetes auth mount it is written to (the path VaultIdentities outputs from the mount's configuration)
    # and its policy, both carried by its inputs (issue 15).
    _, run = mesh_run()
    auth = run.one(AUTH_CONFIG, "secure-mesh-identities-kubernetes-auth-config")
    checked = 0
    for resource in [*run.of_type(POLICY), *run.of_type(ROLE)]:
        if "-onboarding-app-" not in resource.name:
            continue
        checked += 1
        if resource.type == POLICY:
            assert resource.dependencies == (), f"{resource.name} lists {resource.dependencies}"
            continue
        policy = run.one(POLICY, resource.name.removesuffix("-role") + "-policy")
        assert set(resource.dependencies) == {auth.urn, policy.urn}, f"{resource.name}: {resource.dependencies}"
        assert resource.property_dependencies["backend"] == (auth.urn,)
        assert resource.property_dependencies["tokenPolicies"] == (policy.urn,)
    assert checked == 2 * SERVICES


def test_render_handles_an_encrypted_secret_object(tmp_path: Path) -> None:
    config, secrets = generate_config(20)
    stack_config = {**config, **{key: {"secure": "v1:encrypted"} for key in secrets}}
    result = render_stack(PROJECT_DIR, "bench", tmp_path, config_override=stack_config)
    # Before issue 9 the render stopped here: "apps[3].database: has no root credentials" (names unknown).
    assert result.resource_counts[CONNECTION] == mesh_shape(config).databases
    inventory = json.loads((tmp_path / "inventory.json").read_text())
    connections = [r for r in inventory["resources"] if r["type"] == CONNECTION]
    for connection in connections:
        assert connection["inputs"]["postgresql"] == REDACTED, f"{connection['name']}: root credentials not redacted"


@pytest.mark.parametrize("services", [6, 30])
def test_rendered_intention_matrix_matches_the_graph(services: int) -> None:
    config, secrets = generate_config(services)
    settings = _settings(config, secrets)
    graph = build_graph(settings)
    names = sorted(graph.services)
    table = intention_matrix_markdown(settings).splitlines()
    rows = {line.split("|")[1].strip().strip("*"): line.split("|")[2:-1] for line in table[4:]}
    for source in names:
        for dest, cell in zip(names, rows[source], strict=True):
            expected = "—" if source == dest else graph.access(source, dest).describe()
            assert cell.strip() == expected, f"{source} → {dest}"
