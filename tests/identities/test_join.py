"""Join roles → policies → paths over what the program registered, and prove who can do what.

Starting from the registered ``AuthBackendRole`` resources, each role's ``tokenPolicies`` are resolved to
the registered ``Policy`` documents (parsed back from their JSON text), and every path the chart reads is
checked against them: each identity can do exactly its job, and no identity reaches another purpose's
secrets. A second join starts from the Consul release's Helm values, so a path the values name that no
role can reach (or that the wrong role reaches) fails here.
"""

from __future__ import annotations

from typing import Any

import pytest

from secure_mesh.identities.policies import Capability, PolicyDocument
from secure_mesh.layout import Identity, KvSecret, Layout
from tests.conftest import stack_run
from tests.harness import ProgramRun
from tests.identities.variants import EVERYTHING_ON, everything_run, layout_for

ROLE = "vault:kubernetes/authBackendRole:AuthBackendRole"
POLICY = "vault:index/policy:Policy"
RELEASE = "kubernetes:helm.sh/v3:Release"

VARIANTS = {
    "dev": (lambda: stack_run("dev"), lambda: layout_for("dev")),
    "prod": (lambda: stack_run("prod"), lambda: layout_for("prod")),
    "everything-on": (everything_run, lambda: layout_for("dev", EVERYTHING_ON)),
}


class Access:
    """What each registered role may do, through the registered policies it carries."""

    def __init__(self, run: ProgramRun) -> None:
        documents = {
            r.inputs["name"]: PolicyDocument.parse(r.inputs["name"], r.inputs["policy"]) for r in run.of_type(POLICY)
        }
        self.roles: dict[str, list[PolicyDocument]] = {}
        # Consul's identities only: onboarded apps and the gateway are checked in tests/onboarding.
        component = "secure-mesh:index:VaultIdentities"
        consul_roles = [r for r in run.of_type(ROLE) if run.by_urn(r.parent).type == component]
        for role in consul_roles:
            missing = [p for p in role.inputs["tokenPolicies"] if p not in documents]
            assert not missing, f"role {role.inputs['roleName']} carries unregistered policies {missing}"
            self.roles[role.inputs["roleName"]] = [documents[p] for p in role.inputs["tokenPolicies"]]

    def can(self, role: str, capability: Capability, path: str) -> bool:
        """Whether a role's token may use ``capability`` on ``path``."""
        return any(document.allows(path, capability) for document in self.roles[role])

    def who_can(self, capability: Capability, path: str) -> set[str]:
        """Every role whose token may use ``capability`` on ``path``."""
        return {role for role in self.roles if self.can(role, capability, path)}


@pytest.fixture(params=sorted(VARIANTS))
def variant(request: pytest.FixtureRequest) -> tuple[Access, Layout]:
    run_fn, layout_fn = VARIANTS[request.param]
    return Access(run_fn()), layout_fn()


def test_server_issues_its_certificate_and_reads_its_secrets(variant: tuple[Access, Layout]) -> None:
    access, layout = variant
    server = layout.auth_role(Identity.SERVER)
    for capability in (Capability.CREATE, Capability.UPDATE):
        assert access.can(server, capability, layout.server_pki_issue_path), f"{server} cannot {capability} its cert"
    wanted = [KvSecret.GOSSIP, KvSecret.BOOTSTRAP_TOKEN]
    if layout.settings.consul.enterprise:
        wanted.append(KvSecret.LICENSE)
    if layout.settings.consul.snapshot_agent.enabled:
        wanted.append(KvSecret.SNAPSHOT_AGENT)
    if layout.is_secondary_datacenter:
        wanted.append(KvSecret.REPLICATION_TOKEN)
    for secret in wanted:
        assert access.can(server, Capability.READ, layout.kv(secret).data_path), f"{server} cannot read {secret}"


