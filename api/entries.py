"""`/v1/entries`: list, read, create, change and delete entries.

Only manual entries (source `manual`) are made, changed and deleted here; a feed's entries
change through its sync (to overrule one, allowlist the number). `added_by` is the name of
the API key that wrote the entry; every change is audited.
"""

from __future__ import annotations

import datetime as dt
import heapq
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from api.auth import Reader, Writer
from api.context import Context, get_context
from api.fields import (
    ENTRY_CURSOR_PATTERN,
    KEY_PATTERN,
    SOURCE_PATTERN,
    entry_after,
    entry_cursor,
    entry_out,
    label,
    read_entry_key,
    read_path_key,
)
from api.models import EntryChange, EntryCreate, EntryOut, EntryPage, Text
from api.problems import Problem
from blocklist.entries import MANUAL_SOURCE, AppliesTo, Category, Entry
from blocklist.errors import InvalidEntryError
from blocklist.store.catalog import all_entries
from blocklist.values import replace

router = APIRouter(prefix="/v1/entries", tags=["entries"])
Ctx = Annotated[Context, Depends(get_context)]
SourceId = Annotated[str, Path(pattern=SOURCE_PATTERN, examples=["manual"])]
KeyText = Annotated[str, Path(pattern=KEY_PATTERN, examples=["+31855550101", "+319005550*"],
                              description="`+` and digits; a block ends in `*`")]


def _find(context: Context, source: str, key: tuple[str, bool]) -> Entry | None:
    found = context.store.entries_for([key])[key]
    return next((e for e in found if e.source == source), None)


def _manual_only(source: str, key: tuple[str, bool]) -> None:
    if source != MANUAL_SOURCE:
        raise Problem(409, "conflict",
                      f"{label(key)} in source {source!r} changes only through that feed's sync;"
                      " allowlist the number to overrule it")


@router.get("", summary="List entries", response_model=EntryPage)
def list_entries(
    context: Ctx,
    _key: Reader,
    source: Annotated[str | None, Query(pattern=SOURCE_PATTERN)] = None,
    category: Category | None = None,
    number_prefix: Annotated[str | None, Query(
        pattern=r"^\+?\d{1,15}$", description="international digits the key starts with",
        examples=["+3185"])] = None,
    cursor: Annotated[str | None, Query(
        pattern=ENTRY_CURSOR_PATTERN, examples=["manual/+31855550101"],
        description="the `next_cursor` of the previous page: the source and key it ended"
                    " with")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> EntryPage:
    """Entries ordered by source and key, filtered; follow `next_cursor` for more."""
    after = entry_after(cursor) if cursor is not None else None
    wanted_digits = number_prefix.lstrip("+") if number_prefix else None
    sources = [source] if source is not None else None

    def order(entry: Entry) -> tuple[str, str, bool]:
        return entry.source, entry.key, entry.is_prefix

    matching = (
        e for e in all_entries(context.store, sources)
        if (category is None or e.category is category)
        and (wanted_digits is None or e.key.startswith(wanted_digits))
        and (after is None or order(e) > after)
    )
    page = heapq.nsmallest(limit + 1, matching, key=order)
    more = len(page) > limit
    page = page[:limit]
    next_cursor = entry_cursor(order(page[-1])) if more else None
    return EntryPage(entries=[entry_out(e) for e in page], next_cursor=next_cursor)


@router.post("", status_code=201, summary="Create a manual entry", response_model=EntryOut,
             responses={409: {"description": "a manual entry for this key exists"},
                        422: {"description": "invalid or protected number, bad field"}})
def create_entry(body: EntryCreate, context: Ctx, key: Writer, response: Response) -> EntryOut:
    """List a number or a block by hand (source `manual`)."""
    entry_key = read_entry_key(context.plan, body.number, body.prefix)
    today = dt.datetime.now(dt.UTC).date()
    entry = Entry(
        key=entry_key[0], is_prefix=entry_key[1], category=body.category,
        applies_to=body.applies_to or AppliesTo.default_for(body.category),
        source=MANUAL_SOURCE, reference=body.reference, reason=body.reason,
        listed_at=today, valid_until=body.valid_until, added_by=key.name,
    )
    if not context.store.add_new_entry(entry):  # atomic: two creates give one 201, one 409
        raise Problem(409, "conflict", f"a manual entry for {label(entry_key)} exists;"
                      " change it with PATCH")
    context.audit(key, "entry.create", entry.label, entry_out(entry).model_dump(mode="json"),
                  body.reason)
    response.headers["Location"] = f"/v1/entries/{MANUAL_SOURCE}/{entry.label}"
    return entry_out(entry)


@router.get("/{source}/{entry_key}", summary="Read one entry", response_model=EntryOut,
            responses={404: {"description": "no such entry"}})
def read_entry(source: SourceId, entry_key: KeyText, context: Ctx, _key: Reader) -> EntryOut:
    key = read_path_key(entry_key, "entry_key")
    entry = _find(context, source, key)
    if entry is None:
        raise Problem(404, "not-found", f"no entry {label(key)} in source {source!r}")
    return entry_out(entry)


@router.patch("/{source}/{entry_key}", summary="Change a manual entry",
              response_model=EntryOut,
              responses={404: {"description": "no such entry"},
                         409: {"description": "not a manual entry"}})
def change_entry(source: SourceId, entry_key: KeyText, body: EntryChange, context: Ctx,
                 key: Writer) -> EntryOut:
    entry_key_ = read_path_key(entry_key, "entry_key")
    _manual_only(source, entry_key_)
    entry = _find(context, source, entry_key_)
    if entry is None:
        raise Problem(404, "not-found", f"no entry {label(entry_key_)} in source {source!r}")
    changes = {k: v for k, v in body.model_dump(exclude_unset=True).items()
               if v is not None or k == "valid_until"}
    try:
        changed = replace(entry, **changes, added_by=key.name)
    except InvalidEntryError as error:
        raise Problem(422, "invalid-entry", str(error), code=error.code,
                      values=error.values) from None
    context.store.add_entries([changed])
    context.audit(key, "entry.update", changed.label,
                  {"changes": body.model_dump(mode="json", exclude_unset=True)},
                  body.reason or "")
    return entry_out(changed)


@router.delete("/{source}/{entry_key}", status_code=204, summary="Delete a manual entry",
               responses={404: {"description": "no such entry"},
                          409: {"description": "not a manual entry"}})
def delete_entry(source: SourceId, entry_key: KeyText, context: Ctx, key: Writer,
                 reason: Text = "") -> Response:
    entry_key_ = read_path_key(entry_key, "entry_key")
    _manual_only(source, entry_key_)
    if not context.store.remove_entries(source, [entry_key_]):
        raise Problem(404, "not-found", f"no entry {label(entry_key_)} in source {source!r}")
    context.audit(key, "entry.delete", label(entry_key_), {"source": source}, reason)
    return Response(status_code=204)
