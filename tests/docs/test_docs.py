"""The docs read in order and stay honest: a short README, no text written twice, no dead links.

Pages checked: README.md, docs/*.md, benchmarks/README.md, examples/*/README.md and the generated
policy/README.md. A "paragraph" is a block of lines between blank lines outside fenced code, split further
at each list item and table row, with whitespace normalised; fenced code blocks count as one paragraph each.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

from tests.harness import PROJECT_DIR

README = PROJECT_DIR / "README.md"
MAX_README_LINES = 230
MIN_PARAGRAPH = 100

_LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_ITEM = re.compile(r"^\s*(?:[-*+]\s|\d+\.\s|\|)")
_FENCE = re.compile(r"^\s*(```|~~~)")


def doc_pages() -> list[Path]:
    """Every hand-written or generated Markdown page of the project that a reader meets."""
    return [
        README,
        *sorted((PROJECT_DIR / "docs").glob("*.md")),
        PROJECT_DIR / "benchmarks" / "README.md",
        *sorted((PROJECT_DIR / "examples").glob("*/README.md")),
        PROJECT_DIR / "policy" / "README.md",
    ]


def paragraphs(text: str) -> list[str]:
    """The page's paragraphs, whitespace normalised: list items (without marker) and table rows apart, code whole."""
    blocks: list[list[str]] = []
    current: list[str] = []
    fence: list[str] | None = None

    def close() -> None:
        nonlocal current
        if current:
            blocks.append(current)
        current = []

    for line in text.splitlines():
        if fence is not None:
            fence.append(line)
            if _FENCE.match(line):
                blocks.append(fence)
                fence = None
            continue
        if _FENCE.match(line):
            close()
            fence = [line]
        elif not line.strip():
            close()
        elif _ITEM.match(line):
            close()
            current = [line]
        else:
            current.append(line)
    close()
    if fence is not None:
        blocks.append(fence)
    normalised = (" ".join(" ".join(block).split()) for block in blocks)
    return [re.sub(r"^(?:[-*+]|\d+\.) ", "", paragraph) for paragraph in normalised]


def duplicated_paragraphs(pages: dict[str, str]) -> dict[str, list[str]]:
    """Paragraphs of at least MIN_PARAGRAPH characters that occur more than once, with where they occur."""
    seen: dict[str, list[str]] = defaultdict(list)
    for name, text in pages.items():
        for paragraph in paragraphs(text):
            if len(paragraph) >= MIN_PARAGRAPH:
                seen[paragraph].append(name)
    return {paragraph: where for paragraph, where in seen.items() if len(where) > 1}


def _without_code(text: str) -> str:
    lines, fence = [], False
    for line in text.splitlines():
        if _FENCE.match(line):
            fence = not fence
            continue
        if not fence:
            lines.append(re.sub(r"`[^`]*`", "", line))
    return "\n".join(lines)


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading (github-slugger: lower case, punctuation dropped, spaces to '-')."""
    text = heading.strip().lower().replace("`", "")
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(text: str) -> set[str]:
    """Every heading anchor of a page, with GitHub's -1, -2 … suffixes for repeated headings."""
    found: set[str] = set()
    counts: dict[str, int] = defaultdict(int)
    fence = False
    for line in text.splitlines():
        if _FENCE.match(line):
            fence = not fence
            continue
        match = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if match and not fence:
            slug = github_anchor(match.group(1))
            found.add(slug if counts[slug] == 0 else f"{slug}-{counts[slug]}")
            counts[slug] += 1
    return found


def broken_links(page: Path) -> list[str]:
    """Relative links of a page whose file (or heading anchor, for a Markdown target) does not exist."""
    broken = []
    for target in _LINK.findall(_without_code(page.read_text())):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):
            continue  # https:, mailto: …: not checked offline
        path_part, _, anchor = target.partition("#")
        destination = (page.parent / path_part).resolve() if path_part else page
        if not destination.exists():
            broken.append(f"{target}: no such file")
        elif anchor and destination.suffix == ".md" and anchor not in anchors(destination.read_text()):
            broken.append(f"{target}: no heading with anchor #{anchor}")
    return broken


