"""Every name the layout computes, compared whole against the exact expected values (issue 19).

``document(layout)`` lists every public name and path of a ``Layout`` (and of each app's names), so a name
nobody thought to list cannot drift: a new attribute shows up in the comparison, and a changed spelling,
a dropped Vault namespace or a lost ``trunc 63 | trimSuffix "-"`` fails it. The expected documents are
written out literally for the dev stack with its apps and for variants that change derived values: a Vault
Enterprise namespace, a nested mount prefix, a secondary datacenter with Enterprise and snapshots, and
release names whose derived names cross 63 characters exactly where Helm's ``trimSuffix "-"`` matters.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from secure_mesh.layout import (
    AppNames,
    CatalogWatcherNames,
    Identity,
    KvPath,
    KvSecret,
    Layout,
    PkiMount,
    truncate_name,
)
from secure_mesh.settings import ChainName
from secure_mesh.settings.errors import SettingsError
from secure_mesh.settings.federation import primary_settings
from secure_mesh.settings.vault_ca_file import OFFLINE_PLACEHOLDER_PEM
from tests.harness import PROJECT_DIR
from tests.identities.variants import settings_for
from tests.onboarding.stacks import onboarding_config, onboarding_settings


def _mount(layout: Layout, mount: PkiMount) -> dict[str, Any]:
    return {
        "chain": mount.chain.value if mount.chain else None,
        "level": mount.level,
        "path": mount.path,
        "ca_path": mount.ca_path,
        "ca_chain_path": mount.ca_chain_path,
        "issue_path('r')": mount.issue_path("r"),
        "issuing_certificate_url": layout.pki_issuing_certificate_url(mount),
        "crl_distribution_point": layout.pki_crl_distribution_point(mount),
    }


def _kv(path: KvPath) -> dict[str, str]:
    return {
        "mount": path.mount,
        "name": path.name,
        "field": path.field,
        "data_path": path.data_path,
        "metadata_path": path.metadata_path,
    }


def _app(names: AppNames) -> dict[str, str]:
    return {field: getattr(names, field) for field in AppNames.__dataclass_fields__}


def _watcher(names: CatalogWatcherNames) -> dict[str, Any]:
    fields = {field: getattr(names, field) for field in CatalogWatcherNames.__dataclass_fields__}
    fields["consul_token"] = _kv(names.consul_token)
    return fields


SCALARS = (
    "connect_root_generation",
    "mount_prefix",
    "name_prefix",
    "datacenter",
    "server_role",
    "gateway_role",
    "webhook_role",
    "server_pki_issue_path",
    "server_ca_path",
    "gateway_pki_issue_path",
    "webhook_pki_issue_path",
    "webhook_ca_path",
    "connect_root_pki_path",
    "connect_intermediate_pki_path",
    "vault_api_base_url",
    "kv_mount",
    "is_secondary_datacenter",
    "is_federation_primary",
    "is_federation_secondary",
    "local_chains",
    "primary_server_role",
    "federation_server_domains",
    "kubernetes_auth_path",
    "kubernetes_auth_login_path",
    "mesh_ca_policy_name",
    "gateway_policy_name",
    "gateway_auth_role",
    "gateway_name",
    "gateway_service_account",
    "gateway_tls_secret_name",
    "gateway_secret_provider_class",
    "gateway_certificate_sync_workload",
    "gateway_certificate_service_account",
    "gateway_vault_connection",
    "gateway_vso_ca_secret",
    "vso_release_name",
    "vso_namespace",
    "csi_driver_release_name",
    "csi_driver_namespace",
    "token_reviewer_service_account",
    "token_reviewer_namespace",
    "token_reviewer_secret_name",
    "token_reviewer_binding_name",
    "vault_clients_binding_name",
    "mesh_gateway_service_account",
    "mesh_gateway_service",
    "audit_device_path",
    "consul_namespace",
    "consul_release_name",
    "consul_fullname",
    "server_dns_domains",
    "server_common_name",
    "webhook_dns_names",
    "consul_ui_service",
    "consul_server_service",
    "vault_ca_secret_name",
    "vault_ca_secret_key",
    "vault_csi_ca_directory",
    "vault_csi_ca_cert_path",
    "vault_namespace",
    "vault_injector_release_name",
    "database_mount",
)
"""Every name-valued attribute of ``Layout`` (test_the_document_lists_every_public_name keeps this complete)."""

LISTED_ELSEWHERE = {
    "connect_root_mount",
    "superseded_connect_root_mount",
    "federation_primary",
    "secondary_server_role",
    "secondary_server_domains",
    "consul_kv_secrets",
    "root_mount",
    "chain_mounts",
    "issuing_mount",
    "all_pki_mounts",
    "pki_issuing_certificate_url",
    "pki_crl_distribution_point",
    "kv",
    "kv_secrets",
    "app_kv",
    "auth_role",
    "policy_name",
    "service_account",
    "identities",
    "app",
    "database_connection",
    "database_connection_config_path",
    "database_rotate_root_path",
    "catalog_watcher",
    "jwt_provider",
    "jwt_role",
}
"""The attributes the document lists per mount, secret, identity or app instead of as one value."""


def document(layout: Layout) -> dict[str, Any]:
    """Every name the layout computes for its settings (for every identity, KV secret, mount and app)."""
    doc: dict[str, Any] = {name: getattr(layout, name) for name in SCALARS}
    doc["root_mount"] = _mount(layout, layout.root_mount) if layout.root_mount else None
    doc["chain_mounts"] = {c.value: [m.path for m in layout.chain_mounts(c)] for c in ChainName}
    doc["issuing_mount"] = {c.value: layout.issuing_mount(c).path for c in ChainName}
    doc["all_pki_mounts"] = [_mount(layout, m) for m in layout.all_pki_mounts]
    doc["connect_root_mount"] = {g: layout.connect_root_mount(g).path for g in (1, 2, 3)}
    superseded = layout.superseded_connect_root_mount
    doc["superseded_connect_root_mount"] = superseded.path if superseded is not None else None
    doc["kv_secrets"] = [s.value for s in layout.kv_secrets]
    doc["consul_kv_secrets"] = [s.value for s in layout.consul_kv_secrets]
    doc["federation_primary"] = layout.primary.datacenter if layout.primary is not None else None
    doc["secondary_servers"] = {
        dc: {"role": layout.secondary_server_role(dc), "domains": layout.secondary_server_domains(dc)}
        for dc in layout.settings.topology.secondaries
    }
    doc["kv"] = {s.value: _kv(layout.kv(s)) for s in KvSecret}
    doc["identities"] = [i.value for i in layout.identities]
    doc["per_identity"] = {
        i.value: {
            "auth_role": layout.auth_role(i),
            "policy_name": layout.policy_name(i),
            "service_account": layout.service_account(i),
        }
        for i in Identity
    }
    doc["apps"] = {
        app.name: {
            "names": _app(layout.app(app)),
            "secrets": {secret: _kv(layout.app_kv(app, secret)) for secret in app.secrets},
            "database_connection": layout.database_connection(app),
            "database_connection_config_path": layout.database_connection_config_path(app),
            "database_rotate_root_path": layout.database_rotate_root_path(app),
            "catalog_watcher": _watcher(layout.catalog_watcher(app)),
        }
        for app in layout.settings.apps
    }
    doc["jwt_providers"] = {
        provider.name: {
            **dataclasses.asdict(layout.jwt_provider(provider)),
            "roles": {
                app.name: layout.jwt_role(provider, app)
                for app in layout.settings.apps
                if layout.jwt_provider(provider).oidc_key is not None
            },
        }
        for provider in layout.settings.mesh.jwt_providers
    }
    return doc


VARIANT: dict[str, Any] = {
    "vault": {
        "namespace": "admin/team-a",
        "mountPrefix": "platform/mesh_ca",
        "kubernetesAuthMount": "k8s/east",
        "audit": {"path": "audit-east"},
    },
    "kubernetes": {"consulNamespace": "mesh-system"},
    "consul": {
        "datacenter": "dc-east-2",
        "enterprise": True,
        "clientsEnabled": True,
        "meshGateway": True,
        "snapshotAgent": {"enabled": True, "interval": "30m", "retain": 48},
        "domain": "mesh.internal",
        "releaseName": "edge",
    },
    "images": {"consul": "hashicorp/consul-enterprise:1.22-ent"},
    "mesh": {
        "jwtProviders": [
            {"name": "vault-ids"},
            {
                "name": "corp",
                "kind": "remote",
                "issuer": "https://login.example.com/",
                "jwksUri": "https://login.example.com/keys",
                "jwksCaCertPem": OFFLINE_PLACEHOLDER_PEM,
                "audiences": ["mesh-east"],
            },
        ]
    },
}
"""Every setting that changes a derived name at once: a Vault namespace, a nested prefix with ``_``, an
auth mount and audit path, a datacenter with a dashed name, Enterprise, clients and snapshots. (A federation
secondary is ``fed-secondary.json``: Enterprise and WAN federation exclude each other.)"""

ENTERPRISE_SNAPSHOTS: dict[str, Any] = {
    "consul": {"enterprise": True, "snapshotAgent": {"enabled": True, "interval": "30m", "retain": 48}},
    "images": {"consul": "hashicorp/consul-enterprise:1.22-ent"},
}

LONGEST_RELEASE: dict[str, Any] = {"consul": {"releaseName": "r" * 38}}
"""The longest release name the settings accept without ``consul.name``: ``consul.fullname`` is then 45 characters,
the most for which the chart's ``<fullname>-server`` StatefulSet (52) and every derived name stay valid."""

