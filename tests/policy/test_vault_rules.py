"""The Vault-side classes of issue 14, each caught wherever it can enter, asserted by property, value and fix.

Every case starts from a stack the program really registers (dev, prod, or the onboarding stack with a
database) and changes it the way a careless pull request would; hand-written shapes cover what the
program never writes. Offending entries are placed first, last and after a harmless (or denied) one,
because a rule that stops at the first entry it skips is a rule with a hole.
"""

from __future__ import annotations

import base64
import copy
import functools
import json
from collections.abc import Callable
from functools import cache
from typing import Any

import pytest
from secure_mesh_policy import types as t
from secure_mesh_policy.consumers import AGENT, app_of_kv_path, csi_objects, csi_parameters, declared_uses
from secure_mesh_policy.framework import Res, StackView
from secure_mesh_policy.transport import truthy

from tests.harness import ProgramRun, deep_merge, load_stack_config, run_program
from tests.onboarding.stacks import ALL_IMAGES_PINNED, onboarding_run
from tests.policy.support import (
    Finding,
    Subject,
    check,
    check_stack,
    from_run,
    parse_finding,
    private_subjects,
    stack_args,
    subject,
)
from tests.policy.test_resource_rules import VAULT_PKI_SECRET
from tests.policy.test_stack_rules import POLICY, ROLE, named, set_props, stack_subjects

APP_POLICY = "secure-mesh-onboarding-app-{}-policy"
APP_ROLE = "secure-mesh-onboarding-app-{}-role"
GATEWAY_POLICY = "secure-mesh-onboarding-gateway-policy"
GATEWAY_ROLE = "secure-mesh-onboarding-gateway-role"


def onboarding_subjects(stack: str = "dev") -> list[Subject]:
    """The onboarding stack (dev or prod plus the 'orders' app with a database), privately copied."""
    return private_subjects(onboarding_run(stack).resources)


def policy_paths(subjects: list[Subject], name: str) -> dict[str, list[str]]:
    """A declared policy's document as path → capabilities."""
    document = json.loads(named(subjects, name).props["policy"])
    return {p: rule["capabilities"] for p, rule in document["path"].items()}


def place(subjects: list[Subject], name: str, extra: dict[str, list[str]], where: str) -> list[Subject]:
    """Put extra paths into a policy first, last, or after a harmless denied path (``after-skipped``)."""
    paths = policy_paths(subjects, name)
    if where == "first":
        ordered = {**extra, **paths}
    elif where == "last":
        ordered = {**paths, **extra}
    else:
        ordered = {**paths, "unrelated/mount/skipped": ["deny"], **extra}
    target = named(subjects, name)
    document = {"path": {p: {"capabilities": c} for p, c in ordered.items()}}
    target.props = {**target.props, "policy": json.dumps(document)}
    return subjects


def findings(policy: str, subjects: list[Subject], config: dict[str, Any] | None = None) -> list[tuple[Finding, str]]:
    """A stack rule's findings, taken apart, with the URN each is reported against."""
    return [(parse_finding(m), urn or "") for m, urn in check_stack(policy, subjects, config)]


def about(found: list[tuple[Finding, str]], subjects: list[Subject], name: str) -> list[Finding]:
    """The findings reported against one resource (by URN and by name)."""
    urn = named(subjects, name).urn
    return [f for f, u in found if u == urn and f.name == name]


ORDERS = ["first", "last", "after-skipped"]


# ------------------------------------------------------------------------------------ class 1: globs


@pytest.mark.parametrize("where", ORDERS)
@pytest.mark.parametrize(
    ("pattern", "witness", "problem"),
    [
        ("consul/kv/data/apps/*", "consul/kv/data/apps/<any>", "another app's KV secrets (app '<any>')"),
        ("consul/kv/data/apps/+/session-key", "consul/kv/data/apps/<any>/session-key", "another app's KV secrets"),
        ("consul/kv/data/apps/api/*", "consul/kv/data/apps/api/<any>", "another app's KV secrets (app 'api')"),
        ("consul/kv/data/apps/a*", "consul/kv/data/apps/a<any>", "another app's KV secrets (app 'a<any>')"),
        ("consul/kv/data/*", "consul/kv/data/<any>", "KV paths no policy names exactly"),
        ("consul/kv/+/apps/web/session-key", "consul/kv/<any>/apps/web/session-key", "KV paths no policy names"),
        ("consul/kv/metadata/apps/+", "consul/kv/metadata/apps/<any>", "another app's KV secrets"),
    ],
)
def test_app_globs_reaching_other_identities_kv_are_caught(
    pattern: str, witness: str, problem: str, where: str
) -> None:
    subjects = place(stack_subjects("dev"), APP_POLICY.format("web"), {pattern: ["read"]}, where)
    found = about(findings("pol-least-purpose", subjects), subjects, APP_ROLE.format("web"))
    start = f"may ['read'] {witness} (via '{pattern}' in ['consul-dc1-app-web']): {problem}"
    matching = [f for f in found if f.problem.startswith(start)]
    assert matching, f"{pattern} ({where}) was not caught as {start!r}: {[f.problem for f in found]}"
    first = matching[0]
    assert (first.type, first.prop, first.value) == ("AuthBackendRole", "tokenPolicies", "['consul-dc1-app-web']")
    assert first.fix == (
        "grant the identity's own exact KV paths (an app may glob only inside consul/kv/data/apps/<its name>/)"
    )


@pytest.mark.parametrize(
    "pattern", ["consul/kv/data/apps/web/*", "consul/kv/data/apps/web/+", "consul/kv/data/apps/web/session-*"]
)
def test_an_app_may_glob_inside_its_own_kv_subtree(pattern: str) -> None:
    subjects = place(stack_subjects("dev"), APP_POLICY.format("web"), {pattern: ["read"]}, "last")
    assert check_stack("pol-least-purpose", subjects) == []


def test_denies_are_judged_with_vaults_priority_not_by_appearance() -> None:
    # 'apps/+/*' looks like it closes every app's subtree, but Vault prefers 'apps/*' (same first wildcard, fewer
    # '+'), so two segments below apps/ stay readable; only 'apps/+' itself is denied.
    looks_closed = place(
        stack_subjects("dev"),
        APP_POLICY.format("web"),
        {"consul/kv/data/apps/*": ["read"], "consul/kv/data/apps/+": ["deny"], "consul/kv/data/apps/+/*": ["deny"]},
        "last",
    )
    found = about(findings("pol-least-purpose", looks_closed), looks_closed, APP_ROLE.format("web"))
    assert [f.problem for f in found] == [
        "may ['read'] consul/kv/data/apps/<any>/<any> (via 'consul/kv/data/apps/*' in ['consul-dc1-app-web']): "
        "another app's KV secrets (app '<any>')"
    ]
    partial = place(
        stack_subjects("dev"),
        APP_POLICY.format("web"),
        {"consul/kv/data/apps/*": ["read"], "consul/kv/data/apps/api/*": ["deny"]},
        "first",
    )
    problems = [f.problem for f in about(findings("pol-least-purpose", partial), partial, APP_ROLE.format("web"))]
    assert problems == [
        "may ['read'] consul/kv/data/apps/<any> (via 'consul/kv/data/apps/*' in ['consul-dc1-app-web']): "
        "another app's KV secrets (app '<any>')"
    ]


