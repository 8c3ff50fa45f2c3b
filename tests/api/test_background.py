"""The API process's background work: the feed scheduler, the feeds file, the purge."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from pathlib import Path

import httpx

from api import background
from blocklist.entries import AppliesTo, Category, Entry
from blocklist.settings import Settings
from blocklist.store import feeds as feed_store
from blocklist.store.admin import Store
from blocklist.values import replace
from tests.api.conftest import serve
from tests.sync.conftest import FeedServer
from tests.sync.test_runner import csv


def feeds_file(tmp_path: Path, server: FeedServer) -> str:
    path = tmp_path / "feeds.json"
    path.write_text(json.dumps({"feeds": [{"id": "acm", "url": server.url("/acm.csv"),
                                           "format": "delimited", "interval_s": 1,
                                           "retries": 0, "timeout_s": 5}]}))
    return str(path)


def entry(number: str, valid_until: dt.date | None) -> Entry:
    return Entry(key=number, is_prefix=False, category=Category.FRAUD,
                 applies_to=AppliesTo.BOTH, source="manual", valid_until=valid_until)


def wait_for(condition: object, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return True
        time.sleep(0.05)
    return False


def test_feeds_file_feed_syncs_without_anyone_asking(
    api_settings: Settings, store: Store, feed_server: FeedServer, tmp_path: Path
) -> None:
    """With feed sync on, a feed named in the feeds file is stored and synced by the API
    process itself, and the entry gauge counts its entries on the next scrape."""
    feed_server.body("/acm.csv", csv(5))
    settings = replace(api_settings, feed_sync=True, feeds_file=feeds_file(tmp_path, feed_server))
    with serve(settings) as url:
        assert wait_for(lambda: len(store.source_entries("acm")) == 5)
        metrics = httpx.get(f"{url}/metrics").text
    assert list(feed_store.configs(store)) == ["acm"]
    assert feed_store.runs(store, "acm")[-1]["actor"] == "scheduler"
    assert 'callscreen_entries{category="revoked",source="acm"} 5.0' in metrics


def test_feed_sync_off_stores_the_feeds_but_never_syncs(
    api_settings: Settings, store: Store, feed_server: FeedServer, tmp_path: Path
) -> None:
    """CALLSCREEN_FEED_SYNC=off: the feeds file is stored, nothing is downloaded or purged."""
    feed_server.body("/acm.csv", csv(5))
    settings = replace(api_settings, feed_sync=False,
                       feeds_file=feeds_file(tmp_path, feed_server))
    with serve(settings):
        assert wait_for(lambda: "acm" in feed_store.configs(store))
        time.sleep(1.5)
    assert feed_server.hits.get("/acm.csv", 0) == 0
    assert store.redis.keys("*lock:purge") == []
    assert store.source_entries("acm") == {}
    assert feed_store.runs(store, "acm") == []


def test_server_start_purges_expired_entries(api_settings: Settings, store: Store) -> None:
    """Entries past their valid_until are removed from the store soon after the API starts."""
    yesterday = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    store.add_entries([entry("31855550101", yesterday), entry("31855550102", None)])
    with serve(replace(api_settings, feed_sync=True)):
        assert wait_for(lambda: len(store.source_entries("manual")) == 1)
    assert list(store.source_entries("manual")) == [("31855550102", False)]


def test_one_purge_per_interval_across_processes(store: Store) -> None:
    """The purge turn is a lock held for the interval: a second process skips it."""
    yesterday = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    store.add_entries([entry("31855550101", yesterday)])
    assert background.purge_if_due(store, 3600) == 1
    assert store.redis.keys("*lock:purge")
    store.add_entries([entry("31855550103", yesterday)])
    assert background.purge_if_due(store, 3600) == 0
    assert len(store.source_entries("manual")) == 1


async def test_stop_ends_every_task(settings: Settings, store: Store) -> None:
    """stop() ends the scheduler and the purge loop without cancelling them."""
    changes: list[int] = []
    running = await background.start(replace(settings, feed_sync=True), store,
                                     lambda: changes.append(1), tick_s=0.05, purge_check_s=0.05)
    assert {t.get_name() for t in running.tasks} == {"primary-watch", "feed-scheduler",
                                                      "purge-expired"}
    await asyncio.sleep(0.2)
    await running.stop(wait_s=5)
    assert all(t.done() and not t.cancelled() for t in running.tasks)


async def test_a_scheduled_sync_reports_a_change(
    settings: Settings, store: Store, feed_server: FeedServer
) -> None:
    """When the scheduler applies a feed, on_change is called (the entry gauge recounts)."""
    feed_server.body("/acm.csv", csv(3))
    feed_store.save_config(store, "acm", {"id": "acm", "url": feed_server.url("/acm.csv"),
                                          "format": "delimited", "retries": 0})
    changes: list[int] = []
    running = await background.start(replace(settings, feed_sync=True), store,
                                     lambda: changes.append(1), tick_s=0.05)
    for _ in range(100):
        if changes:
            break
        await asyncio.sleep(0.05)
    await running.stop(wait_s=5)
    assert changes and len(store.source_entries("acm")) == 3