EXPECTED = Path(__file__).parent / "expected"
"""The expected documents, reviewed by hand: change them only with the change of name you intend."""


def as_json(value: Any) -> Any:
    """The document as JSON sees it (tuples as lists), for comparing with the expected files."""
    return json.loads(json.dumps(value))


def test_the_document_lists_every_public_name() -> None:
    # (mutmut's copies of the methods, named "xǁLayoutǁ<method>__mutmut_<n>", exist only under `make mutate`)
    public = {name for name in dir(Layout) if not name.startswith("_") and "ǁ" not in name}
    assert public == set(SCALARS) | LISTED_ELSEWHERE


def test_a_later_connect_root_generation_is_a_mount_of_its_own_and_keeps_the_one_before() -> None:
    # Consul rotates its root only when rootPKIPath names another mount (leader_connect_ca.go
    # primaryUpdateRootCA); every consumer of the path takes it from the layout.
    layout = Layout(settings_for("dev", {"rotation": {"connectRootGeneration": 3}, "consul": {"address": "https://localhost:8501"}}))
    assert layout.chain_mounts(ChainName.CONNECT) == (
        PkiMount(ChainName.CONNECT, 1, "consul/connect/pki_int1"),
        PkiMount(ChainName.CONNECT, 2, "consul/connect/pki_int2_g3"),
    )
    assert layout.connect_root_pki_path == layout.issuing_mount(ChainName.CONNECT).path == "consul/connect/pki_int2_g3"
    assert layout.superseded_connect_root_mount == PkiMount(ChainName.CONNECT, 2, "consul/connect/pki_int2_g2")
    assert layout.connect_intermediate_pki_path == "consul/connect/pki_consul_dc1"  # Consul's, across generations
    paths = [m.path for m in layout.all_pki_mounts]
    assert "consul/connect/pki_int2_g3" in paths and "consul/connect/pki_int2_g2" not in paths
    assert "consul/connect/pki_int2" not in paths
    at_one = Layout(settings_for("dev", {}))
    assert at_one.superseded_connect_root_mount is None and at_one.connect_root_pki_path == "consul/connect/pki_int2"