def test_server_acl_init_reads_and_writes_back_the_bootstrap_token(variant: tuple[Access, Layout]) -> None:
    access, layout = variant
    path = layout.kv(KvSecret.BOOTSTRAP_TOKEN).data_path
    assert access.who_can(Capability.UPDATE, path) == {layout.auth_role(Identity.SERVER_ACL_INIT)}
    assert access.who_can(Capability.READ, path) == {
        layout.auth_role(Identity.SERVER_ACL_INIT),
        layout.auth_role(Identity.SERVER),
    }


def test_injector_issues_webhook_certificates(variant: tuple[Access, Layout]) -> None:
    access, layout = variant
    injector = layout.auth_role(Identity.CONNECT_INJECTOR)
    assert access.who_can(Capability.CREATE, layout.webhook_pki_issue_path) == {injector}
    assert access.who_can(Capability.UPDATE, layout.webhook_pki_issue_path) == {injector}
    assert access.who_can(Capability.READ, layout.webhook_ca_path) == {injector}


def test_ca_role_reads_only_the_ca(variant: tuple[Access, Layout]) -> None:
    access, layout = variant
    ca_role = layout.auth_role(Identity.CA_READER)
    assert [d.paths for d in access.roles[ca_role]] == [
        {layout.server_ca_path: ["read"], "auth/token/lookup-self": ["read"], "auth/token/renew-self": ["update"]}
    ], "the CA and its own token, nothing else (the role carries no default policy)"
    every_path = [layout.kv(s).data_path for s in KvSecret] + [
        layout.server_pki_issue_path,
        layout.webhook_pki_issue_path,
        layout.webhook_ca_path,
        f"{layout.connect_root_pki_path}/root/sign-intermediate",
    ]
    for path in every_path:
        for capability in Capability:
            assert not access.can(ca_role, capability, path), f"{ca_role} can {capability} {path}"


def test_every_identity_reaches_the_server_ca(variant: tuple[Access, Layout]) -> None:
    access, layout = variant
    assert access.who_can(Capability.READ, layout.server_ca_path) == set(access.roles)


def test_no_identity_reads_another_purposes_secret(variant: tuple[Access, Layout]) -> None:
    access, layout = variant
    role = layout.auth_role
    clients = {role(Identity.CLIENT)} if layout.settings.consul.clients_enabled else set()
    partition_init = {role(Identity.PARTITION_INIT)} if layout.settings.consul.enterprise else set()
    readers = {
        KvSecret.GOSSIP: {role(Identity.SERVER)} | clients,
        KvSecret.BOOTSTRAP_TOKEN: {role(Identity.SERVER), role(Identity.SERVER_ACL_INIT)},
        KvSecret.LICENSE: ({role(Identity.SERVER)} | clients) if layout.settings.consul.enterprise else set(),
        KvSecret.SNAPSHOT_AGENT: {role(Identity.SERVER)} if layout.settings.consul.snapshot_agent.enabled else set(),
        KvSecret.REPLICATION_TOKEN: (
            {role(Identity.SERVER), role(Identity.SERVER_ACL_INIT)} if layout.is_secondary_datacenter else set()
        ),
        KvSecret.PARTITION_TOKEN: (
            ({role(Identity.SERVER_ACL_INIT)} | partition_init) if layout.settings.consul.enterprise else set()
        ),
    }
    for secret, expected in readers.items():
        path = layout.kv(secret)
        assert access.who_can(Capability.READ, path.data_path) == expected, f"readers of {path.data_path}"
        for capability in Capability:
            assert access.who_can(capability, path.metadata_path) == set(), f"{capability} on {path.metadata_path}"
        assert access.who_can(Capability.DELETE, path.data_path) == set(), f"delete on {path.data_path}"
    issuers = access.who_can(Capability.UPDATE, layout.server_pki_issue_path)
    assert issuers == {role(Identity.SERVER)}, "only servers get server certificates"


