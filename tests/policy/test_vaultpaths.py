"""Vault's ACL path matching as the pack reproduces it (policy/secure_mesh_policy/vaultpaths.py).

The known answers come from Vault's own tests (hashicorp/vault ``vault/acl_test.go``: ``aclPolicy``,
``aclPolicy2``, ``TestACL_Single``, ``TestACL_Layered``, ``TestACL_BareMount``), with the legacy
``policy = "read|write|sudo|deny"`` shorthands expanded as ``vault/policy.go`` expands them; the rest
pin the boundaries (one segment under a glob, leading and trailing slashes, ``+`` and ``*`` together,
deny, merging across policies) and the reach question the rules ask.
"""

from __future__ import annotations

import pytest
from secure_mesh_policy.vaultpaths import ANY_SEGMENT, Acl, Pattern, Reach, may_reach, reach, target

READ = ["read", "list"]
WRITE = ["create", "read", "update", "delete", "list"]
SUDO = [*WRITE, "sudo"]
DENY = ["deny"]

ACL_POLICY = {
    "dev/*": SUDO,
    "stage/*": WRITE,
    "stage/aws/*": [*READ, "update", "sudo"],
    "stage/aws/policy/*": SUDO,
    "prod/*": READ,
    "prod/aws/*": DENY,
    "sys/*": DENY,
    "foo/bar": ["read", "create", "sudo"],
    "baz/quux": ["read", "create", "patch"],
    "test/+/segment": ["read"],
    "+/segment/at/front": ["read"],
    "test/segment/at/end/+": ["read"],
    "test/segment/at/end/v2/+/": ["read"],
    "test/+/wildcard/+/*": ["read"],
    "test/+/wildcardglob/+/end*": ["read"],
    "1/2/*": ["create"],
    "1/2/+": ["read"],
    "1/2/+/+": ["update", "recover"],
}
"""``aclPolicy`` of vault/acl_test.go."""

ACL_POLICY_2 = {
    "dev/hide/*": DENY,
    "stage/aws/policy/*": DENY,
    "prod/*": WRITE,
    "sys/seal": SUDO,
    "foo/bar": DENY,
    "baz/quux": DENY,
}
"""``aclPolicy2`` of vault/acl_test.go (layered over ``aclPolicy``)."""

SINGLE = [
    ("read", "root", False),
    ("read", "dev/foo", True),
    ("update", "dev/foo", True),
    ("delete", "stage/foo", True),
    ("list", "stage/aws/foo", True),
    ("update", "stage/aws/foo", True),
    ("update", "stage/aws/policy/foo", True),
    ("delete", "prod/foo", False),
    ("update", "prod/foo", False),
    ("read", "prod/foo", True),
    ("list", "prod/foo", True),
    ("read", "prod/aws/foo", False),
    ("read", "foo/bar", True),
    ("list", "foo/bar", False),
    ("update", "foo/bar", False),
    ("create", "foo/bar", True),
    ("read", "baz/quux", True),
    ("create", "baz/quux", True),
    ("patch", "baz/quux", True),
    ("list", "baz/quux", False),
    ("update", "baz/quux", False),
    ("read", "test/foo/bar/segment", False),
    ("read", "test/foo/segment", True),
    ("read", "test/bar/segment", True),
    ("read", "test/segment/at/frond", False),
    ("read", "test/segment/at/front", True),
    ("read", "test/segment/at/end/foo", True),
    ("read", "test/segment/at/end/foo/", False),
    ("read", "test/segment/at/end/v2/foo/", True),
    ("read", "test/segment/wildcard/at/foo/", True),
    ("read", "test/segment/wildcard/at/end", True),
    ("read", "test/segment/wildcard/at/end/", True),
    ("read", "1/2/3/4", False),
    ("read", "1/2/3", True),
    ("update", "1/2/3", False),
    ("update", "1/2/3/4", True),
    ("create", "1/2/3/4/5", True),
    ("recover", "1/2/3/4", True),
]
"""``TestACL_Single`` (operation, path, allowed)."""

