"""The layout: the exact names the dev stack uses, and properties that hold for any valid settings."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from secure_mesh.layout import Identity, KvSecret, Layout
from secure_mesh.settings import ChainName, Settings, load_settings
from tests.harness import deep_merge, load_stack_config

DEV = load_settings(load_stack_config("dev"))
VAULT_PATH = re.compile(r"^[a-z0-9][a-z0-9_-]*(/[a-z0-9][a-z0-9_-]*)*$")
DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")


def test_dev_stack_paths_are_the_documented_ones() -> None:
    layout = Layout(DEV)
    assert layout.root_mount is not None and layout.root_mount.path == "consul/pki_root"
    assert [m.path for m in layout.chain_mounts(ChainName.SERVER)] == [
        "consul/server/pki_int1",
        "consul/server/pki_int2",
    ]
    assert layout.server_pki_issue_path == "consul/server/pki_int2/issue/consul-server"
    assert layout.server_ca_path == "consul/server/pki_int2/cert/ca"
    assert layout.connect_root_pki_path == "consul/connect/pki_int2"
    assert layout.connect_intermediate_pki_path == "consul/connect/pki_consul_dc1"
    assert layout.gateway_pki_issue_path == "consul/gateway/pki_int1/issue/api-gateway"
    assert layout.webhook_pki_issue_path == "consul/webhook/pki_int1/issue/connect-injector"
    assert layout.kv(KvSecret.GOSSIP).data_path == "consul/kv/data/consul/gossip"
    assert layout.kv(KvSecret.BOOTSTRAP_TOKEN).field == "token"
    assert layout.kubernetes_auth_path == "kubernetes-dc1"
    assert layout.consul_fullname == "consul-consul"
    assert layout.service_account(Identity.SERVER) == "consul-consul-server"
    assert layout.service_account(Identity.SERVER_ACL_INIT) == "consul-consul-server-acl-init"
    assert layout.service_account(Identity.CA_READER) == "*"
    assert layout.auth_role(Identity.CONNECT_INJECTOR) == "consul-connect-injector"
    assert layout.policy_name(Identity.SERVER) == "consul-dc1-server"


def test_server_role_domains_are_exactly_what_the_chart_requests() -> None:
    assert Layout(DEV).server_dns_domains == (
        "dc1.consul",
        "consul-consul-server",
        "consul-consul-server.consul",
        "consul-consul-server.consul.svc",
    )


def test_global_name_overrides_the_release_derived_fullname() -> None:
    settings = load_settings(deep_merge(load_stack_config("dev"), {"consul": {"name": "mesh"}}))
    assert Layout(settings).service_account(Identity.CONNECT_INJECTOR) == "mesh-connect-injector"


def test_identities_follow_clients_and_enterprise() -> None:
    assert Identity.CLIENT not in Layout(DEV).identities
    assert Identity.PARTITION_INIT not in Layout(DEV).identities
    with_clients = load_settings(deep_merge(load_stack_config("dev"), {"consul": {"clientsEnabled": True}}))
    assert Identity.CLIENT in Layout(with_clients).identities


# ------------------------------------------------------------------------------ property tests

labels = st.from_regex(r"^[a-z][a-z0-9-]{0,14}[a-z0-9]$", fullmatch=True)
release_names = st.from_regex(r"^[a-z]([a-z0-9-]{0,36}[a-z0-9])?$", fullmatch=True)
"""Up to the 38 characters a release name may have without consul.name (the chart's fullname '<release>-consul' is
then 45, the most for which every derived name stays within Kubernetes' limits)."""
prefixes = st.lists(st.from_regex(r"^[a-z]([a-z0-9_]{0,10}[a-z0-9])?$", fullmatch=True), min_size=1, max_size=3).map(
    "/".join
)


@st.composite
def valid_settings(draw: st.DrawFn) -> Settings:
    levels = {name: draw(st.integers(1, 3)) for name in ("server", "connect", "gateway", "webhook")}
    config = deep_merge(
        load_stack_config("dev"),
        {
            "vault": {"mountPrefix": draw(prefixes)},
            "kubernetes": {"consulNamespace": draw(labels)},
            "consul": {
                "datacenter": draw(labels),
                "releaseName": draw(release_names),
                "clientsEnabled": draw(st.booleans()),
                **({"name": draw(labels)} if draw(st.booleans()) else {}),
            },
            "pki": {"chains": {name: {"levels": count} for name, count in levels.items()}},
        },
    )
    return load_settings(config)


@settings(max_examples=60, deadline=None)
@given(valid_settings())
def test_names_are_valid_unique_and_stable(settings_: Settings) -> None:
    layout = Layout(settings_)
    mounts = [m.path for m in layout.all_pki_mounts] + [layout.kv_mount, layout.connect_intermediate_pki_path]
    for path in [*mounts, layout.kubernetes_auth_path]:
        assert VAULT_PATH.match(path), f"{path!r} is not a valid Vault path"
    assert len(set(mounts)) == len(mounts), f"mount paths collide: {mounts}"
    for identity in layout.identities:
        if identity is Identity.CA_READER:
            continue
        account = layout.service_account(identity)
        # the chart's own name, never cut (a cut name would be another account), and a valid DNS label
        assert account == f"{layout.consul_fullname}-{identity.value}"
        assert len(account) <= 63 and DNS_LABEL.match(account), f"{account!r} is not a DNS label"
    for name in (layout.mesh_gateway_service_account, layout.consul_fullname, *layout.webhook_dns_names[:1]):
        assert len(name) <= 63 and DNS_LABEL.match(name), f"{name!r} is not a DNS label"
    assert len(layout.consul_server_service) <= 52, "the server StatefulSet's revision-hash label fits in 63"
    policies = [layout.policy_name(i) for i in layout.identities] + [layout.mesh_ca_policy_name]
    assert len(set(policies)) == len(policies)
    roles = [layout.auth_role(i) for i in layout.identities]
    assert len(set(roles)) == len(roles)
    again = Layout(settings_)
    assert again.server_pki_issue_path == layout.server_pki_issue_path
    assert again.server_dns_domains == layout.server_dns_domains
    assert [m.path for m in again.all_pki_mounts] == [m.path for m in layout.all_pki_mounts]


def test_database_paths_come_from_one_place() -> None:
    """The connection, its rotate-root endpoint and the watcher's one writable path name the same connection."""
    from tests.onboarding.stacks import onboarding_settings

    settings = onboarding_settings("dev")
    layout = Layout(settings)
    orders = next(app for app in settings.apps if app.name == "orders")
    assert layout.database_connection(orders) == "orders-orders"
    assert layout.database_connection_config_path(orders) == "consul/database/config/orders-orders"
    assert layout.database_rotate_root_path(orders) == "consul/database/rotate-root/orders-orders"
    assert layout.catalog_watcher(orders).connection_config_path == layout.database_connection_config_path(orders)
