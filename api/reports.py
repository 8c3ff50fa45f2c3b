"""`/v1/reports`: subscribers (or the support desk on their behalf) report a scam number.

When `CALLSCREEN_REPORT_THRESHOLD` distinct reporters report a number within
`CALLSCREEN_REPORT_WINDOW_HOURS`, it is listed as `suspected` (source `reports`) for
`CALLSCREEN_REPORT_LISTING_DAYS`; each further report extends that. A reporter counts once
per number (see `blocklist.store.reports`), so nobody can list a number alone.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from api.auth import Reader, Writer
from api.context import Context, get_context
from api.fields import read_number
from api.models import PHONE_NUMBER, ReportCreate, ReportOut
from blocklist.store.reports import REPORTS_SOURCE, add_report, count_reporters

router = APIRouter(prefix="/v1/reports", tags=["reports"])
Ctx = Annotated[Context, Depends(get_context)]


@router.post("", status_code=202, summary="Report a number", response_model=ReportOut,
             responses={422: {"description": "invalid or protected number"}})
def report_number(body: ReportCreate, context: Ctx, key: Writer) -> ReportOut:
    settings = context.settings
    number = read_number(context.plan, body.number, ["body", "number"])
    reporter = read_number(context.plan, body.reporter, ["body", "reporter"])
    outcome = add_report(
        context.store, number, reporter, threshold=settings.report_threshold,
        window_s=settings.report_window_s, listing_days=settings.report_listing_days,
    )
    if outcome.newly_listed:
        context.audit(key, "report.listed", "+" + number,
                      {"reporters": outcome.reporters, "source": REPORTS_SOURCE,
                       "valid_until": outcome.entry.valid_until if outcome.entry else None},
                      f"{outcome.reporters} distinct reporters within the window")
    return ReportOut(number="+" + number, reporters=outcome.reporters,
                     threshold=outcome.threshold, window_hours=settings.report_window_s / 3600,
                     listed=outcome.entry is not None,
                     valid_until=outcome.entry.valid_until if outcome.entry else None)


@router.get("/{number}", summary="How often a number was reported", response_model=ReportOut)
def read_reports(
    number: Annotated[str, Path(max_length=64, examples=["+31855550101"],
                                json_schema_extra={"format": PHONE_NUMBER})],
    context: Ctx,
    _key: Reader,
) -> ReportOut:
    settings = context.settings
    digits_ = read_number(context.plan, number, ["path", "number"])
    reporters = count_reporters(context.store, digits_, window_s=settings.report_window_s)
    listed = [e for e in context.store.entries_for([(digits_, False)])[(digits_, False)]
              if e.source == REPORTS_SOURCE]
    return ReportOut(number="+" + digits_, reporters=reporters,
                     threshold=settings.report_threshold,
                     window_hours=settings.report_window_s / 3600, listed=bool(listed),
                     valid_until=listed[0].valid_until if listed else None)
