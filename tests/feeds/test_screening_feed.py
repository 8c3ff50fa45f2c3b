"""screening-feed/v1: JSON and JSON Lines, header rules, record rules, integrity checks."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable

import pytest

from blocklist.entries import AppliesTo, Category
from blocklist.errors import ConfigError, FeedError
from blocklist.feeds import FeedMode, Op, ParsedFeed

from .conftest import keys, reasons

Parse = Callable[..., ParsedFeed]

EXAMPLE = b"""{"feed": {"format": "screening-feed/v1", "source": "example-regulator",
          "mode": "snapshot", "generated_at": "2026-11-01T06:00:00Z", "record_count": 3},
 "records": [
   {"number": "+31 85 555 0101", "category": "revoked", "reference": "EX-2026-001",
    "reason": "fake Microsoft helpdesk", "listed_at": "2026-10-30", "valid_until": "2027-10-30"},
   {"prefix": "0900 5550 1xx", "category": "revoked", "reference": "EX-2026-002"},
   {"range_start": "+44 20 7946 0100", "range_end": "+44 20 7946 0199",
    "category": "dno", "applies_to": "caller"}
 ]}"""


def jsonl(records: list[object], **header: object) -> bytes:
    head = {"format": "screening-feed/v1", "source": "test-feed", **header}
    lines = [json.dumps({"feed": head})] + [
        r if isinstance(r, str) else json.dumps(r) for r in records
    ]
    return ("\n".join(lines) + "\n").encode()


def document(records: list[object], **header: object) -> bytes:
    head = {"format": "screening-feed/v1", "source": "test-feed", **header}
    return json.dumps({"feed": head, "records": records}, indent=1).encode()


def test_feeds_md_example_parses(parse: Parse) -> None:
    """The docs/feeds.md example gives its three entries with their provenance and defaults."""
    feed = parse(EXAMPLE, "screening-feed/v1")
    assert feed.errors == [] and feed.intact and feed.rows_read == 3
    assert keys(feed) == ["+31855550101", "+3190055501*", "+4420794601*"]
    by_key = {r.entry.label: r.entry for r in feed.records}
    first = by_key["+31855550101"]
    assert (first.category, first.applies_to, first.source) == (
        Category.REVOKED, AppliesTo.BOTH, "example-regulator")
    assert (first.reference, first.reason, first.added_by) == (
        "EX-2026-001", "fake Microsoft helpdesk", "test")
    assert str(first.listed_at) == "2026-10-30" and str(first.valid_until) == "2027-10-30"
    assert by_key["+4420794601*"].applies_to is AppliesTo.CALLER
    assert feed.header.mode is FeedMode.SNAPSHOT and feed.header.region == "NL"


def test_jsonl_and_json_give_the_same_records(parse: Parse) -> None:
    """The same records as JSON Lines and as one document parse to the same entries."""
    records = [{"number": "+31855550101", "category": "fraud"},
               {"prefix": "+3190055501", "category": "suspected"}]
    a, b = parse(jsonl(records), "screening-feed/v1"), parse(document(records), "screening-feed/v1")
    assert [r.entry for r in a.records] == [r.entry for r in b.records]
    assert len(a.records) == 2


@pytest.mark.parametrize(
    ("category", "applies_to"),
    [("dno", AppliesTo.CALLER), ("revoked", AppliesTo.BOTH), ("fraud", AppliesTo.BOTH),
     ("suspected", AppliesTo.BOTH)],
)
def test_applies_to_defaults_by_category(
    parse: Parse, category: str, applies_to: AppliesTo
) -> None:
    """Without applies_to, a dno record applies to the caller, any other to both."""
    feed = parse(jsonl([{"number": "+31855550101", "category": category}]), "screening-feed/v1")
    assert feed.records[0].entry.applies_to is applies_to


BAD_RECORDS = [
    ({"category": "revoked"}, "exactly one of number, prefix, range_start/range_end; found none"),
    ({"number": "+31855550101", "prefix": "+3185555*", "category": "revoked"},
     "found number and prefix"),
    ({"range_start": "+31855550100", "category": "revoked"}, "needs both range_start and"),
    ({"number": "+31855550101"}, "category is required"),
    ({"number": "+31855550101", "category": "scam"}, "category 'scam' is not one of"),
    ({"number": "+31855550101", "category": "fraud", "applies_to": "all"},
     "applies_to 'all' is not one of"),
    ({"number": 31855550101, "category": "fraud"}, "number must be a string, not int"),
    ({"number": "+31855550101", "category": ["fraud"]}, "category must be a string, not list"),
    ({"number": "+31855550101", "category": "fraud", "valid_until": "30-10-2027"},
     "valid_until '30-10-2027' is not an ISO 8601 date"),
    ({"number": "+31855550101", "category": "fraud", "listed_at": "2027-01-02",
      "valid_until": "2027-01-01"}, "valid_until 2027-01-01 is before listed_at 2027-01-02"),
    ({"number": "112", "category": "fraud"}, "'112' is a protected number"),
    ({"number": "116123", "category": "fraud"}, "'116123' is a protected number"),
    ({"number": "0800 0113", "category": "fraud"}, "'0800 0113' is a protected number"),
    ({"prefix": "0800 011*", "category": "fraud"}, "'0800 011*' covers a protected number"),
    ({"prefix": "+31 116 xxx", "category": "fraud"}, "too short"),
    ({"prefix": "+31 11 600 0xxx", "category": "fraud"}, "covers a protected number"),
    ({"number": "085 123 456", "category": "fraud"}, "not a valid number"),
    ({"range_start": "+31855550100", "range_end": "+31855560100", "category": "fraud"},
     "holds 10001 numbers, at most 10000"),
    ({"range_start": "+31 855", "range_end": "+31855550199", "category": "fraud"},
     "range end '+31 855' is not a complete number"),
    ({"number": "+31855550101", "category": "fraud", "op": "add"},
     "op 'add' is only allowed in a delta feed"),
    ({"number": "+31855550101", "category": "fraud", "reason": "call \x1b[31mnow"},
     "reason holds control character U+001B"),
    ({"number": "+31855550101", "category": "fraud", "reference": "a\u202eb"},
     "reference holds control character U+202E"),
    ({"number": "+31855550101", "category": "fraud", "reason": "x" * 501},
     "reason is 501 characters long, at most 500"),
    ("[1, 2]", "a record must be a JSON object, not list"),
    ("{not json", "not a JSON object"),
]


@pytest.mark.parametrize(("record", "reason"), BAD_RECORDS)
def test_bad_record_is_refused_with_line_and_reason(
    parse: Parse, record: object, reason: str
) -> None:
    """A bad record becomes a RowError on its line naming the problem; the others still count."""
    good = {"number": "+31855550999", "category": "revoked"}
    feed = parse(jsonl([good, record, good | {"number": "+31855550998"}]), "screening-feed/v1")
    assert len(feed.errors) == 1, feed.errors
    assert feed.errors[0].line == 3
    assert reason in feed.errors[0].reason
    assert keys(feed) == ["+31855550998", "+31855550999"]
    assert feed.rows_read == 3


def test_json_document_errors_carry_the_records_line(parse: Parse) -> None:
    """In a pretty-printed document, a bad record's line is the line where it starts."""
    data = b"""{"feed": {"format": "screening-feed/v1", "source": "s"},
 "records": [
   {"number": "+31855550101",
    "category": "fraud"},

   {"number": "112", "category": "fraud"}, {"number": "0800 0113",
                                            "category": "fraud"}
 ]}"""
    feed = parse(data, "screening-feed/v1")
    assert reasons(feed) == [(6, "'112' is a protected number and can't be listed"),
                             (6, "'0800 0113' is a protected number and can't be listed")]


