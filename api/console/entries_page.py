"""Entries: filter by source, category, number prefix and text, a page at a time; add, edit
and remove manual entries, and paste many numbers at once. Changes go through the API's own
handlers (`api.entries`), so they are checked and audited as through `/v1/entries`."""

from __future__ import annotations

import heapq
import re

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from api import entries
from api.console.web import PREFIX, Form, Reading, Writing, after_change, attempt, page
from api.console.web import text_field as field
from api.fields import entry_after, entry_cursor, entry_out, read_path_key
from api.models import EntryChange, EntryCreate
from api.problems import Problem
from blocklist.entries import MANUAL_SOURCE, AppliesTo, Category, Entry
from blocklist.store.catalog import all_entries

router = APIRouter(prefix=PREFIX, include_in_schema=False)
PAGE_SIZE = 50
MAX_PASTED = 1000
_SOURCE = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def _order(entry: Entry) -> tuple[str, str, bool]:
    return entry.source, entry.key, entry.is_prefix


@router.get("/entries", response_class=HTMLResponse)
def list_entries(request: Request, who: Reading, source: str = "", category: str = "",
                 prefix: str = "", text: str = "", cursor: str = "") -> HTMLResponse:
    """The API's listing (`all_entries`, ordered by source and key, cursor paging), with a
    text filter on reason and reference as well."""
    error = None
    after: tuple[str, str, bool] | None = None
    if cursor:
        after, error = attempt(lambda: entry_after(cursor[:100]), who.language)
    wanted_category = Category(category) if category in set(Category) else None
    wanted_digits = prefix.strip().lstrip("+").replace(" ", "")
    if wanted_digits and not wanted_digits.isdigit():
        error, wanted_digits = f"prefix {prefix[:40]!r}: digits only", ""
    needle = text.strip().lower()[:200]
    sources = [source] if _SOURCE.fullmatch(source) else None
    matching = (
        e for e in all_entries(who.context.store, sources)
        if (wanted_category is None or e.category is wanted_category)
        and e.key.startswith(wanted_digits)
        and (not needle or needle in e.reason.lower() or needle in e.reference.lower())
        and (after is None or _order(e) > after)
    )
    found = heapq.nsmallest(PAGE_SIZE + 1, matching, key=_order)
    next_cursor = entry_cursor(_order(found[PAGE_SIZE - 1])) if len(found) > PAGE_SIZE else ""
    return page(request, who, "entries.html", entries=[entry_out(e) for e in found[:PAGE_SIZE]],
                sources=who.context.store.sources(), categories=list(Category),
                filters={"source": source if sources else "", "category": category,
                         "prefix": prefix[:20], "text": text[:200]},
                next_cursor=next_cursor, error=error)


@router.get("/entries/new", response_class=HTMLResponse)
def new_entry(request: Request, who: Writing, number: str = "") -> HTMLResponse:
    return page(request, who, "entry_form.html", entry=None, values={"number": number[:64]},
                categories=list(Category), applies=list(AppliesTo), error=None)


@router.post("/entries", response_class=HTMLResponse)
def create_entry(request: Request, who: Writing, form: Form) -> Response:
    values = {name: field(form, name) for name in (
        "number", "category", "applies_to", "reason", "reference", "valid_until")}
    key_field = "prefix" if values["number"].endswith(("*", "x", "X")) else "number"

    def create() -> str:
        body = EntryCreate.model_validate({
            key_field: values["number"], "category": values["category"],
            "applies_to": values["applies_to"] or None, "reason": values["reason"],
            "reference": values["reference"], "valid_until": values["valid_until"] or None})
        return entries.create_entry(body, who.context, who.session.key, Response()).key

    created, error = attempt(create, who.language)
    if created is None:
        return page(request, who, "entry_form.html", status=422, entry=None, values=values,
                    categories=list(Category), applies=list(AppliesTo), error=error)
    return after_change(f"{PREFIX}/lookup?number={created.rstrip('*').replace('+', '%2B')}",
                        "entry_added", created)


