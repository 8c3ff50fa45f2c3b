"""One sync of one feed: download, parse, guard, apply (or dry run), history, metrics.

Outcomes: `ok` (applied), `unchanged` (304: nothing to do), `dry-run` (the diff, nothing
written), `refused` (the guard said no: the list stays exactly as it was), `failed` (the
download or the parse failed: the list stays as it was). A forced sync that overrode the guard
is written to the audit trail. The caller holds the feed's sync lock (`scheduler`, `manage`).
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from blocklist import metrics
from blocklist.errors import CallscreenError, SyncRefusedError
from blocklist.feeds import cached_plans, parse_feed
from blocklist.numbers import NumberPlan
from blocklist.settings import DEFAULT_PROTECTED, Settings
from blocklist.store import feeds as feed_store
from blocklist.store.admin import Store
from blocklist.sync.apply import Outcome, guard_and_apply
from blocklist.sync.config import FeedConfig
from blocklist.sync.download import download

HISTORY_REJECTED_ROWS = 20  # rejected rows kept in a run's history entry
DIFF_KEYS = 1000  # keys per list in a dry run's diff


@dataclass(slots=True)
class RunResult:
    """What one sync did. `outcome` is ok, unchanged, dry-run, refused or failed."""

    feed: str
    outcome: str
    started_at: float
    finished_at: float = 0.0
    reason: str = ""
    forced: bool = False
    actor: str = ""
    applied: Outcome | None = None
    etag: str | None = None
    last_modified: str | None = None
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        return self.finished_at - self.started_at

    def history(self) -> dict[str, Any]:
        """The run history entry: start, end, outcome, counts, first rejected rows."""
        rejected = self.applied.rejected[:HISTORY_REJECTED_ROWS] if self.applied else []
        return {
            "feed": self.feed, "outcome": self.outcome, "reason": self.reason,
            "started_at": _iso(self.started_at), "finished_at": _iso(self.finished_at),
            "seconds": round(self.seconds, 3), "forced": self.forced, "actor": self.actor,
            "counts": self.counts,
            "rejected_rows": [{"line": r.line, "reason": r.reason} for r in rejected],
        }

    def diff(self, limit: int = DIFF_KEYS) -> dict[str, Any]:
        """A dry run's diff: the keys added, removed and changed (first `limit` of each)."""
        applied = self.applied
        if applied is None:
            return {}
        return {
            name: ["+" + k + ("*" if p else "") for k, p in getattr(applied, name)[:limit]]
            for name in ("added", "removed", "changed")
        } | {"rejected": [{"line": r.line, "reason": r.reason}
                          for r in applied.rejected[:limit]]}


def plans_for(settings: Settings) -> Any:
    """`plan_for(region)`: each region's plan protects that region's defaults and, in every
    region, the operator's own protected numbers (a DE feed can't list +31 800 0113 either)."""
    operator = NumberPlan(settings.region, settings.protected_numbers)
    return cached_plans({**DEFAULT_PROTECTED, settings.region: settings.protected_numbers},
                        shared=operator.protected_international())


def run_feed(
    settings: Settings,
    store: Store,
    feed: FeedConfig,
    *,
    force: bool = False,
    dry_run: bool = False,
    actor: str = "scheduler",
    reason: str = "",
    environ: Mapping[str, str] | None = None,
    today: dt.date | None = None,
) -> RunResult:
    """Sync `feed` once; see the module docstring. Raises only StoreError (Redis failed
    while recording the run); every feed problem is an outcome."""
    result = RunResult(feed.id, "failed", time.time(), forced=force, actor=actor)
    state = feed_store.state(store, feed.id)
    if not dry_run:
        feed_store.update_state(store, feed.id, {"last_run": str(int(result.started_at))})
    try:
        _sync(settings, store, feed, result, state, force=force, dry_run=dry_run,
              environ=os.environ if environ is None else environ,
              today=today or dt.datetime.now(dt.UTC).date())
    except SyncRefusedError as exc:
        result.outcome, result.reason = "refused", str(exc)
    except CallscreenError as exc:
        result.outcome, result.reason = "failed", str(exc)
    result.finished_at = time.time()
    _record(store, feed, result, reason)
    return result


def _sync(settings: Settings, store: Store, feed: FeedConfig, result: RunResult,
          state: Mapping[str, str], *, force: bool, dry_run: bool,
          environ: Mapping[str, str], today: dt.date) -> None:
    # A forced or dry run wants the body even when the feed has not changed.
    conditional = not (force or dry_run)
    fetched = download(
        feed, etag=state.get("etag") if conditional else None,
        last_modified=state.get("last_modified") if conditional else None, environ=environ,
        allowed_hosts=settings.feed_allowed_hosts,
    )
    result.etag, result.last_modified = fetched.etag, fetched.last_modified
    if fetched.unchanged:
        result.outcome, result.reason = "unchanged", "304 Not Modified"
        return
    parsed = parse_feed(fetched.body, feed.format, feed.formatting, plan_for=plans_for(settings),
                        today=today, added_by=f"feed:{feed.id}")
    metrics.FEED_ROWS_REJECTED.labels(feed.id).inc(len(parsed.errors))
    result.counts = {"read": parsed.rows_read, "accepted": len(parsed.records),
                     "rejected": len(parsed.errors), "skipped_expired": parsed.skipped_expired}
    outcome = guard_and_apply(store, parsed, feed.id, max_removal_ratio=feed.max_removal_ratio,
                              force=force, dry_run=dry_run, shadow=feed.shadow)
    result.applied = outcome
    result.counts = outcome.counts()
    result.outcome = "dry-run" if dry_run else "ok"
    if outcome.overridden:
        result.reason = "forced past: " + "; ".join(outcome.overridden)


def _record(store: Store, feed: FeedConfig, result: RunResult, reason: str) -> None:
    metrics.FEED_SYNCS.labels(feed.id, result.outcome).inc()
    metrics.FEED_SYNC_SECONDS.labels(feed.id).observe(result.seconds)
    if result.outcome in ("ok", "unchanged"):
        metrics.FEED_LAST_SUCCESS.labels(feed.id).set(result.finished_at)
        feed_store.update_state(store, feed.id, {
            "last_success": str(int(result.finished_at)), "etag": result.etag,
            "last_modified": result.last_modified,
        } if result.outcome == "ok" else {"last_success": str(int(result.finished_at))})
    feed_store.add_run(store, feed.id, result.history())
    if result.forced and result.outcome == "ok":
        from blocklist.store import audit

        audit.record(store, result.actor or "unknown", "feed.sync.forced", feed.id,
                     {"counts": result.counts, "overrode": result.reason}, reason)


def _iso(moment: float) -> str:
    return dt.datetime.fromtimestamp(moment, dt.UTC).isoformat(timespec="seconds")