def test_an_exact_grant_of_another_apps_secret_is_caught() -> None:
    subjects = place(
        stack_subjects("dev"), APP_POLICY.format("api"), {"consul/kv/data/apps/web/session-key": ["read"]}, "first"
    )
    found = about(findings("pol-least-purpose", subjects), subjects, APP_ROLE.format("api"))
    assert [f.problem.rsplit(": ", 1)[-1] for f in found] == ["another app's KV secrets (app 'web')"]


def test_a_glob_in_the_server_policy_over_the_whole_kv_tree_is_caught_per_role_and_per_policy() -> None:
    subjects = place(stack_subjects("prod"), POLICY.format("server"), {"consul/kv/*": ["read"]}, "after-skipped")
    found = findings("pol-least-purpose", subjects)
    on_role = about(found, subjects, ROLE.format("server"))
    on_policy = about(found, subjects, POLICY.format("server"))
    assert [f.problem.rsplit(": ", 1)[-1] for f in on_role] == [
        "KV paths no policy names exactly (the glob reaches the whole KV tree, today's and future secrets)"
    ]
    assert [(f.prop, f.value, f.fix) for f in on_policy] == [
        ("policy.path['consul/kv/*']", "['read']", "grant exact paths inside the mount")
    ]


@pytest.mark.parametrize("where", ORDERS)
@pytest.mark.parametrize(
    ("pattern", "witness", "problem"),
    [
        ("consul/database/creds/*", "consul/database/creds/<any>", "database credentials of role '<any>'"),
        ("consul/database/creds/+", "consul/database/creds/<any>", "database credentials of role '<any>'"),
        ("consul/database/creds/app-orders", "consul/database/creds/app-orders", "role 'app-orders', which is not"),
        ("consul/database/+/app-orders", "consul/database/<any>/app-orders", "the database engine's configuration"),
        ("consul/database/config/*", "consul/database/config/<any>", "the database engine's configuration"),
    ],
)
def test_database_credentials_are_reachable_only_by_their_own_app(
    pattern: str, witness: str, problem: str, where: str
) -> None:
    subjects = place(onboarding_subjects(), APP_POLICY.format("web"), {pattern: ["read"]}, where)
    found = about(findings("pol-least-purpose", subjects), subjects, APP_ROLE.format("web"))
    assert found, f"{pattern} ({where}) was not caught"
    assert found[0].problem.startswith(f"may ['read'] {witness} (via '{pattern}'")
    assert problem in found[0].problem
    assert found[0].fix == "grant read on consul/database/creds/<the identity's own role> only"


def test_the_onboarding_stacks_database_app_passes_and_may_glob_its_own_creds_only() -> None:
    assert check_stack("pol-least-purpose", onboarding_subjects("prod")) == []
    own = place(
        onboarding_subjects(), APP_POLICY.format("orders"), {"consul/database/creds/app-orders": ["read"]}, "last"
    )
    assert check_stack("pol-least-purpose", own) == []
    wider = place(onboarding_subjects(), APP_POLICY.format("orders"), {"consul/database/creds/app-*": ["read"]}, "last")
    problems = [f.problem for f in about(findings("pol-least-purpose", wider), wider, APP_ROLE.format("orders"))]
    assert problems == [
        "may ['read'] consul/database/creds/app-<any> (via 'consul/database/creds/app-*' in "
        "['consul-dc1-app-orders']): database credentials of role 'app-<any>', which is not this identity's own "
        "('app-orders')"
    ]


# ------------------------------------------------------------------------------- class 2: tuning


@pytest.mark.parametrize("where", ORDERS)
@pytest.mark.parametrize(
    ("pattern", "capabilities", "witness", "problem"),
    [
        ("sys/mounts/consul/kv/tune", ["update"], "sys/mounts/consul/kv/tune", "tunes a mount other than"),
        ("sys/mounts/+/tune", ["update"], "sys/mounts/<any>/tune", "tunes a mount other than"),
        ("sys/mounts/consul/+/+/tune", ["update"], "sys/mounts/consul/<any>/<any>/tune", "tunes a mount"),
        ("sys/mounts/*", ["read"], "sys/mounts/<any>", "reaches sys/ beyond the mesh CA provider's"),
        ("sys/auth/kubernetes-dc1/tune", ["update"], "sys/auth/kubernetes-dc1/tune", "tunes a mount other than"),
        ("sys/*", ["read"], "sys/<any>", "reaches sys/ beyond"),
    ],
)
def test_mount_tuning_beyond_consuls_intermediate_is_caught(
    pattern: str, capabilities: list[str], witness: str, problem: str, where: str
) -> None:
    subjects = place(stack_subjects("dev"), POLICY.format("mesh-ca"), {pattern: capabilities}, where)
    found = about(findings("pol-least-sys", subjects), subjects, ROLE.format("server"))
    assert found, f"{pattern} ({where}) was not caught"
    assert found[0].value == "['consul-dc1-server', 'consul-dc1-mesh-ca']"
    assert found[0].problem.startswith(
        f"may {sorted(capabilities)} {witness} (via '{pattern}' in ['consul-dc1-mesh-ca'])"
    )
    assert problem in found[0].problem


def test_the_intermediates_own_tune_is_allowed_only_to_the_server_role() -> None:
    tune = {"sys/mounts/consul/connect/pki_consul_dc1/tune": ["update"]}
    subjects = place(stack_subjects("dev"), APP_POLICY.format("web"), tune, "first")
    found = about(findings("pol-least-sys", subjects), subjects, APP_ROLE.format("web"))
    assert [f.problem for f in found] == [
        "may ['update'] sys/mounts/consul/connect/pki_consul_dc1/tune (via "
        "'sys/mounts/consul/connect/pki_consul_dc1/tune' in ['consul-dc1-app-web']): tunes a mount other than "
        "Consul's own mesh intermediate"
    ]
    # the server role may also not read the intermediate's tune (update only) nor write the root's mount entry
    wider = place(
        stack_subjects("dev"), POLICY.format("mesh-ca"), {"sys/mounts/consul/connect/pki_int2": ["update"]}, "last"
    )
    assert [
        f.problem.rsplit(": ", 1)[-1] for f in about(findings("pol-least-sys", wider), wider, ROLE.format("server"))
    ] == ["more than ['read'] on the mesh CA provider's own path"]


# ---------------------------------------------------------------------- class 3: cross-purpose issue


