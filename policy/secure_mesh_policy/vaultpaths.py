"""Vault's ACL path matching, reproduced exactly: which rule of a token's policies decides a request path.

Every rule that asks "may this policy reach that path?" asks it here, never by comparing strings.
The semantics follow hashicorp/vault ``vault/policy.go`` (``parsePaths``) and ``vault/acl.go``
(``NewACL``, ``AllowOperation``, ``CheckAllowedFromNonExactPaths``):

* one leading ``/`` is stripped; ``+*`` is forbidden;
* a path has *segment wildcards* when it is ``+``, starts with ``+/`` or contains ``/+``; a ``+``
  segment matches exactly one (possibly empty) segment;
* a trailing ``*`` makes a *prefix* rule: without segment wildcards the rest of the path is a raw
  string prefix (``a/b*`` matches ``a/bc/d``); with them the last segment is a prefix and any
  further segments follow;
* an exact rule for the request path always wins; otherwise, among matching prefix and segment
  wildcard rules, the winner has its first ``+``/``*`` later, then is not a prefix, then has fewer
  ``+`` segments, then is longer, then is lexically larger;
* the same path in several policies merges: capabilities add up, and ``deny`` replaces everything;
* only the winning rule counts: its capabilities are the token's, and ``deny`` (or no capability)
  means no access, even when a less specific rule grants more.

Templated paths (``{{identity.entity...}}``) are rendered per token; a segment holding a template is
treated as ``+`` (it may render to any identity's value), so a templated rule is judged by everything
it could reach.

:func:`reach` answers the question the rules ask: given a token's merged ACL and a target (a concrete
path, a pattern with ``+``, or a subtree), which capabilities does the token hold on *some* path the
target covers? It builds witness paths from every rule's own shape, so a path a less specific glob
grants is found even where a more specific rule denies its neighbours.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import Enum

ANY_SEGMENT = "\u2063any\u2063"
"""The value witness paths use where a ``+`` stands: equal to no literal a policy can spell."""


class Kind(Enum):
    """How one segment of a pattern matches a request path's segment."""

    LITERAL = "literal"
    ANY = "any"
    STARTS = "starts"
    """The last segment of a prefix pattern: the request segment starts with the text, anything may follow."""


@dataclass(frozen=True)
class Segment:
    """One segment matcher of a :class:`Pattern`."""

    kind: Kind
    text: str = ""

    def accepts(self, value: str) -> bool:
        """Whether a request path segment satisfies this matcher."""
        if self.kind is Kind.ANY:
            return True
        if self.kind is Kind.STARTS:
            return value.startswith(self.text)
        return value == self.text


def _is_template(segment: str) -> bool:
    return "{{" in segment and "}}" in segment


