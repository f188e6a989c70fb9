"""WAN federation under mocks: the primary (fed-primary) and its secondary (fed-secondary), the pair's settings checks,
and the secondary's check of the primary's outputs (read offline from stack-references/fed-primary.json).

Upstream behaviour relied on (consul-k8s 2.0.3 with the Vault backend): a secondary sets
``global.federation.primaryDatacenter``/``primaryGateways``/``k8sAuthMethodHost``, no bootstrap token, the shared
``replicationToken`` path, the primary's gossip key and server CA, a per-datacenter server role, the shared
``rootPKIPath`` with its own ``intermediatePKIPath`` (acceptance/tests/vault/vault_wan_fed_test.go L421-468).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pulumi
import pytest

from secure_mesh.consul.helm_values import ChartValuesError, build_consul_values, check_chart_rules
from secure_mesh.layout import Layout
from secure_mesh.offline.stack_references import STACK_REFERENCE_TYPE
from secure_mesh.settings import ChainName, SettingsError, load_settings
from secure_mesh.settings.federation import pair_problems, primary_settings
from secure_mesh.topology.federation import FederationSecondaryArgs, PrimaryNames, check_primary_outputs
from tests import harness, snapshots
from tests.conftest import stack_run
from tests.harness import PROJECT_DIR, ProgramRun, deep_merge, load_stack_config
from tests.mocks.consul import MESH_GATEWAY_IP

KV = "vault:kv/secretV2:SecretV2"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


@pytest.fixture
def primary() -> ProgramRun:
    return stack_run("fed-primary")


def test_primary_prefills_the_replication_token_with_a_secret_lowercase_uuid(primary: ProgramRun) -> None:
    secret = primary.one(KV, "secure-mesh-secrets-replication-token")
    assert set(secret.inputs) == {"mount", "name", "dataJson", "deleteAllVersions", "disableRead"}
    assert (secret.inputs["mount"], secret.inputs["name"]) == ("consul-dc1/kv", "consul/replication-token")
    assert secret.inputs["disableRead"] is True and secret.inputs["deleteAllVersions"] is False
    assert "dataJson" in secret.secret_inputs
    token = json.loads(secret.inputs["dataJson"])["token"]
    assert UUID.match(token), token
    source = primary.one("random:index/randomBytes:RandomBytes", "secure-mesh-secrets-replication-token-bytes")
    assert secret.property_dependencies["dataJson"] == (source.urn,)
    assert token not in json.dumps(primary.outputs), "the token's value is never exported"


def test_primary_values_create_the_replication_token_and_never_the_federation_secret(primary: ProgramRun) -> None:
    values = primary.one("kubernetes:helm.sh/v3:Release", "secure-mesh-consul-release").inputs["values"]
    assert values["global"]["acls"] == {
        "manageSystemACLs": True,
        "bootstrapToken": {"secretName": "consul-dc1/kv/data/consul/bootstrap-token", "secretKey": "token"},
        "createReplicationToken": True,
        "replicationToken": {"secretName": "consul-dc1/kv/data/consul/replication-token", "secretKey": "token"},
    }
    assert values["global"]["federation"] == {"enabled": True, "createFederationSecret": False}
    assert "peering" not in values["global"]
    assert values["meshGateway"] == {
        "enabled": True,
        "replicas": 2,
        "service": {"type": "LoadBalancer"},
        "wanAddress": {"source": "Service"},
    }
    release = primary.one("kubernetes:helm.sh/v3:Release", "secure-mesh-consul-release")
    secret = primary.one(KV, "secure-mesh-secrets-replication-token")
    assert secret.urn in release.dependencies, "the token's secret exists before server-acl-init reads it"


def test_primary_server_acl_init_reads_the_replication_token_and_servers_do_not(primary: ProgramRun) -> None:
    policies = {r.name: json.loads(r.inputs["policy"])["path"] for r in primary.of_type("vault:index/policy:Policy")}
    path = "consul-dc1/kv/data/consul/replication-token"
    assert policies["secure-mesh-identities-server-acl-init-policy"][path] == {"capabilities": ["read"]}
    assert path not in policies["secure-mesh-identities-server-policy"]


def test_primary_routes_through_local_gateways_and_exports_what_secondaries_need(primary: ProgramRun) -> None:
    defaults = primary.one(
        "kubernetes:consul.hashicorp.com/v1alpha1:ProxyDefaults", "secure-mesh-intentions-proxy-defaults"
    )
    assert defaults.inputs["spec"] == {"mutualTLSMode": "strict", "meshGateway": {"mode": "local"}}
    mesh = primary.one("kubernetes:consul.hashicorp.com/v1alpha1:Mesh", "secure-mesh-intentions-mesh")
    assert "peering" not in mesh.inputs["spec"]
    assert primary.outputs["meshGatewayAddress"] == f"{MESH_GATEWAY_IP}:443"
    assert primary.outputs["datacenter"] == "dc1"
    assert primary.outputs["connectRootPkiPath"] == "consul-dc1/connect/pki_int2"
    assert primary.outputs["consulKvPaths"]["replication-token"] == "consul-dc1/kv/data/consul/replication-token"
    assert not primary.of_type("consul:index/peeringToken:PeeringToken")


@pytest.mark.parametrize(
    ("override", "path", "phrase"),
    [
        ({"consul": {"meshGateway": False}}, "consul.meshGateway", "allowed: true"),
        ({"consul": {"enterprise": True}}, "consul.enterprise", "admin partitions"),
        ({"consul": {"primaryDatacenter": "dc0"}}, "consul.primaryDatacenter", "is the primary"),
        (
            {"topology": {"peers": [{"name": "west", "role": "dialer", "stack": "acme/secure-mesh/peer-west"}]}},
            "topology.peers",
            "does not peer",
        ),
    ],
    ids=["no-gateways", "enterprise-partitions", "primary-names-another", "peers"],
)
def test_invalid_primary_settings_name_the_key(override: dict, path: str, phrase: str) -> None:
    raw = load_stack_config("fed-primary")
    for key, value in override.items():
        raw[key] = {**raw.get(key, {}), **value}
    with pytest.raises(SettingsError) as raised:
        load_settings(raw, frozenset({"consulLicense"}) if "enterprise" in str(override) else frozenset())
    matching = [p for p in raised.value.problems if p.path == path]
    assert matching and any(phrase in p.message for p in matching), [str(p) for p in raised.value.problems]


def test_chart_rules_refuse_the_federation_secret_with_vault() -> None:
    settings = load_settings(load_stack_config("fed-primary"))
    values = build_consul_values(settings, Layout(settings))
    values["global"]["federation"]["createFederationSecret"] = True
    with pytest.raises(ChartValuesError) as raised:
        check_chart_rules(values)
    assert raised.value.key == "global.federation.createFederationSecret"


# --------------------------------------------------------------------------------------------- the secondary

RELEASE = "kubernetes:helm.sh/v3:Release"
PRIMARY = "acme/secure-mesh/fed-primary"
SNAPSHOT = Path(__file__).parent / "snapshots" / "federation_problems.json"


def _pinned(key: str, lines: list[str]) -> list[str]:
    return snapshots.pinned(SNAPSHOT, key, lines, "UPDATE_SNAPSHOTS=1 pytest tests/topology/test_federation.py")


@pytest.fixture
def secondary() -> ProgramRun:
    return stack_run("fed-secondary")


def test_secondary_reads_its_primary_by_the_full_stack_name(secondary: ProgramRun) -> None:
    reads = sorted(read for read in secondary.reads if read[0] == STACK_REFERENCE_TYPE)
    assert reads == [
        # its own rotationVersions (the replication token rotation's version check), and the primary
        (STACK_REFERENCE_TYPE, "fed-secondary-deployed-versions", "None/secure-mesh/fed-secondary"),
        (STACK_REFERENCE_TYPE, "secure-mesh-federation-primary-stack", PRIMARY),
    ]


def test_secondary_release_federates_with_the_primarys_gateway_from_its_outputs(secondary: ProgramRun) -> None:
    values = secondary.one(RELEASE, "secure-mesh-consul-release").inputs["values"]
    recorded = json.loads((PROJECT_DIR / "stack-references" / "fed-primary.json").read_text())["outputs"]
    assert values["global"]["federation"] == {
        "enabled": True,
        "primaryDatacenter": "dc1",
        "primaryGateways": [recorded["meshGatewayAddress"]],
        "k8sAuthMethodHost": "https://k8s-api.dc2.example.com:6443",
    }
    assert values["global"]["acls"] == {
        "manageSystemACLs": True,
        "replicationToken": {"secretName": recorded["consulKvPaths"]["replication-token"], "secretKey": "token"},
    }
    assert values["global"]["gossipEncryption"]["secretName"] == recorded["consulKvPaths"]["gossip"]
    assert values["global"]["tls"]["caCert"] == {"secretName": recorded["pkiCaPaths"]["server"]}
    assert values["server"]["serverCert"] == {"secretName": recorded["secondaryServerIssuePaths"]["dc2"]}
    assert values["global"]["secretsBackend"]["vault"]["connectCA"]["rootPKIPath"] == recorded["connectRootPkiPath"]
    assert "createReplicationToken" not in values["global"]["acls"]
    assert "createFederationSecret" not in values["global"]["federation"]
    # The gateway is data from the primary's outputs: the release waits for the stack reference (and its check).
    release = secondary.one(RELEASE, "secure-mesh-consul-release")
    reference = "urn:pulumi:fed-secondary::secure-mesh::secure-mesh:index:FederationSecondary$"
    assert f"{reference}{STACK_REFERENCE_TYPE}::secure-mesh-federation-primary-stack" in (
        release.property_dependencies["values"]
    )


def test_secondary_trusts_the_primarys_server_ca_and_exports_its_own_gateway(secondary: ProgramRun) -> None:
    recorded = json.loads((PROJECT_DIR / "stack-references" / "fed-primary.json").read_text())["outputs"]
    assert secondary.outputs["serverCaChainPem"] == recorded["serverCaChainPem"]
    assert secondary.outputs["datacenter"] == "dc2"
    assert secondary.outputs["connectRootPkiPath"] == recorded["connectRootPkiPath"]
    assert secondary.outputs["meshGatewayAddress"] == f"{MESH_GATEWAY_IP}:443"
    assert secondary.outputs["consulKvPaths"] == {
        "gossip": recorded["consulKvPaths"]["gossip"],
        "replication-token": recorded["consulKvPaths"]["replication-token"],
    }
    assert secondary.outputs["secondaryServerIssuePaths"] == {}
    # Its own chains only: no server or connect CA mount, no server role, no Consul secret of its own; and its own
    # (empty) intermediate mount, in which its Consul keeps the intermediate the primary signs.
    pki = [r for r in secondary.of_type("vault:index/mount:Mount") if r.inputs["type"] == "pki"]
    mounts = sorted(r.inputs["path"] for r in pki)
    assert mounts == [
        "consul-dc2/connect/pki_consul_dc2",
        "consul-dc2/gateway/pki_int1",
        "consul-dc2/pki_root",
        "consul-dc2/webhook/pki_int1",
    ]
    assert not secondary.of_type(KV)


def test_the_recorded_outputs_are_fed_primary_as_pulumi_prints_them(primary: ProgramRun) -> None:
    recorded = json.loads((PROJECT_DIR / "stack-references" / "fed-primary.json").read_text())
    assert recorded["stack"] == PRIMARY
    expected = {k: ("[secret]" if k in primary.secret_outputs else v) for k, v in primary.outputs.items()}
    assert recorded["outputs"] == expected


def _primary_outputs(**changes: Any) -> dict[str, Any]:
    outputs = dict(stack_run("fed-primary").outputs)
    outputs.update(changes)
    return outputs


def _run_secondary_with(monkeypatch: pytest.MonkeyPatch, outputs: dict[str, Any]) -> tuple[BaseException, list[Any]]:
    def reference(_: str, inputs: dict[str, Any]) -> dict[str, Any]:
        if inputs["name"] == f"{pulumi.get_organization()}/{pulumi.get_project()}/{pulumi.get_stack()}":
            return {"outputs": {}, "secretOutputNames": []}  # its own rotationVersions: never deployed
        assert inputs["name"] == PRIMARY
        return {"outputs": outputs, "secretOutputNames": []}

    collect = harness._collect_mock_outputs
    monkeypatch.setattr(harness, "_collect_mock_outputs", lambda: {**collect(), STACK_REFERENCE_TYPE: reference})
    return harness.run_program_expecting_failure(load_stack_config("fed-secondary"))


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"datacenter": "dc9"}, "the primary's output datacenter is 'dc9', but its stack file gives 'dc1'"),
        (
            {"connectRootPkiPath": "consul-dc1/connect/pki_int1"},
            "connectRootPkiPath is 'consul-dc1/connect/pki_int1', but its stack file gives "
            "'consul-dc1/connect/pki_int2'",
        ),
        (
            {"consulKvPaths": {"gossip": "consul-dc1/kv/data/consul/gossip"}},
            'exports no consulKvPaths["replication-token"]',
        ),
        ({"secondaryServerIssuePaths": {}}, "keeps no server role for datacenter 'dc2'"),
        ({"meshGatewayAddress": ""}, "meshGatewayAddress is empty"),
        ({"serverCaChainPem": ""}, "exports no serverCaChainPem"),
    ],
    ids=["datacenter", "connect-root", "no-replication-path", "no-server-role", "no-gateway-yet", "no-server-ca"],
)
def test_a_primary_whose_outputs_differ_stops_the_secondary_before_its_release(
    monkeypatch: pytest.MonkeyPatch, changes: dict[str, Any], fragment: str
) -> None:
    error, registered = _run_secondary_with(monkeypatch, _primary_outputs(**changes))
    assert fragment in str(error) and f"topology.primaryStack ({PRIMARY})" in str(error)
    assert [str(error)] == _pinned(f"outputs:{fragment}", [str(error)])
    consul = [r for r in registered if r.type == RELEASE and r.name == "secure-mesh-consul-release"]
    assert not consul, "no Consul release may be written after a failed check"


def test_check_primary_outputs_names_the_first_difference_and_takes_the_gateway() -> None:
    expected = PrimaryNames(
        datacenter="dc1",
        connect_root_pki_path="r",
        gossip_kv_path="kv/data/g",
        replication_token_kv_path="kv/data/t",
        server_ca_path="s/cert/ca",
        server_issue_path="s/issue/consul-server-dc2",
    )
    args = FederationSecondaryArgs(primary_stack=PRIMARY, datacenter="dc2", expected=expected)
    good = {
        "datacenter": "dc1",
        "connectRootPkiPath": "r",
        "consulKvPaths": {"gossip": "kv/data/g", "replication-token": "kv/data/t", "bootstrap-token": "kv/data/b"},
        "pkiCaPaths": {"server": "s/cert/ca"},
        "secondaryServerIssuePaths": {"dc2": "s/issue/consul-server-dc2", "dc3": "s/issue/consul-server-dc3"},
        "meshGatewayAddress": "203.0.113.7:443",
        "serverCaChainPem": "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n",
    }
    facts = check_primary_outputs(args, good)
    assert (facts.mesh_gateway_address, facts.server_ca_chain_pem) == ("203.0.113.7:443", good["serverCaChainPem"])
    for key in ("datacenter", "connectRootPkiPath", "consulKvPaths", "pkiCaPaths"):
        with pytest.raises(pulumi.RunError, match="the primary exports no"):
            check_primary_outputs(args, {k: v for k, v in good.items() if k != key})
    with pytest.raises(pulumi.RunError, match=r'pkiCaPaths\["server"\] is .x/cert/ca.'):
        check_primary_outputs(args, {**good, "pkiCaPaths": {"server": "x/cert/ca"}})
    with pytest.raises(pulumi.RunError, match="meshGatewayAddress is empty"):
        check_primary_outputs(args, {**good, "meshGatewayAddress": None})


# ---------------------------------------------------------------------------------- the pair's settings


def test_the_secondary_computes_the_primarys_names_from_its_stack_file() -> None:
    settings = load_settings(load_stack_config("fed-secondary"))
    primary = primary_settings(settings, PROJECT_DIR)
    assert primary is not None and primary.consul.datacenter == "dc1"
    assert primary_settings(load_settings(load_stack_config("fed-primary")), PROJECT_DIR) is None


def test_a_primary_without_a_stack_file_here_is_refused_naming_the_key(tmp_path: Any) -> None:
    settings = load_settings(load_stack_config("fed-secondary"))
    with pytest.raises(SettingsError) as raised:
        primary_settings(settings, tmp_path)
    assert raised.value.paths == ["topology.primaryStack"]
    lines = [str(raised.value.problems[0]).replace(str(tmp_path), "<project>")]
    assert lines == _pinned("primary:no-stack-file", lines)


def test_an_invalid_primary_stack_file_is_refused_with_its_own_problems(tmp_path: Any) -> None:
    text = (PROJECT_DIR / "Pulumi.fed-primary.yaml").read_text().replace("meshGateway: true", "meshGateway: false")
    (tmp_path / "Pulumi.fed-primary.yaml").write_text(text)
    with pytest.raises(SettingsError) as raised:
        primary_settings(load_settings(load_stack_config("fed-secondary")), tmp_path)
    assert raised.value.paths == ["topology.primaryStack"]
    message = raised.value.problems[0].message
    assert message.startswith("'acme/secure-mesh/fed-primary': Pulumi.fed-primary.yaml is invalid: ")
    assert "secure-mesh:consul.meshGateway: false is not allowed with topology.mode 'federation-primary'" in message


@pytest.mark.parametrize(
    ("primary_change", "secondary_change", "path", "phrase"),
    [
        ({"topology": {"mode": "standalone"}}, {}, "topology.primaryStack", "not 'federation-primary'"),
        ({"topology": {"secondaries": ["dc3"]}}, {}, "topology.primaryStack", "does not list 'dc2'"),
        (
            {},
            {"consul": {"datacenter": "dc1"}, "vault": {"kubernetesAuthMount": "kubernetes-second"}},
            "consul.datacenter",
            "is the primary's datacenter too",
        ),
        ({}, {"vault": {"address": "https://vault.dc2.example.com:8200"}}, "vault.address", "shares one Vault"),
        ({}, {"vault": {"namespace": "admin"}}, "vault.namespace", "shares one Vault"),
        ({}, {"consul": {"domain": "mesh"}}, "consul.domain", "server.<datacenter>.<domain>"),
        ({}, {"consul": {"releaseName": "edge"}}, "consul.releaseName", "<fullname>-server"),
        ({}, {"kubernetes": {"consulNamespace": "mesh"}}, "kubernetes.consulNamespace", "<namespace>"),
        ({}, {"vault": {"mountPrefix": "consul-dc1/dc2"}}, "vault.mountPrefix", "overlaps the primary's"),
        ({}, {"vault": {"kubernetesAuthMount": "kubernetes-dc1"}}, "vault.kubernetesAuthMount", "its own"),
        ({}, {"mesh": {"services": [{"name": "inventory", "protocol": "http"}]}}, "mesh.services[0].name", "one owner"),
    ],
    ids=[
        "primary-not-primary", "not-listed", "same-datacenter", "another-vault", "another-namespace",
        "another-domain", "another-release", "another-consul-namespace", "nested-prefix", "shared-auth-mount",
        "shared-service",
    ],
)
def test_the_pair_must_agree_on_what_it_shares(
    primary_change: dict[str, Any], secondary_change: dict[str, Any], path: str, phrase: str
) -> None:
    primary_config = deep_merge(load_stack_config("fed-primary"), primary_change)
    if primary_change.get("topology", {}).get("mode") == "standalone":
        primary_config["topology"] = {"mode": "standalone"}
    primary = load_settings(primary_config)
    secondary_config = deep_merge(load_stack_config("fed-secondary"), secondary_change)
    if "mesh" in secondary_change:
        secondary_config["apps"] = []
    secondary = load_settings(secondary_config)
    problems = list(pair_problems(secondary, primary, PRIMARY))
    assert [p.path for p in problems] == [path], [str(p) for p in problems]
    assert phrase in problems[0].message, problems[0].message
    # The whole text (what is wrong, the values, why, what to do), reviewed in the snapshot.
    lines = [str(p) for p in problems]
    assert lines == _pinned(f"pair:{path}:{phrase}", lines)
    pair = (load_settings(load_stack_config("fed-secondary")), load_settings(load_stack_config("fed-primary")))
    assert list(pair_problems(*pair, PRIMARY)) == []


def test_a_federation_shares_one_vault_namespace_without_a_name_claimed_twice() -> None:
    # Everything either stack creates in the shared Vault is its own: the secondary's server role on the primary's
    # mount is created by the primary (it lists dc2), so destroying the secondary leaves the primary's mounts whole.
    from tests.topology.test_peering import _vault_names

    primary, secondary = stack_run("fed-primary"), stack_run("fed-secondary")
    settings = [load_stack_config(s)["vault"] for s in ("fed-primary", "fed-secondary")]
    assert settings[0]["address"] == settings[1]["address"]
    assert settings[0].get("namespace") == settings[1].get("namespace")
    primary_names, secondary_names = set(_vault_names(primary)), set(_vault_names(secondary))
    assert {"mount", "auth", "policy", "auth-role", "pki-role"} <= {kind for kind, _ in secondary_names}
    assert primary_names & secondary_names == set()
    assert ("pki-role", "consul-dc1/server/pki_int2/consul-server-dc2") in primary_names
    assert not [name for kind, name in secondary_names if name.startswith("consul-dc1/")]
    assert primary.outputs["meshIntermediatePkiPath"] != secondary.outputs["meshIntermediatePkiPath"]
    assert (primary.outputs["vaultKubernetesAuthPath"], secondary.outputs["vaultKubernetesAuthPath"]) == (
        "kubernetes-dc1",
        "kubernetes-dc2",
    )


def test_the_offline_review_finds_the_primary_from_any_working_directory(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `python -m secure_mesh render --project-dir X` run elsewhere: the primary's stack file is read from the
    # project (pulumi.get_root_directory(), which the offline run sets like the engine does), not the cwd.
    from secure_mesh.offline.render import render_stack

    monkeypatch.chdir(tmp_path)
    render_stack(PROJECT_DIR, "fed-secondary", tmp_path / "out")
    values = (tmp_path / "out" / "consul-values.yaml").read_text()
    assert "primaryDatacenter: dc1" in values and "consul-dc1/server/pki_int2/issue/consul-server-dc2" in values


@pytest.mark.parametrize("stack", harness.STACKS)
def test_each_stack_installs_exactly_one_consul_release(stack: str) -> None:
    releases = [r for r in stack_run(stack).of_type(RELEASE) if r.inputs["chart"] == "consul"]
    assert [r.name for r in releases] == ["secure-mesh-consul-release"], stack


def test_the_secondarys_release_values_are_the_builders_with_the_primarys_gateway(secondary: ProgramRun) -> None:
    # The whole document: every value is the pure builder's (computed from both stack files), except the one that
    # only the primary's outputs hold.
    from tests.consul.helpers import settings_and_layout

    settings, layout = settings_and_layout("fed-secondary")
    expected = build_consul_values(settings, layout)
    expected["global"]["federation"]["primaryGateways"] = [f"{MESH_GATEWAY_IP}:443"]
    release = secondary.one(RELEASE, "secure-mesh-consul-release")
    assert release.inputs["values"] == expected
    assert release.secret_inputs == frozenset()
    check_chart_rules(release.inputs["values"])


@pytest.mark.parametrize(
    ("own", "theirs", "overlaps"),
    [
        ("consul-dc2", "consul-dc1", False),
        ("consul-dc10", "consul-dc1", False),  # a longer name is no sub-path
        ("consul-dc1", "consul-dc1", True),
        ("consul-dc1/dc2", "consul-dc1", True),  # under the primary's prefix
        ("mesh", "mesh/dc1", True),  # the primary under the secondary's
    ],
)
def test_mount_prefixes_overlap_only_as_whole_path_segments(own: str, theirs: str, overlaps: bool) -> None:
    primary = load_settings(deep_merge(load_stack_config("fed-primary"), {"vault": {"mountPrefix": theirs}}))
    secondary = load_settings(deep_merge(load_stack_config("fed-secondary"), {"vault": {"mountPrefix": own}}))
    paths = [p.path for p in pair_problems(secondary, primary, PRIMARY)]
    assert ("vault.mountPrefix" in paths) is overlaps, paths


def test_listing_another_secondary_changes_what_the_primarys_server_intermediates_are_signed_with() -> None:
    # The constraints are in the intermediates' certificates (the sign resources' inputs): docs/multi-cluster.md says
    # adding a secondary signs the server chain again, and adds its role beside the others.
    from secure_mesh.pki.plan import build_plan

    def server_plan(secondaries: list[str]) -> Any:
        config = deep_merge(load_stack_config("fed-primary"), {"topology": {"secondaries": secondaries}})
        settings = load_settings(config)
        return build_plan(settings, Layout(settings))

    one, two = server_plan(["dc2"]), server_plan(["dc2", "dc3"])
    for before, after in zip(one.chains[ChainName.SERVER], two.chains[ChainName.SERVER], strict=True):
        assert set(after.permitted_dns_domains) - set(before.permitted_dns_domains) == {"dc3.consul"}
    assert [r.name for r in two.roles if r.chain is ChainName.SERVER] == [
        "consul-server",
        "consul-server-dc2",
        "consul-server-dc3",
    ]
    for chain in (ChainName.CONNECT, ChainName.GATEWAY, ChainName.WEBHOOK):
        assert one.chains[chain] == two.chains[chain], f"the {chain.value} chain does not change"



def _project_with(tmp_path: Path, primary_text: str) -> Path:
    """A project directory holding only the primary's stack file (as given)."""
    (tmp_path / "Pulumi.fed-primary.yaml").write_text(primary_text)
    return tmp_path