@pytest.mark.parametrize("where", ORDERS)
@pytest.mark.parametrize(
    ("policy", "role", "pattern", "witness", "problem"),
    [
        (APP_POLICY.format("api"), APP_ROLE.format("api"), "consul/gateway/pki_int1/issue/api-gateway",
         "consul/gateway/pki_int1/issue/api-gateway", "issues on a role only ['api-gateway'] may use"),
        (POLICY.format("connect-injector"), ROLE.format("connect-injector"), "consul/server/pki_int2/issue/+",
         "consul/server/pki_int2/issue/consul-server", "issues on a role only ['consul-server'] may use"),
        (POLICY.format("connect-injector"), ROLE.format("connect-injector"), "consul/server/pki_int2/*",
         "consul/server/pki_int2/issue/consul-server", "issues on a role only ['consul-server'] may use"),
        (GATEWAY_POLICY, GATEWAY_ROLE, "consul/gateway/pki_int1/sign-verbatim",
         "consul/gateway/pki_int1/sign-verbatim", "issues, signs or mints certificates"),
        (GATEWAY_POLICY, GATEWAY_ROLE, "consul/gateway/pki_int1/sign-verbatim/+",
         "consul/gateway/pki_int1/sign-verbatim/<any>", "issues, signs or mints"),
        (GATEWAY_POLICY, GATEWAY_ROLE, "consul/connect/pki_int2/root/sign-intermediate",
         "consul/connect/pki_int2/root/sign-intermediate", "issues, signs or mints"),
        (GATEWAY_POLICY, GATEWAY_ROLE, "consul/gateway/pki_int1/root/sign-self-issued",
         "consul/gateway/pki_int1/root/sign-self-issued", "issues, signs or mints"),
        (GATEWAY_POLICY, GATEWAY_ROLE, "consul/gateway/pki_int1/issuer/+/sign-intermediate",
         "consul/gateway/pki_int1/issuer/<any>/sign-intermediate", "issues, signs or mints"),
        (GATEWAY_POLICY, GATEWAY_ROLE, "consul/gateway/pki_int1/issue/*",
         "consul/gateway/pki_int1/issue/<any>", "issues, signs or mints"),
        (GATEWAY_POLICY, GATEWAY_ROLE, "consul/webhook/pki_int1/issue/connect-injector",
         "consul/webhook/pki_int1/issue/connect-injector", "only ['consul-connect-injector'] may use"),
        (GATEWAY_POLICY, GATEWAY_ROLE, "consul/gateway/pki_int1/roles/api-gateway",
         "consul/gateway/pki_int1/roles/api-gateway", "reconfigures the PKI mount"),
        (POLICY.format("server"), ROLE.format("server"), "consul/connect/pki_int1/root/sign-intermediate",
         "consul/connect/pki_int1/root/sign-intermediate", "issues, signs or mints"),
    ],
)  # fmt: skip
def test_cross_purpose_issuance_is_caught(
    policy: str, role: str, pattern: str, witness: str, problem: str, where: str
) -> None:
    subjects = place(stack_subjects("dev"), policy, {pattern: ["create", "update"]}, where)
    found = about(findings("pol-least-issue", subjects), subjects, role)
    assert found, f"{pattern} ({where}) was not caught"
    assert found[0].prop == "tokenPolicies"
    assert found[0].problem.startswith(f"may ['create', 'update'] {witness} (via '{pattern}'")
    assert problem in found[0].problem
    mount = witness.split("/pki_")[0] + "/pki_" + witness.split("/pki_")[1].split("/")[0]
    assert found[0].fix == f"grant create/update on exactly {mount}/issue/<its own role> only"


def test_the_real_issuers_pass_in_every_stack() -> None:
    for subjects in (stack_subjects("dev"), stack_subjects("prod"), onboarding_subjects("prod")):
        assert check_stack("pol-least-issue", subjects) == []


def test_consuls_server_role_owns_its_intermediate_mount_and_nobody_else_does() -> None:
    # the mesh CA policy's own glob over the intermediate is not a finding for the server role ...
    assert policy_paths(stack_subjects("dev"), POLICY.format("mesh-ca"))["consul/connect/pki_consul_dc1/*"]
    # ... but the same glob in an app's policy is
    subjects = place(
        stack_subjects("dev"), APP_POLICY.format("web"), {"consul/connect/pki_consul_dc1/*": ["update"]}, "last"
    )
    found = about(findings("pol-least-issue", subjects), subjects, APP_ROLE.format("web"))
    assert [f.problem.split(" (via")[0] for f in found] == ["may ['update'] consul/connect/pki_consul_dc1/<any>"]


def test_an_issue_path_is_allowed_only_to_the_identity_its_consumer_names() -> None:
    # the CSI class names role api-gateway: moving the class to another role makes the gateway's grant a finding
    subjects = csi_subjects("dev")
    spc = named(subjects, "secure-mesh-onboarding-gateway-tls-provider")
    spec = copy.deepcopy(spc.props["spec"])
    spec["parameters"]["roleName"] = "app-web"
    spc.props = {**spc.props, "spec": spec}
    found = about(findings("pol-least-issue", subjects), subjects, GATEWAY_ROLE)
    assert [f.problem.rsplit(": ", 1)[-1] for f in found] == ["issues on a role only ['app-web'] may use"]
    # the same with VSO (the default): the VaultAuth the VaultPKISecret refers to names the role
    subjects = stack_subjects("dev")
    assert about(findings("pol-least-issue", subjects), subjects, GATEWAY_ROLE) == []
    auth = named(subjects, "secure-mesh-onboarding-gateway-vault-auth")
    spec = copy.deepcopy(auth.props["spec"])
    spec["kubernetes"]["role"] = "app-web"
    auth.props = {**auth.props, "spec": spec}
    found = about(findings("pol-least-issue", subjects), subjects, GATEWAY_ROLE)
    assert [f.problem.rsplit(": ", 1)[-1] for f in found] == ["issues on a role only ['app-web'] may use"]


# ---------------------------------------------------------------------------- class 6: KV hardening


def test_kv_audit_non_hmac_keys_on_the_real_kv_mount() -> None:
    subjects = stack_subjects("prod")
    kv = named(subjects, "secure-mesh-secrets-kv")
    for keys, bad in [
        (["version"], []),
        (["data"], ["data"]),
        (["version", "key"], ["key"]),
        (["key", "version"], ["key"]),
    ]:
        messages = check("kv-no-plaintext-audit", t.MOUNT, {**kv.props, "auditNonHmacResponseKeys": keys}, name=kv.name)
        parsed = [parse_finding(m) for m in messages]
        expected = (
            []
            if not bad
            else [
                Finding(
                    "Mount",
                    kv.name,
                    "auditNonHmacResponseKeys",
                    repr(keys).replace('"', "'"),
                    f"audit devices log {bad} in clear text (Vault HMACs every other value)",
                    "remove them; leave audit_non_hmac_*_keys unset (or list only non-secret metadata keys)",
                )
            ]
        )
        assert parsed == expected, keys


def test_write_only_secret_must_keep_disable_read() -> None:
    subjects = set_props(stack_subjects("prod"), "secure-mesh-secrets-bootstrap-token", disableRead=None)
    found = about(findings("kv-no-plaintext-readback", subjects), subjects, "secure-mesh-secrets-bootstrap-token")
    assert [(f.prop, f.value, f.fix) for f in found] == [("disableRead", "<unset>", "set disable_read = true")]
    assert (
        found[0].problem
        == "['consul-server-acl-init'] may write it, so Pulumi would read the runtime value back into state"
    )
    # the gossip key (only Pulumi writes it) may be read back; once an identity may write it, it may not
    gossip = place(
        stack_subjects("dev"), POLICY.format("server-acl-init"), {"consul/kv/data/consul/+": ["update"]}, "first"
    )
    names = [f.name for f, _ in findings("kv-no-plaintext-readback", gossip)]
    assert names == ["secure-mesh-secrets-gossip"]