@dataclass(frozen=True)
class Pattern:
    """A Vault policy path as Vault compiles it (see the module docstring)."""

    raw: str
    path: str
    """The path Vault stores: leading ``/`` stripped; a plain prefix rule without its ``*``."""
    is_prefix: bool
    segment_wildcards: bool
    segments: tuple[Segment, ...]
    error: str | None = None

    @classmethod
    def parse(cls, raw: str) -> Pattern:
        """Compile a policy path the way ``vault/policy.go`` does."""
        path = raw[1:] if raw.startswith("/") else raw
        error = "'+*' is forbidden in a policy path (Vault rejects the policy)" if "+*" in path else None
        templated = any(_is_template(s) for s in path.split("/"))
        wildcards = path == "+" or path.startswith("+/") or "/+" in path or templated
        is_prefix = path.endswith("*")
        if is_prefix and not wildcards:
            path = path[:-1]
        body = path[:-1] if (is_prefix and wildcards) else path
        parts = body.split("/")
        segments: list[Segment] = []
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            if wildcards and (part == "+" or _is_template(part)):
                if is_prefix and last:
                    # '+*' is rejected above; a template as the prefixed last segment still matches anything.
                    segments.append(Segment(Kind.STARTS, ""))
                else:
                    segments.append(Segment(Kind.ANY))
            elif is_prefix and last:
                segments.append(Segment(Kind.STARTS, part))
            else:
                segments.append(Segment(Kind.LITERAL, part))
        return cls(raw, path, is_prefix, wildcards, tuple(segments), error)

    @property
    def is_exact(self) -> bool:
        """A rule for exactly one path (no ``*``, no ``+``, no template)."""
        return not self.is_prefix and not self.segment_wildcards

    @property
    def is_glob(self) -> bool:
        """A rule that covers more than one path."""
        return not self.is_exact

    def matches(self, request: str) -> bool:
        """Whether the pattern matches a concrete request path (leading ``/`` ignored, as Vault does)."""
        parts = request.lstrip("/").split("/")
        if self.is_exact:
            return "/".join(parts) == self.path
        return _match_segments(self.segments, self.is_prefix, parts)

    def priority(self) -> tuple[int, int, int, int, str]:
        """The sort key of ``CheckAllowedFromNonExactPaths``: the largest key wins among non-exact matches."""
        if self.is_exact:
            return (1 << 30, 1, 0, len(self.path), self.path)
        if not self.segment_wildcards:
            return (len(self.path), 0, 0, len(self.path), self.path)
        stem = self.path[:-1] if self.is_prefix else self.path
        first = min((i for i in (self.path.find("+"), self.path.find("{{")) if i >= 0), default=len(self.path))
        plus = sum(1 for s in self.segments if s.kind is Kind.ANY)
        return (first, 0 if self.is_prefix else 1, -plus, len(stem), stem)

    def witnesses(self, target: Pattern, max_depth: int = 0) -> Iterator[str]:
        """Concrete paths matched by both this pattern and ``target``, of every depth up to ``max_depth``.

        The depth is at least one segment beyond both patterns, so a prefix pattern's deeper paths appear.
        """
        limit = max(len(self.segments) + 1, len(target.segments) + 1, max_depth)
        for depth in range(1, limit + 1):
            choices: list[list[str]] = []
            for index in range(depth):
                values = _intersect(self._constraint(index, depth), target._constraint(index, depth))
                if values is None or not values:
                    break
                choices.append(values)
            else:
                for combo in itertools.product(*choices):
                    yield "/".join(combo)

    def _constraint(self, index: int, depth: int) -> Segment | None:
        """What this pattern requires of segment ``index`` of a ``depth``-segment path (None: no such path)."""
        count = len(self.segments)
        if self.is_exact:
            return self.segments[index] if depth == count else None
        if not self.is_prefix:
            return self.segments[index] if depth == count else None
        if depth < count:
            return None
        return self.segments[index] if index < count else Segment(Kind.ANY)


def _match_segments(segments: tuple[Segment, ...], is_prefix: bool, parts: list[str]) -> bool:
    if len(parts) < len(segments) or (not is_prefix and len(parts) != len(segments)):
        return False
    return all(segment.accepts(part) for segment, part in zip(segments, parts, strict=False))


def _intersect(a: Segment | None, b: Segment | None) -> list[str] | None:
    """Representative segment values both matchers accept: the literal, the prefix (alone and extended), or ANY."""
    if a is None or b is None:
        return None
    if a.kind is Kind.LITERAL or b.kind is Kind.LITERAL:
        literal, other = (a, b) if a.kind is Kind.LITERAL else (b, a)
        return [literal.text] if other.accepts(literal.text) else []
    if a.kind is Kind.ANY and b.kind is Kind.ANY:
        return [ANY_SEGMENT]
    starts = [s.text for s in (a, b) if s.kind is Kind.STARTS]
    longest = max(starts, key=len)
    if not all(longest.startswith(s) for s in starts):
        return []
    return [longest, longest + ANY_SEGMENT] if longest else [ANY_SEGMENT]


# ----------------------------------------------------------------------------------------- ACLs

DENY = "deny"


@dataclass(frozen=True)
class Rule:
    """One compiled rule of a merged ACL: the pattern, its capabilities, and the policies it came from."""

    pattern: Pattern
    capabilities: frozenset[str]
    policies: tuple[str, ...]

    @property
    def denies(self) -> bool:
        """An explicit ``deny`` (Vault then ignores every other capability on the rule)."""
        return DENY in self.capabilities