LAYERED = [
    ("read", "root", False),
    ("read", "dev/foo", True),
    ("update", "dev/foo", True),
    ("read", "dev/hide/foo", False),
    ("update", "dev/hide/foo", False),
    ("delete", "stage/foo", True),
    ("list", "stage/aws/foo", True),
    ("update", "stage/aws/foo", True),
    ("update", "stage/aws/policy/foo", False),
    ("delete", "prod/foo", True),
    ("update", "prod/foo", True),
    ("read", "prod/foo", True),
    ("list", "prod/foo", True),
    ("read", "prod/aws/foo", False),
    ("read", "sys/status", False),
    ("update", "sys/seal", True),
    ("read", "foo/bar", False),
    ("list", "foo/bar", False),
    ("update", "foo/bar", False),
    ("create", "foo/bar", False),
    ("read", "baz/quux", False),
    ("list", "baz/quux", False),
    ("update", "baz/quux", False),
    ("create", "baz/quux", False),
    ("patch", "baz/quux", False),
]
"""``TestACL_Layered`` (operation, path, allowed)."""


@pytest.mark.parametrize(("operation", "path", "allowed"), SINGLE, ids=[f"{o}:{p}" for o, p, _ in SINGLE])
def test_single_policy_matches_vaults_own_answers(operation: str, path: str, allowed: bool) -> None:
    acl = Acl.of([("DeV", ACL_POLICY)])
    assert acl.allows(operation, path) is allowed


@pytest.mark.parametrize(("operation", "path", "allowed"), LAYERED, ids=[f"{o}:{p}" for o, p, _ in LAYERED])
def test_layered_policies_match_vaults_own_answers(operation: str, path: str, allowed: bool) -> None:
    acl = Acl.of([("DeV", ACL_POLICY), ("OpS", ACL_POLICY_2)])
    assert acl.allows(operation, path) is allowed


BARE_MOUNT = [
    ("+/*", "foo"),
    ("foo/+/+/*", "foo"),
    ("foo/+/+/*", "foo/bar"),
    ("foo/+/+/*", "foo/bar/bar"),
    ("foo/+/+/*", "foo/bar/bar/baz"),
    ("foo/+/+/baz", "foo/bar/bar/baz"),
    ("foo/+/bar/baz", "foo/bar/bar/baz"),
    ("foo/bar/+/baz*", "foo/bar/bar/baz"),
    ("foo/bar/+/b*", "foo/bar/bar/baz"),
    ("foo/+", "foo"),
]
"""``TestACL_BareMount``: a read rule reaches something at or under the mount (Vault counts the mount path
itself; :func:`reach` asks about paths strictly under it, so ``foo/+/+/baz`` under ``foo/bar/bar/baz`` is
reached at ``foo/bar/bar/baz/`` — the mount path with its trailing slash)."""


@pytest.mark.parametrize(("rule", "mount"), BARE_MOUNT, ids=[f"{r}@{m}" for r, m in BARE_MOUNT])
def test_bare_mount_reach_matches_vault(rule: str, mount: str) -> None:
    acl = Acl.of([("p", {rule: ["read"]})])
    goal = target(mount, subtree=True) if rule.count("/") > mount.count("/") else target(f"{mount}/")
    assert reach(acl, goal), (rule, mount)


# ------------------------------------------------------------------------------ compile and match


def test_compile_follows_policy_go() -> None:
    assert Pattern.parse("/secret/data/*") == Pattern(
        raw="/secret/data/*",
        path="secret/data/",
        is_prefix=True,
        segment_wildcards=False,
        segments=Pattern.parse("secret/data/*").segments,
    )
    plus = Pattern.parse("secret/+/x*")
    assert (plus.path, plus.is_prefix, plus.segment_wildcards) == ("secret/+/x*", True, True)
    assert Pattern.parse("a/+*").error == "'+*' is forbidden in a policy path (Vault rejects the policy)"
    assert Pattern.parse("a/b+c").segment_wildcards is False  # '+' inside a segment is a literal
    assert Pattern.parse("a/x+/c").segment_wildcards is False
    assert Pattern.parse("a/b").is_exact and not Pattern.parse("a/b").is_glob


MATCHES = [
    ("secret/*", "secret/a", True),
    ("secret/*", "secret/", True),
    ("secret/*", "secret", False),
    ("secret/*", "secret/a/b/c", True),
    ("secret/a*", "secret/ab/c", True),
    ("secret/a*", "secret/b", False),
    ("secret/+", "secret/a", True),
    ("secret/+", "secret/", True),
    ("secret/+", "secret/a/b", False),
    ("secret/+", "secret", False),
    ("secret/+/x", "secret/a/x", True),
    ("secret/+/x", "secret/a/x/y", False),
    ("secret/+/x", "secret/a/b/x", False),
    ("secret/+/x*", "secret/a/xy/z", True),
    ("secret/+/*", "secret/a", False),
    ("secret/+/*", "secret/a/", True),
    ("+/x", "anything/x", True),
    ("+", "a", True),
    ("+", "a/b", False),
    ("/secret/a", "secret/a", True),
    ("secret/a", "/secret/a", True),
    ("secret/a", "secret/a/", False),
    ("*", "sys/mounts", True),
    ("apps/{{identity.entity.name}}/*", "apps/other/secret", True),
]