# ---------------------------------------------------------------------------------------------------- the docs


def test_no_paragraph_is_written_twice() -> None:
    pages = {str(page.relative_to(PROJECT_DIR)): page.read_text() for page in doc_pages()}
    assert len(pages) >= 15
    assert duplicated_paragraphs(pages) == {}


def test_every_relative_link_and_anchor_exists() -> None:
    pages = [page for page in doc_pages() if page.name != "README.md" or page.parent != PROJECT_DIR / "policy"]
    assert {page: broken_links(page) for page in pages} == {page: [] for page in pages}


def test_readme_stays_short() -> None:
    lines = README.read_text().splitlines()
    assert len(lines) <= MAX_README_LINES, "move topic text to a docs/ page and link it"


def test_quick_start_begins_with_make_render() -> None:
    text = README.read_text()
    section = text.split("\n## Quick start\n", 1)[1].split("\n## ", 1)[0]
    block = section.split("```", 2)[1]
    commands = [line.split("#", 1)[0].strip() for line in block.splitlines()[1:]]
    assert next(command for command in commands if command) == "make render"


def test_readme_links_every_docs_page() -> None:
    linked = {(README.parent / target.partition("#")[0]).resolve() for target in _LINK.findall(README.read_text())}
    pages = set((PROJECT_DIR / "docs").glob("*.md"))
    assert len(pages) >= 12
    assert sorted(str(page.relative_to(PROJECT_DIR)) for page in pages - linked) == []


# ------------------------------------------------------------------------------------- the checks themselves


def test_duplicate_finder_catches_a_repeat_in_any_shape() -> None:
    long = "A sentence long enough to count as a paragraph of its own, " * 2
    repeated = " ".join(long.split())
    plain = f"# A\n\n{long}\n\nshort\n"
    rewrapped = "intro\n\n  " + long.replace(" ", "\n", 3) + "  \n"
    as_item = f"- item\n-   {long}\n| row |\n"
    assert duplicated_paragraphs({"a.md": plain, "b.md": rewrapped}) == {repeated: ["a.md", "b.md"]}
    assert duplicated_paragraphs({"a.md": plain, "c.md": as_item}) == {repeated: ["a.md", "c.md"]}
    assert duplicated_paragraphs({"a.md": plain + "\n" + long}) == {repeated: ["a.md", "a.md"]}
    assert duplicated_paragraphs({"a.md": plain, "d.md": long[:-2]}) == {}
    fenced = f"```\n{long}\n```\n"
    assert duplicated_paragraphs({"a.md": plain, "e.md": fenced}) == {}
    assert duplicated_paragraphs({"e.md": fenced, "f.md": fenced}) == {f"``` {repeated} ```": ["e.md", "f.md"]}
    assert duplicated_paragraphs({"g.md": "x" * 99 + "\n\n" + "x" * 99 + "\n"}) == {}
    assert duplicated_paragraphs({"g.md": "x" * 100 + "\n\n" + "x" * 100 + "\n"}) == {"x" * 100: ["g.md", "g.md"]}


def test_anchor_rules_follow_github() -> None:
    text = (
        "# Consul on Kubernetes (`components/consul/`)\n## Reaching Consul's API\n## Tests\n## Tests\n"
        "```\n# no\n```\n"
    )
    assert anchors(text) == {"consul-on-kubernetes-componentsconsul", "reaching-consuls-api", "tests", "tests-1"}


def test_link_checker_reports_missing_files_and_anchors(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Other page\n\n## A section\n")
    page = tmp_path / "page.md"
    page.write_text(
        "# Page\n\n[ok](other.md) [ok](other.md#a-section) [ok](#page) [web](https://example.com/x)\n"
        "[gone](missing.md) [bad anchor](other.md#no-section) ![img](pic.png)\n"
        "`[in code](nowhere.md)`\n```\n[in a block](nowhere.md)\n```\n"
    )
    assert broken_links(page) == [
        "missing.md: no such file",
        "other.md#no-section: no heading with anchor #no-section",
        "pic.png: no such file",
    ]
