"""`screening-feed/v1` (docs/feeds.md, format 1): a JSON document, or JSON Lines for large feeds.

Detection: the first non-space byte must be `{`. When the first line is a complete JSON object
with a `"feed"` key and no `"records"`, the feed is JSON Lines and is read line by line
(streaming); otherwise the whole input is one JSON document. Anything else (an HTML page,
plain text, a JSON array) raises `FeedError`, as does a header that breaks the rules.

`sha256`, "of the records as sent", is computed as
- JSON Lines: the SHA-256 of every byte after the header line's `\\n`, exactly as received
  (record lines with their line breaks, blank lines included);
- JSON document: the SHA-256 of the UTF-8 of
  `json.dumps(records, separators=(",", ":"), sort_keys=True, ensure_ascii=False)`, since a
  document's own whitespace and key order don't survive re-serialisation.
A `record_count` or `sha256` mismatch does not raise: it is listed in
`ParsedFeed.integrity_errors` so the sync guard can refuse the feed.

Records: unknown fields are ignored (newer producers may add some); a known field of the
wrong type refuses the row. Row numbers in errors are line numbers of the input (for a JSON
document, the line where the record starts).
"""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, Any

from blocklist.entries import Entry
from blocklist.errors import CallscreenError, ConfigError, FeedError, InvalidEntryError
from blocklist.feeds.collector import Collector
from blocklist.feeds.json_layout import record_lines
from blocklist.feeds.model import SOURCE_PATTERN, FeedHeader, FeedMode, Limits, Op, ParsedFeed
from blocklist.feeds.numbering import complete_number, exact_key, prefix_key, range_keys
from blocklist.feeds.rows import (
    clean_text,
    parse_applies_to,
    parse_category,
    parse_iso_date,
)
from blocklist.numbers import NumberPlan

FORMAT = "screening-feed/v1"
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_TEXT_FIELDS = frozenset({"number", "prefix", "range_start", "range_end", "category",
                          "applies_to", "reason", "reference", "listed_at", "valid_until", "op"})
_decode_json = json.JSONDecoder().decode
_WHITESPACE = b" \t\r\n\xef\xbb\xbf"  # and a UTF-8 byte order mark


def parse_screening_feed(
    stream: IO[bytes],
    *,
    plan_for: Callable[[str], NumberPlan],
    default_region: str,
    limits: Limits,
    today: dt.date,
    added_by: str,
) -> ParsedFeed:
    """Parse a screening-feed/v1 JSON or JSON Lines stream; see the module docstring."""
    first = stream.readline()
    skipped_lines = 0
    while first and not first.strip(_WHITESPACE):
        skipped_lines += 1
        first = stream.readline()
    start = first.lstrip(_WHITESPACE)
    if not start.startswith(b"{"):
        raise FeedError(f"not a {FORMAT} feed: {_describe(start)}")
    try:
        head = json.loads(start)
    except ValueError:
        head = None
    if isinstance(head, dict) and "feed" in head and "records" not in head:
        header = _read_header(head["feed"], plan_for, default_region)
        reader = _RowReader(header, plan_for(header.region), limits, today, added_by)
        return reader.read_lines(stream, first_line=skipped_lines + 2)
    text = _decode(b"\n" * skipped_lines + first + stream.read())
    try:
        document = json.loads(text)
    except ValueError as error:
        raise FeedError(f"not a {FORMAT} feed: invalid JSON ({error})") from None
    if not isinstance(document, dict) or "feed" not in document:
        raise FeedError(f"not a {FORMAT} feed: no \"feed\" header object")
    records = document.get("records")
    if not isinstance(records, list):
        raise FeedError(f"{FORMAT} document: \"records\" must be a list")
    header = _read_header(document["feed"], plan_for, default_region)
    reader = _RowReader(header, plan_for(header.region), limits, today, added_by)
    return reader.read_document(records, record_lines(text, len(records)))


