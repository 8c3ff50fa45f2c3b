"""What the API process does besides answering requests, started and stopped by the app's
lifespan:

- at start, the feeds of `CALLSCREEN_FEEDS_FILE` not stored yet are stored (feeds changed
  through the API win over the file);
- with `CALLSCREEN_FEED_SYNC` on (the default), the feed scheduler
  (`blocklist.sync.scheduler.run_scheduler`) syncs each enabled feed on its interval, and
  every `purge_interval_s` entries past their `valid_until` are removed from their sources.
  The call path already ignores them; the purge keeps lists, exports and counts honest. With
  several API processes, a Redis lock held for the interval lets one of them purge. With
  `CALLSCREEN_FEED_SYNC` off the process changes nothing on its own: no sync, no purge.
- always, every `PRIMARY_CHECK_S`, a test write to the primary sets
  `callscreen_primary_reachable` (1 or 0), and a primary the Sentinels name anew counts in
  `callscreen_failovers_followed_total`.

The store is blocking (redis-py): all of this runs in worker threads, off the event loop. A
failure (Redis away) is logged and retried on the next round; it never stops the API.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from blocklist import metrics
from blocklist.errors import CallscreenError
from blocklist.settings import Settings
from blocklist.store import locks
from blocklist.store.admin import Store
from blocklist.sync.manage import seed_from_file
from blocklist.sync.runner import RunResult
from blocklist.sync.scheduler import TICK_S, run_scheduler

log = logging.getLogger("callscreen.api")
PURGE_INTERVAL_S = 3600.0
PURGE_CHECK_S = 60.0  # how often a process tries to take the purge turn
STOP_WAIT_S = 30.0  # at shutdown, how long a sync in progress may take to finish
PRIMARY_CHECK_S = 5.0  # how often the primary's reachability for writes is checked


@dataclass
class Background:
    """The running background tasks; `stop()` ends them."""

    stop_event: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def stop(self, wait_s: float = STOP_WAIT_S) -> None:
        """Ask every task to end, wait for a sync in progress, then cancel what is left."""
        self.stop_event.set()
        if not self.tasks:
            return
        _done, pending = await asyncio.wait(self.tasks, timeout=wait_s)
        for task in pending:
            log.warning("background task %s did not stop within %g s; cancelled",
                        task.get_name(), wait_s)
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def start(
    settings: Settings,
    store: Store,
    on_change: Callable[[], None],
    *,
    tick_s: float = TICK_S,
    purge_interval_s: float = PURGE_INTERVAL_S,
    purge_check_s: float = PURGE_CHECK_S,
) -> Background:
    """Seed the feeds file, then (if `settings.feed_sync`) start the scheduler and the purge.
    `on_change` is called on the event loop when a sync or a purge changed entries."""
    if settings.feeds_file:
        try:
            added = await asyncio.to_thread(seed_from_file, settings, store, settings.feeds_file)
            if added:
                log.info("feeds stored from %s: %s", settings.feeds_file, ", ".join(added))
        except CallscreenError as error:
            log.error("feeds file not loaded: %s", error)
    background = Background()
    watch = asyncio.create_task(primary_watch(store, background.stop_event), name="primary-watch")
    watch.add_done_callback(_log_crash)
    background.tasks.append(watch)

    def synced(results: list[RunResult]) -> None:
        if any(r.outcome == "ok" for r in results):
            on_change()

    if not settings.feed_sync:
        return background
    scheduler = run_scheduler(settings, store, background.stop_event, tick_s=tick_s,
                              on_runs=synced)
    purge = purge_loop(store, background.stop_event, on_change, interval_s=purge_interval_s,
                       check_s=purge_check_s)
    background.tasks += [asyncio.create_task(scheduler, name="feed-scheduler"),
                         asyncio.create_task(purge, name="purge-expired")]
    for task in background.tasks:
        task.add_done_callback(_log_crash)
    return background


async def primary_watch(store: Store, stop_event: asyncio.Event, *,
                        check_s: float = PRIMARY_CHECK_S) -> None:
    """Until `stop_event`: every `check_s`, can the primary be written? (the metric above)."""
    primary: str | None = None
    while not stop_event.is_set():
        try:
            named = await asyncio.to_thread(store.primary)
            if primary is not None and named != primary:
                metrics.FAILOVERS_FOLLOWED.inc()
                log.warning("the Sentinels name a new primary: %s (was %s)", named, primary)
            primary = named
            await asyncio.to_thread(store.check_primary)
            metrics.PRIMARY_REACHABLE.set(1)
        except CallscreenError as error:
            metrics.PRIMARY_REACHABLE.set(0)
            log.warning("the primary is not reachable for writes: %s", error)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop_event.wait(), timeout=check_s)


async def purge_loop(store: Store, stop_event: asyncio.Event, on_change: Callable[[], None],
                     *, interval_s: float, check_s: float) -> None:
    """Until `stop_event`: every `check_s`, try to take this interval's purge turn."""
    while not stop_event.is_set():
        try:
            removed = await asyncio.to_thread(purge_if_due, store, interval_s)
            if removed:
                on_change()
        except CallscreenError as error:
            log.warning("purge of expired entries failed: %s", error)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop_event.wait(), timeout=check_s)


def purge_if_due(store: Store, interval_s: float) -> int:
    """Purge expired entries if no process has in the last `interval_s`; how many went."""
    if not locks.acquire(store, "purge", interval_s):
        return 0
    removed = store.purge_expired()
    if removed:
        log.info("purged %d expired entries", removed)
    return removed


def _log_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("background task %s crashed", task.get_name(), exc_info=task.exception())