@pytest.mark.parametrize(("pattern", "path", "expected"), MATCHES, ids=[f"{p}~{q}" for p, q, _ in MATCHES])
def test_pattern_matches_like_vault(pattern: str, path: str, expected: bool) -> None:
    assert Pattern.parse(pattern).matches(path) is expected


def test_most_specific_rule_wins_and_deny_is_final() -> None:
    acl = Acl.of([("a", {"kv/data/*": ["read"], "kv/data/team/*": ["deny"], "kv/data/team/shared": ["read"]})])
    assert acl.capabilities("kv/data/other") == {"read"}
    assert acl.capabilities("kv/data/team/x") == frozenset()
    assert acl.capabilities("kv/data/team/shared") == {"read"}  # an exact rule beats every glob
    # first wildcard at the same position: the non-prefix rule wins, then the one with fewer '+'
    acl = Acl.of([("a", {"kv/*": ["read"], "kv/+/x": ["update"], "kv/+/*": ["list"]})])
    assert acl.capabilities("kv/a/x") == {"update"}
    assert acl.capabilities("kv/a/y") == {"read"}
    # a wildcard later in the path wins
    acl = Acl.of([("a", {"kv/*": ["read"], "kv/a/+": ["update"]})])
    assert acl.capabilities("kv/a/y") == {"update"}
    assert acl.capabilities("kv/b/y") == {"read"}
    # fewer '+' segments win over more
    acl = Acl.of([("a", {"kv/+/+/c": ["read"], "kv/a/+/c": ["update"]})])
    assert acl.capabilities("kv/a/b/c") == {"update"}


NAME = "{{identity.entity.name}}"
PRECEDENCE = [
    # (rules, path, the winning rule): vault/acl.go CheckAllowedFromNonExactPaths, the largest key wins:
    # the first wildcard later, then not a prefix, then fewer '+', then the longer path, then the greater string
    ({"kv/+/b/c/+": "read", "kv/a/+/c/d": "update"}, "kv/a/b/c/d", "kv/a/+/c/d"),  # the FIRST '+' counts
    ({"+/b": "read", "a/+": "update"}, "a/b", "a/+"),  # a '+' at index 0 is the earliest wildcard
    ({"kv/+/b/c": "read", "kv/+/+/c": "update"}, "kv/a/b/c", "kv/+/b/c"),  # same first '+': fewer '+' wins
    ({"kv/+/x/*": "read", "kv/+/x/y*": "update"}, "kv/a/x/yz", "kv/+/x/y*"),  # same key up to length: longer
    ({"kv/+/x/y*": "update", "kv/+/x/*": "read"}, "kv/a/x/yz", "kv/+/x/y*"),  # in either order
    # a template is a wildcard segment too: its first '{{' counts, and a plain prefix glob that ends before it loses
    # to it (Vault resolves the template first: kv/ab/<name>/* is the longer prefix)
    ({"kv/{{identity.entity.name}}/*": "read", "kv/a/+/*": "update"}, "kv/a/b/c", "kv/a/+/*"),
    ({"kv/{{identity.entity.name}}/c/{{identity.entity.id}}": "read", "kv/a/+/d": "update"}, "kv/a/c/d", "kv/a/+/d"),
    ({"kv/ab*": "read", f"kv/ab/{NAME}/*": "update"}, "kv/ab/joe/x", f"kv/ab/{NAME}/*"),
]


@pytest.mark.parametrize(("rules", "path", "winner"), PRECEDENCE, ids=[w for _, _, w in PRECEDENCE])
def test_the_deciding_glob_follows_vaults_precedence(rules: dict[str, str], path: str, winner: str) -> None:
    acl = Acl.of([("p", {pattern: [capability] for pattern, capability in rules.items()})])
    deciding = acl.deciding_rule(path, "read")
    assert deciding is not None and deciding.pattern.raw == winner
    assert acl.capabilities(path, "read") == {rules[winner]}


