"""The feed scheduler: syncs each enabled feed on its interval, inside the API process.

Start it from the API's lifespan with `run_scheduler(settings, store, stop_event)`. Several API
processes may each run one: a feed is due when its `last_run` (in the store, shared) is older
than its interval, and a process syncs it only under the feed's Redis lock (with expiry, so a
process that dies frees it), re-checking that it is still due once it holds the lock. So each
feed syncs once per interval whatever the number of processes.

The store is synchronous (redis-py): each tick runs in a worker thread, off the event loop.
A failing tick (Redis away) is logged and retried on the next one; it never stops the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping

from blocklist import metrics
from blocklist.errors import CallscreenError
from blocklist.settings import Settings
from blocklist.store import feeds as feed_store
from blocklist.store.admin import Store
from blocklist.sync.config import FeedConfig
from blocklist.sync.manage import lock_ttl_s
from blocklist.sync.runner import RunResult, run_feed

log = logging.getLogger("callscreen.sync")
TICK_S = 5.0


async def run_scheduler(
    settings: Settings,
    store: Store,
    stop_event: asyncio.Event,
    *,
    tick_s: float = TICK_S,
    environ: Mapping[str, str] | None = None,
    on_runs: Callable[[list[RunResult]], None] | None = None,
) -> None:
    """Sync due feeds every `tick_s` seconds until `stop_event` is set; `on_runs` hears of
    each tick's runs (on the event loop: keep it short). Storing CALLSCREEN_FEEDS_FILE is
    the caller's job (`api.background.start` does it, also when syncing is off)."""
    while not stop_event.is_set():
        try:
            results = await asyncio.to_thread(sync_due, settings, store, environ=environ)
            if results and on_runs is not None:
                on_runs(results)
        except CallscreenError as exc:
            log.warning("feed scheduler tick failed: %s", exc)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop_event.wait(), timeout=tick_s)


def sync_due(
    settings: Settings, store: Store, *, environ: Mapping[str, str] | None = None,
    now: float | None = None,
) -> list[RunResult]:
    """Sync every enabled feed that is due, each under its lock. Returns the runs made."""
    results = []
    for feed_id, raw in feed_store.configs(store).items():
        try:
            config = FeedConfig.from_dict(raw, default_region=settings.region)
        except CallscreenError as exc:
            log.error("feed %s: stored configuration is invalid: %s", feed_id, exc)
            continue
        state = feed_store.state(store, feed_id)
        if state.get("last_success"):  # survives restarts, for the stale-feed alert
            metrics.FEED_LAST_SUCCESS.labels(feed_id).set(float(state["last_success"]))
        if not config.enabled or not _due(config, state, now):
            continue
        token = feed_store.acquire_lock(store, feed_id, lock_ttl_s(config))
        if token is None:
            continue  # another process syncs it
        try:
            if not _due(config, feed_store.state(store, feed_id), now):
                continue  # it synced while we looked
            result = run_feed(settings, store, config, environ=environ)
            log.info("feed %s: %s in %.1f s %s %s", feed_id, result.outcome, result.seconds,
                     result.counts, result.reason)
            results.append(result)
        finally:
            feed_store.release_lock(store, feed_id, token)
    return results


def _due(config: FeedConfig, state: Mapping[str, str], now: float | None) -> bool:
    last = state.get("last_run")
    return last is None or float(last) + config.interval_s <= (now or time.time())
