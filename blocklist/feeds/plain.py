"""Plain lists (docs/feeds.md, format 4): one number, block or range per line; `#` starts a comment.

Category, applies_to and region come from the feed's configuration.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from blocklist.errors import ConfigError
from blocklist.feeds.cells import DEFAULT_RANGE_WORDS, collect_cell
from blocklist.feeds.collector import Collector
from blocklist.feeds.config import FeedFormatConfig
from blocklist.feeds.model import FeedHeader, ParsedFeed
from blocklist.feeds.rows import parse_applies_to, row_fields
from blocklist.feeds.text import decode_feed
from blocklist.numbers import NumberPlan

FORMAT = "plain"


def parse_plain(
    data: bytes,
    config: FeedFormatConfig,
    *,
    plan_for: Callable[[str], NumberPlan],
    today: dt.date,
    added_by: str,
) -> ParsedFeed:
    """Parse a plain list; see the module docstring. `today` is unused: lines have no dates."""
    del today
    if not config.source:
        raise ConfigError(f"a {FORMAT} feed needs a source in its configuration")
    text = decode_feed(data, "utf-8-sig", "cp1252", "number list")
    plan = plan_for(config.region)
    applies = config.applies_to.value if config.applies_to else None
    fields = row_fields(config.category, parse_applies_to(applies, config.category))
    collector = Collector()
    for line, raw in enumerate(text.splitlines(), start=1):
        item = raw.split("#", 1)[0].strip()
        if not item:
            continue
        collector.rows_read += 1
        collect_cell(
            collector, line, plan, item, fields,
            limits=config.limits, separators=(), range_words=DEFAULT_RANGE_WORDS,
            source=config.source, added_by=added_by,
        )
    return collector.result(FeedHeader(FORMAT, config.source, config.mode, plan.region))