def test_same_path_merges_across_policies_and_deny_replaces_everything() -> None:
    merged = Acl.of([("one", {"kv/x": ["read"]}), ("two", {"/kv/x": ["update"]})])
    assert merged.capabilities("kv/x") == {"read", "update"}
    assert merged.deciding_rule("kv/x").policies == ("one", "two")  # type: ignore[union-attr]
    allow, deny = ("one", {"kv/x": ["read"]}), ("two", {"kv/x": ["deny"]})
    for order in ([allow, deny], [deny, allow]):
        acl = Acl.of(order)
        assert acl.capabilities("kv/x") == frozenset()
        # Vault keeps only the deny (vault/acl.go NewACL): nothing else survives on the merged rule
        assert acl.deciding_rule("kv/x").capabilities == {"deny"}  # type: ignore[union-attr]


# --------------------------------------------------------------------------------------- reach


def shown(found: list[Reach]) -> list[tuple[str, list[str], str]]:
    """Reach results as (witness, capabilities, granting pattern), for whole-value comparisons."""
    return [(f.shown, sorted(f.capabilities), f.rule.pattern.raw) for f in found]


def test_reach_finds_what_a_glob_grants_beyond_a_more_specific_deny() -> None:
    acl = Acl.of([("p", {"kv/data/apps/*": ["read"], "kv/data/apps/web/+": ["deny"]})])
    # one segment under web/ is denied, two are not
    assert shown(reach(acl, target("kv/data/apps/web", subtree=True))) == [
        ("kv/data/apps/web/<any>/<any>", ["read"], "kv/data/apps/*"),
    ]
    denied = Acl.of([("p", {"kv/data/apps/*": ["read"], "kv/data/apps/web/*": ["deny"]})])
    assert reach(denied, target("kv/data/apps/web", subtree=True)) == []
    assert [f.shown for f in reach(denied, target("kv/data/apps/api", subtree=True))] == [
        "kv/data/apps/api/<any>",
        "kv/data/apps/api/<any>/<any>",
    ]


def test_reach_of_deep_denies_is_exact_at_every_depth() -> None:
    rules = {"a/*": ["read"], "a/+": ["deny"], "a/+/+": ["deny"], "a/+/+/+": ["deny"], "a/+/+/+/+": ["deny"]}
    found = reach(Acl.of([("p", rules)]), target("a", subtree=True))
    assert [f.shown for f in found] == ["a/<any>/<any>/<any>/<any>/<any>"]


def test_reach_on_exact_and_plus_targets() -> None:
    acl = Acl.of([("p", {"pki/issue/web": ["create", "update"], "pki/cert/ca": ["read"]})])
    assert shown(reach(acl, target("pki/issue/+"))) == [("pki/issue/web", ["create", "update"], "pki/issue/web")]
    assert reach(acl, target("pki/issue/+"), {"delete"}) == []
    assert reach(acl, target("pki/sign/+")) == []
    assert shown(reach(acl, target("pki", subtree=True), {"read"})) == [("pki/cert/ca", ["read"], "pki/cert/ca")]


def test_reach_through_a_partial_segment_prefix() -> None:
    acl = Acl.of([("p", {"pki/sign-*": ["update"]})])
    assert shown(reach(acl, target("pki/sign-verbatim"))) == [("pki/sign-verbatim", ["update"], "pki/sign-*")]
    assert shown(reach(acl, target("pki/sign-verbatim/+"))) == [("pki/sign-verbatim/<any>", ["update"], "pki/sign-*")]
    assert reach(acl, target("pki/issue/+")) == []


def test_may_reach_is_overlap_of_one_pattern_with_a_target() -> None:
    assert may_reach("kv/data/+/session", target("kv/data/apps", subtree=True))
    assert may_reach("kv/*", target("kv/data/apps/web/x"))
    assert not may_reach("kv/data/apps/web/*", target("kv/data/apps/api", subtree=True))
    assert not may_reach("kv/data/apps/web", target("kv/data/apps/web", subtree=True))  # the path itself, not under
    assert may_reach("kv/data/apps/we*", target("kv/data/apps/web", subtree=True))
    assert ANY_SEGMENT not in "kv/data/apps/web"


@pytest.mark.parametrize("operation", ["revoke", "renew", "rollback"])
def test_revoke_renew_and_rollback_need_update(operation: str) -> None:
    """Vault's acl.go AllowOperation: "These three re-use UpdateCapabilityInt" (revoke, renew, rollback)."""
    updates = Acl.of([("p", {"sys/leases/revoke/*": ["update"]})])
    reads = Acl.of([("p", {"sys/leases/revoke/*": ["read", "create", "delete", "list"]})])
    assert updates.allows(operation, "sys/leases/revoke/lease-1") is True
    assert reads.allows(operation, "sys/leases/revoke/lease-1") is False
    assert updates.allows("update", "sys/leases/revoke/lease-1") is True


