"""The project documents itself: README.md and docs/ are complete, linked and true to the code.

Everything a user or contributor needs is in the repository: no file refers to documents
outside it, every relative link and every repository path the docs name exists, and the feed
examples of docs/feeds.md parse as the page says they do.
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from pathlib import Path

import pytest

from blocklist.feeds import FeedFormatConfig, ParsedFeed, cached_plans, parse_feed
from blocklist.origin import PRESETS
from blocklist.origin_table import BEGIN, CASES, END, markdown_table, replace_table, table_in
from blocklist.settings import DEFAULT_PROTECTED

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [ROOT / "README.md", *DOCS]

# Documents that are not part of the project, and the way they used to be referred to. Each
# pattern is written so that it does not match itself: this file is scanned too.
OUTSIDE_REFERENCES = re.compile(
    r"\.\./[s]hared|[s]hared/docs|\b[B]RIEF\b|\b(?:[F]EEDS|[S]TYLE|[A]STERISK)\.md\b"
    r"|\b[t]he brief\b"
)
MARKDOWN_LINK = re.compile(r"\[[^\]\n]*\]\(([^)\s]+)\)")
# Code is not prose: `[directories](!)` in a code span is Asterisk configuration, not a link.
CODE = re.compile(r"^```.*?^```|`[^`\n]*`", re.MULTILINE | re.DOTALL)
# A path inside the repository, as the docs write it in backticks: `blocklist/policy.py`.
REPOSITORY_PATH = re.compile(
    r"`((?:agi|api|blocklist|asterisk-conf|tests|bench|tools|docs)/[^`\s{}<>*]*)`"
)


def project_files() -> list[Path]:
    """Tracked files, and new ones not yet committed (but not ignored ones)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, check=True, capture_output=True,
    ).stdout.decode().split("\0")
    return [ROOT / name for name in listed if name and (ROOT / name).is_file()]


def test_docs_folder_has_the_pages_the_readme_promises() -> None:
    """docs/ holds the decision, dialplan, feed, Redis and design pages."""
    names = {page.name for page in DOCS}
    assert {"decisions.md", "dialplan.md", "feeds.md", "redis-layout.md", "design.md"} <= names


