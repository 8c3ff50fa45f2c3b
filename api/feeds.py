"""`/v1/feeds`: configure regulator feeds, read their run history, and sync one now.

A feed's configuration is checked by `FeedConfig.from_dict` (the rules of the CLI and the
feeds file); a bad one is a 422 naming the field. Two fields need the admin role: `path` (a
file on the API's host) and `auth_env` (the name of an environment variable of the API
process whose value is sent to the feed's URL), since either would let a write key read what
the host holds. The header's value itself is never stored or returned. For the same reason a
write key's feed URL must lead to a public address: a host that is or resolves to a
loopback, private or link-local address is refused (403) unless it is in
CALLSCREEN_FEED_ALLOWED_HOSTS; the download checks every connection again.

A sync runs in a worker thread (download, parse and apply block) under the feed's Redis lock:
409 while another process syncs it. Its answer is the run, whatever the outcome (`refused`
and `failed` runs change nothing and say why), with the diff for a dry run. `force` (admin)
overrides the guard. Deleting a feed forgets its configuration and history; its entries stay
until removed (a forced sync of an empty feed, or deleting them). Every change is audited.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from api.auth import Reader, Writer
from api.context import Context, get_context
from api.feed_models import (
    FeedList,
    FeedOut,
    FeedRunOut,
    FeedRuns,
    FeedSpec,
    FeedStateOut,
    SyncDiff,
    SyncOut,
)
from api.health import entries_changed
from api.models import Text
from api.problems import Problem
from blocklist.errors import ConfigError
from blocklist.store import feeds as feed_store
from blocklist.store.apikeys import ApiKey, Role
from blocklist.sync import manage
from blocklist.sync.config import FORMAT_KEYS, SYNC_KEYS, FeedConfig
from blocklist.sync.download import non_public

router = APIRouter(prefix="/v1/feeds", tags=["feeds"])
Ctx = Annotated[Context, Depends(get_context)]
FeedIdPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.-]{1,64}$", examples=["acm"],
                                 description="the feed's id, also the source of its entries")]
ADMIN_FIELDS = ("path", "auth_env")
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "no such feed"}}
# ConfigError messages start with the offending name ("url 'ftp://x' is not ...", after an
# optional "feed 'acm': "); a few name a nested option by its own word.
_LEADING_NAME = re.compile(r"^(?:feed '[^']*': )?([a-z_]+(?:\.[a-z_]+)?)")
_NESTED = {"column": "delimited.columns", "delimiter": "delimited.delimiter",
           "encoding": "delimited.encoding", "fallback_encoding": "delimited.fallback_encoding",
           "valid_for_years": "bnetza.valid_for_years", "limit": "limits", "source": "id"}


def _config_problem(error: Exception) -> Problem:
    """A 422 naming the configuration field `FeedConfig.from_dict` refused."""
    message = str(error)
    match = _LEADING_NAME.match(message)
    name = match.group(1) if match else ""
    name = _NESTED.get(name, name)
    known = name.split(".")[0] in SYNC_KEYS | FORMAT_KEYS
    location = ["body", *name.split(".")] if known else ["body"]
    return Problem(422, "invalid-request", f"feed configuration: {message}",
                   errors=[{"location": location, "message": message}])


def _run_out(record: Mapping[str, Any]) -> FeedRunOut:
    return FeedRunOut.model_validate({k: record.get(k) for k in FeedRunOut.model_fields})


def _state_out(state: Mapping[str, str]) -> FeedStateOut:
    def moment(name: str) -> dt.datetime | None:
        value = state.get(name)
        return dt.datetime.fromtimestamp(float(value), dt.UTC) if value else None

    return FeedStateOut(last_run=moment("last_run"), last_success=moment("last_success"),
                        etag=state.get("etag"), last_modified=state.get("last_modified"))


def _feed_out(context: Context, feed_id: str, raw: Mapping[str, Any]) -> FeedOut:
    last = feed_store.runs(context.store, feed_id, limit=1)
    return FeedOut(id=feed_id, config=dict(raw),
                   state=_state_out(feed_store.state(context.store, feed_id)),
                   last_run=_run_out(last[0]) if last else None)


def _stored(context: Context, feed_id: str) -> dict[str, Any]:
    raw = feed_store.config(context.store, feed_id)
    if raw is None:
        raise Problem(404, "not-found", f"no feed {feed_id!r} is configured")
    return raw


def _public_url_only(context: Context, key: ApiKey, url: str) -> None:
    """Refuse (403) a URL whose host is or resolves to a loopback, private or link-local
    address, unless the host is in CALLSCREEN_FEED_ALLOWED_HOSTS (the caller is no admin).
    The download checks again, at every connection (`blocklist.sync.download`)."""
    host = (urlsplit(url).hostname or "").rstrip(".")
    if host in context.settings.feed_allowed_hosts:
        return
    found = non_public(host)
    if found is not None:
        address, kind = found
        message = (f"url host {host!r} is a {kind} address ({address}); a feed may point there"
                   " only with an admin key, or with the host in"
                   f" CALLSCREEN_FEED_ALLOWED_HOSTS (key {key.id} has {key.role.value})")
        raise Problem(403, "forbidden", message,
                      errors=[{"location": ["body", "url"], "message": message}])


def _needs_admin(key: ApiKey, what: str) -> None:
    if not key.role.allows(Role.ADMIN):
        raise Problem(403, "forbidden", f"{what} needs the admin role; key {key.id} has"
                      f" {key.role.value}")


@router.get("", summary="List feeds", response_model=FeedList)
def list_feeds(context: Ctx, _key: Reader) -> FeedList:
    """Every configured feed with its state and last run."""
    return FeedList(feeds=[
        FeedOut(id=f["id"], config=f["config"], state=_state_out(f["state"]),
                last_run=_run_out(f["last_run"]) if f["last_run"] else None)
        for f in manage.list_feeds(context.settings, context.store)
    ])


@router.get("/{feed_id}", summary="Read a feed", response_model=FeedOut, responses=_NOT_FOUND)
def read_feed(feed_id: FeedIdPath, context: Ctx, _key: Reader) -> FeedOut:
    return _feed_out(context, feed_id, _stored(context, feed_id))


@router.put("/{feed_id}", summary="Create or replace a feed", response_model=FeedOut,
            responses={201: {"description": "created", "model": FeedOut},
                       409: {"description": "the body's id is not the path's"},
                       403: {"description": "path, auth_env or a non-public url host need"
                                            " the admin role"},
                       422: {"description": "the configuration breaks a rule (`errors` names"
                                            " the field)"}})
def put_feed(feed_id: FeedIdPath, body: FeedSpec, context: Ctx, key: Writer,
             response: Response, reason: Text = "") -> FeedOut:
    """Store the feed's whole configuration; the scheduler picks it up on its next tick."""
    data = body.model_dump(mode="json", exclude_none=True)
    if data.setdefault("id", feed_id) != feed_id:
        # 409, not 422: the body is a valid configuration, of another feed than the path's.
        raise Problem(409, "conflict", f"body id {data['id']!r} is not the path's"
                      f" {feed_id!r}", errors=[{"location": ["body", "id"],
                                                "message": "differs from the path"}])
    for name in ADMIN_FIELDS:
        if name in data:
            _needs_admin(key, f"a feed with {name}")
    try:
        config = FeedConfig.from_dict(data, default_region=context.settings.region)
    except (ConfigError, TypeError, ValueError) as error:
        raise _config_problem(error) from None
    if config.url is not None and not key.role.allows(Role.ADMIN):
        _public_url_only(context, key, config.url)
    existed = feed_store.config(context.store, feed_id) is not None
    feed_store.save_config(context.store, feed_id, config.as_dict())
    context.audit(key, "feed.replace" if existed else "feed.create", feed_id,
                  {"config": config.as_dict()}, reason)
    response.status_code = 200 if existed else 201
    if not existed:
        response.headers["Location"] = f"/v1/feeds/{feed_id}"
    return _feed_out(context, feed_id, config.as_dict())


