"""Activity counting and reading (`blocklist.store.activity_counter`, `...activity`) on a real
Redis: counted in memory, flushed through a real multiplexer connection, read back by window."""

from __future__ import annotations

import datetime as dt

import pytest

from blocklist import metrics
from blocklist.entries import Action, Category, Direction, Listing, Match
from blocklist.policy import Decision, Reason
from blocklist.store.activity import (
    MAX_SERIES_HOURS,
    Window,
    entry_activity,
    hourly,
    top,
    window_start,
)
from blocklist.store.activity_counter import ActivityCounter, ActivityFlusher, flush_commands
from blocklist.store.multiplexer import Multiplexer
from blocklist.store.wire import RedisAddress

# Near the real time: a five-minute bucket expires an hour after it ends, so one written for
# a fixed date in the past would be gone at once.
NOW = dt.datetime.now(dt.UTC).replace(minute=30, second=0, microsecond=0)
FRAUD = Listing(Category.FRAUD, Category.FRAUD)


def listed(key: str, action: Action, *, prefix: bool = False,
           shadow: tuple[Match, ...] = ()) -> Decision:
    return Decision(action, Reason.LISTED, "policy", e164="+" + key,
                    matched=Match(key, prefix, FRAUD), shadow=shadow)


def flush(store, counter: ActivityCounter, at: dt.datetime) -> None:
    """Apply one flush of `counter` at `at` with redis-py (the same commands the server sends)."""
    pipe = store.redis.pipeline(transaction=False)
    for command in flush_commands(store.keys, counter.take(), at.timestamp()):
        pipe.execute_command(*command)
    pipe.execute()


def test_counter_counts_the_deciding_and_shadow_matches() -> None:
    """A call counts against its deciding key and each shadow key; an unlisted call not at all."""
    counter = ActivityCounter()
    counter.record(Direction.INBOUND, listed("31855550101", Action.BLOCK))
    counter.record(Direction.INBOUND, listed("31855550101", Action.BLOCK))
    counter.record(Direction.OUTBOUND, listed("3190055", Action.WARN, prefix=True,
                                              shadow=(Match("31900555", True, FRAUD),)))
    counter.record(Direction.INBOUND, Decision(Action.ALLOW, Reason.NOT_LISTED, "not-listed"))
    assert counter.take() == {("31855550101", "ib"): 2, ("3190055*", "ow"): 1,
                              ("31900555*", "os"): 1}
    assert counter.take() == {}


def test_windows_sum_their_buckets(store) -> None:
    """Hour, day and 30-day figures each add up the hits of their own buckets only."""
    counter = ActivityCounter()
    for at, hits in ((NOW - dt.timedelta(days=40), 7), (NOW - dt.timedelta(days=3), 5),
                     (NOW - dt.timedelta(hours=5), 3), (NOW, 2)):
        for _ in range(hits):
            counter.record(Direction.INBOUND, listed("31855550101", Action.BLOCK))
        flush(store, counter, at)
    counter.record(Direction.OUTBOUND, listed("31855550101", Action.WARN))
    flush(store, counter, NOW)
    found = entry_activity(store, "31855550101", now=NOW)
    assert found.windows[Window.HOUR].inbound["block"] == 2
    assert found.windows[Window.HOUR].outbound["warn"] == 1
    assert found.windows[Window.DAY].total == 6
    assert found.windows[Window.DAYS_30].total == 11  # the 40-day-old hits are outside
    assert found.last_seen == NOW.replace(microsecond=0)
    assert found.since[Window.DAY] == NOW.replace(minute=0) - dt.timedelta(hours=23)
    assert found.since[Window.HOUR] == NOW - dt.timedelta(minutes=55)


def test_top_orders_by_hits_and_filters_by_direction(store) -> None:
    """The top list is most hits first; a direction filter counts only that direction."""
    counter = ActivityCounter()
    for key, direction, hits in (("31855550101", Direction.INBOUND, 3),
                                 ("31855550102", Direction.OUTBOUND, 5),
                                 ("3190055", Direction.INBOUND, 1)):
        for _ in range(hits):
            counter.record(direction, listed(key, Action.BLOCK, prefix=key == "3190055"))
    flush(store, counter, NOW)
    assert [a.key for a in top(store, Window.HOUR, now=NOW)] == [
        "31855550102", "31855550101", "3190055*"]
    inbound = top(store, Window.DAY, direction=Direction.INBOUND, now=NOW)
    assert [(a.key, a.figures.total) for a in inbound] == [("31855550101", 3), ("3190055*", 1)]
    assert top(store, Window.HOUR, limit=1, now=NOW)[0].key == "31855550102"
    assert top(store, Window.HOUR, now=NOW + dt.timedelta(hours=1)) == []