def test_no_file_refers_to_documents_outside_the_repository() -> None:
    """No file in the project points to background documents an operator does not have."""
    found = []
    for path in project_files():
        text = path.read_bytes().decode("utf-8", "replace")
        for number, line in enumerate(text.splitlines(), start=1):
            if OUTSIDE_REFERENCES.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:100]}")
    assert found == [], "references to documents outside the repository:\n" + "\n".join(found)


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_relative_links_point_to_files_in_the_repository(page: Path) -> None:
    """Every relative link of README.md and docs/*.md names a file or folder that exists."""
    broken = []
    for target in MARKDOWN_LINK.findall(CODE.sub("", page.read_text())):
        if re.match(r"[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            continue  # a URL, or an anchor on the same page
        resolved = (page.parent / target.split("#", 1)[0]).resolve()
        if not resolved.is_relative_to(ROOT) or not resolved.exists():
            broken.append(target)
    assert broken == [], f"{page.name}: broken links {broken}"


@pytest.mark.parametrize("page", DOCS, ids=lambda page: page.name)
def test_repository_paths_named_in_docs_exist(page: Path) -> None:
    """Every repository path a docs page names in backticks (`blocklist/policy.py`) exists."""
    missing = sorted({path for path in REPOSITORY_PATH.findall(page.read_text())
                      if not (ROOT / path).exists()})
    assert missing == [], f"{page.name} names paths that do not exist: {missing}"


# -- the examples of docs/feeds.md --------------------------------------------------------------


def feeds_page_example(first_line: str) -> bytes:
    """The fenced example of docs/feeds.md whose first line starts with `first_line`."""
    blocks = re.findall(r"^```[a-z]*\n(.*?)^```", (ROOT / "docs" / "feeds.md").read_text(),
                        re.MULTILINE | re.DOTALL)
    found = [block for block in blocks if block.startswith(first_line)]
    assert len(found) == 1, f"docs/feeds.md: {len(found)} examples start with {first_line!r}"
    return found[0].encode("utf-8")


def parse_example(first_line: str, fmt: str, **config: object) -> ParsedFeed:
    return parse_feed(
        feeds_page_example(first_line), fmt, FeedFormatConfig.from_dict(config),
        plan_for=cached_plans(DEFAULT_PROTECTED), today=dt.date(2026, 11, 2), added_by="docs",
    )


def outcome(feed: ParsedFeed) -> list[tuple[str, str, str, str | None]]:
    """(label, category, applies_to, valid_until) of each entry, sorted."""
    return sorted(
        (r.entry.label, r.entry.category.value, r.entry.applies_to.value,
         str(r.entry.valid_until) if r.entry.valid_until else None)
        for r in feed.records
    )


@pytest.mark.parametrize(
    ("first_line", "fmt", "config", "entries"),
    [
        ('{"feed": {"format": "screening-feed/v1", "source": "example-regulator"',
         "screening-feed/v1", {},
         [("+31855550101", "revoked", "both", "2027-10-30"),
          ("+3190055501*", "revoked", "both", None),
          ("+4420794601*", "dno", "caller", None)]),
        ('{"feed": {"format": "screening-feed/v1", "source": "acm", "mode": "delta"',
         "screening-feed/v1", {},
         [("+31855550101", "fraud", "both", None),
          ("+31855550102", "revoked", "both", None)]),
        ("nummer;categorie", "delimited",
         {"source": "acm", "region": "NL", "delimited": {"delimiter": ";"}},
         [("+31201234567", "revoked", "both", "2027-10-30"),
          ("+31851234567", "suspected", "both", None),
          ("+3190012345*", "revoked", "both", None),
          ("+3190912345*", "suspected", "both", None)]),
        ("Bescheid vom;Rufnummer", "bnetza", {},
         [("+4990012345*", "revoked", "callee", "2027-09-01"),
          ("+499001234567", "revoked", "both", "2027-10-15"),
          ("+499001234568", "revoked", "both", "2027-10-15")]),
        ("# ACM list", "plain", {"source": "acm-plain", "category": "revoked"},
         [("+312012345*", "revoked", "both", None),
          ("+31855550101", "revoked", "both", None),
          ("+3190012345*", "revoked", "both", None)]),
    ],
    ids=["screening-feed-json", "screening-feed-jsonl-delta", "delimited", "bnetza", "plain"],
)
def test_feeds_page_examples_parse_as_the_page_says(
    first_line: str, fmt: str, config: dict[str, object],
    entries: list[tuple[str, str, str, str | None]],
) -> None:
    """Each feed example of docs/feeds.md gives the entries its text names, no row refused."""
    feed = parse_example(first_line, fmt, **config)
    assert feed.errors == [] and feed.intact
    assert outcome(feed) == entries


# -- the decisions table of docs/origin.md ------------------------------------------------------


def test_origin_page_has_the_decisions_table_the_code_prints() -> None:
    """docs/origin.md's decisions table is, cell by cell, what decide_origin answers today."""
    page = (ROOT / "docs" / "origin.md").read_text()
    assert table_in(page) == markdown_table(), (
        "docs/origin.md's decisions table differs from the code's: run tools/origin-table --write"
    )


def test_decisions_table_has_a_row_per_call_and_a_column_per_preset() -> None:
    """The printed table covers every preset and every call of blocklist/origin_table.py."""
    rows = markdown_table().splitlines()
    assert len(rows) == 2 + len(CASES)
    assert rows[0] == "| call | " + " | ".join(f"`{name}`" for name in PRESETS) + " |"
    for row, case in zip(rows[2:], CASES, strict=True):
        assert row.startswith(f"| {case.label} | ") and row.count(" | ") == len(PRESETS)


def test_writing_the_table_replaces_a_stale_copy_only() -> None:
    """tools/origin-table --write replaces what is between the markers and keeps the rest."""
    stale = f"before\n{BEGIN}\n| old | table |\n{END}\nafter\n"
    fresh = replace_table(stale, markdown_table())
    assert fresh == f"before\n{BEGIN}\n{markdown_table()}{END}\nafter\n"
    assert table_in(fresh) == markdown_table()
    with pytest.raises(ValueError, match="decisions table"):
        table_in("no markers here\n")
