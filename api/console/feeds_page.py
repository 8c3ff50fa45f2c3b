"""Feeds: each feed's freshness (the age of its last success against its interval; stale
past `STALE_INTERVALS` intervals), last outcome and counts, rejected rows and run history; a
dry run with its diff, sync now, and promote from shadow. Through the API's own handlers
(`api.feeds`): the same lock, guard and audit."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from api import feeds
from api.console.web import (
    PREFIX,
    Form,
    Reading,
    Writing,
    after_change,
    attempt,
    error_text,
    page,
)
from api.console.web import text_field as field
from api.feed_models import FeedOut, FeedSpec
from api.problems import Problem

router = APIRouter(prefix=PREFIX, include_in_schema=False)
STALE_INTERVALS = 2  # one missed sync may be a slow server; two is a feed gone quiet
DEFAULT_INTERVAL_S = 3600.0
RUNS_SHOWN = 20


def freshness(feed: FeedOut, now: dt.datetime) -> dict[str, Any]:
    """Age of the last success in seconds (None: never), the interval, and whether stale."""
    interval = float(feed.config.get("interval_s") or DEFAULT_INTERVAL_S)
    success = feed.state.last_success
    age = (now - success).total_seconds() if success else None
    stale = age is None or age > STALE_INTERVALS * interval
    return {"age_s": age, "interval_s": interval, "stale": stale,
            "enabled": feed.config.get("enabled", True) is not False}


def age_text(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes = int(seconds // 60)
    if minutes < 120:
        return f"{minutes} min"
    hours = minutes // 60
    return f"{hours} h" if hours < 48 else f"{hours // 24} d"


@router.get("/feeds", response_class=HTMLResponse)
def list_page(request: Request, who: Reading) -> Response:
    listed = feeds.list_feeds(who.context, who.session.key).feeds
    now = dt.datetime.now(dt.UTC)
    return page(request, who, "feeds.html", feeds=[(f, freshness(f, now)) for f in listed],
                age_text=age_text)


def _detail(request: Request, who: Reading, feed_id: str, *, status: int = 200,
            sync: Any = None, error: str | None = None) -> Response:
    feed, missing = attempt(lambda: feeds.read_feed(feed_id, who.context, who.session.key),
                            who.language)
    if feed is None:
        return page(request, who, "refused.html", status=404, message_key="error.not_found",
                    values={"what": feed_id[:64], "detail": missing})
    runs = feeds.feed_runs(feed_id, who.context, who.session.key, RUNS_SHOWN).runs
    return page(request, who, "feed.html", status=status, feed=feed, runs=runs,
                fresh=freshness(feed, dt.datetime.now(dt.UTC)), sync=sync, error=error,
                age_text=age_text)


@router.get("/feeds/{feed_id}", response_class=HTMLResponse)
def feed_page(request: Request, who: Reading, feed_id: str) -> Response:
    return _detail(request, who, feed_id[:64])


@router.post("/feeds/{feed_id}/sync", response_class=HTMLResponse)
async def sync_now(request: Request, who: Writing, form: Form, feed_id: str) -> Response:
    """Sync now, or a dry run (`dry_run=1`) whose diff the page shows."""
    dry_run = field(form, "dry_run") == "1"
    try:
        result = await feeds.sync_feed(feed_id[:64], request, who.context, who.session.key,
                                       dry_run=dry_run, force=False,
                                       reason=field(form, "reason")[:500])
    except Problem as problem:
        return _detail(request, who, feed_id[:64], status=problem.status,
                       error=error_text(who.language, problem.detail, problem.code,
                                        problem.values))
    return _detail(request, who, feed_id[:64], sync=result)


@router.post("/feeds/{feed_id}/promote", response_class=HTMLResponse)
def promote(request: Request, who: Writing, form: Form, feed_id: str) -> Response:
    """Take a feed out of shadow: its entries start to act on calls."""

    def promoted() -> FeedOut:
        stored = feeds.read_feed(feed_id[:64], who.context, who.session.key)
        spec = FeedSpec.model_validate({**stored.config, "shadow": False})
        return feeds.put_feed(feed_id[:64], spec, who.context, who.session.key, Response(),
                              field(form, "reason")[:500] or "promoted from shadow")

    done, error = attempt(promoted, who.language)
    if done is None:
        return _detail(request, who, feed_id[:64], status=422, error=error)
    return after_change(f"{PREFIX}/feeds/{feed_id[:64]}", "promoted", feed_id[:64])
