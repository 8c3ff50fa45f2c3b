"""The BNetzA measures list (Maßnahmenliste), saved from its HTML table as `;`-separated CSV.

Columns `Bescheid vom | Rufnummer | Kategorie | Maßnahme`, found by name whatever their
case, spacing or byte order mark. Numbers are German national (`0900 1234 567`) unless written
with `+`/`00`; a cell may hold several, split by commas, semicolons or line breaks, and blocks
(`0900 1234 5x`, `0900123*`) or ranges (`09001234500-09001234599`, `0900 1234 50 bis 59`).

Measures: `Abschaltung der Rufnummer(n)` (disconnection) is `revoked` for both roles;
`Rechnungslegungs- und Inkassierungsverbot` (billing ban) is `revoked` for the callee only
(calling such a number costs the victim money; being called by it does not). An order applies
from `Bescheid vom` for `BnetzaFormat.valid_for_years` (orders run about a year).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable

from blocklist.entries import AppliesTo, Category
from blocklist.errors import CallscreenError, FeedError, InvalidEntryError
from blocklist.feeds.cells import collect_cell
from blocklist.feeds.collector import Collector
from blocklist.feeds.config import FeedFormatConfig
from blocklist.feeds.model import FeedHeader, ParsedFeed
from blocklist.feeds.rows import RowFields, clean_text, parse_formatted_date, row_fields
from blocklist.feeds.text import decode_feed, normalise_header
from blocklist.numbers import NumberPlan

FORMAT = "bnetza"
DEFAULT_SOURCE = "bnetza"
REGION = "DE"
SEPARATORS = (",", ";", "\n")
RANGE_WORDS = ("bis", "-", "–")
_HEADERS = {
    "bescheid vom": "date",
    "rufnummer": "number",
    "rufnummern": "number",
    "rufnummer(n)": "number",
    "kategorie": "category",
    "maßnahme".casefold(): "measure",
    "maßnahmen".casefold(): "measure",
}


def parse_bnetza(
    data: bytes,
    config: FeedFormatConfig,
    *,
    plan_for: Callable[[str], NumberPlan],
    today: dt.date,
    added_by: str,
) -> ParsedFeed:
    """Parse the measures list CSV; see the module docstring."""
    text = decode_feed(data, "utf-8-sig", "cp1252", "BNetzA measures list")
    source = config.source or DEFAULT_SOURCE
    plan = plan_for(REGION)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=";")
    collector = Collector()
    columns: dict[str, int] | None = None
    last_line = 0
    try:
        for row in reader:
            line, last_line = last_line + 1, reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if columns is None:
                columns = _columns(row)
                continue
            collector.rows_read += 1
            cells = {name: row[i].strip() for name, i in columns.items() if i < len(row)}
            _read_row(collector, line, cells, plan, config, source, today, added_by)
    except csv.Error as error:
        raise FeedError(f"BNetzA measures list: unreadable near line {last_line + 1}"
                        f" ({error})") from None
    if columns is None:
        raise FeedError("BNetzA measures list: empty, no header row")
    return collector.result(FeedHeader(FORMAT, source, config.mode, REGION))


def _read_row(
    collector: Collector,
    line: int,
    cells: dict[str, str],
    plan: NumberPlan,
    config: FeedFormatConfig,
    source: str,
    today: dt.date,
    added_by: str,
) -> None:
    try:
        fields = _fields(cells, config.bnetza.valid_for_years)
    except CallscreenError as error:
        collector.error(line, str(error))
        return
    if fields.expired(today):
        collector.skipped_expired += 1
        return
    decided = f"{fields.listed_at:%d.%m.%Y}" if fields.listed_at else "?"
    found = collect_cell(
        collector, line, plan, cells.get("number", ""), fields,
        limits=config.limits, separators=SEPARATORS, range_words=RANGE_WORDS,
        source=source, added_by=added_by,
        reference_for=lambda item: f"BNetzA Bescheid vom {decided}: {item}",
    )
    if not found:
        collector.error(line, "no Rufnummer in this row")


def _fields(cells: dict[str, str], valid_for_years: int) -> RowFields:
    decided = cells.get("date", "")
    if not decided:
        raise InvalidEntryError("Bescheid vom is empty")
    listed_at = parse_formatted_date(decided, "%d.%m.%Y", "Bescheid vom")
    measure = cells.get("measure", "")
    reason = "; ".join(
        part for part in (cells.get("category", ""), measure) if part
    )
    return row_fields(
        category=Category.REVOKED,
        applies_to=_applies_to(measure),
        reference="",
        reason=clean_text(reason, "Kategorie/Maßnahme"),
        listed_at=listed_at,
        valid_until=_years_later(listed_at, valid_for_years),
    )


def _applies_to(measure: str) -> AppliesTo:
    text = measure.casefold()
    disconnection = "abschaltung" in text
    billing_ban = "rechnungslegung" in text or "inkassierung" in text
    if disconnection:
        return AppliesTo.BOTH
    if billing_ban:
        return AppliesTo.CALLEE
    raise InvalidEntryError(
        f"Maßnahme {measure!r} is neither Abschaltung nor Rechnungslegungs- und"
        " Inkassierungsverbot"
    )


def _years_later(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _columns(header: list[str]) -> dict[str, int]:
    columns: dict[str, int] = {}
    for index, cell in enumerate(header):
        name = _HEADERS.get(normalise_header(cell))
        if name is not None and name not in columns:
            columns[name] = index
    missing = [label for label, name in (("Bescheid vom", "date"), ("Rufnummer", "number"),
                                         ("Maßnahme", "measure")) if name not in columns]
    if missing:
        shown = ", ".join(repr(c) for c in header[:12])
        raise FeedError(
            f"BNetzA measures list: no {', '.join(missing)} column in the header row ({shown})"
        )
    return columns
