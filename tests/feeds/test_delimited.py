"""Delimited text (CSV/TSV) with a column mapping: Dutch exports as operators pass them on."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from blocklist.entries import AppliesTo, Category
from blocklist.errors import ConfigError, FeedError
from blocklist.feeds import ParsedFeed

from .conftest import keys, reasons

Parse = Callable[..., ParsedFeed]

ACM_EXPORT = """Nummer;Kenmerk;Reden;Datum;Geldig tot
085-1234567;ACM/UIT/2025-001;nep Microsoft-helpdesk;30-10-2025;30-10-2027
"020 123 4567, 010 123 4567";ACM/UIT/2025-002;nep Outlook-helpdesk;30-10-2025;30-10-2027
0909 1234 5xx;ACM/UIT/2025-003;0909-blok;30-10-2025;30-10-2027
0900 1234 500 t/m 0900 1234 599;ACM/UIT/2025-004;0900-reeks;30-10-2025;30-10-2027
"""
DUTCH = {"source": "acm", "delimited": {"date_format": "%d-%m-%Y"}}


def test_dutch_export_with_known_headers(parse: Parse) -> None:
    """Dutch headers map without configuration; blocks, ranges and several numbers per cell."""
    feed = parse(ACM_EXPORT.encode(), "delimited", **DUTCH)
    assert feed.errors == [] and feed.rows_read == 4
    assert keys(feed) == ["+31101234567", "+31201234567", "+31851234567", "+3190012345*",
                          "+3190912345*"]
    entry = {r.entry.label: r.entry for r in feed.records}["+31201234567"]
    assert (entry.reference, entry.reason, entry.source) == (
        "ACM/UIT/2025-002", "nep Outlook-helpdesk", "acm")
    assert (str(entry.listed_at), str(entry.valid_until)) == ("2025-10-30", "2027-10-30")
    assert entry.category is Category.REVOKED and entry.applies_to is AppliesTo.BOTH


@pytest.mark.parametrize(
    "encoded",
    [
        ACM_EXPORT.replace("Reden", "Reden (één)").encode("cp1252"),
        "\ufeff".encode() + ACM_EXPORT.replace("Reden", "Reden (één)").encode(),
        ACM_EXPORT.replace("Reden", "Reden (één)").encode("utf-8"),
    ],
    ids=["cp1252", "utf-8 BOM", "utf-8"],
)
def test_encodings_utf8_bom_and_cp1252(parse: Parse, encoded: bytes) -> None:
    """UTF-8 with or without BOM and cp1252 all read; the BOM doesn't spoil the first header."""
    columns = {"nummer": "number", "reden (één)": "reason", "kenmerk": "reference"}
    feed = parse(encoded, "delimited", source="acm",
                 delimited={"date_format": "%d-%m-%Y", "columns": columns})
    assert feed.errors == [] and len(feed.records) == 5
    assert "nep Microsoft-helpdesk" in {r.entry.reason for r in feed.records}


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiter_is_sniffed(parse: Parse, delimiter: str) -> None:
    """delimiter auto recognises comma, semicolon, tab and pipe."""
    text = f"nummer{delimiter}reden\n085 555 0101{delimiter}helpdesk\n085 555 0102{delimiter}x\n"
    feed = parse(text.encode(), "delimited", source="acm")
    assert keys(feed) == ["+31855550101", "+31855550102"]
    assert {r.entry.reason for r in feed.records} == {"helpdesk", "x"}


def test_configured_columns_categories_and_defaults(parse: Parse) -> None:
    """Mapped columns win; empty cells take the feed's default category and applies_to."""
    text = "Tel.nr\tSoort\tRol\n0851234567\tfraud\tcallee\n0851234568\t\t\n"
    feed = parse(text.encode(), "delimited", source="ops", category="suspected",
                 applies_to="caller", delimited={
                     "delimiter": "\t",
                     "columns": {"Tel.nr": "number", "soort": "category", "ROL": "applies_to"}})
    got = {r.entry.label: (r.entry.category, r.entry.applies_to) for r in feed.records}
    assert got == {"+31851234567": (Category.FRAUD, AppliesTo.CALLEE),
                   "+31851234568": (Category.SUSPECTED, AppliesTo.CALLER)}


def test_range_and_prefix_columns(parse: Parse) -> None:
    """range_start/range_end columns give a range; a prefix column needs no wildcard."""
    text = "range_start,range_end,prefix\n+31855550100,+31855550199,\n,,0900 5550 1\n"
    feed = parse(text.encode(), "delimited", source="ops")
    assert keys(feed) == ["+318555501*", "+3190055501*"]


def test_bad_rows_keep_their_line_and_the_rest_counts(parse: Parse) -> None:
    """Bad cells are refused on their line (quoted line breaks counted); good ones still count."""
    text = ('nummer,reden,datum\n'
            '"085 555 0101\n085 555 0102",wrapped,2026-01-01\n'
            '112,emergency,2026-01-01\n'
            '085 555 0103,,yesterday\n'
            '"085 555 0104, helpdesk",,\n'
            ',no number,\n'
            '\n'
            '0800 0113,helpline,\n')
    feed = parse(text.encode(), "delimited", source="ops")
    assert keys(feed) == ["+31855550101", "+31855550102", "+31855550104"]
    assert reasons(feed) == [
        (4, "'112' is a protected number and can't be listed"),
        (5, "listed_at 'yesterday' does not match the date format '%Y-%m-%d'"),
        (6, "'helpdesk' is not a phone number"),
        (7, "no number, prefix or range in this row"),
        (9, "'0800 0113' is a protected number and can't be listed"),
    ]
    assert feed.rows_read == 6


def test_expired_rows_are_skipped(parse: Parse) -> None:
    """A row whose end date has passed is counted as expired, not listed."""
    text = "nummer,geldig tot\n085 555 0101,2026-11-01\n085 555 0102,2026-11-02\n"
    feed = parse(text.encode(), "delimited", source="ops")
    assert keys(feed) == ["+31855550102"] and feed.skipped_expired == 1


def test_duplicates_across_rows_merge(parse: Parse) -> None:
    """The same number in two rows and two notations is one entry with both references."""
    text = "nummer,kenmerk\n085-5550101,A\n+31 85 555 0101,B\n"
    feed = parse(text.encode(), "delimited", source="ops")
    assert [(r.entry.label, r.entry.reference) for r in feed.records] == [
        ("+31855550101", "A; B")]


@pytest.mark.parametrize(
    ("data", "error", "message"),
    [
        (b"<!DOCTYPE html>\n<html><head><title>Login</title>", FeedError, "HTML page"),
        (b"  <html><body>502 Bad Gateway</body></html>", FeedError, "HTML page"),
        (b"", FeedError, "empty, no header row"),
        (b"naam,adres\nJan,Dam 1\n", FeedError, "no number column in the header row"),
        (b"range_start,x\n1,2\n", FeedError, "needs both a range_start and a range_end"),
        (b"nummer\x00\n", FeedError, "binary data"),
    ],
)
def test_not_a_csv_raises(parse: Parse, data: bytes, error: type[Exception], message: str) -> None:
    """An HTML page, an empty file or a header without a number column fails the whole feed."""
    with pytest.raises(error, match=message):
        parse(data, "delimited", source="ops")


def test_delimited_feed_needs_a_source(parse: Parse) -> None:
    """Delimited files don't name their source: the configuration must."""
    with pytest.raises(ConfigError, match="needs a source"):
        parse(b"nummer\n0851234567\n", "delimited")
