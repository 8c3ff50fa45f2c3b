"""`/v1/allowlist`: the global allowlist of numbers and blocks. An allowlisted number is
never warned or blocked, whatever the blocklist says (a subscriber's own allowlist is under
`/v1/subscribers`). Every change is audited."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from api.auth import Reader, Writer
from api.context import Context, get_context
from api.fields import (
    KEY_CURSOR_PATTERN,
    KEY_PATTERN,
    key_after,
    kind,
    label,
    read_entry_key,
    read_path_key,
)
from api.models import AllowCreate, AllowOut, AllowPage, Text
from api.problems import Problem

router = APIRouter(prefix="/v1/allowlist", tags=["allowlist"])
Ctx = Annotated[Context, Depends(get_context)]
KeyText = Annotated[str, Path(pattern=KEY_PATTERN, examples=["+31205550199", "+3120555*"],
                              description="`+` and digits; a block ends in `*`")]


def _out(key: tuple[str, bool], note: dict[str, str]) -> AllowOut:
    return AllowOut(key=label(key), kind="prefix" if key[1] else "number",
                    reason=note.get("reason", ""), added_by=note.get("by", ""),
                    added_at=note.get("at", ""))


@router.get("", summary="List the allowlist", response_model=AllowPage)
def list_allowlist(
    context: Ctx,
    _key: Reader,
    cursor: Annotated[str | None, Query(
        pattern=KEY_CURSOR_PATTERN, examples=["+31205550199"],
        description="the `next_cursor` of the previous page: the key it ended with")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AllowPage:
    """The allowlist ordered by key; follow `next_cursor` for more."""
    items = sorted(context.store.allowlist().items())
    if cursor is not None:
        after = key_after(cursor)
        items = [(k, n) for k, n in items if k > after]
    page = items[:limit]
    next_cursor = label(page[-1][0]) if len(items) > limit else None
    return AllowPage(entries=[_out(k, n) for k, n in page], next_cursor=next_cursor)


@router.post("", status_code=201, summary="Allowlist a number or block",
             response_model=AllowOut,
             responses={422: {"description": "invalid or protected number"}})
def add_allow(body: AllowCreate, context: Ctx, key: Writer) -> AllowOut:
    entry_key = read_entry_key(context.plan, body.number, body.prefix)
    note = {"reason": body.reason, "by": key.name,
            "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    context.store.allow(entry_key, note)
    context.audit(key, "allowlist.add", label(entry_key), {"kind": kind(entry_key)}, body.reason)
    return _out(entry_key, note)


@router.delete("/{entry_key}", status_code=204, summary="Remove from the allowlist",
               responses={404: {"description": "not on the allowlist"}})
def remove_allow(entry_key: KeyText, context: Ctx, key: Writer,
                 reason: Text = "") -> Response:
    parsed = read_path_key(entry_key, "entry_key")
    if not context.store.disallow(parsed):
        raise Problem(404, "not-found", f"{label(parsed)} is not on the allowlist")
    context.audit(key, "allowlist.remove", label(parsed), {"kind": kind(parsed)}, reason)
    return Response(status_code=204)
