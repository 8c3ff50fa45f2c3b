"""The bulk path of a feed: shortcuts for plain cells, and records carried as rows."""

from __future__ import annotations

import datetime as dt

import pytest

from blocklist.entries import AppliesTo, Category, Entry, entry_with, provenance_of
from blocklist.errors import CallscreenError, InvalidNumberError
from blocklist.feeds.cells import DEFAULT_RANGE_WORDS, _range_words, item_keys, split_cell
from blocklist.feeds.collector import Collector
from blocklist.feeds.model import FeedHeader, Limits, Op, Records
from blocklist.feeds.numbering import exact_key

PLAIN_CELLS = ["085 123 4567", "0851234567", " 020 123 4567 ", "0031 20 123 4567",
               "112", "0800 0113", "116 123", "0900 1234 5678", "12345678901234567890123",
               "0", "00", "31201234567", "1 2", "020 1234 56"]


@pytest.mark.parametrize("cell", PLAIN_CELLS)
def test_plain_number_read_like_read(plan_for, cell) -> None:
    """A cell of digits and spaces gets the key (or the error) `parse_exact` gives."""
    plan = plan_for("NL")
    try:
        expected: str | type = plan.parse_exact(cell)[1:]
    except CallscreenError as error:
        expected = type(error)
    try:
        got: str | type = exact_key(plan, cell)
    except CallscreenError as error:
        got = type(error)
    assert got == expected


@pytest.mark.parametrize(("words", "plain_is_number"), [
    (DEFAULT_RANGE_WORDS, True),
    (("t/m", "-"), True),
    (("", "bis"), True),
    (("1",), False),
    (("to", "0 0"), False),
])
def test_plain_cells_skip_range_words_only_when_none_is_digits(words, plain_is_number) -> None:
    """Digits-and-spaces items bypass range parsing only when no range word could match."""
    assert _range_words(tuple(words))[2] is plain_is_number


@pytest.mark.parametrize(("item", "words", "expected"), [
    ("085 123 4567", DEFAULT_RANGE_WORDS, [("31851234567", False)]),
    ("0900 1234 50 bis 59", DEFAULT_RANGE_WORDS, [("3190012345", True)]),
    ("0900 1234 5", DEFAULT_RANGE_WORDS, [("3190012345", True)]),
])
def test_item_keys(plan_for, item, words, expected) -> None:
    """Items read with and without the plain-cell shortcut; a block column makes prefixes."""
    block = expected[0][1] and "bis" not in item
    assert item_keys(plan_for("NL"), item, Limits(), words, block=block) == expected


def test_a_digit_range_word_still_splits(plan_for) -> None:
    """With a range word of digits, a plain item is read as a range, not one number."""
    with pytest.raises(InvalidNumberError):
        item_keys(plan_for("NL"), "085 123 4567", Limits(), ("1",))


@pytest.mark.parametrize(("cell", "separators", "expected"), [
    ("085 123 4567", (",", "\n"), ["085 123 4567"]),
    ("  ", (",", "\n"), []),
    ("a, b", (",", "\n"), ["a", "b"]),
    ("a\r\nb", (",", "\n"), ["a", "b"]),
    ("a\rb", (",",), ["a\nb"]),
    ("a;b", (";",), ["a", "b"]),
])
def test_split_cell(cell, separators, expected) -> None:
    """Cells split on the separators; one item stays whole, stripped."""
    assert split_cell(cell, separators) == expected


def _entry(key: str, category: Category = Category.REVOKED, reference: str = "") -> Entry:
    return Entry(key=key, is_prefix=False, category=category, applies_to=AppliesTo.BOTH,
                 source="s", reference=reference, listed_at=dt.date(2026, 1, 1))


def test_provenance_round_trip() -> None:
    """An entry rebuilt from its key, source and provenance equals it."""
    entry = Entry(key="3190012", is_prefix=True, category=Category.DNO,
                  applies_to=AppliesTo.CALLER, source="s", reference="r", reason="why",
                  listed_at=dt.date(2026, 1, 1), valid_until=dt.date(2027, 1, 1),
                  added_by="feed:s", shadow=True)
    assert entry_with("3190012", True, "s", provenance_of(entry)) == entry


def test_rows_merge_like_entries() -> None:
    """Keys added as rows merge with later rows and entries as `add` merges entries."""
    by_rows, by_entries = Collector(), Collector()
    rows = [(1, "31201234567", Category.REVOKED, "a"), (2, "31201234568", Category.REVOKED, "a"),
            (3, "31201234567", Category.FRAUD, "b")]
    for line, key, category, reference in rows:
        entry = _entry(key, category, reference)
        by_rows.add_keys(line, [(key, False)], "s", provenance_of(entry))
        by_entries.add(line, entry)
    by_rows.add(4, _entry("31201234568", reference="c"))
    by_entries.add(4, _entry("31201234568", reference="c"))
    header = FeedHeader("delimited", "s")
    rows_feed, entries_feed = by_rows.result(header), by_entries.result(header)
    assert [r.entry for r in rows_feed.records] == [r.entry for r in entries_feed.records]
    assert rows_feed.records[0].entry.reference == "a; b"


def test_records_rows_and_records_agree() -> None:
    """`Records.rows` gives the key and provenance of every add, Entry or not."""
    entry = _entry("31201234569")
    found = {("31201234567", False): (provenance_of(_entry("31201234567")), Op.ADD, 1),
             ("31201234569", False): (entry, Op.ADD, 2),
             ("31201234560", False): (entry, Op.REMOVE, 3)}
    records = Records(found, "s")
    assert len(records) == 3
    assert [(k, p, v) for k, p, v in records.rows()] == [
        (r.entry.key, r.entry.is_prefix, provenance_of(r.entry)) for r in records
        if r.op is Op.ADD]
    assert records[-1] == records[2] and records[2].op is Op.REMOVE