def test_kv_cas_advisory_fires_only_where_pulumi_is_the_only_writer() -> None:
    assert check_stack("kv-cas", stack_subjects("dev")) == []
    assert check_stack("kv-cas", stack_subjects("prod")) == []
    only_pulumi = set_props(stack_subjects("dev"), "secure-mesh-identities-server-acl-init-policy")
    document = json.loads(named(only_pulumi, POLICY.format("server-acl-init")).props["policy"])
    document["path"]["consul/kv/data/consul/bootstrap-token"]["capabilities"] = ["read"]
    named(only_pulumi, POLICY.format("server-acl-init")).props = {
        **named(only_pulumi, POLICY.format("server-acl-init")).props,
        "policy": json.dumps(document),
    }
    found = findings("kv-cas", only_pulumi)
    assert [(f.name, f.prop, f.value, f.fix) for f, _ in found] == [
        ("secure-mesh-secrets-kv-config", "casRequired", "False", "set cas_required = true")
    ]
    with_cas = set_props(only_pulumi, "secure-mesh-secrets-kv-config", casRequired=True)
    assert check_stack("kv-cas", with_cas) == []


@pytest.mark.parametrize(
    ("endpoint", "capabilities", "problem"),
    [
        ("consul/kv/destroy/+", ["update"], "destroys KV-v2 versions"),
        ("consul/kv/+/consul/other", ["delete"], "deletes KV-v2 secrets"),
        ("consul/kv/+/consul/gossip", ["delete"], "deletes KV-v2 history"),  # data/consul/gossip is exact: read only
        ("consul/kv/*", ["update"], "destroys KV-v2 versions"),
        ("consul/kv/metadata/consul/*", ["update"], "rewrites its retention"),
    ],
)
def test_globs_reaching_kv_history_destruction_are_caught(endpoint: str, capabilities: list[str], problem: str) -> None:
    subjects = place(stack_subjects("dev"), POLICY.format("server"), {endpoint: capabilities}, "after-skipped")
    found = about(findings("pol-kv-data-stack", subjects), subjects, ROLE.format("server"))
    assert any(problem in f.problem and f"(via '{endpoint}'" in f.problem for f in found), [f.problem for f in found]
    assert all(f.fix == "grant read on consul/kv/data/<path> only" for f in found)


# ----------------------------------------------------------------------------- class 9: Kubernetes RBAC


def reviewer_binding(role_ref: dict[str, str], name: str = "extra-binding", **extra: Any) -> Subject:
    return subject(
        t.CLUSTER_ROLE_BINDING,
        name,
        {
            "metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", **role_ref},
            "subjects": [
                {"kind": "ServiceAccount", "name": "other", "namespace": "x"},
                {"kind": "ServiceAccount", "name": "consul-consul-server", "namespace": "consul"},
            ],
        },
        stack="prod",
        **extra,
    )


@pytest.mark.parametrize(
    ("role_ref", "what", "reviewers"),
    [
        ({"kind": "ClusterRole", "name": "cluster-admin"}, "ClusterRole cluster-admin", [1]),
        ({"kind": "ClusterRole", "name": "edit"}, "ClusterRole edit", [1]),
        # a custom role that can create tokenreviews makes every subject a reviewer: both are then over-bound
        ({"kind": "ClusterRole", "name": "reviews-plus"}, "a custom role that does more than review tokens", [0, 1]),
        ({"kind": "ClusterRole", "name": "wildcard"}, "a role with a wildcard rule", [0, 1]),
    ],
)
def test_the_token_reviewer_bound_to_more_than_auth_delegator_is_caught(
    role_ref: dict[str, str], what: str, reviewers: list[int]
) -> None:
    roles = [
        subject(
            t.CLUSTER_ROLE,
            "reviews-plus",
            {
                "metadata": {"name": "reviews-plus"},
                "rules": [
                    {"apiGroups": ["authentication.k8s.io"], "resources": ["tokenreviews"], "verbs": ["create"]},
                    {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]},
                ],
            },
            stack="prod",
        ),
        subject(
            t.CLUSTER_ROLE,
            "wildcard",
            {"metadata": {"name": "wildcard"}, "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]},
            stack="prod",
        ),
    ]
    subjects = [*stack_subjects("prod"), *roles, reviewer_binding(role_ref)]
    found = about(findings("k8s-reviewer-rbac", subjects), subjects, "extra-binding")
    accounts = ["x/other", "consul/consul-consul-server"]
    assert found == [
        Finding(
            "ClusterRoleBinding",
            "extra-binding",
            "roleRef",
            f"'{role_ref['kind']} {role_ref['name']}'",
            f"binds the Vault token reviewer {accounts[i]} (subjects[{i}]) to {what}, broader than "
            "system:auth-delegator",
            "bind the reviewer only to the ClusterRole system:auth-delegator",
        )
        for i in reviewers
    ]


def test_a_review_only_custom_role_and_the_real_binding_pass() -> None:
    review_only = subject(
        t.CLUSTER_ROLE,
        "review-only",
        {
            "metadata": {"name": "review-only"},
            "rules": [{"apiGroups": ["authentication.k8s.io"], "resources": ["tokenreviews"], "verbs": ["create"]}],
        },
        stack="prod",
    )
    subjects = [*stack_subjects("prod"), review_only, reviewer_binding({"kind": "ClusterRole", "name": "review-only"})]
    assert check_stack("k8s-reviewer-rbac", subjects) == []


def test_a_narrow_app_role_for_a_vault_client_is_not_a_reviewer_finding() -> None:
    reader = subject(
        t.ROLE,
        "config-reader",
        {
            "metadata": {"name": "config-reader", "namespace": "consul"},
            "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}],
        },
        stack="prod",
    )
    binding = reviewer_binding({"kind": "Role", "name": "config-reader"})
    assert check_stack("k8s-reviewer-rbac", [*stack_subjects("prod"), reader, binding]) == []


