"""The audit trail with filters (actor, action or its dotted prefix, target, time span),
newest first, a page at a time: `api.audit.read_audit`, so admin only, as `/v1/audit`."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from api import audit
from api.console.web import PREFIX, Administering, attempt, page
from api.problems import Problem
from blocklist.store.audit import STREAM_ID

router = APIRouter(prefix=PREFIX, include_in_schema=False)
PAGE_SIZE = 50


def _moment(text: str) -> dt.datetime | None:
    """A date or a date and time as the browser's inputs send them; UTC when no zone."""
    text = text.strip()
    if not text:
        return None
    moment = dt.datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request, who: Administering, actor: str = "", action: str = "",
               target: str = "", since: str = "", until: str = "",
               cursor: str = "") -> Response:
    filters = {"actor": actor[:500], "action": action[:100], "target": target[:500],
               "since": since[:40], "until": until[:40]}

    def read() -> object:
        try:
            span = _moment(filters["since"]), _moment(filters["until"])
        except ValueError as error:
            raise Problem(422, "invalid-request", f"time: {error}") from None
        return audit.read_audit(
            who.context, who.session.key, actor=filters["actor"] or None,
            action=filters["action"] or None, target=filters["target"] or None,
            since=span[0], until=span[1],
            cursor=cursor if STREAM_ID.fullmatch(cursor) else None,
            limit=PAGE_SIZE)

    found, error = attempt(read, who.language)
    return page(request, who, "audit.html", found=found, error=error, filters=filters)
