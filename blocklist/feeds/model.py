"""What a feed parser returns: the header, the records, and the rows it refused.

Parsers never raise for one bad row: they record a `RowError` with the row's line number and
go on. They raise `FeedError` only when the feed as a whole can't be read (not JSON, an HTML
page, a broken header). A feed whose `record_count` or `sha256` does not match what arrived is
still parsed, but `ParsedFeed.integrity_errors` says so and the sync guard must refuse it.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from enum import StrEnum

from blocklist.entries import Entry
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


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-feed limits (FEEDS.md). Configurable, never off: every value must be above 0."""

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
    records: list[Record] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    skipped_expired: int = 0
    rows_read: int = 0
    integrity_errors: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        """False when the feed's own record_count or sha256 contradicts what arrived."""
        return not self.integrity_errors