def test_a_long_lived_reviewer_is_known_from_its_jwt() -> None:
    claims = base64.urlsafe_b64encode(
        json.dumps({"sub": "system:serviceaccount:vault-auth:vault-token-reviewer"}).encode()
    ).rstrip(b"=")
    subjects = set_props(
        stack_subjects("prod"),
        "secure-mesh-identities-kubernetes-auth-config",
        tokenReviewerJwt=f"eyJhbGciOiJSUzI1NiJ9.{claims.decode()}.c2ln",
        disableLocalCaJwt=True,
    )
    edit = subject(
        t.ROLE_BINDING,
        "reviewer-edit",
        {
            "metadata": {"name": "reviewer-edit", "namespace": "vault-auth"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
            "subjects": [{"kind": "ServiceAccount", "name": "vault-token-reviewer"}],
        },
        stack="prod",
    )
    found = about(findings("k8s-reviewer-rbac", [*subjects, edit]), [*subjects, edit], "reviewer-edit")
    assert [f.problem for f in found] == [
        "binds the Vault token reviewer vault-auth/vault-token-reviewer (subjects[0]) to ClusterRole edit, broader "
        "than system:auth-delegator"
    ]


def test_auth_delegator_granted_to_a_group_is_caught() -> None:
    subjects = stack_subjects("prod")
    binding = named(subjects, "secure-mesh-identities-vault-clients-auth-delegator")
    binding.props = {
        **binding.props,
        "subjects": [*binding.props["subjects"], {"kind": "Group", "name": "system:serviceaccounts"}],
    }
    found = about(findings("k8s-reviewer-rbac", subjects), subjects, binding.name)
    index = len(binding.props["subjects"]) - 1
    assert [(f.prop, f.value) for f in found] == [(f"subjects[{index}]", "'Group system:serviceaccounts'")]


@pytest.mark.parametrize(
    "accounts", [["default"], ["app", "default"], ["default", "app"]], ids=["only", "last", "first"]
)
def test_an_app_role_bound_to_the_default_service_account_is_caught(accounts: list[str]) -> None:
    role = named(stack_subjects("prod"), "secure-mesh-onboarding-app-checkout-role")
    messages = check("k8s-names", t.K8S_AUTH_ROLE, {**role.props, "boundServiceAccountNames": accounts}, name=role.name)
    assert [parse_finding(m) for m in messages] == [
        Finding(
            "AuthBackendRole",
            role.name,
            "boundServiceAccountNames",
            repr(accounts),
            "binds the namespace's 'default' service account, which every pod without its own account runs as",
            "create a dedicated service account for the workload and bind that",
        )
    ]


# ------------------------------------------------------------------------------------ class 10: transport


@cache
def _csi_run(stack: str) -> ProgramRun:
    """A checked-in stack with the gateway certificate delivered through the Vault CSI provider."""
    csi: dict[str, Any] = {"consul": {"apiGatewayCertificateDelivery": "csi"}, "images": ALL_IMAGES_PINNED}
    return run_program(deep_merge(load_stack_config(stack), csi), stack=stack)


def csi_subjects(stack: str) -> list[Subject]:
    """A private copy of :func:`_csi_run`'s resources."""
    return private_subjects(_csi_run(stack).resources)


def vso_connection(subjects: list[Subject], **changes: Any) -> list[Subject]:
    connection = named(subjects, "secure-mesh-onboarding-gateway-vault-connection")
    spec = {k: v for k, v in {**connection.props["spec"], **changes}.items() if v is not None}
    connection.props = {**connection.props, "spec": spec}
    return subjects


def spc_params(subjects: list[Subject], **changes: Any) -> list[Subject]:
    spc = named(subjects, "secure-mesh-onboarding-gateway-tls-provider")
    spec = copy.deepcopy(spc.props["spec"])
    for key, value in changes.items():
        if value is None:
            spec["parameters"].pop(key, None)
        else:
            spec["parameters"][key] = value
    spc.props = {**spc.props, "spec": spec}
    return subjects


def workload(annotations: dict[str, str], env: list[dict[str, str]] | None = None) -> Subject:
    return subject(
        "kubernetes:apps/v1:Deployment",
        "app-deployment",
        {
            "spec": {
                "template": {
                    "metadata": {"annotations": annotations},
                    "spec": {"containers": [{"name": "app", "image": "app:1", "env": env or []}]},
                }
            }
        },
        stack="prod",
    )


INJECT = {"vault.hashicorp.com/agent-inject": "true", "vault.hashicorp.com/role": "app-checkout"}
CA = {"vault.hashicorp.com/tls-secret": "consul-consul-vault-ca", "vault.hashicorp.com/ca-cert": "/vault/tls/tls.crt"}

TRANSPORT: list[tuple[str, Callable[[list[Subject]], list[Subject]], str, str, str]] = [
    ("provider-skip-true", lambda s: set_props(s, "vault", skipTlsVerify="true"), "vault", "skipTlsVerify", "'true'"),
    ("provider-skip-bool", lambda s: set_props(s, "vault", skipTlsVerify=True), "vault", "skipTlsVerify", "True"),
    ("provider-skip-1", lambda s: set_props(s, "vault", skipTlsVerify="1"), "vault", "skipTlsVerify", "'1'"),
    ("provider-http", lambda s: set_props(s, "vault", address="http://vault.prod.example.com:8200"), "vault",
     "address", "'http://vault.prod.example.com:8200'"),
    ("vso-skip", lambda s: vso_connection(s, skipTLSVerify=True), "secure-mesh-onboarding-gateway-vault-connection",
     "spec.skipTLSVerify", "True"),
    ("vso-http", lambda s: vso_connection(s, address="http://vault.prod.example.com:8200"),
     "secure-mesh-onboarding-gateway-vault-connection", "spec.address", "'http://vault.prod.example.com:8200'"),
    ("vso-no-ca", lambda s: vso_connection(s, caCertSecretRef=None), "secure-mesh-onboarding-gateway-vault-connection",
     "spec.caCertSecretRef", "<unset>"),
    ("csi-skip", lambda s: spc_params(s, vaultSkipTLSVerify="True"), "secure-mesh-onboarding-gateway-tls-provider",
     "spec.parameters.vaultSkipTLSVerify", "'True'"),
    ("csi-http", lambda s: spc_params(s, vaultAddress="http://vault.prod.example.com:8200"),
     "secure-mesh-onboarding-gateway-tls-provider", "spec.parameters.vaultAddress", "'http://vault.prod.example.com:8200'"),
    ("csi-no-ca", lambda s: spc_params(s, vaultCACertPath=None), "secure-mesh-onboarding-gateway-tls-provider",
     "spec.parameters.vaultCACertPath", "<unset>"),
    ("agent-skip", lambda s: [*s, workload({**INJECT, **CA, "vault.hashicorp.com/tls-skip-verify": "t"})],
     "app-deployment", "spec.template.metadata.annotations['vault.hashicorp.com/tls-skip-verify']", "'t'"),
    ("agent-no-ca", lambda s: [*s, workload(INJECT)], "app-deployment",
     "spec.template.metadata.annotations['vault.hashicorp.com/ca-cert']", "<unset>"),
    ("agent-http", lambda s: [*s, workload({**INJECT, "vault.hashicorp.com/service": "http://vault:8200"})],
     "app-deployment", "spec.template.metadata.annotations['vault.hashicorp.com/service']", "'http://vault:8200'"),
    ("env-skip", lambda s: [*s, workload({}, [{"name": "LOG", "value": "1"}, {"name": "VAULT_SKIP_VERIFY",
                                                                          "value": "1"}])],
     "app-deployment", "spec.template.spec.containers[0].env.VAULT_SKIP_VERIFY", "'1'"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "weaken", "culprit", "prop", "value"), TRANSPORT, ids=[c[0] for c in TRANSPORT])
def test_transport_to_vault_weakened_in_prod_is_caught(
    case: str, weaken: Callable[[list[Subject]], list[Subject]], culprit: str, prop: str, value: str
) -> None:
    subjects = weaken(csi_subjects("prod") if case.startswith("csi-") else stack_subjects("prod"))
    found = about(findings("csl-vault-ca-transport", subjects), subjects, culprit)
    assert [(f.prop, f.value) for f in found] == [(prop, value)], [f.problem for f in found]


def test_consul_agent_annotations_skip_verify_in_any_spelling() -> None:
    for spelling in ("true", "TRUE", "1", "t"):
        subjects = stack_subjects("dev")
        release = named(subjects, "secure-mesh-consul-release")
        values = copy.deepcopy(release.props["values"])
        vault = values["global"]["secretsBackend"]["vault"]
        vault["agentAnnotations"] = vault["agentAnnotations"] + f'\n"vault.hashicorp.com/tls-skip-verify": "{spelling}"'
        release.props = {**release.props, "values": values}
        found = about(findings("csl-vault-ca-transport", subjects), subjects, release.name)
        assert [(f.prop, f.value) for f in found] == [
            (
                "values.global.secretsBackend.vault.agentAnnotations['vault.hashicorp.com/tls-skip-verify']",
                repr(spelling),
            )
        ]


@functools.cache
def _plain_http_dev(delivery: str = "vso") -> list[Subject]:
    """The dev stack with plain-http Vault addresses (dev's own Vault serves TLS; http stays allowed in dev)."""
    http = {"address": "http://vault.vault.svc.cluster.local:8200", "providerAddress": "http://127.0.0.1:8200"}
    override = {"vault": {**http, "tls": {"caCertFile": None}}, "consul": {"apiGatewayCertificateDelivery": delivery}}
    config = deep_merge(load_stack_config("dev"), override)
    return from_run(run_program(config, stack="dev").resources)


def test_dev_may_use_plain_http_but_never_skip_verification() -> None:
    assert named(stack_subjects("dev"), "vault").props["address"] == "https://127.0.0.1:8200"
    dev = copy.deepcopy(_plain_http_dev())
    assert named(dev, "vault").props["address"].startswith("http://")
    assert check_stack("csl-vault-ca-transport", dev) == []
    assert [f.prop for f, _ in findings("csl-vault-ca-transport", set_props(dev, "vault", skipTlsVerify="true"))] == [
        "skipTlsVerify"
    ]
    # production by policy config, not by stack name
    found = findings("csl-vault-ca-transport", copy.deepcopy(_plain_http_dev()), {"environment": "prod"})
    # The provider, the Consul chart's Vault address, and the CA expiry CronJob's VAULT_ADDR.
    assert sorted(f.prop for f, _ in found) == [
        "address",
        "spec.address",
        "spec.jobTemplate.spec.template.spec.containers[0].env.VAULT_ADDR",
    ]
    found = findings("csl-vault-ca-transport", copy.deepcopy(_plain_http_dev("csi")), {"environment": "prod"})
    assert sorted(f.prop for f, _ in found) == [
        "address",
        "spec.jobTemplate.spec.template.spec.containers[0].env.VAULT_ADDR",
        "spec.parameters.vaultAddress",
    ]


def test_vault_injector_chart_pointing_at_http_in_prod_is_caught() -> None:
    subjects = stack_subjects("prod")
    release = named(subjects, "secure-mesh-consul-vault-injector")
    values = copy.deepcopy(release.props["values"])
    values["global"]["externalVaultAddr"] = "http://vault.prod.example.com:8200"
    values["injector"]["extraEnvironmentVars"] = {"VAULT_SKIP_VERIFY": "true"}
    release.props = {**release.props, "values": values}
    found = about(findings("csl-vault-ca-transport", subjects), subjects, release.name)
    assert [(f.prop, f.value) for f in found] == [
        ("values.global.externalVaultAddr", "'http://vault.prod.example.com:8200'"),
        ("values.injector.extraEnvironmentVars.VAULT_SKIP_VERIFY", "'true'"),
    ]


# ------------------------------------------------------------------------------------------ helpers


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        ("true", True),
        ("True", True),
        ("TRUE", True),
        ("t", True),
        ("T", True),
        ("1", True),
        (1, True),
        (" yes ", True),
        ("on", True),
        (False, False),
        ("false", False),
        ("0", False),
        (0, False),
        ("", False),
        (None, False),
        ("2", False),
    ],
)
def test_truthy_reads_booleans_the_way_go_and_yaml_writers_spell_them(value: Any, expected: bool) -> None:
    assert truthy(value) is expected


