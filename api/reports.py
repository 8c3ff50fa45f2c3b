"""`/v1/reports`: subscribers (or the support desk on their behalf) report a scam number.

When `CALLSCREEN_REPORT_THRESHOLD` distinct reporters report a number within
`CALLSCREEN_REPORT_WINDOW_HOURS`, it is listed as `suspected` (source `reports`) for
`CALLSCREEN_REPORT_LISTING_DAYS`; each further report extends that. A reporter counts once
per number (see `blocklist.store.reports`), so nobody can list a number alone.

The reports queue (`GET /v1/reports`) lists the numbers reported within the window, most
recently first, for the fraud desk to promote (a manual `fraud` or `suspected` entry) or
dismiss (its reports forgotten and the `reports` listing removed); both take a reason and are
audited (`report.promote`, `report.dismiss`), and take the number out of the queue.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from api.auth import Reader, Writer
from api.context import Context, get_context
from api.desk_models import (
    ReportDismissal,
    ReportedOut,
    ReportedPage,
    ReportPromotion,
    ReportTriage,
)
from api.fields import entry_out, read_number
from api.models import PHONE_NUMBER, ReportCreate, ReportOut
from api.problems import Problem
from blocklist.store.reports import (
    REPORTS_SOURCE,
    add_report,
    count_reporters,
    dismiss,
    promote,
    reported,
)

router = APIRouter(prefix="/v1/reports", tags=["reports"])
QUEUE_CURSOR_PATTERN = r"^\d{1,12}(\.\d{1,9})?/\+\d{1,15}$"
Ctx = Annotated[Context, Depends(get_context)]
Number = Annotated[str, Path(max_length=64, examples=["+31855550101"],
                             json_schema_extra={"format": PHONE_NUMBER})]


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


@router.get("", summary="The reports queue", response_model=ReportedPage)
def list_reported(
    context: Ctx,
    _key: Reader,
    cursor: Annotated[str | None, Query(
        pattern=QUEUE_CURSOR_PATTERN, examples=["1764633600.25/+31855550101"],
        description="a position: the last report's Unix time and the number of the last row"
                    " of the previous page (its `next_cursor`)")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> ReportedPage:
    """Numbers reported within the window, most recently reported first, with distinct
    reporters, first and last report, and the entries listing them now."""
    after = None
    if cursor is not None:
        stamp, _, number = cursor.partition("/")
        after = (float(stamp), number.lstrip("+"))  # the pattern let nothing else through
    found, next_at = reported(context.store, window_s=context.settings.report_window_s,
                              after=after, limit=limit)
    return ReportedPage(
        reports=[ReportedOut(number="+" + r.number, reporters=r.reporters,
                             first_reported=r.first_reported, last_reported=r.last_reported,
                             listed=bool(r.entries), entries=[entry_out(e) for e in r.entries])
                 for r in found],
        next_cursor=f"{next_at[0]!r}/+{next_at[1]}" if next_at is not None else None,
    )


@router.post("/{number}/promote", summary="Promote a reported number to a manual entry",
             response_model=ReportTriage,
             responses={422: {"description": "invalid or protected number, bad field"}})
def promote_reported(
    number: Number,
    body: ReportPromotion,
    context: Ctx,
    key: Writer,
) -> ReportTriage:
    """List the number by hand (source `manual`, the category given; an existing manual
    entry is replaced) and take it out of the queue."""
    digits_ = read_number(context.plan, number, ["path", "number"])
    entry = promote(context.store, digits_, body.category, reason=body.reason, actor=key.name,
                    valid_until=body.valid_until)
    out = entry_out(entry)
    context.audit(key, "report.promote", "+" + digits_, out.model_dump(mode="json"),
                  body.reason)
    return ReportTriage(number="+" + digits_, outcome="promoted", entry=out, removed=[])


@router.post("/{number}/dismiss", summary="Dismiss a reported number",
             response_model=ReportTriage,
             responses={404: {"description": "neither in the queue nor listed by reports"},
                        422: {"description": "invalid or protected number"}})
def dismiss_reported(
    number: Number,
    body: ReportDismissal,
    context: Ctx,
    key: Writer,
) -> ReportTriage:
    """Forget the number's reports, remove its `reports` listing if any, and take it out of
    the queue (new reports start counting afresh)."""
    digits_ = read_number(context.plan, number, ["path", "number"])
    queued, removed = dismiss(context.store, digits_)
    if not queued and not removed:
        raise Problem(404, "not-found", f"+{digits_} is not in the reports queue")
    labels = ["+" + digits_] if removed else []
    context.audit(key, "report.dismiss", "+" + digits_, {"removed": labels}, body.reason)
    return ReportTriage(number="+" + digits_, outcome="dismissed", entry=None, removed=labels)


@router.get("/{number}", summary="How often a number was reported", response_model=ReportOut)
def read_reports(
    number: Number,
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