def test_dev_stack_with_its_apps_names_everything_as_expected() -> None:
    expected = json.loads((EXPECTED / "dev.json").read_text())
    assert as_json(document(Layout(onboarding_settings("dev")))) == expected


def test_every_derived_name_follows_namespace_prefix_datacenter_and_release() -> None:
    expected = json.loads((EXPECTED / "variant.json").read_text())
    assert as_json(document(Layout(settings_for("dev", VARIANT)))) == expected


@pytest.mark.parametrize("stack", ["fed-primary", "fed-secondary"])
def test_a_federation_names_what_it_shares_once_in_the_primary(stack: str) -> None:
    # The secondary's gossip key, replication token, server CA, server role and connect root are the primary's
    # names (computed from Pulumi.fed-primary.yaml); its gateway and webhook chains, KV mount, intermediate path and
    # auth mount are its own. The primary's server chain holds the secondary's role and permits its names.
    settings = settings_for(stack)
    layout = Layout(settings, primary_settings(settings, PROJECT_DIR))
    expected = json.loads((EXPECTED / f"{stack}.json").read_text())
    assert as_json(document(layout)) == expected


def test_a_secondary_layout_without_its_primary_says_how_to_build_it() -> None:
    layout = Layout(settings_for("fed-secondary"))
    assert layout.is_federation_secondary and layout.primary is None
    with pytest.raises(ValueError) as raised:
        _ = layout.server_ca_path
    assert str(raised.value) == (
        "a federation secondary's layout needs its primary's settings: Layout(settings, primary) with the settings "
        "of topology.primaryStack (secure_mesh.settings.federation.primary_settings)"
    )
    # What is its own needs no primary.
    assert layout.local_chains == (ChainName.GATEWAY, ChainName.WEBHOOK)
    assert layout.kv_mount == "consul-dc2/kv" and layout.chain_mounts(ChainName.SERVER) == ()


