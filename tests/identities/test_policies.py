"""The policy documents as data: every identity's full path → capabilities map, per settings variant."""

from __future__ import annotations

import json

import pytest

from secure_mesh.identities.policies import (
    Capability,
    Grant,
    PolicyDocument,
    attached_policies,
    connect_root_cross_sign_grants,
    documents_by_name,
    identity_policies,
    identity_policy,
    mesh_ca_policy,
)
from secure_mesh.layout import Identity
from tests.identities.variants import EVERYTHING_ON, layout_for

# Paths of the dev stack (prefix consul, dc1, server chain 2 levels, webhook chain 1 level).
GOSSIP = "consul/kv/data/consul/gossip"
BOOTSTRAP = "consul/kv/data/consul/bootstrap-token"
REPLICATION = "consul/kv/data/consul/replication-token"
PARTITION = "consul/kv/data/consul/partition-token"
LICENSE = "consul/kv/data/consul/license"
SNAPSHOT = "consul/kv/data/consul/snapshot-agent"
SERVER_ISSUE = "consul/server/pki_int2/issue/consul-server"
SERVER_CA = "consul/server/pki_int2/cert/ca"
WEBHOOK_ISSUE = "consul/webhook/pki_int1/issue/connect-injector"
WEBHOOK_CA = "consul/webhook/pki_int1/cert/ca"

R, RU, CU = ["read"], ["read", "update"], ["create", "update"]
SELF = {"auth/token/lookup-self": R, "auth/token/renew-self": ["update"]}
"""Every identity's agent renews and looks up its own token (roles carry no ``default`` policy)."""


def _with_self(policies: dict[Identity, dict[str, list[str]]]) -> dict[Identity, dict[str, list[str]]]:
    return {identity: {**paths, **SELF} for identity, paths in policies.items()}


def test_dev_policies_are_exactly_the_contract() -> None:
    layout = layout_for("dev")
    policies = {identity: document.paths for identity, document in identity_policies(layout).items()}
    assert policies == _with_self(
        {
            Identity.SERVER: {GOSSIP: R, SERVER_ISSUE: CU, SERVER_CA: R, BOOTSTRAP: R},
            Identity.SERVER_ACL_INIT: {BOOTSTRAP: RU, SERVER_CA: R},
            Identity.CONNECT_INJECTOR: {WEBHOOK_ISSUE: CU, WEBHOOK_CA: R, SERVER_CA: R},
            Identity.CA_READER: {SERVER_CA: R},
        }
    )


def test_everything_on_adds_exactly_the_optional_grants() -> None:
    layout = layout_for("dev", EVERYTHING_ON)
    policies = {identity: document.paths for identity, document in identity_policies(layout).items()}
    assert policies == _with_self(
        {
            Identity.SERVER: {
                GOSSIP: R,
                SERVER_ISSUE: CU,
                SERVER_CA: R,
                BOOTSTRAP: R,
                LICENSE: R,
                SNAPSHOT: R,
            },
            Identity.CLIENT: {GOSSIP: R, SERVER_CA: R, LICENSE: R},
            Identity.SERVER_ACL_INIT: {BOOTSTRAP: RU, SERVER_CA: R, PARTITION: R},
            Identity.CONNECT_INJECTOR: {WEBHOOK_ISSUE: CU, WEBHOOK_CA: R, SERVER_CA: R},
            Identity.CA_READER: {SERVER_CA: R},
            Identity.PARTITION_INIT: {PARTITION: R, SERVER_CA: R},
        }
    )


@pytest.mark.parametrize(
    ("override", "identity", "expected"),
    [
        ({"consul": {"clientsEnabled": True}}, Identity.CLIENT, {GOSSIP: R, SERVER_CA: R}),
        (
            {
                "images": {"consul": "hashicorp/consul-enterprise:1.22-ent"},
                "consul": {
                    "enterprise": True,
                    "snapshotAgent": {"enabled": True},
                },
            },
            Identity.SERVER,
            {SNAPSHOT: R, LICENSE: R},
        ),
        (
            {"consul": {"enterprise": True}, "images": {"consul": "hashicorp/consul-enterprise:1.22-ent"}},
            Identity.SERVER,
            {LICENSE: R},
        ),
        (
            {"consul": {"enterprise": True}, "images": {"consul": "hashicorp/consul-enterprise:1.22-ent"}},
            Identity.SERVER_ACL_INIT,
            {PARTITION: R},
        ),
    ],
)
def test_each_option_adds_only_its_own_paths(override: dict, identity: Identity, expected: dict) -> None:
    baseline = identity_policy(layout_for("dev"), identity).paths if identity is not Identity.CLIENT else SELF
    changed = identity_policy(layout_for("dev", override), identity).paths
    added = {path: caps for path, caps in changed.items() if baseline.get(path) != caps}
    assert added == expected, f"{identity}: {override} added {added}"
    assert set(baseline) <= set(changed)