def _primary_problems(project: Path) -> list[str]:
    with pytest.raises(SettingsError) as raised:
        primary_settings(load_settings(load_stack_config("fed-secondary")), project)
    assert raised.value.paths == ["topology.primaryStack"] * len(raised.value.problems)
    return [str(p) for p in raised.value.problems]


PRIMARY_TEXT = (PROJECT_DIR / "Pulumi.fed-primary.yaml").read_text()


@pytest.mark.parametrize(
    ("case", "text"),
    [
        ("not-yaml", "config: [unclosed\n"),
        ("not-a-stack-file", "- a list\n"),
        ("no-secondary-listed", PRIMARY_TEXT.replace("secondaries: [dc2]", "secondaries: [dc3]")),
        # the primary's own secret keys count: a license set without Enterprise is its problem, named here
        (
            "the-primarys-secret-keys",
            PRIMARY_TEXT.replace("config:\n", "config:\n  secure-mesh:consulLicense:\n    secure: v1:abc\n", 1),
        ),
    ],
)
def test_a_primary_stack_file_that_cannot_be_joined_is_refused_in_full(tmp_path: Path, case: str, text: str) -> None:
    lines = _primary_problems(_project_with(tmp_path, text))
    assert lines and all(PRIMARY in line for line in lines), lines
    assert lines == _pinned(f"primary:{case}", [line.replace(str(tmp_path), "<project>") for line in lines])


def test_only_a_secondary_reads_a_primary_stack_file(tmp_path: Path) -> None:
    # Not read in any other mode, even with a stale primaryStack on settings built without the checks.
    settings = load_settings(load_stack_config("fed-primary"))
    topology = settings.topology.model_copy(update={"primary_stack": PRIMARY})
    assert primary_settings(settings.model_copy(update={"topology": topology}), tmp_path) is None
