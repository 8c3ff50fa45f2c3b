"""Plain lists, our export format's round trip, feed configuration and the merge rules."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable

import pytest

from blocklist.entries import AppliesTo, Category, Entry
from blocklist.errors import ConfigError, InvalidEntryError
from blocklist.feeds import FeedFormatConfig, Limits, ParsedFeed, write_screening_feed
from blocklist.feeds.collector import merge_entries

from .conftest import keys, reasons

Parse = Callable[..., ParsedFeed]


def test_plain_list_with_comments(parse: Parse) -> None:
    """One number or block per line; # comments and blank lines are skipped."""
    text = ("# DNO list, confidential\n"
            "+44 20 7946 0100   # bank\n"
            "\n"
            "020 7946 01xx\n"
            "999\n")
    feed = parse(text.encode(), "plain", source="dno-uk", region="GB", category="dno")
    assert keys(feed) == ["+4420794601*", "+442079460100"]
    assert reasons(feed) == [(5, "'999' is a protected number and can't be listed")]
    assert {(r.entry.category, r.entry.applies_to) for r in feed.records} == {
        (Category.DNO, AppliesTo.CALLER)}
    assert feed.rows_read == 3


def test_plain_list_prefix_limit_is_configurable(parse: Parse) -> None:
    """US DNO lists hold short prefixes: a lower min_prefix_digits lets them in."""
    text = b"+1 800 xxx xxxx\n"
    assert "too short" in parse(text, "plain", source="dno-us", region="US").errors[0].reason
    feed = parse(text, "plain", source="dno-us", region="US", limits={"min_prefix_digits": 3})
    assert keys(feed) == ["+1800*"]


def test_us_six_digit_dno_prefix_is_accepted(parse: Parse) -> None:
    """A US DNO list's NPA-NXX prefix (+1 212 555) is a block of ordinary numbers."""
    feed = parse(b"+1 212 555 xxxx\n", "plain", source="dno-us", region="US", category="dno")
    assert keys(feed) == ["+1212555*"]


def _entries() -> list[Entry]:
    return [
        Entry("31855550101", False, Category.REVOKED, AppliesTo.BOTH, "x", "EX-1",
              "nep \"Microsoft\" – helpdesk", dt.date(2026, 10, 30), dt.date(2027, 10, 30)),
        Entry("3190055501", True, Category.FRAUD, AppliesTo.CALLEE, "x", "EX-2"),
        Entry("442079460100", False, Category.DNO, AppliesTo.CALLER, "x"),
    ]


@pytest.mark.parametrize("jsonl", [True, False], ids=["jsonl", "json"])
def test_export_round_trips_through_the_parser(parse: Parse, jsonl: bool) -> None:
    """What write_screening_feed writes parses back, intact, to the same entries."""
    out = io.BytesIO()
    count = write_screening_feed(_entries(), "callscreen-export", out, jsonl=jsonl,
                                 generated_at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC))
    feed = parse(out.getvalue(), "screening-feed/v1")
    assert count == 3 and feed.intact and feed.errors == []
    assert feed.header.record_count == 3 and feed.header.sha256 is not None
    expected = [Entry(e.key, e.is_prefix, e.category, e.applies_to, "callscreen-export",
                      e.reference, e.reason, e.listed_at, e.valid_until, "test")
                for e in _entries()]
    assert [r.entry for r in feed.records] == expected


def test_export_refuses_a_bad_source() -> None:
    """The export's source must be a valid source id."""
    with pytest.raises(InvalidEntryError, match="source 'my list'"):
        write_screening_feed([], "my list", io.BytesIO(), jsonl=True)


