"""The Vault policy and Kubernetes-auth rules (secure_mesh_policy/auth.py), finding by finding (issue 19).

Each violation is asserted whole -- the property, the value shown, the problem and the fix -- and rules that
walk several entries are fed the offending entry first, last and after an entry they skip, so a rule that
stopped at the first entry it skips (or only looked at the first) fails here.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from secure_mesh_policy import types as t
from secure_mesh_policy.auth import _jwt_service_account

from tests.policy.support import check, parse_finding


def policy_doc(paths: dict[str, list[str]]) -> str:
    return json.dumps({"path": {p: {"capabilities": c} for p, c in paths.items()}})


def findings(policy: str, type_token: str, props: dict[str, Any], **kw: Any) -> list[tuple[str, str, str, str]]:
    """The (property, value, problem, fix) of every finding one rule reports on one resource."""
    return [
        (f.prop, f.value, f.problem, f.fix)
        for f in (parse_finding(m) for m in check(policy, type_token, props, name="p", **kw))
    ]


SKIPPED = {"consul/kv/data/x": ["deny"]}
"""A path pol-least and pol-kv-data skip (deny reaches nothing)."""
HARMLESS = {"consul/kv/data/consul/gossip": ["read"]}
"""A path they check and pass."""

TOP_GLOB = (
    "policy.path['consul/*']",
    "['read']",
    "the glob spans every mount",
    "grant exact paths",
)


@pytest.mark.parametrize(
    "paths",
    [
        {"consul/*": ["read"]},
        {"consul/*": ["read"], **HARMLESS},
        {**HARMLESS, "consul/*": ["read"]},
        {**SKIPPED, "consul/*": ["read"]},
        {**SKIPPED, **HARMLESS, "consul/*": ["read"]},
    ],
    ids=["alone", "first", "last", "after-skipped", "after-skipped-and-passed"],
)
def test_pol_least_finds_the_offending_path_wherever_it_is(paths: dict[str, list[str]]) -> None:
    assert findings("pol-least", t.POLICY, {"name": "p", "policy": policy_doc(paths)}) == [TOP_GLOB]


def test_pol_least_reports_every_offending_path_with_its_own_finding() -> None:
    paths = {"sys/policies/acl/x": ["update"], **SKIPPED, "consul/kv/data/y": ["read", "sudo"], "*": ["list"]}
    assert findings("pol-least", t.POLICY, {"name": "p", "policy": policy_doc(paths)}) == [
        (
            "policy.path['sys/policies/acl/x']",
            "['update']",
            "sys/ access beyond the mesh CA's mount read and tune",
            "remove the path",
        ),
        ("policy.path['consul/kv/data/y']", "['read', 'sudo']", "sudo reaches root-protected endpoints", "remove sudo"),
        ("policy.path['*']", "['list']", "the glob spans every mount", "grant exact paths"),
    ]


def test_pol_least_names_unknown_capabilities_and_allows_the_token_self_endpoints() -> None:
    paths = {"consul/kv/data/x": ["reed"], "auth/token/renew-self": ["update"], "auth/token/lookup-self": ["read"]}
    assert findings("pol-least", t.POLICY, {"name": "p", "policy": policy_doc(paths)}) == [
        (
            "policy.path['consul/kv/data/x']",
            "['reed']",
            "unknown capabilities ['reed'] are ignored by Vault",
            "use create, read, update, patch, delete, list or deny",
        )
    ]
    assert findings(
        "pol-least", t.POLICY, {"name": "p", "policy": policy_doc({"auth/token/renew-self": ["update", "read"]})}
    ) == [
        (
            "policy.path['auth/token/renew-self']",
            "['read', 'update']",
            "an identity may reconfigure or use auth methods",
            "only auth/token/renew-self (update) and auth/token/lookup-self (read) are allowed",
        )
    ]


@pytest.mark.parametrize(
    ("path", "capabilities", "allowed"),
    [
        ("sys/mounts/consul/connect/pki_int2", ["read"], True),
        ("sys/mounts/consul/connect/pki_int2", ["update"], False),
        ("sys/mounts/consul/connect/pki_consul_dc1/tune", ["read", "update"], True),
        ("sys/mounts/consul/connect/pki_consul_dc1/tune", ["create"], False),
        ("sys/mounts/consul/*", ["read"], False),
        ("sys/mounts/+/tune", ["update"], False),
        ("sys/mount/consul", ["read"], False),
    ],
)
def test_pol_least_allows_sys_only_in_the_mesh_ca_shapes(path: str, capabilities: list[str], allowed: bool) -> None:
    found = findings("pol-least", t.POLICY, {"name": "p", "policy": policy_doc({path: capabilities})})
    expected = (
        []
        if allowed
        else [
            (
                f"policy.path[{path!r}]",
                str(sorted(capabilities)),
                "sys/ access beyond the mesh CA's mount read and tune",
                "remove the path",
            )
        ]
    )
    assert found == expected


@pytest.mark.parametrize(
    ("paths", "expected"),
    [
        (
            {**SKIPPED, "consul/kv/destroy/x": ["update"]},
            (
                "policy.path['consul/kv/destroy/x']",
                "['update']",
                "reaches KV-v2 version destruction",
                "remove the path",
            ),
        ),
        (
            {**HARMLESS, "consul/kv/undelete/x": ["update"]},
            (
                "policy.path['consul/kv/undelete/x']",
                "['update']",
                "reaches KV-v2 version destruction",
                "remove the path",
            ),
        ),
        (
            {**SKIPPED, **HARMLESS, "consul/kv/delete/x": ["create"]},
            ("policy.path['consul/kv/delete/x']", "['create']", "can soft-delete KV-v2 versions", "remove the path"),
        ),
        (
            {"consul/kv/metadata/x": ["delete"], **SKIPPED},
            (
                "policy.path['consul/kv/metadata/x']",
                "['delete']",
                "grants delete on KV-v2 data or metadata",
                "drop the delete capability",
            ),
        ),
    ],
    ids=["destroy-after-skipped", "undelete-last", "soft-delete-after-both", "metadata-delete-first"],
)
def test_pol_kv_data_finds_destructive_paths_wherever_they_are(
    paths: dict[str, list[str]], expected: tuple[str, str, str, str]
) -> None:
    assert findings("pol-kv-data", t.POLICY, {"name": "p", "policy": policy_doc(paths)}) == [expected]


def test_pol_kv_data_lets_a_delete_segment_at_the_start_and_reads_of_delete_pass() -> None:
    # "delete" as the first segment is a mount named delete, not the KV-v2 delete endpoint; reading it deletes nothing
    paths = {"delete/data/x": ["update"], "consul/kv/delete/x": ["read"], "consul/kv/data/y": ["read", "list"]}
    assert findings("pol-kv-data", t.POLICY, {"name": "p", "policy": policy_doc(paths)}) == []


ROLE: dict[str, Any] = {
    "backend": "kubernetes-dc1",
    "roleName": "consul-server",
    "boundServiceAccountNames": ["consul-consul-server"],
    "boundServiceAccountNamespaces": ["consul"],
    "audience": "https://kubernetes.default.svc.cluster.local",
    "aliasNameSource": "serviceaccount_uid",
    "tokenTtl": 3600,
    "tokenMaxTtl": 14400,
    "tokenPolicies": ["consul-dc1-server"],
}


def role(**over: Any) -> dict[str, Any]:
    return {k: v for k, v in {**ROLE, **over}.items() if v is not None}


@pytest.mark.parametrize("rule", ["k8s-ttl", "k8s-audience", "k8s-alias", "k8s-names", "k8s-namespace"])
def test_the_programs_role_shape_passes_every_role_rule(rule: str) -> None:
    assert findings(rule, t.K8S_AUTH_ROLE, role()) == []


@pytest.mark.parametrize(
    ("over", "config", "expected"),
    [
        ({"tokenTtl": 3600}, {"maxTokenTtlSeconds": 3600}, []),
        (
            {"tokenTtl": 3601},
            {},
            [("tokenTtl", "3601", "longer than 1h", "set token_ttl <= 3600")],
        ),
        ({"tokenTtl": 7200}, {"maxTokenTtlSeconds": 7200}, []),
        (
            {"tokenTtl": None},
            {},
            [("tokenTtl", "<unset>", "the system default (32 days) applies", "set token_ttl <= 3600")],
        ),
        (
            {"tokenMaxTtl": None},
            {},
            [("tokenMaxTtl", "<unset>", "tokens can be renewed up to the system max", "set token_max_ttl")],
        ),
        (
            {"tokenTtl": 3000, "tokenMaxTtl": 2000},
            {},
            [("tokenTtl", "3000", "longer than tokenMaxTtl 2000", "set token_ttl <= token_max_ttl")],
        ),
        ({"tokenTtl": 2000, "tokenMaxTtl": 2000}, {}, []),
        (
            {"tokenPeriod": 600},
            {},
            [("tokenPeriod", "600", "periodic tokens can be renewed forever", "leave token_period unset")],
        ),
    ],
    ids=["at-limit", "one-past", "raised-limit", "ttl-unset", "max-unset", "ttl-over-max", "ttl-equal-max", "periodic"],
)
def test_k8s_ttl_findings(over: dict[str, Any], config: dict[str, Any], expected: list[tuple[str, ...]]) -> None:
    assert findings("k8s-ttl", t.K8S_AUTH_ROLE, role(**over), config=config) == expected


@pytest.mark.parametrize(
    ("audience", "shown"), [(None, "<unset>"), ("", "''"), ("*", "'*'")], ids=["unset", "empty", "any"]
)
def test_k8s_audience_must_name_an_audience(audience: str | None, shown: str) -> None:
    assert findings("k8s-audience", t.K8S_AUTH_ROLE, role(audience=audience)) == [
        ("audience", shown, "the token audience is not checked", "set audience")
    ]


@pytest.mark.parametrize(
    ("source", "ok"), [(None, True), ("", True), ("serviceaccount_uid", True), ("serviceaccount_name", False)]
)
def test_k8s_alias_follows_the_uid(source: str | None, ok: bool) -> None:
    expected = (
        []
        if ok
        else [
            ("aliasNameSource", repr(source), "aliases by name survive account re-creation", "set 'serviceaccount_uid'")
        ]
    )
    assert findings("k8s-alias", t.K8S_AUTH_ROLE, role(aliasNameSource=source)) == expected


@pytest.mark.parametrize(
    ("over", "expected"),
    [
        (
            {"boundServiceAccountNamespaces": []},
            [("boundServiceAccountNamespaces", "[]", "empty", "list the namespaces explicitly")],
        ),
        (
            {"boundServiceAccountNamespaces": ["consul", "team-*"]},
            [
                (
                    "boundServiceAccountNamespaces",
                    "['consul', 'team-*']",
                    "a wildcard binds every namespace",
                    "list the exact namespaces",
                )
            ],
        ),
    ],
    ids=["empty", "glob-last"],
)
def test_k8s_namespace_findings(over: dict[str, Any], expected: list[tuple[str, ...]]) -> None:
    assert findings("k8s-namespace", t.K8S_AUTH_ROLE, role(**over)) == expected


WILDCARD = (
    "boundServiceAccountNames",
    "['*']",
    "a wildcard binding outside the CA-read shape (['*'], one namespace, one policy)",
    "name the service accounts",
)


@pytest.mark.parametrize(
    ("over", "expected"),
    [
        ({"boundServiceAccountNames": ["*"], "tokenPolicies": ["consul-dc1-ca-reader"]}, []),
        ({"boundServiceAccountNames": ["*"], "tokenPolicies": ["default", "consul-dc1-ca-reader"]}, []),
        ({"boundServiceAccountNames": ["*"], "tokenPolicies": ["a", "b"]}, [WILDCARD]),
        (
            {
                "boundServiceAccountNames": ["*"],
                "boundServiceAccountNamespaces": ["consul", "web"],
                "tokenPolicies": ["a"],
            },
            [WILDCARD],
        ),
        (
            {"boundServiceAccountNames": ["*"], "boundServiceAccountNamespaces": ["con*"], "tokenPolicies": ["a"]},
            [WILDCARD],
        ),
        (
            {"boundServiceAccountNames": ["web", "api-*"], "tokenPolicies": ["a"]},
            [
                (
                    "boundServiceAccountNames",
                    "['web', 'api-*']",
                    "a wildcard binding outside the CA-read shape (['*'], one namespace, one policy)",
                    "name the service accounts",
                )
            ],
        ),
        ({"boundServiceAccountNames": []}, [("boundServiceAccountNames", "[]", "empty", "list the service accounts")]),
        (
            {"boundServiceAccountNames": ["web", "default"]},
            [
                (
                    "boundServiceAccountNames",
                    "['web', 'default']",
                    "binds the namespace's 'default' service account, which every pod without its own account runs as",
                    "create a dedicated service account for the workload and bind that",
                )
            ],
        ),
    ],
    ids=[
        "ca-read",
        "ca-read-plus-default",
        "two-policies",
        "two-namespaces",
        "glob-namespace",
        "glob-last",
        "empty",
        "default-last",
    ],
)
def test_k8s_names_findings(over: dict[str, Any], expected: list[tuple[str, ...]]) -> None:
    assert findings("k8s-names", t.K8S_AUTH_ROLE, role(**over)) == expected


@pytest.mark.parametrize(
    ("host", "in_cluster"),
    [
        ("https://kubernetes.default.svc", True),
        ("https://kubernetes.default.svc/", True),
        ("https://kubernetes.default.svc:443", True),
        ("https://kubernetes.default.svc.cluster.local", True),
        ("https://kubernetes.default.svc.corp.internal:443/", True),
        ("https://kubernetes", True),
        ("https://kubernetes:6443", True),
        ("https://KUBERNETES.default.svc", True),
        ("https://10.0.0.1:6443", False),
        ("https://api.eks.example.com", False),
        # public names that merely start like the in-cluster ones (a prefix match would call them in-cluster)
        ("https://kubernetes.example.com", False),
        ("https://kubernetes.default.example.com:6443", False),
        ("https://kubernetes-api.corp.internal", False),
        ("https://kubernetes.default.svcx", False),
        ("http://kubernetes.default.svc", False),
        ("", False),
    ],
)
def test_k8s_reviewer_applies_only_to_an_in_cluster_vault(host: str, in_cluster: bool) -> None:
    props = {"backend": "kubernetes-dc1", "kubernetesHost": host, "tokenReviewerJwt": "x", "disableLocalCaJwt": True}
    expected = [
        (
            "tokenReviewerJwt",
            "'<secret>'",
            "a long-lived reviewer JWT although Vault runs in the cluster",
            "remove it; Vault uses its own service account token",
        ),
        (
            "disableLocalCaJwt",
            "True",
            "Vault cannot use its local token although it runs in the cluster",
            "set disable_local_ca_jwt = false",
        ),
    ]
    assert findings("k8s-reviewer", t.K8S_AUTH_CONFIG, props) == (expected if in_cluster else [])


@pytest.mark.parametrize("prop", ["tokenPolicies", "policies"])
def test_pol_no_root_names_the_property_that_attaches_root(prop: str) -> None:
    assert findings("pol-no-root", t.K8S_AUTH_ROLE, role(**{prop: ["consul-dc1-server", "root"]})) == [
        (prop, "['consul-dc1-server', 'root']", "attaches the root policy", "remove 'root'")
    ]
    assert findings("pol-no-root", "kubernetes:core/v1:Secret", {prop: ["root"]}) == []


def _jwt(claims: Any, pad: bool = False) -> str:
    """A JWT (header.payload.signature) with these claims, its payload unpadded as JWTs are (RFC 7515 §2)."""
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode()
    return f"eyJhbGciOiJSUzI1NiJ9.{payload if pad else payload.rstrip('=')}.c2ln"


@pytest.mark.parametrize(
    ("token", "account"),
    [
        # payloads of every length modulo 4 (0, 2 and 3: 1 is not valid base64): the padding is restored
        (_jwt({"sub": "system:serviceaccount:vault-auth:reviewer"}), ("vault-auth", "reviewer")),
        (_jwt({"sub": "system:serviceaccount:vault-auth:reviewer1"}), ("vault-auth", "reviewer1")),
        (_jwt({"sub": "system:serviceaccount:vault-auth:reviewer12"}), ("vault-auth", "reviewer12")),
        (_jwt({"sub": "system:serviceaccount:vault-auth:reviewer", "x": 1}, pad=True), ("vault-auth", "reviewer")),
        # not a service account's token
        (_jwt({"sub": "system:node:worker-1"}), None),
        (_jwt({"sub": "system:serviceaccount:vault-auth"}), None),
        (_jwt({"sub": "system:serviceaccount:vault-auth:reviewer:extra"}), None),
        (_jwt({"sub": "user:serviceaccount:vault-auth:reviewer"}), None),
        (_jwt({"sub": 42}), None),
        (_jwt({"iss": "kubernetes/serviceaccount"}), None),
        (_jwt(["system:serviceaccount:vault-auth:reviewer"]), None),
        # not a JWT
        ("eyJhbGciOiJSUzI1NiJ9.e30", None),
        (_jwt({"sub": "system:serviceaccount:a:b"}) + ".extra", None),
        ("eyJhbGciOiJSUzI1NiJ9.!!!.c2ln", None),
        ("eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.c2ln", None),
        (None, None),
        (12, None),
    ],
)
def test_the_reviewer_jwt_names_its_service_account_only_in_the_kubernetes_subject_shape(
    token: Any, account: tuple[str, str] | None
) -> None:
    """Kubernetes service account tokens carry ``sub: system:serviceaccount:<namespace>:<name>`` (the
    serviceaccount token authenticator, k8s.io/apiserver/pkg/authentication/serviceaccount)."""
    assert _jwt_service_account(token) == account
