"""Gathering a feed's records while it is parsed: the one place where duplicates merge.

Two rows naming the same number (or the same prefix) in one feed become one entry: the most
severe category (`entries.SEVERITY`), the roles of both (`caller` + `callee` is `both`), the
earliest `listed_at`, the latest `valid_until` (none is later than any date), and the
references and reasons of both, joined. In a delta feed, an `add` and a `remove` of the same
key contradict each other: the later row is refused.
"""

from __future__ import annotations

import datetime as dt

from blocklist.entries import SEVERITY, AppliesTo, Entry, Provenance, entry_with
from blocklist.feeds.model import FeedHeader, Op, ParsedFeed, Records, RowError
from blocklist.values import replace

# Joined references and reasons stop growing here, so a feed repeating one number a million
# times with different references can't build one huge entry.
MAX_JOINED_CHARS = 2000
_JOIN = "; "


class Collector:
    """Collects records and row errors; `result()` builds the `ParsedFeed`."""

    def __init__(self) -> None:
        # A record's value is an Entry, or a provenance tuple until an Entry is needed
        # (`add_keys`, the bulk path).
        self._records: dict[tuple[str, bool], tuple[Entry | Provenance, Op, int]] = {}
        self._source = ""
        self.errors: list[RowError] = []
        self.skipped_expired = 0
        self.rows_read = 0

    def error(self, line: int, reason: str) -> None:
        self.errors.append(RowError(line, reason))

    def add(self, line: int, entry: Entry, op: Op = Op.ADD) -> None:
        """Keep `entry` (read at `line`), merging it with an earlier one of the same key."""
        key = (entry.key, entry.is_prefix)
        earlier = self._records.get(key)
        if earlier is None:
            self._records[key] = (entry, op, line)
            return
        kept_value, kept_op, kept_line = earlier
        kept = kept_value if isinstance(kept_value, Entry) else entry_with(
            key[0], key[1], self._source, kept_value)
        if kept_op is not op:
            self.error(
                line,
                f"{op.value} of {entry.label} contradicts the {kept_op.value} on line {kept_line}",
            )
            return
        self._records[key] = (merge_entries(kept, entry), op, kept_line)

    def add_keys(
        self, line: int, keys: list[tuple[str, bool]], source: str, provenance: Provenance
    ) -> None:
        """`add` of one entry per key, all of `source` with this provenance, without building
        an `Entry` per key unless one merges with an earlier row."""
        self._source = source
        records = self._records
        for key in keys:
            if key in records:
                self.add(line, entry_with(key[0], key[1], source, provenance))
            else:
                records[key] = (provenance, Op.ADD, line)

    def result(self, header: FeedHeader, integrity_errors: list[str] | None = None) -> ParsedFeed:
        return ParsedFeed(
            header=header,
            records=Records(self._records, self._source),
            errors=self.errors,
            skipped_expired=self.skipped_expired,
            rows_read=self.rows_read,
            integrity_errors=list(integrity_errors or ()),
        )


def merge_entries(first: Entry, second: Entry) -> Entry:
    """One entry for two rows of the same key; see the module docstring for the rules."""
    category = second.category if SEVERITY[second.category] > SEVERITY[first.category] else (
        first.category
    )
    applies_to = first.applies_to if first.applies_to is second.applies_to else AppliesTo.BOTH
    return replace(
        first,
        category=category,
        applies_to=applies_to,
        reference=_join(first.reference, second.reference),
        reason=_join(first.reason, second.reason),
        listed_at=_earliest(first.listed_at, second.listed_at),
        valid_until=_latest(first.valid_until, second.valid_until),
    )


def _join(first: str, second: str) -> str:
    if not second or second in first.split(_JOIN):
        return first
    if not first:
        return second
    joined = first + _JOIN + second
    return first if len(joined) > MAX_JOINED_CHARS else joined


def _earliest(a: dt.date | None, b: dt.date | None) -> dt.date | None:
    if a is None or b is None:
        return a or b
    return min(a, b)


def _latest(a: dt.date | None, b: dt.date | None) -> dt.date | None:
    # No end date means the entry lasts until removed: later than any date.
    if a is None or b is None:
        return None
    return max(a, b)