def test_root_outside_vault_leaves_only_the_intermediate_mounts() -> None:
    layout = Layout(settings_for("prod"))
    assert layout.root_mount is None
    assert [(m.chain, m.level) for m in layout.all_pki_mounts] == [
        (chain, level) for chain in ChainName for level in range(1, len(layout.chain_mounts(chain)) + 1)
    ]
    assert layout.all_pki_mounts[0].path == f"{layout.mount_prefix}/server/pki_int1"


def test_derived_names_are_the_charts_whole_names_at_the_longest_release() -> None:
    # The chart (2.0.3) names service accounts and Services "<fullname>-<component>" without truncating them; a
    # cut name would bind a Vault role to another account ("<fullname>-server-acl-init" cut to "<fullname>-server").
    layout = Layout(settings_for("dev", LONGEST_RELEASE))
    fullname = "r" * 38 + "-consul"
    assert layout.consul_fullname == fullname and len(fullname) == 45
    accounts = {i.value: layout.service_account(i) for i in Identity}
    assert accounts == {
        "server": fullname + "-server",
        "client": fullname + "-client",
        "server-acl-init": fullname + "-server-acl-init",
        "partition-init": fullname + "-partition-init",
        "connect-injector": fullname + "-connect-injector",
        "ca-reader": "*",
    }
    assert layout.mesh_gateway_service_account == layout.mesh_gateway_service == fullname + "-mesh-gateway"
    assert len(layout.consul_server_service) == 52, "the StatefulSet's name: its revision-hash label stays within 63"
    names = [*accounts.values(), layout.mesh_gateway_service, layout.consul_ui_service, *layout.webhook_dns_names[:1]]
    assert max(len(name) for name in names) == 62, "the connect injector's Service, the longest, is a valid label"