def test_unknown_fields_are_ignored(parse: Parse) -> None:
    """Fields this version does not know are ignored, so producers can add some."""
    feed = parse(jsonl([{"number": "+31855550101", "category": "fraud", "score": 0.9}]),
                 "screening-feed/v1")
    assert feed.errors == [] and keys(feed) == ["+31855550101"]


def test_expired_records_are_skipped_and_counted(parse: Parse) -> None:
    """A record past valid_until is skipped, counted, and neither an entry nor an error."""
    feed = parse(jsonl([
        {"number": "+31855550101", "category": "fraud", "valid_until": "2026-11-01"},
        {"number": "+31855550102", "category": "fraud", "valid_until": "2026-11-02"},
    ]), "screening-feed/v1")
    assert feed.skipped_expired == 1 and feed.errors == []
    assert keys(feed) == ["+31855550102"]


def test_duplicates_merge_into_one_entry(parse: Parse) -> None:
    """One key twice: the most severe category, both roles, latest end, joined references."""
    feed = parse(jsonl([
        {"number": "085 555 0101", "category": "suspected", "reference": "A",
         "applies_to": "caller", "listed_at": "2026-01-01", "valid_until": "2027-01-01"},
        {"number": "+31855550101", "category": "fraud", "reference": "B",
         "applies_to": "callee", "listed_at": "2026-02-01", "valid_until": "2027-06-01"},
        {"number": "+31 85 555 0101", "category": "revoked", "reference": "A"},
    ]), "screening-feed/v1")
    assert len(feed.records) == 1 and feed.rows_read == 3
    entry = feed.records[0].entry
    assert entry.category is Category.FRAUD and entry.applies_to is AppliesTo.BOTH
    assert entry.reference == "A; B"
    assert str(entry.listed_at) == "2026-01-01"
    assert entry.valid_until is None  # the third row has no end: it lasts until removed


def test_delta_feed_carries_ops(parse: Parse) -> None:
    """In delta mode every record needs op add or remove; a contradiction is refused."""
    feed = parse(jsonl([
        {"number": "+31855550101", "category": "fraud", "op": "add"},
        {"number": "+31855550102", "category": "fraud", "op": "remove"},
        {"number": "+31855550103", "category": "fraud"},
        {"number": "+31855550104", "category": "fraud", "op": "delete"},
        {"number": "+31855550101", "category": "fraud", "op": "remove"},
    ], mode="delta"), "screening-feed/v1")
    assert {r.entry.label: r.op for r in feed.records} == {
        "+31855550101": Op.ADD, "+31855550102": Op.REMOVE}
    assert reasons(feed) == [
        (4, "op is required in a delta feed (add or remove)"),
        (5, "op 'delete' is not add or remove"),
        (6, "remove of +31855550101 contradicts the add on line 2"),
    ]


