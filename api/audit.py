"""`/v1/audit`: who changed what, when and why (`blocklist.store.audit`), newest first."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BeforeValidator

from api.auth import Admin
from api.context import Context, get_context
from api.models import AuditEventOut, AuditPage
from api.problems import Problem
from blocklist.store import audit

router = APIRouter(prefix="/v1/audit", tags=["audit"])
Ctx = Annotated[Context, Depends(get_context)]
Filter = Annotated[str | None, Query(max_length=500)]
_RFC3339 = re.compile(r"\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(?:\.\d+)?(?:[Zz]|[+-]\d\d:\d\d)")


def _rfc3339(value: object) -> object:
    # Only what the description says (format date-time): pydantic alone would also take
    # unix seconds and times without a zone, which could mean anything.
    if isinstance(value, str) and _RFC3339.fullmatch(value) is None:
        raise ValueError("expected an RFC 3339 date-time with its zone, e.g."
                         " 2026-01-05T10:00:00Z")
    return value


Moment = Annotated[dt.datetime | None, BeforeValidator(_rfc3339), Query()]


@router.get("", summary="Read the audit trail", response_model=AuditPage)
def read_audit(
    context: Ctx,
    _key: Admin,
    actor: Filter = None,
    action: Annotated[str | None, Query(max_length=100, examples=["entry"],
                                        description="exact, or a dotted prefix")] = None,
    target: Filter = None,
    since: Moment = None,
    until: Moment = None,
    cursor: Annotated[str | None, Query(
        pattern=r"^\d{1,19}-\d{1,19}$", examples=["1767225600000-0"],
        description="the `next_cursor` of the previous page: the id of its last event")]
    = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AuditPage:
    try:
        found, next_cursor = audit.events(
            context.store, actor=actor, action=action, target=target, since=since,
            until=until, cursor=cursor, limit=limit,
        )
    except (ValueError, OverflowError) as error:
        raise Problem(422, "invalid-request", str(error)) from None
    return AuditPage(
        events=[AuditEventOut(id=e.id, at=e.at, actor=e.actor, action=e.action,
                              target=e.target, reason=e.reason, detail=e.detail)
                for e in found],
        next_cursor=next_cursor,
    )