def test_declared_uses_come_from_chart_values_csi_classes_and_agent_annotations() -> None:
    subjects = stack_subjects("dev")
    annotated = subject(
        "kubernetes:batch/v1:CronJob",
        "report",
        {
            "spec": {
                "jobTemplate": {
                    "spec": {
                        "template": {
                            "metadata": {
                                "annotations": {
                                    "vault.hashicorp.com/agent-inject": "true",
                                    "vault.hashicorp.com/role": "app-web",
                                    "vault.hashicorp.com/agent-inject-secret-cert": "/consul/gateway/pki_int1/issue/x/",
                                }
                            }
                        }
                    }
                }
            }
        },
    )
    view = StackView(Res.from_policy_resource(r) for r in stack_args([*subjects, annotated]).resources)
    uses = sorted((u.path, u.role, u.source.name, u.where) for u in declared_uses(view))
    assert uses == [
        # VSO (the dev stack's delivery): the VaultPKISecret's mount and role, used by its VaultAuth's role
        ("consul/gateway/pki_int1/issue/api-gateway", "api-gateway", "secure-mesh-onboarding-gateway-certificate",
         "spec.mount"),
        (
            "consul/gateway/pki_int1/issue/x",
            "app-web",
            "report",
            "spec.jobTemplate.spec.template.metadata.annotations['vault.hashicorp.com/agent-inject-secret-cert']",
        ),
        ("consul/kv/data/consul/bootstrap-token", "consul-server", "secure-mesh-consul-release",
         "values.global.acls.bootstrapToken.secretName"),
        ("consul/kv/data/consul/bootstrap-token", "consul-server-acl-init", "secure-mesh-consul-release",
         "values.global.acls.bootstrapToken.secretName"),
        ("consul/kv/data/consul/gossip", "consul-server", "secure-mesh-consul-release",
         "values.global.gossipEncryption.secretName"),
        ("consul/server/pki_int2/issue/consul-server", "consul-server", "secure-mesh-consul-release",
         "values.server.serverCert.secretName"),
        ("consul/webhook/pki_int1/issue/connect-injector", "consul-connect-injector", "secure-mesh-consul-release",
         "values.global.secretsBackend.vault.connectInject.tlsCert.secretName"),
    ]  # fmt: skip
    csi_view = StackView(Res.from_policy_resource(r) for r in stack_args(csi_subjects("dev")).resources)
    csi_uses = sorted((u.path, u.role, u.source.name, u.where) for u in declared_uses(csi_view))
    assert [u for u in csi_uses if u[2] == "secure-mesh-onboarding-gateway-tls-provider"] == [
        ("consul/gateway/pki_int1/issue/api-gateway", "api-gateway", "secure-mesh-onboarding-gateway-tls-provider",
         f"spec.parameters.objects[{i}].secretPath")
        for i in (0, 1)
    ]  # fmt: skip


VSO_AUTH = "kubernetes:secrets.hashicorp.com/v1beta1:VaultAuth"


@pytest.mark.parametrize(
    ("auth_namespace", "secret_namespace", "ref", "used"),
    [
        (None, None, "default/gw-auth", True),  # no namespace is "default", on both sides
        (None, "apps", "gw-auth", False),  # a bare ref is in the secret's own namespace
        ("apps", "apps", "apps/gw-auth", True),
        ("apps", None, "apps/gw-auth", True),
        ("apps", "apps", "default/gw-auth", False),
    ],
)
def test_a_vso_pki_secret_uses_the_role_of_the_vault_auth_its_ref_names(
    auth_namespace: str | None, secret_namespace: str | None, ref: str, used: bool
) -> None:
    """``vaultAuthRef`` is ``[namespace/]name``, the namespace defaulting to the PKI secret's, and an object without
    a namespace is in ``default`` (vault-secrets-operator api/v1beta1/vaultpkisecret_types.go)."""

    def metadata(name: str, namespace: str | None) -> dict[str, str]:
        return {"name": name, **({"namespace": namespace} if namespace else {})}

    view = StackView(
        [
            Res(
                VSO_AUTH,
                "auth",
                "urn:auth",
                {"metadata": metadata("gw-auth", auth_namespace), "spec": {"kubernetes": {"role": "api-gateway"}}},
            ),
            Res(
                VAULT_PKI_SECRET,
                "tls",
                "urn:tls",
                {
                    "metadata": metadata("gw-tls", secret_namespace),
                    "spec": {"vaultAuthRef": ref, "mount": "consul/gateway/pki_int1", "role": "gw"},
                },
            ),
        ]
    )
    uses = [(u.path, u.role, u.where) for u in declared_uses(view)]
    assert uses == ([("consul/gateway/pki_int1/issue/gw", "api-gateway", "spec.mount")] if used else [])