class _RowReader:
    def __init__(
        self, header: FeedHeader, plan: NumberPlan, limits: Limits, today: dt.date, added_by: str
    ) -> None:
        self.header = header
        self.plan = plan
        self.limits = limits
        self.today = today
        self.added_by = added_by
        self.delta = header.mode is FeedMode.DELTA
        self.collector = Collector()

    def read_lines(self, stream: IO[bytes], *, first_line: int) -> ParsedFeed:
        with _cycle_collection_paused():
            count, sha256 = self._read_lines(stream, first_line)
            return self._finish(count, sha256)

    def _read_lines(self, stream: IO[bytes], first_line: int) -> tuple[int, str]:
        """Read every record line; returns how many there were and their SHA-256."""
        digest = hashlib.sha256()
        count = 0
        for line, raw in enumerate(stream, start=first_line):
            digest.update(raw)
            if not raw.strip():
                continue
            count += 1
            try:
                record = _decode_json(raw.decode())
            except ValueError:
                self.collector.rows_read += 1
                self.collector.error(line, "not a JSON object")
                continue
            self.read_record(record, line)
        return count, digest.hexdigest()

    def read_document(self, records: list[Any], lines: list[int]) -> ParsedFeed:
        for record, line in zip(records, lines, strict=True):
            self.read_record(record, line)
        canonical = json.dumps(records, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
        return self._finish(len(records), hashlib.sha256(canonical.encode()).hexdigest())

    def read_record(self, record: Any, line: int) -> None:
        # The hot loop of a 1M-row feed: written for speed (no per-row value objects besides
        # the entries; lookups hoisted), each step still one of the shared record rules.
        collector = self.collector
        collector.rows_read += 1
        if type(record) is not dict:
            collector.error(line, f"a record must be a JSON object, not {_kind(record)}")
            return
        get = record.get
        try:
            for name, value in record.items():
                if type(value) is not str and value is not None and name in _TEXT_FIELDS:
                    raise InvalidEntryError(f"{name} must be a string, not {_kind(value)}")
            op = self._op(get("op")) if self.delta or "op" in record else Op.ADD
            category = get("category")
            if not category:
                raise InvalidEntryError("category is required")
            category = parse_category(category)
            applies_to = parse_applies_to(get("applies_to"), category)
            reference, reason = get("reference"), get("reason")
            reference = clean_text(reference, "reference") if reference else ""
            reason = clean_text(reason, "reason") if reason else ""
            listed_at, valid_until = get("listed_at"), get("valid_until")
            listed_at = parse_iso_date(listed_at, "listed_at") if listed_at else None
            valid_until = parse_iso_date(valid_until, "valid_until") if valid_until else None
            if listed_at and valid_until and valid_until < listed_at:
                raise InvalidEntryError(
                    f"valid_until {valid_until} is before listed_at {listed_at}"
                )
            if valid_until is not None and valid_until < self.today and op is Op.ADD:
                collector.skipped_expired += 1
                return
            source, added_by = self.header.source, self.added_by
            for key, is_prefix in self._keys(record):
                entry = Entry(key, is_prefix, category, applies_to, source, reference, reason,
                              listed_at, valid_until, added_by)
                collector.add(line, entry, op)
        except CallscreenError as error:
            collector.error(line, str(error))

    def _op(self, value: str | None) -> Op:
        if not self.delta:
            if value is not None:
                raise InvalidEntryError(f"op {value!r} is only allowed in a delta feed")
            return Op.ADD
        if value is None:
            raise InvalidEntryError("op is required in a delta feed (add or remove)")
        try:
            return Op(value)
        except ValueError:
            raise InvalidEntryError(f"op {value!r} is not add or remove") from None

    def _keys(self, record: dict[str, Any]) -> list[tuple[str, bool]]:
        number, prefix = record.get("number"), record.get("prefix")
        start, end = record.get("range_start"), record.get("range_end")
        if number is not None and prefix is None and start is None and end is None:
            return [(exact_key(self.plan, number), False)]  # the common case, first
        given = [n for n, v in (("number", number), ("prefix", prefix)) if v is not None]
        if start is not None or end is not None:
            given.append("range_start/range_end")
        if len(given) != 1:
            found = " and ".join(given) if given else "none"
            raise InvalidEntryError(
                f"a record needs exactly one of number, prefix, range_start/range_end;"
                f" found {found}"
            )
        if number is not None:
            return [(exact_key(self.plan, number), False)]
        if prefix is not None:
            return [(prefix_key(self.plan, prefix, self.limits), True)]
        if start is None or end is None:
            raise InvalidEntryError("a range needs both range_start and range_end")
        first, last = complete_number(self.plan, start), complete_number(self.plan, end)
        if first is None or last is None:
            bad = start if first is None else end
            raise InvalidEntryError(f"range end {bad!r} is not a complete number")
        return range_keys(self.plan, first, last, self.limits)

    def _finish(self, count: int, sha256: str) -> ParsedFeed:
        header = self.header
        problems = []
        if header.record_count is not None and header.record_count != count:
            problems.append(f"record_count says {header.record_count}, the feed holds {count}")
        if header.sha256 is not None and header.sha256.lower() != sha256:
            problems.append(f"sha256 says {header.sha256}, the records hash to {sha256}")
        return self.collector.result(header, problems)


@contextmanager
def _cycle_collection_paused() -> Iterator[None]:
    """Pause Python's cycle collector while a large feed is read, then restore it.

    Why: a 1M-row feed keeps a million entries alive, and each full collection walks all of
    them again; that cost a third of the parse time (12 s of CPU instead of 9). Parsing makes
    no reference cycles, so nothing is left uncollected. Hazard, said plainly: the collector
    is process-wide, so other threads' cycles wait until the parse ends too (memory, not
    correctness). A collector that was already off stays off.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _read_header(
    feed: Any, plan_for: Callable[[str], NumberPlan], default_region: str
) -> FeedHeader:
    if not isinstance(feed, dict):
        raise FeedError(f"{FORMAT}: \"feed\" must be an object, not {_kind(feed)}")
    fmt = feed.get("format")
    if fmt != FORMAT:
        raise FeedError(f"feed format {fmt!r} is not {FORMAT!r}")
    source = feed.get("source")
    if not isinstance(source, str) or not SOURCE_PATTERN.fullmatch(source):
        raise FeedError(f"feed source {source!r}: expected 1-64 of A-Z a-z 0-9 _ . -")
    mode = feed.get("mode", FeedMode.SNAPSHOT.value)
    if mode not in {m.value for m in FeedMode}:
        raise FeedError(f"feed mode {mode!r} is not snapshot or delta")
    region = feed.get("region", default_region)
    if not isinstance(region, str):
        raise FeedError(f"feed region {region!r} is not a region code")
    try:
        region = plan_for(region).region
    except ConfigError as error:
        raise FeedError(f"feed region {region!r}: {error}") from None
    generated_at = feed.get("generated_at")
    moment = None
    if generated_at is not None:
        try:
            moment = dt.datetime.fromisoformat(str(generated_at))
        except ValueError:
            raise FeedError(f"feed generated_at {generated_at!r} is not ISO 8601") from None
    count = feed.get("record_count")
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 0):
        raise FeedError(f"feed record_count {count!r} is not a whole number")
    sha256 = feed.get("sha256")
    if sha256 is not None and not (isinstance(sha256, str) and _SHA256.fullmatch(sha256)):
        raise FeedError(f"feed sha256 {sha256!r} is not 64 hex digits")
    return FeedHeader(FORMAT, source, FeedMode(mode), region, moment, count, sha256)


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise FeedError(f"not a {FORMAT} feed: not UTF-8 ({error.reason})") from None


def _describe(start: bytes) -> str:
    sample = start[:200].lower()
    if sample.startswith((b"<!doctype html", b"<html")) or b"<html" in sample:
        return "an HTML page"
    if not start:
        return "empty input"
    return "it does not start with a JSON object"


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__
