"""The fraud desk's queues: the reports subscribers made (promote to a manual entry, or
dismiss, each with a reason) and disputes from numbers' owners (record, uphold: the number
is unlisted, or reject). Through the API's own handlers (`api.reports`, `api.disputes`),
checked and audited as there."""

from __future__ import annotations

import re
from typing import cast

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from api import disputes, reports
from api.console.web import PREFIX, Form, Reading, Writing, after_change, attempt, page
from api.console.web import text_field as field
from api.desk_models import (
    DisputeCreate,
    DisputeDecision,
    DisputeStatus,
    ReportDismissal,
    ReportPromotion,
)

router = APIRouter(prefix=PREFIX, include_in_schema=False)
PAGE_SIZE = 50
STATUSES = ("open", "upheld", "rejected")
DISPUTE_CURSOR = r"\d{1,12}"  # as `/v1/disputes`' cursor parameter


def _reports(request: Request, who: Reading, *, status: int = 200, cursor: str = "",
             error: str | None = None) -> Response:
    # The API's query patterns check a cursor before its handler runs; here, this does.
    position = cursor if re.fullmatch(reports.QUEUE_CURSOR_PATTERN, cursor) else None
    queue, failed = attempt(lambda: reports.list_reported(who.context, who.session.key,
                                                          position, PAGE_SIZE), who.language)
    return page(request, who, "reports.html", status=status, queue=queue,
                error=error or failed)


@router.get("/reports", response_class=HTMLResponse)
def reports_page(request: Request, who: Reading, cursor: str = "") -> Response:
    return _reports(request, who, cursor=cursor)


@router.post("/reports/promote", response_class=HTMLResponse)
def promote(request: Request, who: Writing, form: Form) -> Response:
    number = field(form, "number")[:64]
    done, error = attempt(lambda: reports.promote_reported(
        number, ReportPromotion.model_validate({
            "category": field(form, "category"), "reason": field(form, "reason"),
            "valid_until": field(form, "valid_until") or None}),
        who.context, who.session.key), who.language)
    if done is None:
        return _reports(request, who, status=422, error=error)
    return after_change(PREFIX + "/reports", "report_promoted", done.number)


@router.post("/reports/dismiss", response_class=HTMLResponse)
def dismiss(request: Request, who: Writing, form: Form) -> Response:
    number = field(form, "number")[:64]
    done, error = attempt(lambda: reports.dismiss_reported(
        number, ReportDismissal.model_validate({"reason": field(form, "reason")}),
        who.context, who.session.key), who.language)
    if done is None:
        return _reports(request, who, status=422, error=error)
    return after_change(PREFIX + "/reports", "report_dismissed", done.number)


def _disputes(request: Request, who: Reading, *, status: int = 200, shown: str = "open",
              cursor: str = "", values: dict[str, str] | None = None,
              error: str | None = None) -> Response:
    wanted = cast("DisputeStatus | None", shown if shown in STATUSES else None)
    position = cursor if re.fullmatch(DISPUTE_CURSOR, cursor) else None
    listed, failed = attempt(lambda: disputes.list_disputes(
        who.context, who.session.key, wanted, position, PAGE_SIZE), who.language)
    return page(request, who, "disputes.html", status=status, listed=listed,
                shown=wanted or "", statuses=STATUSES, values=values or {},
                error=error or failed)


@router.get("/disputes", response_class=HTMLResponse)
def disputes_page(request: Request, who: Reading, status: str = "open", cursor: str = "",
                  number: str = "") -> Response:
    return _disputes(request, who, shown=status, cursor=cursor,
                     values={"number": number[:64]})


@router.post("/disputes", response_class=HTMLResponse)
def open_dispute(request: Request, who: Writing, form: Form) -> Response:
    values = {name: field(form, name) for name in ("number", "contact", "text")}
    opened, error = attempt(lambda: disputes.open_dispute(
        DisputeCreate.model_validate(values), who.context, who.session.key, Response()),
        who.language)
    if opened is None:
        return _disputes(request, who, status=422, values=values, error=error)
    return after_change(PREFIX + "/disputes", "dispute_opened", opened.number)


@router.post("/disputes/{dispute_id}/{decision}", response_class=HTMLResponse)
def decide(request: Request, who: Writing, form: Form, dispute_id: int,
           decision: str) -> Response:
    """Uphold or reject an open dispute, with the reason the form gives."""
    if decision not in ("uphold", "reject"):
        return _disputes(request, who, status=404, error=f"no decision {decision[:20]!r}")
    handler = disputes.uphold_dispute if decision == "uphold" else disputes.reject_dispute
    done, error = attempt(lambda: handler(
        dispute_id, DisputeDecision.model_validate({"reason": field(form, "reason")}),
        who.context, who.session.key), who.language)
    if done is None:
        return _disputes(request, who, status=422, error=error)
    return after_change(PREFIX + "/disputes", f"dispute_{decision}", done.number)