def test_region_of_the_header_reads_national_numbers(parse: Parse) -> None:
    """National numbers are read in the header's region, else the configured one."""
    record = [{"number": "0221 1234567", "category": "fraud"}]
    assert keys(parse(jsonl(record, region="DE"), "screening-feed/v1")) == ["+492211234567"]
    assert keys(parse(jsonl(record), "screening-feed/v1", region="DE")) == ["+492211234567"]


def test_record_count_mismatch_is_an_integrity_failure(parse: Parse) -> None:
    """A record_count that differs from the records sent marks the feed not intact."""
    records = [{"number": "+31855550101", "category": "fraud"}]
    for data in (jsonl(records, record_count=2), document(records, record_count=2)):
        feed = parse(data, "screening-feed/v1")
        assert not feed.intact
        assert feed.integrity_errors == ["record_count says 2, the feed holds 1"]
        assert len(feed.records) == 1  # still parsed: the guard decides


def test_sha256_of_jsonl_is_of_the_record_lines_as_sent(parse: Parse) -> None:
    """JSONL sha256 covers the bytes after the header line; a changed byte breaks it."""
    body = b'{"number":"+31855550101","category":"fraud"}\n'
    head = {"format": "screening-feed/v1", "source": "s",
            "sha256": hashlib.sha256(body).hexdigest()}
    good = json.dumps({"feed": head}).encode() + b"\n" + body
    assert parse(good, "screening-feed/v1").intact
    tampered = good.replace(b"fraud", b"fraud ")
    feed = parse(tampered, "screening-feed/v1")
    assert not feed.intact and "sha256 says" in feed.integrity_errors[0]


def test_sha256_of_json_is_of_the_canonical_records(parse: Parse) -> None:
    """A JSON document's sha256 is of its records as compact, key-sorted, unescaped JSON."""
    records = [{"number": "+31855550101", "category": "fraud", "reason": "Störung"}]
    canonical = json.dumps(records, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    assert parse(document(records, sha256=digest), "screening-feed/v1").intact
    assert not parse(document(records, sha256="0" * 64), "screening-feed/v1").intact


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<!DOCTYPE html><html><body>Login</body></html>", "an HTML page"),
        (b"  \n<html>", "an HTML page"),
        (b"", "empty input"),
        (b"number,category\n", "does not start with a JSON object"),
        (b"[]", "does not start with a JSON object"),
        (b'{"feed": {"format": "screening-feed/v1", "source": "s"}, "records": [',
         "invalid JSON"),
        (b'{"records": []}', 'no "feed" header'),
        (b'{"feed": {"format": "screening-feed/v1", "source": "s"}, "records": {}}',
         '"records" must be a list'),
        (jsonl([], format="screening-feed/v2"), "feed format 'screening-feed/v2' is not"),
        (jsonl([], source="bad source!"), "feed source 'bad source!'"),
        (jsonl([], source=""), "feed source ''"),
        (jsonl([], mode="full"), "feed mode 'full' is not snapshot or delta"),
        (jsonl([], region="XX"), "feed region 'XX'"),
        (jsonl([], record_count="3"), "record_count '3' is not a whole number"),
        (jsonl([], sha256="abc"), "sha256 'abc' is not 64 hex digits"),
        (jsonl([], generated_at="yesterday"), "generated_at 'yesterday' is not ISO 8601"),
        (b'{"feed": [1]}\n', '"feed" must be an object'),
        (b"\xff\xfe{\x00", "not a screening-feed/v1 feed"),
    ],
)
def test_unreadable_feeds_raise_feed_error(parse: Parse, data: bytes, message: str) -> None:
    """Not JSON, an HTML page, a wrong format or a broken header raises FeedError."""
    with pytest.raises(FeedError, match=message):
        parse(data, "screening-feed/v1")


def test_unknown_format_name_is_a_config_error(parse: Parse) -> None:
    """parse_feed refuses a format it doesn't know."""
    with pytest.raises(ConfigError, match="feed format 'xml' is not one of"):
        parse(b"", "xml")


def test_large_jsonl_parses_fast(parse: Parse) -> None:
    """100,000 JSON Lines records parse in a few seconds (1M measured in the report)."""
    rows = b"".join(
        b'{"number":"+3185%07d","category":"revoked","reference":"R-%d"}\n' % (i, i)
        for i in range(100_000)
    )
    data = b'{"feed":{"format":"screening-feed/v1","source":"big"}}\n' + rows
    started = time.process_time()
    feed = parse(data, "screening-feed/v1")
    elapsed = time.process_time() - started
    assert len(feed.records) == 100_000 and feed.errors == []
    assert elapsed < 6.0, f"{elapsed:.1f} s of CPU for 100k rows"