def test_a_list_request_is_decided_without_its_trailing_slash_first() -> None:
    """Vault's acl.go: list operations are checked without the trailing slash first (an exact rule on the path
    without it decides), every other operation on the path as given."""
    acl = Acl.of([("p", {"kv/metadata/app": ["list", "read"]})])
    assert acl.allows("list", "kv/metadata/app/") is True
    assert acl.allows("read", "kv/metadata/app/") is False


def test_a_list_request_takes_the_glob_deciding_the_path_without_its_slash() -> None:
    """Vault's acl.go: a list of ``kv/a/`` asks CheckAllowedFromNonExactPaths about ``kv/a`` first (kv/+ decides),
    and only without an answer about ``kv/a/`` itself; ``capabilities`` and ``deciding_rule`` default to list,
    the capabilities query ``sys/capabilities`` makes. A leading slash is no part of the path."""
    acl = Acl.of([("p", {"kv/+": ["read"], "kv/a/*": ["list"], "kv/x": ["create"], "Xkv/y": ["update"]})])
    assert acl.capabilities("kv/a/") == {"read"}
    assert acl.deciding_rule("kv/a/").pattern.raw == "kv/+"  # type: ignore[union-attr]
    assert acl.capabilities("kv/a/", "read") == {"list"}
    assert acl.capabilities("kv/b/c/") == frozenset()
    assert acl.capabilities("kv/x/") == {"create"}
    assert acl.capabilities("/kv/x") == {"create"}
    assert acl.capabilities("Xkv/y") == {"update"}


def test_a_denied_path_keeps_the_policys_other_paths() -> None:
    """Merging skips the one path a deny already closed, not the rest of the policy being merged."""
    acl = Acl.of([("one", {"kv/x": ["deny"]}), ("two", {"kv/x": ["read"], "kv/y": ["update"]})])
    assert (acl.capabilities("kv/x"), acl.capabilities("kv/y")) == (frozenset(), {"update"})


def test_a_segment_needs_both_braces_to_be_a_template() -> None:
    """policy.go looks for a template segment by segment: braces opened in one segment and closed in another are
    literal text, and the rule stays exact; a template as the last segment of a prefix matches any value."""
    split = Pattern.parse("kv/{{a/b}}")
    assert split.is_exact and split.matches("kv/{{a/b}}") and not split.matches("kv/x/y")
    last = Pattern.parse("kv/{{identity.entity.name}}*")
    assert last.matches("kv/joe") and last.matches("kv/joe/x") and not last.matches("other/joe")
    assert Pattern.parse("kv/{{x").matches("kv/{{x") and not Pattern.parse("kv/{{x").matches("kv/other")
    assert Pattern.parse("kv/x}}").matches("kv/x}}") and not Pattern.parse("kv/x}}").matches("kv/other")
    assert Pattern.parse("Xsecret/a").matches("Xsecret/a") and not Pattern.parse("Xsecret/a").matches("secret/a")


def test_a_target_drops_only_its_slashes() -> None:
    assert target("/Xkv/aX/").raw == "Xkv/aX"
    assert target("/Xkv/aX/", subtree=True).raw == "Xkv/aX/*"


def test_reach_reports_every_witness_of_a_rule_after_one_another_rule_found() -> None:
    """The exact rule kv/a finds kv/a first; kv/a* still reports its own deeper paths after skipping it."""
    acl = Acl.of([("p", {"kv/a": ["read"], "kv/a*": ["update"]})])
    assert shown(reach(acl, target("kv", subtree=True))) == [
        ("kv/a", ["read"], "kv/a"),
        ("kv/a/<any>", ["update"], "kv/a*"),
        ("kv/a<any>", ["update"], "kv/a*"),
        ("kv/a<any>/<any>", ["update"], "kv/a*"),
    ]


def test_reach_of_a_one_segment_path_and_of_a_pattern_deeper_than_its_target() -> None:
    assert shown(reach(Acl.of([("p", {"sys": ["read"]})]), target("sys"))) == [("sys", ["read"], "sys")]
    assert may_reach("kv/data/apps/web/config/*", target("kv", subtree=True))
    assert may_reach("kv/data/apps/web/config", target("kv/+", subtree=True))
