"""What a feed parser returns: the header, the records, and the rows it refused.

Parsers never raise for one bad row: they record a `RowError` with the row's line number and
go on. They raise `FeedError` only when the feed as a whole can't be read (not JSON, an HTML
page, a broken header). A feed whose `record_count` or `sha256` does not match what arrived is
still parsed, but `ParsedFeed.integrity_errors` says so and the sync guard must refuse it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import overload

from blocklist.entries import Entry, Provenance, entry_with, provenance_of
from blocklist.errors import ConfigError
from blocklist.ranges import DEFAULT_MAX_NUMBERS, DEFAULT_MAX_PREFIXES

# A source id: names a list in the store, in logs and in metrics labels.
SOURCE_PATTERN = re.compile(r"[A-Za-z0-9_.-]{1,64}")


class FeedMode(StrEnum):
    SNAPSHOT = "snapshot"  # the full list of the source, replacing what it had
    DELTA = "delta"  # changes: records carry `op`


class Op(StrEnum):
    ADD = "add"
    REMOVE = "remove"


@dataclass(frozen=True, slots=True)
class FeedHeader:
    """A feed's self-description (screening-feed/v1), or what the configuration says of it."""

    format: str
    source: str
    mode: FeedMode = FeedMode.SNAPSHOT
    region: str = "NL"
    generated_at: dt.datetime | None = None
    record_count: int | None = None
    sha256: str | None = None


@dataclass(frozen=True, slots=True)
class RowError:
    """A refused row: its 1-based line in the file, and why (naming the value)."""

    line: int
    reason: str


@dataclass(frozen=True, slots=True)
class Record:
    """One entry to add to, or remove from, the source's list."""

    entry: Entry
    op: Op = Op.ADD


class Records(Sequence[Record]):
    """A feed's records in the order first read, each `Record` built when first asked for.

    The bulk path (`rows`) reads them as (key, is_prefix, provenance) without building an
    `Entry` per record: for a million-row feed that is seconds.
    """

    def __init__(
        self, found: dict[tuple[str, bool], tuple[Entry | Provenance, Op, int]], source: str
    ) -> None:
        self._found = found
        self._source = source
        self._built: list[Record] | None = None

    def __len__(self) -> int:
        return len(self._found)

    @overload
    def __getitem__(self, index: int) -> Record: ...
    @overload
    def __getitem__(self, index: slice) -> list[Record]: ...
    def __getitem__(self, index: int | slice) -> Record | list[Record]:
        return self._records()[index]

    def __iter__(self) -> Iterator[Record]:
        return iter(self._records())

    def rows(self, op: Op = Op.ADD) -> Iterator[tuple[str, bool, Provenance]]:
        """(key, is_prefix, provenance) of each record with this `op`."""
        for (key, is_prefix), (value, record_op, _) in self._found.items():
            if record_op is op:
                yield key, is_prefix, provenance_of(value) if isinstance(value, Entry) else value

    def _records(self) -> list[Record]:
        if self._built is None:
            source = self._source
            self._built = [
                Record(value if isinstance(value, Entry) else entry_with(k, p, source, value), op)
                for (k, p), (value, op, _) in self._found.items()
            ]
        return self._built


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-feed limits (docs/feeds.md). Configurable, never off: every value must be above 0."""

    min_prefix_digits: int = 6
    max_range_numbers: int = DEFAULT_MAX_NUMBERS
    max_range_prefixes: int = DEFAULT_MAX_PREFIXES

    def __post_init__(self) -> None:
        for name in ("min_prefix_digits", "max_range_numbers", "max_range_prefixes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ConfigError(f"limit {name}={value!r}: must be a whole number above 0")


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """A parsed feed: merged records, refused rows, and feed-level integrity failures.

    `rows_read` counts record rows (not the header, blank or comment lines); every row ends up
    in `records` (possibly merged with others), `errors` or `skipped_expired`.
    """

    header: FeedHeader
    records: Sequence[Record] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    skipped_expired: int = 0
    rows_read: int = 0
    integrity_errors: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        """False when the feed's own record_count or sha256 contradicts what arrived."""
        return not self.integrity_errors