def _manual(who: Reading, key_text: str) -> Entry:
    key = read_path_key(key_text)
    found = next((e for e in who.context.store.entries_for([key])[key]
                  if e.source == MANUAL_SOURCE), None)
    if found is None:
        raise Problem(404, "not-found", f"no manual entry {key_text!r}")
    return found


@router.get("/entries/manual/{key_text}/edit", response_class=HTMLResponse)
def edit_entry(request: Request, who: Writing, key_text: str) -> HTMLResponse:
    entry, error = attempt(lambda: _manual(who, key_text[:20]), who.language)
    if entry is None:
        return page(request, who, "refused.html", status=404, message_key="error.not_found",
                    values={"what": key_text[:20], "detail": error})
    shown = entry_out(entry)
    values = {"number": shown.key, "category": shown.category.value,
              "applies_to": shown.applies_to.value, "reason": shown.reason,
              "reference": shown.reference,
              "valid_until": shown.valid_until.isoformat() if shown.valid_until else ""}
    return page(request, who, "entry_form.html", entry=shown, values=values,
                categories=list(Category), applies=list(AppliesTo), error=None)


@router.post("/entries/manual/{key_text}/edit", response_class=HTMLResponse)
def change_entry(request: Request, who: Writing, form: Form, key_text: str) -> Response:
    values = {name: field(form, name) for name in (
        "category", "applies_to", "reason", "reference", "valid_until")}

    def change() -> str:
        body = EntryChange.model_validate({
            "category": values["category"], "applies_to": values["applies_to"],
            "reason": values["reason"], "reference": values["reference"],
            "valid_until": values["valid_until"] or None})
        return entries.change_entry(MANUAL_SOURCE, key_text[:20], body, who.context,
                                    who.session.key).key

    changed, error = attempt(change, who.language)
    if changed is None:
        entry, _ = attempt(lambda: _manual(who, key_text[:20]), who.language)
        return page(request, who, "entry_form.html", status=422,
                    entry=entry_out(entry) if entry else None,
                    values={**values, "number": key_text[:20]}, categories=list(Category),
                    applies=list(AppliesTo), error=error)
    return after_change(f"{PREFIX}/lookup?number={changed.rstrip('*').replace('+', '%2B')}",
                        "entry_changed", changed)


@router.post("/entries/manual/{key_text}/remove")
def remove_entry(request: Request, who: Writing, form: Form, key_text: str) -> Response:
    done, error = attempt(lambda: entries.delete_entry(
        MANUAL_SOURCE, key_text[:20], who.context, who.session.key, field(form, "reason")[:500]),
        who.language)
    if done is None:
        return page(request, who, "refused.html", status=404, message_key="error.not_found",
                    values={"what": key_text[:20], "detail": error})
    return after_change(PREFIX + "/entries", "entry_removed", key_text[:20])


@router.get("/entries/paste", response_class=HTMLResponse)
def paste_page(request: Request, who: Writing) -> HTMLResponse:
    return page(request, who, "paste.html", categories=list(Category), values={},
                results=None)


@router.post("/entries/paste", response_class=HTMLResponse)
def paste(request: Request, who: Writing, form: Form) -> HTMLResponse:
    """One manual entry per non-empty line (a number, or a block ending in `*`), all with the
    same category, reason, reference and expiry; each line says what became of it."""
    values = {name: field(form, name) for name in (
        "numbers", "category", "reason", "reference", "valid_until")}
    lines = [(n, line.strip()) for n, line in enumerate(values["numbers"].splitlines(), 1)
             if line.strip()][:MAX_PASTED]
    results: list[tuple[int, str, str, str]] = []  # line, as typed, outcome, key or error
    for line, typed in lines:
        key_field = "prefix" if typed.endswith(("*", "x", "X")) else "number"

        def create(typed: str = typed, key_field: str = key_field) -> str:
            body = EntryCreate.model_validate({
                key_field: typed, "category": values["category"], "reason": values["reason"],
                "reference": values["reference"], "valid_until": values["valid_until"] or None})
            return entries.create_entry(body, who.context, who.session.key, Response()).key

        created, error = attempt(create, who.language)
        results.append((line, typed[:64], "added" if created else "rejected",
                        created or error or ""))
    return page(request, who, "paste.html", categories=list(Category), values=values,
                results=results)