def test_only_the_server_drives_the_mesh_ca(variant: tuple[Access, Layout]) -> None:
    access, layout = variant
    server = {layout.auth_role(Identity.SERVER)}
    root, intermediate = layout.connect_root_pki_path, layout.connect_intermediate_pki_path
    assert access.who_can(Capability.UPDATE, f"{root}/root/sign-intermediate") == server
    assert access.who_can(Capability.UPDATE, f"sys/mounts/{intermediate}/tune") == server
    assert access.who_can(Capability.CREATE, f"{intermediate}/roles/leaf-cert") == server
    assert access.who_can(Capability.UPDATE, f"{root}/issue/anything") == set(), "nobody issues from the root path"
    assert access.who_can(Capability.UPDATE, "sys/mounts/other") == set()


# ------------------------------------------------------------------------------------ Helm values join


def _value(values: dict[str, Any], dotted: str) -> Any:
    node: Any = values
    for key in dotted.split("."):
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


HELM_SECRET_READERS = {
    # values key naming a Vault path → values keys naming the roles that must reach it (capabilities).
    "global.gossipEncryption.secretName": (("consulServerRole", "consulClientRole"), (Capability.READ,)),
    "global.acls.bootstrapToken.secretName": (("consulServerRole", "manageSystemACLsRole"), (Capability.READ,)),
    "global.acls.replicationToken.secretName": (("consulServerRole", "manageSystemACLsRole"), (Capability.READ,)),
    "global.acls.partitionToken.secretName": (("manageSystemACLsRole", "adminPartitionsRole"), (Capability.READ,)),
    "global.enterpriseLicense.secretName": (("consulServerRole", "consulClientRole"), (Capability.READ,)),
    "server.snapshotAgent.configSecret.secretName": (("consulServerRole",), (Capability.READ,)),
    "server.serverCert.secretName": (("consulServerRole",), (Capability.CREATE, Capability.UPDATE)),
    "global.secretsBackend.vault.connectInject.tlsCert.secretName": (
        ("connectInjectRole",),
        (Capability.CREATE, Capability.UPDATE),
    ),
    "global.secretsBackend.vault.connectInject.caCert.secretName": (("connectInjectRole",), (Capability.READ,)),
}
ROLE_KEYS = (
    "consulServerRole",
    "consulClientRole",
    "manageSystemACLsRole",
    "adminPartitionsRole",
    "connectInjectRole",
    "consulCARole",
)


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_every_path_the_helm_values_name_is_reachable_by_its_reader_only(name: str) -> None:
    run = VARIANTS[name][0]()
    releases = [r for r in run.of_type(RELEASE) if r.inputs.get("chart") == "consul"]
    if not releases:
        pytest.skip("the Consul release is not registered in this run")
    values = releases[0].inputs["values"]
    access = Access(run)
    vault_values = _value(values, "global.secretsBackend.vault") or {}
    roles = {key: vault_values[key] for key in ROLE_KEYS if vault_values.get(key)}
    for key, role in roles.items():
        assert role in access.roles, f"Helm {key}={role!r} names no registered Kubernetes-auth role"
    assert _value(values, "global.gossipEncryption.secretName"), "the values must name the gossip key"
    checked = 0
    for value_key, (reader_keys, capabilities) in HELM_SECRET_READERS.items():
        path = _value(values, value_key)
        if path is None:
            continue
        readers = {roles[k] for k in reader_keys if k in roles}
        for capability in capabilities:
            allowed = access.who_can(capability, path)
            assert readers <= allowed, f"{value_key}={path}: {readers - allowed} cannot {capability}"
            if "/data/" in path:
                assert allowed <= readers, f"{value_key}={path}: {allowed - readers} can {capability} too"
        checked += 1
    ca_path = _value(values, "global.tls.caCert.secretName")
    assert ca_path is not None
    assert access.who_can(Capability.READ, ca_path) >= set(roles.values()), "every role must read the server CA"
    assert checked >= 5