def _vso_uses(*resources: Res) -> list[tuple[str, str]]:
    return [(u.path, u.role) for u in declared_uses(StackView(resources))]


def _vso_secret(name: str, spec: Any) -> Res:
    return Res(VAULT_PKI_SECRET, name, f"urn:{name}", {"metadata": {"namespace": "apps"}, "spec": spec})


CRON_JOB = "kubernetes:batch/v1:CronJob"
GW_AUTH = Res(VSO_AUTH, "auth", "urn:auth", {"metadata": {"name": "gw", "namespace": "apps"},
                                            "spec": {"kubernetes": {"role": "api-gateway"}}})


def test_a_vso_pki_secret_names_its_issuer_and_is_skipped_when_incomplete() -> None:
    """VSO issues through ``<mount>/issuer/<issuerRef>/issue/<role>`` when issuerRef is set (vault-secrets-operator
    vaultpkisecret_types.go); a secret whose spec is not a map, or whose mount or role is not a non-empty string,
    asks for nothing, and the secrets after it still count; a VaultAuth whose spec is not a map names no role."""
    full = {"vaultAuthRef": "gw", "mount": "pki", "role": "gw"}
    issuer = _vso_uses(GW_AUTH, _vso_secret("a", {**full, "issuerRef": "next"}))
    assert issuer == [("pki/issuer/next/issue/gw", "api-gateway")]
    assert _vso_uses(GW_AUTH, _vso_secret("a", {**full, "issuerRef": ""})) == [("pki/issue/gw", "api-gateway")]
    assert _vso_uses(
        GW_AUTH,
        _vso_secret("a", "not a map"),
        _vso_secret("b", {**full, "mount": ["pki"]}),
        _vso_secret("c", {**full, "role": ""}),
        _vso_secret("d", full),
    ) == [("pki/issue/gw", "api-gateway")]
    broken = Res(VSO_AUTH, "other", "urn:other", {"metadata": {"name": "gw", "namespace": "apps"}, "spec": "x"})
    assert _vso_uses(broken, _vso_secret("a", full)) == []


def test_a_vso_auth_ref_splits_at_its_first_slash() -> None:
    """``[namespace/]name``: everything after the first '/' is the name (as the pack reads it; Kubernetes itself
    refuses a '/' in a name)."""
    odd = Res(VSO_AUTH, "auth", "urn:auth", {"metadata": {"name": "gw/x/y", "namespace": "apps"},
                                             "spec": {"kubernetes": {"role": "api-gateway"}}})
    spec = {"vaultAuthRef": "apps/gw/x/y", "mount": "pki", "role": "gw"}
    assert _vso_uses(odd, _vso_secret("a", spec)) == [("pki/issue/gw", "api-gateway")]


def test_workload_and_csi_uses_need_a_role_and_survive_malformed_neighbours() -> None:
    """A CSI class without a roleName declares nothing; a pod template whose metadata is not a map has no
    annotations; a template without an agent role is skipped, and the job template after it still counts."""
    spc = Res(t.SECRET_PROVIDER_CLASS, "spc", "urn:spc",
              {"spec": {"parameters": {"objects": "- objectName: a\n  secretPath: kv/data/x\n"}}})
    odd = Res(CRON_JOB, "odd", "urn:odd", {"spec": {"template": {"metadata": ["not", "a", "map"]}}})
    both = Res(
        CRON_JOB,
        "both",
        "urn:both",
        {
            "spec": {
                "template": {"metadata": {"annotations": {f"{AGENT}agent-inject-secret-x": "kv/data/y"}}},
                "jobTemplate": {"spec": {"template": {"metadata": {"annotations": {
                    f"{AGENT}role": "job", f"{AGENT}agent-inject-secret-x": "kv/data/z"}}}}},
            }
        },
    )
    assert _vso_uses(spc, odd, both) == [("kv/data/z", "job")]


def test_a_vault_auth_whose_metadata_is_not_a_map_is_its_resource_name_in_default() -> None:
    auth = Res(VSO_AUTH, "gw-auth", "urn:auth", {"metadata": ["gw"], "spec": {"kubernetes": {"role": "api-gateway"}}})
    spec = {"vaultAuthRef": "gw-auth", "mount": "pki", "role": "gw"}
    secret = Res(VAULT_PKI_SECRET, "tls", "urn:tls", {"spec": spec})
    assert [(u.path, u.role) for u in declared_uses(StackView([auth, secret]))] == [("pki/issue/gw", "api-gateway")]


@pytest.mark.parametrize(
    ("path", "app"),
    [
        ("consul/kv/data/apps/web/x", "web"),
        ("consul/kv/metadata/apps/web", "web"),
        ("consul/kv/data/apps", None),
        ("consul/kv/data/consul/gossip", None),
        ("consul/kv-other/data/apps/web/x", None),
        ("other/kv/data/apps/web/x", None),
        ("consul/kv/destroy/apps/web/x", None),
    ],
)
def test_app_of_kv_path_follows_the_onboarding_layout(path: str, app: str | None) -> None:
    assert app_of_kv_path(path, {"consul/kv", "consul"}) == app


@pytest.mark.parametrize(
    ("pattern", "capabilities", "witness"),
    [
        ("consul/kv/data/apps/web/cert/ca", ["read"], "consul/kv/data/apps/web/cert/ca"),  # a KV secret, not a CA
        ("consul/+/pki_int2/cert/ca", ["read"], "consul/<any>/pki_int2/cert/ca"),
        ("consul/server/pki_int2/cert/*", ["read"], "consul/server/pki_int2/cert/<any>"),
        ("consul/webhook/pki_int1/cert/ca", ["read", "update"], "consul/webhook/pki_int1/cert/ca"),
    ],
)
def test_the_wildcard_ca_reader_reaches_nothing_but_pki_ca_reads(
    pattern: str, capabilities: list[str], witness: str
) -> None:
    subjects = place(stack_subjects("dev"), POLICY.format("ca-reader"), {pattern: capabilities}, "first")
    found = about(findings("k8s-names-stack", subjects), subjects, ROLE.format("ca-reader"))
    assert [(f.prop, f.value, f.fix) for f in found] == [
        ("tokenPolicies", "['consul-dc1-ca-reader']", "the wildcard role may only read <pki mount>/cert/ca")
    ]
    assert found[0].problem == (
        f"grants {sorted(capabilities)} on {witness} (via '{pattern}' in ['consul-dc1-ca-reader']) to any service "
        "account"
    )


