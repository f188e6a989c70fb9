"""How the pack reads a Consul release's Vault-facing values (secure_mesh_policy/chart.py), at its edges.

Every rule that checks what the chart asks of Vault (POL-LEAST, PKI scopes, the mesh CA) starts from these readers,
so a key read wrongly silently widens or narrows every such rule. Chart 2.0.3 renders a Vault path or role only
from a non-empty string (``{{- if .Values.global.secretsBackend.vault.consulServerRole }}``, charts/consul/
templates/_helpers.tpl): an empty string is unset, and so it must be here.
"""

from __future__ import annotations

from typing import Any

import pytest
from secure_mesh_policy import types as t
from secure_mesh_policy.chart import (
    CA_PATHS,
    ISSUE_PATHS,
    KV_SECRETS,
    ROLE_KEYS,
    ConsulValues,
    is_consul_release,
    split_issue,
)
from secure_mesh_policy.framework import Res

VAULT = "global.secretsBackend.vault"


def _values(flat: dict[str, Any]) -> dict[str, Any]:
    """Nested Helm values from dotted keys."""
    values: dict[str, Any] = {}
    for dotted, value in flat.items():
        node = values
        *parents, last = dotted.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value
    return values


def _consul(flat: dict[str, Any]) -> ConsulValues:
    props = {"chart": "consul", "values": _values(flat)}
    return ConsulValues.of(Res(t.HELM_RELEASE, "consul", "urn:pulumi:dev::secure-mesh::consul", props))


@pytest.mark.parametrize(
    ("chart", "consul"),
    [
        ("consul", True),
        ("hashicorp/consul", True),
        ("oci://registry.example.com/charts/consul", True),
        ("oci://registry.example.com/charts/consul/", True),
        ("consulX", False),
        ("hashicorp/consul-k8s", False),
        ("consul/vault", False),
        ("", False),
        (None, False),
    ],
)
def test_a_consul_release_is_known_by_the_last_segment_of_its_chart(chart: str | None, consul: bool) -> None:
    props: dict[str, Any] = {"values": {}} if chart is None else {"chart": chart, "values": {}}
    assert is_consul_release(Res(t.HELM_RELEASE, "r", "urn:r", props)) is consul
    assert is_consul_release(Res(t.K8S_SECRET, "r", "urn:r", {"chart": "consul"})) is False


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("consul/server/pki_int2/issue/consul-server", ("consul/server/pki_int2", "consul-server")),
        ("/pki/issue/web/", ("pki", "web")),
        ("pki/issue/", None),
        ("pki/sign/web", None),
        ("issue/web", None),
        ("", None),
    ],
)
def test_an_issue_path_splits_into_mount_and_role(path: str, expected: tuple[str, str] | None) -> None:
    assert split_issue(path) == expected


def test_only_non_empty_strings_name_roles_and_paths() -> None:
    """Every role key, KV secret, issue path, CA path and connect CA path set to '' (or a non-string) is unset."""
    empty: dict[str, Any] = {f"{VAULT}.{key}": "" for key in ROLE_KEYS}
    empty |= {f"{key}.secretName": "" for key in KV_SECRETS}
    empty |= {key: "" for key in (*ISSUE_PATHS, *CA_PATHS)}
    empty |= {f"{VAULT}.connectCA.rootPKIPath": "", f"{VAULT}.connectCA.intermediatePKIPath": 12}
    consul = _consul(empty)
    assert (consul.roles, consul.kv_paths(), consul.issue_paths(), consul.ca_paths()) == ({}, {}, {}, {})
    assert (consul.root_pki_path, consul.intermediate_pki_path) == (None, None)

    set_ = _consul(
        {
            f"{VAULT}.consulServerRole": "consul-server",
            "global.gossipEncryption.secretName": "/consul/kv/data/gossip/",
            "server.serverCert.secretName": "consul/server/pki_int2/issue/consul-server",
            "global.tls.caCert.secretName": "consul/server/pki_int2/cert/ca",
            f"{VAULT}.connectCA.rootPKIPath": "/consul/connect/pki_int1/",
            f"{VAULT}.connectCA.intermediatePKIPath": "consul/connect/dc1",
        }
    )
    assert set_.roles == {"consulServerRole": "consul-server"}
    assert set_.kv_paths() == {"global.gossipEncryption": "consul/kv/data/gossip"}
    assert set_.issue_paths() == {"server.serverCert.secretName": "consul/server/pki_int2/issue/consul-server"}
    assert set_.ca_paths() == {"global.tls.caCert.secretName": "consul/server/pki_int2/cert/ca"}
    assert (set_.root_pki_path, set_.intermediate_pki_path) == ("consul/connect/pki_int1", "consul/connect/dc1")


def test_a_release_without_values_reads_as_the_chart_defaults() -> None:
    consul = ConsulValues.of(Res(t.HELM_RELEASE, "consul", "urn:consul", {"chart": "consul"}))
    assert (consul.roles, consul.kv_paths(), consul.root_pki_path, consul.vault_enabled) == ({}, {}, None, False)


@pytest.mark.parametrize(
    ("annotation", "mount"),
    [
        ('"vault.hashicorp.com/auth-path": "auth/kubernetes-dc1"', "kubernetes-dc1"),
        ('"vault.hashicorp.com/auth-path": "/auth/kubernetes-dc1/"', "kubernetes-dc1"),
        # Vault's agent takes the mount with or without the auth/ prefix (agent-inject: auth-path)
        ('"vault.hashicorp.com/auth-path": "kubernetes-dc1"', "kubernetes-dc1"),
        ('"vault.hashicorp.com/auth-path": "oauth/kubernetes"', "oauth/kubernetes"),
        ('"vault.hashicorp.com/role": "consul"', None),
    ],
)
def test_the_agents_auth_mount_comes_from_the_auth_path_annotation(annotation: str, mount: str | None) -> None:
    consul = _consul({f"{VAULT}.agentAnnotations": annotation})
    assert consul.annotation_auth_path == mount
    assert consul.auth_mount == (mount or "kubernetes")


@pytest.mark.parametrize(
    ("datacenter", "primary", "secondary"),
    [
        (None, "dc1", False),  # the chart's default datacenter is dc1: naming it as the primary makes a primary
        (None, "dc2", True),
        ("dc2", "dc2", False),
        ("dc2", "dc1", True),
    ],
)
def test_a_secondary_names_another_primary_than_its_datacenter_whose_default_is_dc1(
    datacenter: str | None, primary: str, secondary: bool
) -> None:
    flat = {"global.federation.enabled": True, "global.federation.primaryDatacenter": primary}
    if datacenter is not None:
        flat["global.datacenter"] = datacenter
    values = _consul(flat)
    assert (values.is_federation_secondary, values.is_federation_primary) == (secondary, not secondary)
