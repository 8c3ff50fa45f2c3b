"""Feed parsers: bytes in, records and refused rows out. No I/O besides reading the input.

    parse_feed(data, fmt, config, plan_for=..., today=..., added_by=...) -> ParsedFeed

Formats (docs/feeds.md): `screening-feed/v1` (JSON or JSON Lines, detected), `delimited`
(CSV/TSV with a column mapping), `bnetza` (the BNetzA measures list as CSV) and `plain`.
A bad row becomes a `RowError`; a feed that can't be read at all raises `FeedError`; a feed
whose own record_count or sha256 disagrees parses with `ParsedFeed.intact` false. Applying the
records to the store is a separate step.

Modules: `model` (values), `config` (`FeedFormatConfig`), `collector` (where duplicates
merge), `rows` (record rules), `cells` (number cells), `numbering` (numbers to keys),
`text` (decoding, HTML refusal), one module per format, and `export`.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from typing import IO

from blocklist.errors import ConfigError
from blocklist.feeds.bnetza import parse_bnetza
from blocklist.feeds.config import BnetzaFormat, DelimitedFormat, FeedFormatConfig
from blocklist.feeds.delimited import parse_delimited
from blocklist.feeds.export import write_screening_feed
from blocklist.feeds.model import (
    FeedHeader,
    FeedMode,
    Limits,
    Op,
    ParsedFeed,
    Record,
    Records,
    RowError,
)
from blocklist.feeds.numbering import cached_plans
from blocklist.feeds.plain import parse_plain
from blocklist.feeds.screening_feed import FORMAT as SCREENING_FEED
from blocklist.feeds.screening_feed import parse_screening_feed
from blocklist.numbers import NumberPlan

FORMATS = (SCREENING_FEED, "delimited", "bnetza", "plain")

__all__ = [
    "FORMATS",
    "BnetzaFormat",
    "DelimitedFormat",
    "FeedFormatConfig",
    "FeedHeader",
    "FeedMode",
    "Limits",
    "Op",
    "ParsedFeed",
    "Record",
    "Records",
    "RowError",
    "cached_plans",
    "parse_feed",
    "write_screening_feed",
]


def parse_feed(
    data: bytes | IO[bytes],
    fmt: str,
    config: FeedFormatConfig,
    *,
    plan_for: Callable[[str], NumberPlan],
    today: dt.date,
    added_by: str,
) -> ParsedFeed:
    """Parse one feed of format `fmt` (one of `FORMATS`).

    `plan_for(region)` gives the `NumberPlan` of a region (build it with `cached_plans`);
    `today` decides which rows have expired; `added_by` is kept on every entry. Raises
    `ConfigError` for an unknown format, `FeedError` for a feed that can't be read at all.
    """
    if fmt == SCREENING_FEED:
        stream = io.BytesIO(data) if isinstance(data, bytes | bytearray) else data
        return parse_screening_feed(
            stream, plan_for=plan_for, default_region=config.region, limits=config.limits,
            today=today, added_by=added_by,
        )
    parsers = {"delimited": parse_delimited, "bnetza": parse_bnetza, "plain": parse_plain}
    parser = parsers.get(fmt)
    if parser is None:
        raise ConfigError(f"feed format {fmt!r} is not one of {', '.join(FORMATS)}")
    raw = data if isinstance(data, bytes | bytearray) else data.read()
    return parser(bytes(raw), config, plan_for=plan_for, today=today, added_by=added_by)
