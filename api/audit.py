"""`/v1/audit`: who changed what, when and why (`blocklist.store.audit`), newest first."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.auth import Admin
from api.context import Context, get_context
from api.models import AuditEventOut, AuditPage
from api.problems import Problem
from blocklist.store import audit

router = APIRouter(prefix="/v1/audit", tags=["audit"])
Ctx = Annotated[Context, Depends(get_context)]
Filter = Annotated[str | None, Query(max_length=500)]


@router.get("", summary="Read the audit trail", response_model=AuditPage)
def read_audit(
    context: Ctx,
    _key: Admin,
    actor: Filter = None,
    action: Annotated[str | None, Query(max_length=100, examples=["entry"],
                                        description="exact, or a dotted prefix")] = None,
    target: Filter = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    cursor: Annotated[str | None, Query(pattern=r"^\d{1,20}-\d{1,20}$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AuditPage:
    try:
        found, next_cursor = audit.events(
            context.store, actor=actor, action=action, target=target, since=_utc(since),
            until=_utc(until), cursor=cursor, limit=limit,
        )
    except (ValueError, OverflowError) as error:
        raise Problem(422, "invalid-request", str(error)) from None
    return AuditPage(
        events=[AuditEventOut(id=e.id, at=e.at, actor=e.actor, action=e.action,
                              target=e.target, reason=e.reason, detail=e.detail)
                for e in found],
        next_cursor=next_cursor,
    )


def _utc(moment: dt.datetime | None) -> dt.datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=dt.UTC)  # a time without a zone is taken as UTC
