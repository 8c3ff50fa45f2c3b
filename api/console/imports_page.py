"""Import a file with a preview, and export.

An upload is parsed by the same parsers as `/v1/entries/import` and the feed sync
(`blocklist.feeds.parse_feed`) and diffed by the same guard (`guard_and_apply`, dry run): the
preview lists what would be added, removed and changed and every rejected row with its line
number. The upload waits in the session (`blocklist.store.sessions`) for the apply, which
parses it again and applies it for real (the guard may refuse it then, if the list changed
in between); it is audited as `entries.import`, like the API's. Export streams what
`/v1/entries/export` streams.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from starlette.datastructures import FormData, UploadFile

from api import bulk
from api.console.web import PREFIX, Form, Reading, Viewer, Writing, attempt, page
from api.console.web import text_field as field
from api.problems import Problem
from blocklist.entries import AppliesTo, Category
from blocklist.errors import ConfigError
from blocklist.feeds import FORMATS, FeedFormatConfig, parse_feed
from blocklist.store.sessions import drop_upload, stash_upload, stashed_upload
from blocklist.sync.apply import Outcome, guard_and_apply
from blocklist.sync.runner import plans_for

router = APIRouter(prefix=PREFIX, include_in_schema=False)
IMPORT_PATH = PREFIX + "/import"
PREVIEW_TTL_S = 30 * 60
SHOWN = 200  # keys of each kind a preview lists
MAX_REMOVAL = 0.2  # the guard's default, as for `/v1/entries/import`
OPTIONS = ("format", "source", "category", "applies_to")


def _options(form: FormData) -> dict[str, str]:
    return {name: field(form, name) for name in OPTIONS}


def _run(who: Viewer, data: bytes, options: dict[str, str], *, dry_run: bool) -> Outcome:
    """Parse and guard `data` as `options` say; apply unless `dry_run`."""
    if options["format"] not in FORMATS:
        raise Problem(422, "invalid-request", f"format {options['format'][:40]!r} is not one"
                      f" of {', '.join(sorted(FORMATS))}")
    overrides = {"source": options["source"] or None,
                 "category": options["category"] or None,
                 "applies_to": options["applies_to"] or None}
    try:
        config = FeedFormatConfig.from_dict({k: v for k, v in overrides.items() if v},
                                            default_region=who.context.settings.region)
    except (ConfigError, TypeError) as error:
        raise Problem(422, "invalid-request", str(error)) from None
    if options["format"] != "screening-feed/v1" and config.source is None:
        raise Problem(422, "invalid-request", f"a {options['format']} file needs a source")
    parsed = parse_feed(data, options["format"], config,
                        plan_for=plans_for(who.context.settings),
                        today=dt.datetime.now(dt.UTC).date(), added_by=who.session.key.name)
    return guard_and_apply(who.context.store, parsed, parsed.header.source,
                           max_removal_ratio=MAX_REMOVAL, dry_run=dry_run)


def _shown(outcome: Outcome) -> dict[str, Any]:
    def labels(keys: list[tuple[str, bool]]) -> list[str]:
        return ["+" + k + ("*" if p else "") for k, p in keys[:SHOWN]]

    return {"source": outcome.source, "mode": outcome.mode.value, "counts": outcome.counts(),
            "added": labels(outcome.added), "removed": labels(outcome.removed),
            "changed": labels(outcome.changed),
            "rejected": [(r.line, r.reason) for r in outcome.rejected[:SHOWN]]}


def _form_page(request: Request, who: Viewer, *, status: int = 200, **values: Any) -> Response:
    return page(request, who, "import.html", status=status, formats=sorted(FORMATS),
                categories=list(Category), applies=list(AppliesTo),
                options=values.pop("options", {"format": "delimited", "source": "desk"}),
                preview=values.pop("preview", None), report=values.pop("report", None),
                error=values.pop("error", None))


@router.get("/import", response_class=HTMLResponse)
def import_page(request: Request, who: Writing) -> Response:
    return _form_page(request, who)


@router.post("/import", response_class=HTMLResponse)
async def preview(request: Request, who: Writing, form: Form) -> Response:
    """Dry run of the uploaded file: the diff and the rejected rows, nothing changed."""
    options = _options(form)
    upload = form.get("file")
    data = b""
    if isinstance(upload, UploadFile):
        data = await upload.read()
        await upload.close()  # its spooled file, now rather than at garbage collection
    if not data:
        return _form_page(request, who, status=422, options=options, error="error.no_file")
    outcome, error = await run_in_threadpool(
        attempt, lambda: _run(who, data, options, dry_run=True), who.language)
    if outcome is None:
        return _form_page(request, who, status=422, options=options, error=error)
    await run_in_threadpool(stash_upload, who.context.store, who.session, data, PREVIEW_TTL_S)
    return _form_page(request, who, options=options, preview=_shown(outcome))


@router.post("/import/apply", response_class=HTMLResponse)
def apply(request: Request, who: Writing, form: Form) -> Response:
    options = _options(form)
    data = stashed_upload(who.context.store, who.session)
    if data is None:
        return _form_page(request, who, status=409, options=options, error="error.no_preview")
    outcome, error = attempt(lambda: _run(who, data, options, dry_run=False), who.language)
    if outcome is None:
        return _form_page(request, who, status=409, options=options, error=error)
    drop_upload(who.context.store, who.session)
    who.context.audit(who.session.key, "entries.import", outcome.source,
                      {"mode": outcome.mode.value, **outcome.counts(), "via": "console"})
    return _form_page(request, who, options=options, report=_shown(outcome))


@router.get("/export", response_class=HTMLResponse)
def export_page(request: Request, who: Reading) -> Response:
    return page(request, who, "export.html", sources=who.context.store.sources())


@router.get("/export/download")
def download(who: Reading, source: str = "", format: str = "jsonl") -> Response:
    """The API's export (`api.bulk.export_entries`), as a file to save."""
    chosen: Literal["jsonl", "json"] = "json" if format == "json" else "jsonl"
    known = source if source in who.context.store.sources() else None
    return bulk.export_entries(who.context, who.session.key, known, chosen)