def test_a_release_one_character_longer_is_refused_before_any_name_is_derived() -> None:
    with pytest.raises(SettingsError) as raised:
        settings_for("dev", {"consul": {"releaseName": "r" * 39}})
    assert [(p.path, p.message) for p in raised.value.problems] == [
        (
            "consul.releaseName",
            f"'{'r' * 39}' makes the chart name its resources '{'r' * 39}-consul-…' (46 characters before the "
            "suffix); allowed: at most 38 characters (the chart adds '-consul'), or set consul.name (at most 40): "
            "the server StatefulSet '<name>-server' must stay within 52 characters for its pods' "
            "controller-revision-hash label, and the chart does not shorten derived names",
        )
    ]
    # consul.name (at most 40) lifts the limit on the release name: the chart then ignores the release's length
    named = Layout(settings_for("dev", {"consul": {"releaseName": "r" * 53, "name": "m" * 40}}))
    assert named.consul_fullname == "m" * 40 and named.service_account(Identity.SERVER) == "m" * 40 + "-server"


@pytest.mark.parametrize(
    ("name", "limit", "expected"),
    [
        ("a" * 63, 63, "a" * 63),  # exactly at the limit: untouched
        ("a" * 64, 63, "a" * 63),  # one past: cut
        ("a" * 62 + "-b", 63, "a" * 62),  # the cut ends in "-": dropped
        ("a" * 61 + "--b", 63, "a" * 61),  # every trailing "-" goes (Go's TrimSuffix drops one; none arise here)
        ("-a-", 63, "-a"),  # only trailing dashes go, and uncut names lose theirs too
        ("abcdef", 3, "abc"),
    ],
)
def test_truncate_name_is_helms_trunc_then_trim_suffix(name: str, limit: int, expected: str) -> None:
    assert truncate_name(name, limit) == expected


def test_truncate_name_defaults_to_63() -> None:
    assert truncate_name("b" * 70) == "b" * 63


@pytest.mark.parametrize(
    ("stack", "override", "secondary", "federation_primary", "secrets"),
    [
        ("dev", {}, False, False, ["gossip", "bootstrap-token"]),
        ("dev", {"consul": {"primaryDatacenter": "dc1"}}, False, False, ["gossip", "bootstrap-token"]),
        ("fed-primary", {}, False, True, ["gossip", "bootstrap-token", "replication-token"]),
        ("fed-secondary", {}, True, False, []),
        (
            "dev",
            ENTERPRISE_SNAPSHOTS,
            False,
            False,
            ["gossip", "bootstrap-token", "partition-token", "license", "snapshot-agent"],
        ),
    ],
)
def test_kv_secrets_follow_the_datacenter_role(
    stack: str, override: dict[str, Any], secondary: bool, federation_primary: bool, secrets: list[str]
) -> None:
    layout = Layout(settings_for(stack, override))
    assert layout.is_secondary_datacenter is secondary
    assert layout.is_federation_primary is federation_primary
    assert [s.value for s in layout.kv_secrets] == secrets


def test_truncate_name_trims_only_dashes() -> None:
    assert truncate_name("release-X") == "release-X"
    assert truncate_name("release-X-") == "release-X"


def test_database_connection_names_turn_underscores_into_dashes() -> None:
    """A PostgreSQL database name may hold ``_``; the Vault connection name (and its paths) use ``-`` instead."""
    config = onboarding_config("dev")
    config["apps"] = [  # copies: the apps in the config are the shared ORDERS_APP and the stack's own
        {**app, "database": {**app["database"], "databaseName": "orders_main_db"}} if app["name"] == "orders" else app
        for app in config["apps"]
    ]
    settings = onboarding_settings("dev", config)
    layout = Layout(settings)
    app = next(app for app in settings.apps if app.name == "orders")
    assert layout.database_connection(app) == "orders-orders-main-db"
    assert layout.database_connection_config_path(app) == "consul/database/config/orders-orders-main-db"
    assert layout.database_rotate_root_path(app) == "consul/database/rotate-root/orders-orders-main-db"