def test_the_wildcard_ca_reader_may_read_any_pki_mounts_ca_and_chain() -> None:
    extra = {"consul/webhook/pki_int1/cert/ca": ["read"], "consul/server/pki_int2/cert/ca_chain": ["read"]}
    subjects = place(stack_subjects("prod"), POLICY.format("ca-reader"), extra, "after-skipped")
    assert check_stack("k8s-names-stack", subjects) == []


def test_the_gateway_issue_path_is_protected_by_least_purpose_too() -> None:
    subjects = place(
        stack_subjects("prod"), APP_POLICY.format("checkout"), {"consul/gateway/+/issue/+": ["update"]}, "last"
    )
    found = about(findings("pol-least-purpose", subjects), subjects, APP_ROLE.format("checkout"))
    assert [f.problem for f in found] == [
        "may ['update'] consul/gateway/pki_int2/issue/api-gateway (via 'consul/gateway/+/issue/+' in "
        "['consul-eu-west-1-app-checkout']): only ['api-gateway'] may use consul/gateway/pki_int2/issue/api-gateway"
    ]


# --------------------------------------------------------------------------- class 11: plain text anywhere

SAFE = {"LOG_LEVEL": "info", "endpoint": "https://api.example.com"}


@pytest.mark.parametrize("where", ORDERS)
def test_plain_text_secrets_in_config_maps_are_caught_in_any_position(where: str) -> None:
    bad = {"api_token": "abc123"}
    data = {**bad, **SAFE} if where == "first" else {**SAFE, **bad} if where == "last" else {**SAFE, "x": "", **bad}
    messages = check("kv-no-plaintext", t.CONFIG_MAP, {"metadata": {"name": "cfg"}, "data": data}, name="cfg")
    assert [parse_finding(m) for m in messages] == [
        Finding(
            "ConfigMap",
            "cfg",
            "data.api_token",
            "'<redacted>'",
            "a secret-named value in plain text",
            "read it from Vault instead",
        )
    ]


@pytest.mark.parametrize("where", ORDERS)
def test_plain_text_secrets_in_container_env_are_caught_in_any_position(where: str) -> None:
    safe = [{"name": "LOG_LEVEL", "value": "info"}, {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {}}}]
    bad = {"name": "CONSUL_HTTP_TOKEN", "value": "0b5f1a7e-3c3d-4a56-9e0f-1d2c3b4a5f6e"}
    env = [bad, *safe] if where == "first" else [*safe, bad] if where == "last" else [safe[0], {"name": "E"}, bad]
    index = env.index(bad)
    props = {
        "spec": {"template": {"spec": {"initContainers": [{"name": "i"}], "containers": [{"name": "a", "env": env}]}}}
    }
    messages = check("kv-no-plaintext", "kubernetes:apps/v1:StatefulSet", props, name="sts")
    assert [parse_finding(m) for m in messages] == [
        Finding(
            "StatefulSet",
            "sts",
            f"spec.template.spec.containers[0].env[{index}].value",
            "'<UUID>'",
            "CONSUL_HTTP_TOKEN: looks like a Consul ACL token",
            "use valueFrom or Vault",
        )
    ]


def test_an_auth_method_tune_given_as_one_object_is_read_too() -> None:
    messages = check(
        "kv-no-plaintext-audit",
        t.AUTH_BACKEND,
        {"type": "approle", "path": "a", "tune": {"auditNonHmacResponseKeys": ["accessor", "secret_id"]}},
        name="approle",
    )
    assert [parse_finding(m) for m in messages] == [
        Finding(
            "AuthBackend",
            "approle",
            "tune[0].auditNonHmacResponseKeys",
            "['accessor', 'secret_id']",
            "audit devices log ['accessor', 'secret_id'] in clear text (Vault HMACs every other value)",
            "remove them; leave audit_non_hmac_*_keys unset (or list only non-secret metadata keys)",
        )
    ]


def test_agent_annotations_on_a_cronjobs_pods_are_read_for_transport() -> None:
    job = subject(
        "kubernetes:batch/v1:CronJob",
        "report",
        {
            "spec": {
                "jobTemplate": {
                    "spec": {
                        "template": {
                            "metadata": {"annotations": {**INJECT, **CA, "vault.hashicorp.com/tls-skip-verify": "TRUE"}}
                        }
                    }
                }
            }
        },
        stack="prod",
    )
    subjects = [*stack_subjects("prod"), job]
    found = about(findings("csl-vault-ca-transport", subjects), subjects, "report")
    assert [(f.prop, f.value, f.fix) for f in found] == [
        (
            "spec.jobTemplate.spec.template.metadata.annotations['vault.hashicorp.com/tls-skip-verify']",
            "'TRUE'",
            "remove it and set vault.hashicorp.com/ca-cert",
        )
    ]


def test_the_server_role_gets_no_more_than_update_on_its_own_tune_and_read_on_its_mounts() -> None:
    extra = {"sys/mounts/consul/connect/pki_consul_dc1/tune": ["read", "update"]}
    subjects = place(stack_subjects("dev"), POLICY.format("mesh-ca"), extra, "last")
    found = about(findings("pol-least-sys", subjects), subjects, ROLE.format("server"))
    assert [f.problem for f in found] == [
        "may ['read', 'update'] sys/mounts/consul/connect/pki_consul_dc1/tune (via "
        "'sys/mounts/consul/connect/pki_consul_dc1/tune' in ['consul-dc1-mesh-ca']): more than ['update'] on the "
        "mesh CA provider's own path"
    ]


def test_database_credentials_named_after_a_non_app_identity_are_not_its_own() -> None:
    extra = {"consul/database/creds/consul-server": ["read"]}
    subjects = place(onboarding_subjects(), POLICY.format("server"), extra, "first")
    found = about(findings("pol-least-purpose", subjects), subjects, ROLE.format("server"))
    assert [f.problem.rsplit(": ", 1)[-1] for f in found] == [
        "database credentials of role 'consul-server'; only an app's own role (app-<app>) may read them"
    ]


@pytest.mark.parametrize(
    "spec",
    [
        None,
        "not a spec",
        {"provider": "vault"},
        {"parameters": None},
        {"parameters": ["roleName", "web"]},
        {"parameters": {"roleName": "web", "objects": 12}},
        {"parameters": {"roleName": "web", "objects": "- objectName: [unclosed"}},
    ],
)
def test_a_secret_provider_class_without_readable_objects_declares_none(spec: Any) -> None:
    """A careless SecretProviderClass (spec or parameters missing or not maps, objects not a YAML list) declares no
    Vault use, and the pack reads it without failing."""
    props = {} if spec is None else {"spec": spec}
    res = Res(t.SECRET_PROVIDER_CLASS, "spc", "urn:spc", props)
    assert csi_objects(res) == []
    parameters = spec.get("parameters") if isinstance(spec, dict) else None
    assert csi_parameters(res) == (parameters if isinstance(parameters, dict) else {})


def test_a_secret_provider_class_lists_its_objects_in_order() -> None:
    objects = (
        "- objectName: ca\n  secretPath: pki/cert/ca\n- not an object\n- objectName: tls\n  secretPath: pki/issue/w\n"
    )
    res = Res(t.SECRET_PROVIDER_CLASS, "spc", "urn:spc", {"spec": {"parameters": {"objects": objects}}})
    assert [o["objectName"] for o in csi_objects(res)] == ["ca", "tls"]