def test_config_from_dict_reads_every_section() -> None:
    """A plain dict (from JSON) becomes a FeedFormatConfig with its sections."""
    config = FeedFormatConfig.from_dict({
        "source": "acm", "region": "nl", "category": "fraud", "applies_to": "callee",
        "limits": {"min_prefix_digits": 7, "max_range_numbers": 500},
        "delimited": {"delimiter": ";", "columns": {"Nummer": "number"},
                      "range_words": ["t/m"], "date_format": "%d-%m-%Y"},
        "bnetza": {"valid_for_years": 2},
    })
    assert (config.source, config.region, config.category) == ("acm", "NL", Category.FRAUD)
    assert config.limits == Limits(7, 500, 100)
    assert config.delimited.columns == (("Nummer", "number"),)
    assert config.delimited.range_words == ("t/m",)
    assert config.bnetza.valid_for_years == 2
    assert FeedFormatConfig.from_dict({}, default_region="DE").region == "DE"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"sourse": "acm"}, "unknown key\\(s\\) 'sourse'"),
        ({"limits": {"min_prefix_digits": 0}}, "min_prefix_digits=0: must be a whole number"),
        ({"limits": {"max_range_numbers": -1}}, "max_range_numbers=-1"),
        ({"limits": {"max_range_prefixes": True}}, "max_range_prefixes=True"),
        ({"limits": {"max_range_prefixes": "100"}}, "max_range_prefixes='100'"),
        ({"limits": {"off": True}}, "unknown key\\(s\\) 'off'"),
        ({"category": "spam"}, "category 'spam' is not one of"),
        ({"mode": "full"}, "mode 'full' is not one of"),
        ({"source": "a b"}, "source 'a b'"),
        ({"source": 5}, "source 5 is not a string"),
        ({"delimited": {"delimiter": ":"}}, "delimiter ':'"),
        ({"delimited": {"encoding": "utf-9"}}, "encoding 'utf-9' is not a known"),
        ({"delimited": {"columns": {"Nummer": "telefoon"}}}, "maps to 'telefoon'"),
        ({"delimited": {"columns": ["Nummer"]}}, "expected {header name: field}"),
        ({"delimited": {"separators": ","}}, "separators ',': expected a list"),
        ({"bnetza": {"valid_for_years": 0}}, "valid_for_years 0"),
        ({"bnetza": {"valid_for_years": "1"}}, "valid_for_years '1'"),
        ({"delimited": []}, "delimited \\[\\]: expected an object"),
    ],
)
def test_config_errors_name_the_key_and_value(data: dict[str, object], message: str) -> None:
    """Unknown keys, limits switched off and wrong types raise ConfigError naming them."""
    with pytest.raises(ConfigError, match=message):
        FeedFormatConfig.from_dict(data)


@pytest.mark.parametrize(
    ("first", "second", "category", "applies_to"),
    [
        (Category.SUSPECTED, Category.FRAUD, Category.FRAUD, AppliesTo.BOTH),
        (Category.REVOKED, Category.DNO, Category.REVOKED, AppliesTo.BOTH),
        (Category.DNO, Category.DNO, Category.DNO, AppliesTo.CALLER),
    ],
)
def test_merge_keeps_the_most_severe_category(
    first: Category, second: Category, category: Category, applies_to: AppliesTo
) -> None:
    """Merging two entries keeps the more severe category and the union of their roles."""
    a = Entry("31855550101", False, first, AppliesTo.default_for(first), "s", "A")
    b = Entry("31855550101", False, second, AppliesTo.default_for(second), "s", "A")
    merged = merge_entries(a, b)
    assert (merged.category, merged.applies_to, merged.reference) == (category, applies_to, "A")


def test_merge_dates_take_the_widest_span() -> None:
    """Earliest listed_at, latest valid_until; no end date outlasts any date."""
    a = Entry("1", False, Category.FRAUD, AppliesTo.BOTH, "s", "A", "r1",
              dt.date(2026, 2, 1), dt.date(2027, 1, 1))
    b = Entry("1", False, Category.FRAUD, AppliesTo.BOTH, "s", "B", "r2",
              dt.date(2026, 1, 1), dt.date(2027, 6, 1))
    merged = merge_entries(a, b)
    assert (merged.listed_at, merged.valid_until) == (dt.date(2026, 1, 1), dt.date(2027, 6, 1))
    assert (merged.reference, merged.reason) == ("A; B", "r1; r2")
    open_ended = Entry("1", False, Category.FRAUD, AppliesTo.BOTH, "s")
    assert merge_entries(a, open_ended).valid_until is None
