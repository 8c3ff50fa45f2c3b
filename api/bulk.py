"""`/v1/entries/import` (an upload of any supported feed format) and `/v1/entries/export`
(every entry as `screening-feed/v1`, streamed).

Import parses with `blocklist.feeds.parse_feed` (the same parsers as the feed sync and
`callscreen import`), then applies: a `snapshot` replaces the source's list through
`Store.apply_snapshot` (the guard refuses wiping it, or dropping more than `max_removal`,
unless `force`, which needs the admin role); a `delta` adds and removes. A feed whose own
`record_count` or `sha256` disagrees is refused unless forced. `dry_run` reports the diff of a
snapshot and changes nothing. The snapshot of `manual` and `reports` is refused: it would
wipe entries people made.

Export streams JSON Lines (default) or one JSON document; the header carries `record_count`
and `sha256` as `blocklist.feeds.screening_feed` documents them, so the output imports back.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from typing import Annotated, Any, Literal, get_args

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import ValidationError

from api.auth import Reader, Writer
from api.context import Context, get_context
from api.feed_models import FormatSpec
from api.models import ImportReport, Region, RowProblem
from api.problems import Problem
from blocklist.entries import AppliesTo, Category, Entry
from blocklist.errors import ConfigError
from blocklist.feeds import FORMATS, FeedFormatConfig, ParsedFeed, parse_feed
from blocklist.feeds.export import record_of
from blocklist.feeds.screening_feed import FORMAT as SCREENING_FEED
from blocklist.store.apikeys import Role
from blocklist.store.catalog import all_entries
from blocklist.sync.apply import guard_and_apply
from blocklist.sync.runner import plans_for

router = APIRouter(prefix="/v1/entries", tags=["bulk"])
Ctx = Annotated[Context, Depends(get_context)]
SourceQuery = Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
MAX_REJECTED_SHOWN = 1000
EXPORT_BATCH = 1000
FeedFormat = Literal["screening-feed/v1", "delimited", "bnetza", "plain"]
assert set(get_args(FeedFormat)) == set(FORMATS), "keep FeedFormat in step with the parsers"
_UPLOAD = {"description": "the feed file, as is", "required": True, "content": {
    media: {"schema": {"type": "string", "format": "binary"}} for media in (
        "application/json", "application/x-ndjson", "text/csv", "text/plain",
        "application/octet-stream")}}


def _config(context: Context, config: str | None, overrides: dict[str, Any]) -> FeedFormatConfig:
    try:
        spec = FormatSpec.model_validate_json(config or "{}")
    except ValidationError as error:
        first = error.errors()[0]
        where = [str(p) for p in first["loc"]]
        message = f"config: {'.'.join(where) or 'the JSON'}: {first['msg']}"
        raise Problem(422, "invalid-request", message, errors=[
            {"location": ["query", "config", *where], "message": first["msg"]}]) from None
    data = spec.model_dump(mode="json", exclude_none=True)
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return FeedFormatConfig.from_dict(data, default_region=context.settings.region)
    except (ConfigError, TypeError) as error:
        raise Problem(422, "invalid-request", f"config: {error}") from None


def _apply(context: Context, parsed: ParsedFeed, *, force: bool, dry_run: bool,
           max_removal: float) -> ImportReport:
    """The same guard and apply as `callscreen import` and the sync; a refusal raises
    SyncRefusedError, which answers 409 import-refused."""
    outcome = guard_and_apply(context.store, parsed, parsed.header.source,
                              max_removal_ratio=max_removal, force=force, dry_run=dry_run)
    return ImportReport(
        source=outcome.source, mode=outcome.mode.value, dry_run=dry_run, forced=force,
        added=len(outcome.added), removed=len(outcome.removed), changed=len(outcome.changed),
        unchanged=outcome.unchanged, rows_read=parsed.rows_read,
        skipped_expired=parsed.skipped_expired, rejected_count=len(parsed.errors),
        rejected=[RowProblem(line=e.line, reason=e.reason)
                  for e in parsed.errors[:MAX_REJECTED_SHOWN]],
        integrity_errors=list(parsed.integrity_errors),
    )


@router.post("/import", summary="Import a feed file", response_model=ImportReport,
             openapi_extra={"requestBody": _UPLOAD},
             responses={409: {"description": "refused by the guard (say force to override)"},
                        413: {"description": "larger than CALLSCREEN_API_MAX_UPLOAD_MB"},
                        422: {"description": "the upload can't be read as this format"}})
async def import_entries(
    request: Request,
    context: Ctx,
    key: Writer,
    format: Annotated[FeedFormat, Query(description="the file's format")] = "screening-feed/v1",
    source: SourceQuery = None,
    region: Annotated[Region | None, Query()] = None,
    category: Category | None = None,
    applies_to: AppliesTo | None = None,
    config: Annotated[str | None, Query(max_length=8000, description=(
        "the format's options as JSON (FormatSpec: delimited columns, limits, ...)"))]
    = None,
    dry_run: bool = False,
    force: Annotated[bool, Query(description="apply even if the guard refuses (admin)")]
    = False,
    max_removal: Annotated[float, Query(ge=0, le=1)] = 0.2,
) -> ImportReport:
    """Parse and apply one uploaded feed; the report lists refused rows with line numbers."""
    if force and not key.role.allows(Role.ADMIN):
        raise Problem(403, "forbidden", f"force needs the admin role; key {key.id} has"
                      f" {key.role.value}")
    feed_config = _config(context, config, {
        "source": source, "region": region,
        "category": category.value if category else None,
        "applies_to": applies_to.value if applies_to else None,
    })
    if format != SCREENING_FEED and feed_config.source is None:
        raise Problem(422, "invalid-request", f"a {format} upload needs a source",
                      errors=[{"location": ["query", "source"], "message": "required"}])
    data = await request.body()  # the size cap is enforced by api.limits
    if not data:
        raise Problem(422, "invalid-feed", "the upload is empty")
    try:
        parsed = await run_in_threadpool(
            parse_feed, data, format, feed_config, plan_for=plans_for(context.settings),
            today=dt.datetime.now(dt.UTC).date(), added_by=key.name)
    except ConfigError as error:  # a region without a numbering plan, say
        raise Problem(422, "invalid-request", f"config: {error}") from None
    report = await run_in_threadpool(_apply, context, parsed, force=force, dry_run=dry_run,
                                     max_removal=max_removal)
    if not dry_run:
        await run_in_threadpool(context.audit, key, "entries.import", report.source,
                                report.model_dump(exclude={"rejected"}),
                                "forced" if force else "")
    return report


def _exported(entries: list[Entry], source: str, jsonl: bool) -> Iterator[bytes]:
    """The screening-feed/v1 bytes of `entries`, a batch of records at a time."""
    dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
    canonical = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, sort_keys=True).encode
    digest = hashlib.sha256()
    if not jsonl:
        digest.update(b"[")
    for n, entry in enumerate(entries):  # first pass: the checksum, without keeping lines
        if jsonl:
            digest.update(dumps(record_of(entry)).encode() + b"\n")
        else:
            digest.update((b"," if n else b"") + canonical(record_of(entry)).encode())
    if not jsonl:
        digest.update(b"]")
    header = {"format": SCREENING_FEED, "source": source, "mode": "snapshot",
              "generated_at": dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z"),
              "record_count": len(entries), "sha256": digest.hexdigest()}
    yield (dumps({"feed": header}) + "\n").encode() if jsonl else (
        '{"feed":' + dumps(header) + ',"records":[').encode()
    for start in range(0, len(entries), EXPORT_BATCH):
        batch = [dumps(record_of(e)) for e in entries[start:start + EXPORT_BATCH]]
        if jsonl:
            yield ("\n".join(batch) + "\n").encode()
        else:
            yield (("," if start else "") + ",".join(batch)).encode()
    if not jsonl:
        yield b"]}\n"


@router.get("/export", summary="Export entries as screening-feed/v1",
            response_class=StreamingResponse,
            responses={200: {"description": "a screening-feed/v1 snapshot", "content": {
                "application/x-ndjson": {}, "application/json": {}}}})
def export_entries(
    context: Ctx,
    _key: Reader,
    source: SourceQuery = None,
    format: Literal["jsonl", "json"] = "jsonl",
) -> StreamingResponse:
    """Every entry (or one source's) as a snapshot; without `source` the header names
    `callscreen-export` and the records keep no source."""
    entries = sorted(all_entries(context.store, [source] if source else None),
                     key=lambda e: (e.key, e.is_prefix, e.source))
    label = source or "callscreen-export"
    jsonl = format == "jsonl"
    media = "application/x-ndjson" if jsonl else "application/json"
    return StreamingResponse(_exported(entries, label, jsonl), media_type=media, headers={
        "Content-Disposition": f'attachment; filename="{label}.{format}"'})
