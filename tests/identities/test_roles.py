"""The Kubernetes-auth role specs as data: bound names and namespaces, audience, alias source, TTLs, policies."""

from __future__ import annotations

from secure_mesh.identities.roles import RoleSpec, role_specs
from secure_mesh.layout import Identity
from tests.identities.variants import EVERYTHING_ON, layout_for

AUDIENCE = "https://kubernetes.default.svc.cluster.local"


def _spec(identity: Identity, account: str, policies: tuple[str, ...]) -> RoleSpec:
    return RoleSpec(
        identity=identity,
        role_name=f"consul-{identity.value}",
        bound_service_account_names=(account,),
        bound_service_account_namespaces=("consul",),
        audience=AUDIENCE,
        token_policies=policies,
        alias_name_source="serviceaccount_uid",
        token_ttl=3600,
        token_max_ttl=14400,
    )


def test_every_role_of_a_full_stack_is_exact() -> None:
    specs = {spec.identity: spec for spec in role_specs(layout_for("dev", EVERYTHING_ON))}
    assert specs == {
        Identity.SERVER: _spec(Identity.SERVER, "consul-consul-server", ("consul-dc1-server", "consul-dc1-mesh-ca")),
        Identity.CLIENT: _spec(Identity.CLIENT, "consul-consul-client", ("consul-dc1-client",)),
        Identity.SERVER_ACL_INIT: _spec(
            Identity.SERVER_ACL_INIT, "consul-consul-server-acl-init", ("consul-dc1-server-acl-init",)
        ),
        Identity.CONNECT_INJECTOR: _spec(
            Identity.CONNECT_INJECTOR, "consul-consul-connect-injector", ("consul-dc1-connect-injector",)
        ),
        Identity.CA_READER: _spec(Identity.CA_READER, "*", ("consul-dc1-ca-reader",)),
        Identity.PARTITION_INIT: _spec(
            Identity.PARTITION_INIT, "consul-consul-partition-init", ("consul-dc1-partition-init",)
        ),
    }


def test_only_the_ca_reader_binds_every_service_account() -> None:
    for spec in role_specs(layout_for("dev", EVERYTHING_ON)):
        assert spec.bound_service_account_namespaces == ("consul",), spec.role_name
        if spec.identity is Identity.CA_READER:
            assert spec.bound_service_account_names == ("*",)
            assert spec.token_policies == ("consul-dc1-ca-reader",)
        else:
            assert "*" not in spec.bound_service_account_names, spec.role_name


def test_names_follow_release_name_and_namespace_settings() -> None:
    layout = layout_for("dev", {"consul": {"releaseName": "mesh"}, "kubernetes": {"consulNamespace": "platform"}})
    server = next(spec for spec in role_specs(layout) if spec.identity is Identity.SERVER)
    assert server.bound_service_account_names == ("mesh-consul-server",)
    assert server.bound_service_account_namespaces == ("platform",)


def test_audience_comes_from_settings() -> None:
    layout = layout_for("dev", {"vault": {"kubernetesAudience": "https://kubernetes.default.svc"}})
    assert {spec.audience for spec in role_specs(layout)} == {"https://kubernetes.default.svc"}


def test_token_ttl_is_short_and_bounded() -> None:
    for spec in role_specs(layout_for("prod")):
        assert spec.token_ttl == 3600, spec.role_name
        assert spec.token_ttl <= spec.token_max_ttl == 14400, spec.role_name


def test_resource_args_are_the_whole_role_as_vault_takes_it() -> None:
    """Every input of ``AuthBackendRole``, compared whole: a flag nobody listed cannot drift (issue 19)."""
    layout = layout_for("dev", {"vault": {"kubernetesAuthMount": "k8s/east"}})
    server = next(spec for spec in role_specs(layout) if spec.identity is Identity.SERVER)
    assert server.resource_args(layout.kubernetes_auth_path) == {
        "backend": "k8s/east",
        "role_name": "consul-server",
        "bound_service_account_names": ["consul-consul-server"],
        "bound_service_account_namespaces": ["consul"],
        "audience": AUDIENCE,
        "alias_name_source": "serviceaccount_uid",
        "token_ttl": 3600,
        "token_max_ttl": 14400,
        "token_policies": ["consul-dc1-server", "consul-dc1-mesh-ca"],
        "token_no_default_policy": True,
    }


def test_no_role_attaches_vaults_default_policy() -> None:
    for spec in role_specs(layout_for("dev", EVERYTHING_ON)):
        assert spec.token_no_default_policy is True, spec.role_name
        assert spec.resource_args("kubernetes-dc1")["token_no_default_policy"] is True, spec.role_name