def test_primary_datacenter_equal_to_own_datacenter_is_not_secondary() -> None:
    layout = layout_for("dev", {"consul": {"primaryDatacenter": "dc1"}})
    assert REPLICATION not in identity_policy(layout, Identity.SERVER).paths
    assert REPLICATION not in identity_policy(layout, Identity.SERVER_ACL_INIT).paths


def test_a_federation_secondary_reads_the_primarys_shared_paths_and_no_bootstrap_token() -> None:
    # consul-k8s acceptance/tests/vault/vault_wan_fed_test.go: the secondary's server role reads gossip, the shared
    # server CA and its issue role, and the replication token; its server-acl-init reads the replication token only
    # (it logs in with it: server-acl-init/command.go L323-329); no bootstrap token exists in a secondary.
    layout = layout_for("fed-secondary")
    policies = {identity: document.paths for identity, document in identity_policies(layout).items()}
    primary_ca = "consul-dc1/server/pki_int2/cert/ca"
    replication = "consul-dc1/kv/data/consul/replication-token"
    assert policies == _with_self(
        {
            Identity.SERVER: {
                "consul-dc1/kv/data/consul/gossip": R,
                "consul-dc1/server/pki_int2/issue/consul-server-dc2": CU,
                primary_ca: R,
                replication: R,
            },
            Identity.SERVER_ACL_INIT: {primary_ca: R, replication: R},
            Identity.CONNECT_INJECTOR: {
                "consul-dc2/webhook/pki_int1/issue/connect-injector": CU,
                "consul-dc2/webhook/pki_int1/cert/ca": R,
                primary_ca: R,
            },
            Identity.CA_READER: {primary_ca: R},
        }
    )
    # The primary: its server-acl-init creates the replication token, so it reads it; its servers do not.
    primary = {identity: document.paths for identity, document in identity_policies(layout_for("fed-primary")).items()}
    assert primary[Identity.SERVER_ACL_INIT] == {
        **SELF,
        "consul-dc1/kv/data/consul/bootstrap-token": RU,
        primary_ca: R,
        replication: R,
    }
    assert replication not in primary[Identity.SERVER]


def test_a_federation_secondarys_mesh_ca_never_touches_the_shared_root() -> None:
    # In a secondary Consul's Vault provider only generates a CSR in its intermediate mount and sets the certificate
    # the primary's servers signed (consul agent/connect/ca/provider_vault.go: GenerateRoot refuses outside the
    # primary; GenerateIntermediateCSR/SetIntermediate use the intermediate path only).
    secondary = mesh_ca_policy(layout_for("fed-secondary")).paths
    intermediate = "consul-dc2/connect/pki_consul_dc2"
    assert secondary == {
        **SELF,
        f"sys/mounts/{intermediate}": R,
        f"sys/mounts/{intermediate}/tune": ["update"],
        f"{intermediate}/*": ["create", "delete", "list", "read", "update"],
    }
    primary = mesh_ca_policy(layout_for("fed-primary")).paths
    root = "consul-dc1/connect/pki_int2"
    assert {path: caps for path, caps in primary.items() if path.startswith((root, f"sys/mounts/{root}"))} == {
        f"sys/mounts/{root}": R,
        f"{root}/": R,
        f"{root}/root/sign-intermediate": ["update"],
    }


def test_optional_identities_follow_the_settings() -> None:
    assert Identity.CLIENT not in identity_policies(layout_for("dev"))
    assert Identity.PARTITION_INIT not in identity_policies(layout_for("dev"))
    assert Identity.CLIENT in identity_policies(layout_for("dev", {"consul": {"clientsEnabled": True}}))
    assert Identity.PARTITION_INIT in identity_policies(
        layout_for(
            "dev", {"consul": {"enterprise": True}, "images": {"consul": "hashicorp/consul-enterprise:1.22-ent"}}
        )
    )


def test_prod_policies_use_the_prod_datacenter() -> None:
    documents = documents_by_name(layout_for("prod"))
    assert sorted(documents) == [
        "consul-eu-west-1-ca-reader",
        "consul-eu-west-1-connect-injector",
        "consul-eu-west-1-mesh-ca",
        "consul-eu-west-1-server",
        "consul-eu-west-1-server-acl-init",
    ]
    assert documents["consul-eu-west-1-server"].paths == {
        GOSSIP: R,
        SERVER_ISSUE: CU,
        SERVER_CA: R,
        BOOTSTRAP: R,
        **SELF,
    }