def test_hourly_series_has_a_bucket_per_hour(store) -> None:
    """The series has one point per hour, zeros where nothing happened, for one key or all."""
    counter = ActivityCounter()
    counter.record(Direction.INBOUND, listed("31855550101", Action.BLOCK))
    flush(store, counter, NOW - dt.timedelta(hours=2))
    counter.record(Direction.OUTBOUND, listed("31855550102", Action.BLOCK))
    flush(store, counter, NOW)
    series = hourly(store, None, 3, now=NOW)
    top_of_hour = NOW.replace(minute=0)
    assert [(p.hour, p.inbound, p.outbound) for p in series] == [
        (top_of_hour - dt.timedelta(hours=2), 1, 0), (top_of_hour - dt.timedelta(hours=1), 0, 0),
        (top_of_hour, 0, 1)]
    assert [p.inbound for p in hourly(store, "31855550102", 3, now=NOW)] == [0, 0, 0]
    with pytest.raises(ValueError, match="721"):
        hourly(store, None, MAX_SERIES_HOURS + 1, now=NOW)


def test_buckets_expire_and_store_no_subscriber(store) -> None:
    """Every activity key has an expiry of about 31 days, and none holds a subscriber."""
    counter = ActivityCounter()
    counter.record(Direction.INBOUND, listed("31855550101", Action.BLOCK))
    flush(store, counter, dt.datetime.now(dt.UTC))
    names = store.redis.keys("{cs}:act:*")
    assert len(names) == 4
    for name in names:
        low = 3000 if ":act:m:" in name else 30 * 86400
        assert low < store.redis.ttl(name) <= 32 * 86400
    stored = [str(v) for name in names if store.redis.type(name) == "hash"
              for kv in store.redis.hgetall(name).items() for v in kv]
    assert {s.partition("|")[0] for s in stored if "|" in s} == {"31855550101", "all"}


def test_memory_per_active_number(store) -> None:
    """Documents the memory an active number costs: 100 numbers hit every hour for a day."""
    counter = ActivityCounter()
    for hour in range(24):
        for n in range(100):
            counter.record(Direction.INBOUND, listed(f"3185555{n:04d}", Action.BLOCK))
        flush(store, counter, NOW - dt.timedelta(hours=hour))
    used = sum(store.redis.memory_usage(name) for name in store.redis.keys("{cs}:act:*"))
    per_number_day = used / 100
    # Measured 610 bytes a number and day here (24 hourly fields, one daily, a last-seen
    # member, the five-minute buckets of the last hour; hashes under 128 fields are
    # listpacks), 1.7 KB at 1000 numbers an hour (hash tables): a number active every hour of
    # the 31 days kept costs 19-52 KB.
    print(f"activity memory per active number and day: {per_number_day:.0f} bytes")
    assert 300 < per_number_day < 4000, per_number_day


async def test_flusher_sends_counts_over_a_real_connection(redis_url: str, store) -> None:
    """The flusher empties the counter into Redis; a failed flush is dropped and counted."""
    counter = ActivityCounter()
    mux = Multiplexer(RedisAddress.from_url(redis_url))
    flusher = ActivityFlusher(counter, mux, store.keys, 60, clock=NOW.timestamp)
    counter.record(Direction.INBOUND, listed("31855550101", Action.BLOCK))
    assert await flusher.flush()
    assert entry_activity(store, "31855550101", now=NOW).windows[Window.HOUR].total == 1
    await mux.close()

    down = ActivityFlusher(counter, Multiplexer(RedisAddress(port=1)), store.keys, 60)
    errors = metrics.ACTIVITY_FLUSH_ERRORS._value.get()
    counter.record(Direction.INBOUND, listed("31855550101", Action.BLOCK))
    assert not await down.flush()
    assert metrics.ACTIVITY_FLUSH_ERRORS._value.get() == errors + 1
    assert counter.take() == {}


async def test_flusher_flushes_what_is_left_at_stop(redis_url: str, store) -> None:
    """Stopping the flusher sends the counts of the last seconds."""
    counter = ActivityCounter()
    mux = Multiplexer(RedisAddress.from_url(redis_url))
    flusher = ActivityFlusher(counter, mux, store.keys, 3600, clock=NOW.timestamp)
    flusher.start()
    counter.record(Direction.OUTBOUND, listed("31855550101", Action.WARN))
    await flusher.stop()
    await mux.close()
    assert entry_activity(store, "31855550101", now=NOW).windows[Window.HOUR].outbound[
        "warn"] == 1


def test_window_start_names_the_first_bucket() -> None:
    """Each window starts at its first bucket's start: 12 five-minute ones, 24 hours, 30 days."""
    at = dt.datetime(2026, 11, 20, 14, 32, 10, tzinfo=dt.UTC)
    assert window_start(Window.HOUR, at) == dt.datetime(2026, 11, 20, 13, 35, tzinfo=dt.UTC)
    assert window_start(Window.DAY, at) == dt.datetime(2026, 11, 19, 15, tzinfo=dt.UTC)
    assert window_start(Window.DAYS_30, at) == dt.datetime(2026, 10, 22, tzinfo=dt.UTC)


def test_hour_window_is_the_last_sixty_minutes(store) -> None:
    """Hits 50 minutes ago count in the hour window though made in the previous clock hour;
    hits 70 minutes ago don't."""
    now = dt.datetime.now(dt.UTC)
    counter = ActivityCounter()
    for minutes_ago, hits in ((70, 4), (50, 2), (0, 1)):
        for _ in range(hits):
            counter.record(Direction.INBOUND, listed("31855550101", Action.BLOCK))
        flush(store, counter, now - dt.timedelta(minutes=minutes_ago))
    assert entry_activity(store, "31855550101", now=now).windows[Window.HOUR].total == 3