class Acl:
    """The merged ACL of a token: its policies' rules, merged and matched as ``vault/acl.go`` does."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.rules = list(rules)
        self._exact = {r.pattern.path: r for r in self.rules if r.pattern.is_exact}
        self._globs = [r for r in self.rules if not r.pattern.is_exact]

    @classmethod
    def of(cls, policies: Iterable[tuple[str, Mapping[str, Iterable[str]]]]) -> Acl:
        """Merge (policy name, {path: capabilities}) pairs: same compiled path → union, ``deny`` wins."""
        merged: dict[tuple[bool, bool, str], tuple[Pattern, set[str], list[str]]] = {}
        for name, paths in policies:
            for raw, capabilities in paths.items():
                pattern = Pattern.parse(raw)
                key = (pattern.is_prefix, pattern.segment_wildcards, pattern.path)
                _, caps, sources = merged.setdefault(key, (pattern, set(), []))
                new = set(capabilities)
                if DENY in caps:
                    continue
                if DENY in new:
                    caps.clear()
                    caps.add(DENY)
                else:
                    caps.update(new)
                if name not in sources:
                    sources.append(name)
        return cls(Rule(p, frozenset(c), tuple(s)) for p, c, s in merged.values())

    def deciding_rule(self, path: str, operation: str = "list") -> Rule | None:
        """The rule Vault uses for a request (``AllowOperation``).

        ``list`` (the default, what ``sys/capabilities`` uses) also tries the path without its trailing ``/``
        first; every other operation looks the path up as given.
        """
        path = path.lstrip("/")
        exact = self._exact.get(path)
        if exact is not None:
            return exact
        if operation != "list":
            return self._best(path)
        trimmed = path[:-1] if path.endswith("/") else path
        exact = self._exact.get(trimmed)
        if exact is not None:
            return exact
        found = self._best(trimmed) if trimmed != path else None
        return found if found is not None else self._best(path)

    def _best(self, path: str) -> Rule | None:
        candidates = [r for r in self._globs if r.pattern.matches(path)]
        return max(candidates, key=lambda r: r.pattern.priority()) if candidates else None

    def capabilities(self, path: str, operation: str = "list") -> frozenset[str]:
        """What a token may do on a path: the deciding rule's capabilities, none when it denies."""
        rule = self.deciding_rule(path, operation)
        if rule is None or rule.denies:
            return frozenset()
        return rule.capabilities


    def allows(self, operation: str, path: str) -> bool:
        """Whether a request is allowed (``read``, ``list``, ``create``, ``update``, ``delete``, ``patch``, …)."""
        capability = "update" if operation in ("revoke", "renew", "rollback") else operation
        return capability in self.capabilities(path, operation)


@dataclass(frozen=True)
class Reach:
    """A path of a target a token can reach, with what it may do there and the rule that grants it."""

    path: str
    capabilities: frozenset[str]
    rule: Rule

    @property
    def shown(self) -> str:
        """The witness path for messages (``<any>`` where any segment would do)."""
        return self.path.replace(ANY_SEGMENT, "<any>")


def target(path: str, subtree: bool = False) -> Pattern:
    """A target to ask :func:`reach` about: a path (``+`` allowed), or with ``subtree`` every path under it."""
    path = path.strip("/")
    return Pattern.parse(f"{path}/*" if subtree else path)


def reach(acl: Acl, goal: Pattern, capabilities: Iterable[str] | None = None) -> list[Reach]:
    """Every kind of path of ``goal`` the token can reach (optionally only with some capabilities).

    Witness paths come from intersecting each rule of the ACL with the goal at every depth up to one
    segment beyond the longest pattern (beyond it, only prefix rules match and the outcome no longer
    changes). Where a rule leaves a segment free, the witness uses a value no literal equals, which
    matches the fewest other rules; so a path is reported exactly when some path of the goal is
    reachable, not by sampling.
    """
    wanted = frozenset(capabilities) if capabilities is not None else None
    depth = max((len(r.pattern.segments) for r in acl.rules), default=0) + 1
    found: dict[str, Reach] = {}
    for rule in acl.rules:
        if rule.denies:
            continue
        for path in rule.pattern.witnesses(goal, depth):
            if path in found:
                continue
            granted = acl.capabilities(path)
            granted = granted & wanted if wanted is not None else granted - {DENY}
            if granted:
                deciding = acl.deciding_rule(path)
                assert deciding is not None
                found[path] = Reach(path, granted, deciding)
    return sorted(found.values(), key=lambda r: r.path)


def may_reach(pattern: str, goal: Pattern) -> bool:
    """Whether one policy path, alone, matches some path of ``goal`` (overlap, ignoring other rules)."""
    return next(Pattern.parse(pattern).witnesses(goal), None) is not None


def one_per_rule(found: list[Reach]) -> list[Reach]:
    """One witness per granting rule, so a glob is reported once: the shortest path that shows where it is open."""
    seen: dict[str, Reach] = {}

    def telling(item: Reach) -> tuple[bool, int, str]:
        return ANY_SEGMENT not in item.path, item.path.count("/"), item.path

    for item in found:
        known = seen.get(item.rule.pattern.raw)
        if known is None or telling(item) < telling(known):
            seen[item.rule.pattern.raw] = item
    return sorted(seen.values(), key=lambda r: r.path)
