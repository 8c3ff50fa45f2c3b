"""The BNetzA measures list saved as ;-separated CSV: German numbers, blocks and measures."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from blocklist.entries import AppliesTo, Category
from blocklist.errors import FeedError
from blocklist.feeds import ParsedFeed

from .conftest import keys, reasons

Parse = Callable[..., ParsedFeed]

MASSNAHMEN = """Bescheid vom;Rufnummer;Kategorie;Maßnahme
03.02.2026;0900 1234 567;Rufnummernspam;Abschaltung der Rufnummer(n)
10.03.2026;"0900 1234 5x, 0900123*
09001234600-09001234699";Ping-Anrufe;Abschaltung der Rufnummer(n)
15.04.2026;0900 1234 70 bis 79;Unzulässige Werbung;Rechnungslegungs- und Inkassierungsverbot
20.05.2026;+49 (0)221 1234567;Rufnummernspam;Abschaltung der Rufnummer(n)
"""


def test_measures_list_rows_become_entries(parse: Parse) -> None:
    """Each number, block and range of the list becomes a revoked entry in region DE."""
    feed = parse(MASSNAHMEN.encode(), "bnetza")
    assert feed.errors == [] and feed.rows_read == 4
    assert keys(feed) == ["+492211234567", "+49900123*", "+4990012345*", "+499001234567",
                          "+4990012346*", "+4990012347*"]
    assert feed.header.source == "bnetza" and feed.header.region == "DE"
    assert {r.entry.category for r in feed.records} == {Category.REVOKED}


def test_measures_map_to_roles_and_dates(parse: Parse) -> None:
    """Disconnection applies to both roles, a billing ban to the callee; orders last a year."""
    feed = parse(MASSNAHMEN.encode(), "bnetza")
    by_label = {r.entry.label: r.entry for r in feed.records}
    cut_off = by_label["+499001234567"]
    assert cut_off.applies_to is AppliesTo.BOTH
    assert (cut_off.listed_at, cut_off.valid_until) == (dt.date(2026, 2, 3), dt.date(2027, 2, 3))
    assert cut_off.reference == "BNetzA Bescheid vom 03.02.2026: 0900 1234 567"
    assert cut_off.reason == "Rufnummernspam; Abschaltung der Rufnummer(n)"
    billing = by_label["+4990012347*"]
    assert billing.applies_to is AppliesTo.CALLEE
    assert billing.reference == "BNetzA Bescheid vom 15.04.2026: 0900 1234 70 bis 79"


@pytest.mark.parametrize(
    "encoded",
    [MASSNAHMEN.encode("cp1252"), b"\xef\xbb\xbf" + MASSNAHMEN.encode(),
     MASSNAHMEN.replace("Maßnahme", " MASSNAHME ").replace("Bescheid vom", "bescheid  vom")
     .encode()],
    ids=["cp1252", "utf-8 BOM", "header case and spacing"],
)
def test_encodings_and_header_spelling(parse: Parse, encoded: bytes) -> None:
    """cp1252, a BOM, and header names in other case or spacing all read."""
    feed = parse(encoded, "bnetza")
    assert feed.errors == [] and len(feed.records) == 6
    assert "Unzulässige Werbung; Rechnungslegungs- und Inkassierungsverbot" in {
        r.entry.reason for r in feed.records}


def test_old_orders_expire_with_a_configurable_term(parse: Parse) -> None:
    """An order older than its term (default 1 year) is skipped; a longer term keeps it."""
    text = "Bescheid vom;Rufnummer;Kategorie;Maßnahme\n01.11.2025;0900 1234 567;x;Abschaltung\n"
    assert parse(text.encode(), "bnetza").skipped_expired == 1
    kept = parse(text.encode(), "bnetza", bnetza={"valid_for_years": 2})
    assert keys(kept) == ["+499001234567"] and kept.skipped_expired == 0


def test_bad_rows_are_reported_with_lines(parse: Parse) -> None:
    """An unknown measure, a bad date, a protected or invalid number: refused on their line."""
    text = ("Bescheid vom;Rufnummer;Kategorie;Maßnahme\n"
            "03.02.2026;0900 1234 567;x;Verwarnung\n"
            "2026-02-03;0900 1234 568;x;Abschaltung der Rufnummer(n)\n"
            "03.02.2026;116 117, 0900 1234 569;x;Abschaltung der Rufnummer(n)\n"
            "03.02.2026;110;x;Abschaltung der Rufnummer(n)\n"
            "03.02.2026;;x;Abschaltung der Rufnummer(n)\n")
    feed = parse(text.encode(), "bnetza")
    assert keys(feed) == ["+499001234569"]
    assert reasons(feed) == [
        (2, "Maßnahme 'Verwarnung' is neither Abschaltung nor Rechnungslegungs- und"
            " Inkassierungsverbot"),
        (3, "Bescheid vom '2026-02-03' does not match the date format '%d.%m.%Y'"),
        (4, "'116 117' is a protected number and can't be listed"),
        (5, "'110' is a protected number and can't be listed"),
        (6, "no Rufnummer in this row"),
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<html><body><table><tr><td>Bescheid vom</td></tr></table>", "HTML page"),
        (b"Datum;Nummer\n01.01.2026;0900\n", "no Bescheid vom, Rufnummer, Ma\u00dfnahme column"),
    ],
)
def test_not_a_measures_list_raises(parse: Parse, data: bytes, message: str) -> None:
    """The HTML page itself, or a CSV without the list's columns, fails the whole feed."""
    with pytest.raises(FeedError, match=message):
        parse(data, "bnetza")
