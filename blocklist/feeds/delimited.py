"""Delimited text (CSV, TSV) with a column mapping (docs/feeds.md, format 2).

The first non-empty row is the header. Columns are found by header name (any case, spaces
collapsed, BOM dropped) through `DelimitedFormat.columns`, or, when that is empty, through
`KNOWN_HEADERS`. A number cell may hold several numbers, blocks and ranges (see `cells`).
Rows without a category, applies_to or dates take the feed's defaults. Line numbers in errors
are those of the row's first line in the file (a quoted cell may span lines).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable

from blocklist.errors import CallscreenError, ConfigError, FeedError, InvalidEntryError
from blocklist.feeds.cells import collect_cell
from blocklist.feeds.collector import Collector
from blocklist.feeds.config import FeedFormatConfig
from blocklist.feeds.model import FeedHeader, ParsedFeed
from blocklist.feeds.numbering import complete_number, range_keys
from blocklist.feeds.rows import (
    RowFields,
    clean_text,
    parse_applies_to,
    parse_category,
    parse_formatted_date,
    row_fields,
)
from blocklist.feeds.text import decode_feed, normalise_header, sniff_delimiter
from blocklist.numbers import NumberPlan

FORMAT = "delimited"

# Header names recognised without a configured mapping (compared after normalise_header).
KNOWN_HEADERS: dict[str, str] = {
    **dict.fromkeys(("number", "numbers", "nummer", "nummers", "telefoonnummer",
                     "telefoonnummers", "rufnummer", "rufnummern", "rufnummer(n)", "phone",
                     "phone number"), "number"),
    **dict.fromkeys(("prefix", "nummerblok", "block"), "prefix"),
    **dict.fromkeys(("range_start", "van", "from"), "range_start"),
    **dict.fromkeys(("range_end", "tot en met", "t/m", "to"), "range_end"),
    **dict.fromkeys(("category", "categorie", "kategorie"), "category"),
    "applies_to": "applies_to",
    **dict.fromkeys(("reason", "reden", "omschrijving", "toelichting"), "reason"),
    **dict.fromkeys(("reference", "referentie", "kenmerk", "besluit"), "reference"),
    **dict.fromkeys(("listed_at", "datum", "ingetrokken op", "date"), "listed_at"),
    **dict.fromkeys(("valid_until", "geldig tot", "einddatum", "end date"), "valid_until"),
}

# The cells a row's `RowFields` is made of. Rows of one decision repeat them, so each distinct
# combination is read once (`FIELDS_MEMO_SIZE` at a time) and its fields, or the reason they
# were refused, reused.
_FIELD_CELLS = ("category", "applies_to", "reference", "reason", "listed_at", "valid_until")
FIELDS_MEMO_SIZE = 4096


def parse_delimited(
    data: bytes,
    config: FeedFormatConfig,
    *,
    plan_for: Callable[[str], NumberPlan],
    today: dt.date,
    added_by: str,
) -> ParsedFeed:
    """Parse CSV/TSV bytes as configured by `config.delimited`; see the module docstring."""
    options = config.delimited
    source = _source(config)
    text = decode_feed(data, options.encoding, options.fallback_encoding, "CSV file")
    delimiter = sniff_delimiter(text) if options.delimiter == "auto" else options.delimiter
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    plan = plan_for(config.region)
    collector = Collector()
    columns: dict[str, int] | None = None
    memo: dict[tuple[str | None, ...], RowFields | str] = {}
    last_line = 0
    try:
        for row in reader:
            line, last_line = last_line + 1, reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if columns is None:
                columns = _columns(row, config)
                continue
            collector.rows_read += 1
            cells = {name: row[i].strip() for name, i in columns.items() if i < len(row)}
            _read_row(collector, line, cells, plan, config, source, today, added_by, memo)
    except csv.Error as error:
        raise FeedError(f"CSV file: unreadable near line {last_line + 1} ({error})") from None
    if columns is None:
        raise FeedError("CSV file: empty, no header row")
    header = FeedHeader(FORMAT, source, config.mode, plan.region)
    return collector.result(header)


def _read_row(
    collector: Collector,
    line: int,
    cells: dict[str, str],
    plan: NumberPlan,
    config: FeedFormatConfig,
    source: str,
    today: dt.date,
    added_by: str,
    memo: dict[tuple[str | None, ...], RowFields | str],
) -> None:
    options = config.delimited
    signature = tuple(map(cells.get, _FIELD_CELLS))
    fields = memo.get(signature)
    if fields is None:
        if len(memo) >= FIELDS_MEMO_SIZE:
            memo.clear()
        try:
            fields = memo[signature] = _fields(cells, config)
        except CallscreenError as error:
            fields = memo[signature] = str(error)
    if isinstance(fields, str):
        collector.error(line, fields)
        return
    try:
        if fields.expired(today):
            collector.skipped_expired += 1
            return
        start, end = cells.get("range_start"), cells.get("range_end")
        if start or end:
            first = complete_number(plan, start or "")
            last = complete_number(plan, end or "")
            if first is None or last is None:
                bad = start if first is None else end
                raise InvalidEntryError(f"range end {bad!r} is not a complete number")
            keys = range_keys(plan, first, last, config.limits)
            for entry in fields.entries(keys, source=source, added_by=added_by):
                collector.add(line, entry)
            return
    except CallscreenError as error:
        collector.error(line, str(error))
        return
    found = 0
    for name in ("number", "prefix"):
        cell = cells.get(name)
        if cell:
            found += collect_cell(
                collector, line, plan, cell, fields,
                limits=config.limits, separators=options.separators,
                range_words=options.range_words, source=source, added_by=added_by,
                blocks=name == "prefix",  # a prefix column holds blocks, wildcard or not
            )
    if not found:
        collector.error(line, "no number, prefix or range in this row")


def _fields(cells: dict[str, str], config: FeedFormatConfig) -> RowFields:
    date_format = config.delimited.date_format
    category = parse_category(cells["category"]) if cells.get("category") else config.category
    applies = cells.get("applies_to") or (config.applies_to.value if config.applies_to else None)
    listed_at, valid_until = cells.get("listed_at"), cells.get("valid_until")
    return row_fields(
        category=category,
        applies_to=parse_applies_to(applies, category),
        reference=clean_text(cells.get("reference", ""), "reference"),
        reason=clean_text(cells.get("reason", ""), "reason"),
        listed_at=parse_formatted_date(listed_at, date_format, "listed_at") if listed_at else None,
        valid_until=(
            parse_formatted_date(valid_until, date_format, "valid_until") if valid_until else None
        ),
    )


def _columns(header: list[str], config: FeedFormatConfig) -> dict[str, int]:
    configured = {normalise_header(k): v for k, v in config.delimited.columns}
    names = configured or KNOWN_HEADERS
    columns: dict[str, int] = {}
    for index, cell in enumerate(header):
        target = names.get(normalise_header(cell))
        if target is not None and target not in columns:
            columns[target] = index
    if not {"number", "prefix", "range_start"} & columns.keys():
        shown = ", ".join(repr(c) for c in header[:12])
        raise FeedError(f"CSV file: no number column in the header row ({shown})")
    if ("range_start" in columns) != ("range_end" in columns):
        raise FeedError("CSV file: a range needs both a range_start and a range_end column")
    return columns


def _source(config: FeedFormatConfig) -> str:
    if not config.source:
        raise ConfigError(f"a {FORMAT} feed needs a source in its configuration")
    return config.source