@router.delete("/{feed_id}", status_code=204, summary="Delete a feed", responses=_NOT_FOUND)
def delete_feed(feed_id: FeedIdPath, context: Ctx, key: Writer, reason: Text = "") -> Response:
    """Forget the feed's configuration and history; its entries stay."""
    if not feed_store.delete_config(context.store, feed_id):
        raise Problem(404, "not-found", f"no feed {feed_id!r} is configured")
    context.audit(key, "feed.delete", feed_id, {}, reason)
    return Response(status_code=204)


@router.get("/{feed_id}/runs", summary="A feed's run history", response_model=FeedRuns,
            responses=_NOT_FOUND)
def feed_runs(feed_id: FeedIdPath, context: Ctx, _key: Reader,
              limit: Annotated[int, Query(ge=1, le=feed_store.MAX_RUNS)] = 20) -> FeedRuns:
    _stored(context, feed_id)
    return FeedRuns(runs=[_run_out(r) for r in manage.history(context.settings, context.store,
                                                               feed_id, limit)])


@router.post("/{feed_id}/sync", summary="Sync a feed now", response_model=SyncOut,
             responses={**_NOT_FOUND,
                        409: {"description": "another process is syncing the feed, or its"
                                             " stored configuration is no longer valid"}})
async def sync_feed(
    feed_id: FeedIdPath,
    request: Request,
    context: Ctx,
    key: Writer,
    dry_run: Annotated[bool, Query(description="compute the diff, change nothing")] = False,
    force: Annotated[bool, Query(description="apply even if the guard refuses (admin)")]
    = False,
    reason: Text = "",
) -> SyncOut:
    """Download, parse, guard and apply (or diff) the feed now; answers the run."""
    if force:
        _needs_admin(key, "force")
    await run_in_threadpool(_stored, context, feed_id)
    try:
        result = await run_in_threadpool(
            manage.sync, context.settings, context.store, feed_id, force=force,
            dry_run=dry_run, actor=key.name, reason=reason)
    except ConfigError as error:  # FeedBusyError, or a stored configuration now refused
        raise Problem(409, "conflict", str(error)) from None
    run = _run_out(result.history())
    if result.outcome == "ok":
        entries_changed(request.app.state)
    if not dry_run and not (result.forced and result.outcome == "ok"):  # the runner audits those
        await run_in_threadpool(context.audit, key, "feed.sync", feed_id,
                                {"outcome": result.outcome, "counts": result.counts,
                                 "forced": result.forced}, reason)
    diff = result.diff() if dry_run and result.applied is not None else None
    return SyncOut(run=run, diff=SyncDiff.model_validate(diff) if diff else None)
