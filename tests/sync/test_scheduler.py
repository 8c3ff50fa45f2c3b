"""The scheduler: due feeds sync on their interval, once, whatever the number of processes."""

from __future__ import annotations

import asyncio

from blocklist.settings import Settings
from blocklist.store import feeds as feed_store
from blocklist.store.admin import Store
from blocklist.sync import manage
from blocklist.sync.scheduler import run_scheduler
from tests.sync.conftest import FeedServer
from tests.sync.test_runner import csv


async def test_two_schedulers_sync_a_feed_once(
    redis_url: str, store: Store, settings: Settings, feed_server: FeedServer
) -> None:
    """Two schedulers on one store: each due feed syncs once per interval, not twice."""
    feed_server.body("/acm.csv", csv(5))
    manage.add_feed(settings, store, {"id": "acm", "url": feed_server.url("/acm.csv"),
                                      "format": "delimited", "interval_s": 60}, actor="test")
    stop = asyncio.Event()
    stores = [Store.from_url(redis_url), Store.from_url(redis_url)]
    tasks = [asyncio.create_task(run_scheduler(settings, s, stop, tick_s=0.05)) for s in stores]
    await asyncio.sleep(1.0)
    stop.set()
    await asyncio.gather(*tasks)
    assert feed_server.hits["/acm.csv"] == 1
    assert [r["outcome"] for r in feed_store.runs(store, "acm")] == ["ok"]
    assert len(store.source_entries("acm")) == 5


async def test_short_interval_syncs_again_and_304_costs_nothing(
    store: Store, settings: Settings, feed_server: FeedServer
) -> None:
    """With a 1 s interval the feed syncs again; the unchanged feed answers 304."""
    feed_server.body("/acm.csv", csv(5), etag='"e1"')
    manage.add_feed(settings, store, {"id": "acm", "url": feed_server.url("/acm.csv"),
                                      "format": "delimited", "interval_s": 1}, actor="test")
    stop = asyncio.Event()
    task = asyncio.create_task(run_scheduler(settings, store, stop, tick_s=0.1))
    await asyncio.sleep(2.5)
    stop.set()
    await task
    outcomes = [r["outcome"] for r in feed_store.runs(store, "acm")]
    assert outcomes[-1] == "ok" and set(outcomes[:-1]) == {"unchanged"} and len(outcomes) >= 2