def test_mesh_ca_policy_is_the_vault_managed_paths() -> None:
    assert mesh_ca_policy(layout_for("dev")).paths == {
        "sys/mounts/consul/connect/pki_int2": ["read"],
        "sys/mounts/consul/connect/pki_consul_dc1": ["read"],
        "sys/mounts/consul/connect/pki_consul_dc1/tune": ["update"],
        "consul/connect/pki_int2/": ["read"],
        "consul/connect/pki_int2/root/sign-intermediate": ["update"],
        "consul/connect/pki_consul_dc1/*": ["create", "delete", "list", "read", "update"],
        "auth/token/renew-self": ["update"],
        "auth/token/lookup-self": ["read"],
    }
    prod = mesh_ca_policy(layout_for("prod"))
    assert prod.name == "consul-eu-west-1-mesh-ca"
    assert "consul/connect/pki_consul_eu_west_1/*" in prod.paths


def test_only_the_server_carries_the_mesh_ca_policy() -> None:
    layout = layout_for("dev", EVERYTHING_ON)
    assert attached_policies(layout, Identity.SERVER) == ("consul-dc1-server", "consul-dc1-mesh-ca")
    for identity in layout.identities:
        if identity is not Identity.SERVER:
            assert attached_policies(layout, identity) == (layout.policy_name(identity),), identity


@pytest.mark.parametrize("variant", [("dev", None), ("prod", None), ("dev", EVERYTHING_ON)])
def test_least_privilege_invariants(variant: tuple[str, dict | None]) -> None:
    layout = layout_for(*variant)
    for name, document in documents_by_name(layout).items():
        for path, caps in document.paths.items():
            assert "sudo" not in caps and "deny" not in caps, f"{name}: {path} {caps}"
            assert name != "root"
            if path.startswith(f"{layout.kv_mount}/"):
                assert path.startswith(f"{layout.kv_mount}/data/"), f"{name}: KV path without /data/: {path}"
                assert "delete" not in caps, f"{name}: delete on KV path {path}"
            if path.startswith("sys/"):
                assert name == layout.mesh_ca_policy_name, f"{name}: sys/ path {path}"
            if "*" in path or "+" in path:
                assert name == layout.mesh_ca_policy_name, f"{name}: glob {path}"
                assert path == f"{layout.connect_intermediate_pki_path}/*", f"{name}: glob {path}"
        if name != layout.mesh_ca_policy_name:
            # Outside the stack's own mounts, only the token self-endpoints (what `default` gave, and no more).
            outside = {p: c for p, c in document.paths.items() if not p.startswith(f"{layout.mount_prefix}/")}
            assert outside == SELF, name


def test_rendered_policy_is_vault_json_syntax() -> None:
    document = identity_policy(layout_for("dev"), Identity.SERVER_ACL_INIT)
    assert json.loads(document.render()) == {
        "path": {
            "auth/token/lookup-self": {"capabilities": ["read"]},
            "auth/token/renew-self": {"capabilities": ["update"]},
            BOOTSTRAP: {"capabilities": ["read", "update"]},
            SERVER_CA: {"capabilities": ["read"]},
        }
    }
    assert document.render() == identity_policy(layout_for("dev"), Identity.SERVER_ACL_INIT).render()


def test_same_path_twice_merges_capabilities() -> None:
    document = PolicyDocument.build(
        "p", [("a/b", frozenset({Capability.READ})), ("a/b", frozenset({Capability.UPDATE}))]
    )
    assert document.paths == {"a/b": ["read", "update"]}


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("a/b", "a/b", True),
        ("a/b", "a/b/c", False),
        ("a/b", "a/bc", False),
        ("a/b/", "a/b/", True),
        ("a/b/", "a/b", False),
        ("a/b/*", "a/b/c/d", True),
        ("a/b/*", "a/b", False),
        ("a/b*", "a/bc/d", True),
        ("a/+/c", "a/x/c", True),
        ("a/+/c", "a/x/y/c", False),
        ("/a/b", "a/b", True),
        # boundaries (issue 19): one segment under the glob, the glob's own directory, slashes at either end
        ("a/b/*", "a/b/c", True),
        ("a/b/*", "a/b/", True),
        ("a/b/*", "a/c/d", False),
        ("a/b/*", "x/b/c", False),
        ("a/*", "a", False),
        ("*", "anything/at/all", True),
        ("a/b", "/a/b", True),
        ("a/b", "a/b/", False),
        ("a/+/*", "a/x/y", True),
        ("a/+/*", "b/x/y", False),
        ("a/+/*", "a/x", False),
        ("+/b", "a/b", True),
        ("+/b", "a/c", False),
        ("a/+/c", "a/x/d", False),
        ("a/bX*", "a/b/c", False),  # a glob's stem never matches across a segment boundary
        ("Xa/b", "Xa/b", True),  # only slashes are stripped from either end
    ],
)
def test_grant_matching_follows_vault_globs(pattern: str, path: str, expected: bool) -> None:
    assert Grant(pattern, frozenset({Capability.READ})).matches(path) is expected


def test_allows_needs_a_matching_path_and_the_capability() -> None:
    document = PolicyDocument.build(
        "p",
        [
            ("kv/data/app/*", frozenset({Capability.READ})),
            ("pki/issue/web", frozenset({Capability.CREATE, Capability.UPDATE})),
        ],
    )
    assert document.allows("kv/data/app/db", "read")
    assert document.allows("kv/data/app/db", Capability.READ)
    assert not document.allows("kv/data/app/db", "update")  # the path matches, the capability does not
    assert not document.allows("kv/data/other/db", "read")  # the capability matches, the path does not
    assert document.allows("pki/issue/web", "update") and document.allows("pki/issue/web", "create")
    assert not document.allows("pki/issue/web", "read")
    assert not document.allows("pki/issue/webhook", "update")
    assert not document.allows("pki/issue/web", "sudo")  # only the connect root's cross-sign grant holds sudo
    with pytest.raises(ValueError):
        document.allows("pki/issue/web", "patch")  # not a capability any identity may hold


def test_parse_reads_back_exactly_what_render_wrote() -> None:
    for name, document in documents_by_name(layout_for("dev", EVERYTHING_ON)).items():
        assert PolicyDocument.parse(name, document.render()) == document, name


def test_build_orders_paths_and_keeps_every_grant() -> None:
    document = PolicyDocument.build(
        "p",
        [
            ("b/x", frozenset({Capability.READ})),
            ("a/y", frozenset({Capability.UPDATE})),
            ("b/x", frozenset({Capability.LIST})),
        ],
    )
    assert document.name == "p"
    assert document.grants == (
        Grant("a/y", frozenset({Capability.UPDATE})),
        Grant("b/x", frozenset({Capability.READ, Capability.LIST})),
    )
    assert list(document.paths) == ["a/y", "b/x"]
    assert document.render() == (
        '{\n  "path": {\n    "a/y": {\n      "capabilities": [\n        "update"\n      ]\n    },\n'
        '    "b/x": {\n      "capabilities": [\n        "list",\n        "read"\n      ]\n    }\n  }\n}'
    )


def test_render_sorts_paths_even_for_a_document_built_out_of_order() -> None:
    document = PolicyDocument(
        "p", (Grant("b/x", frozenset({Capability.READ})), Grant("a/y", frozenset({Capability.READ})))
    )
    assert list(json.loads(document.render())["path"]) == ["a/y", "b/x"]


def test_temporary_paths_join_a_policy_and_may_not_shadow_its_own() -> None:
    from secure_mesh.identities.component import VaultPolicyArgs, with_temporary_paths

    policy = VaultPolicyArgs(key="mesh-ca", name="consul-dc1-mesh-ca", paths={"a/": ("read",)})
    grant = {"b/root/sign-self-issued": ("sudo", "update")}
    assert with_temporary_paths(policy, grant) == {"a/": ("read",), "b/root/sign-self-issued": ("sudo", "update")}
    assert with_temporary_paths(policy, {}) == {"a/": ("read",)}
    with pytest.raises(ValueError, match=r"policies\[mesh-ca\]\.temporary_paths: \['a/'\] already in paths"):
        with_temporary_paths(policy, {"a/": ("read", "update")})


def test_the_cross_sign_grant_names_exactly_the_previous_connect_root() -> None:
    rotating = layout_for(
        "dev", {"rotation": {"connectRootGeneration": 3}, "consul": {"address": "https://localhost:8501"}}
    )
    old = "consul/connect/pki_int2_g2"
    assert connect_root_cross_sign_grants(rotating) == {
        f"sys/mounts/{old}": frozenset({Capability.READ}),
        f"{old}/": frozenset({Capability.READ}),
        f"{old}/root/sign-intermediate": frozenset({Capability.UPDATE}),
        f"{old}/root/sign-self-issued": frozenset({Capability.SUDO, Capability.UPDATE}),
    }
    assert connect_root_cross_sign_grants(layout_for("dev")) == {}
    assert not any(Capability.SUDO in caps for caps in mesh_ca_policy(rotating).paths.values())
