"""Activity counting in the FastAGI server, run as `callscreen fastagi` over real sockets:
calls that match a listing are counted in memory and reach Redis by the periodic flush, or by
the last flush at shutdown; no subscriber number is stored."""

from __future__ import annotations

import signal
import time

from blocklist.entries import AppliesTo, Category, Entry
from blocklist.store.activity import Window, entry_activity
from tests.agi.asterisk_peer import call_fastagi, environment
from tests.agi.test_fastagi import fastagi, metric

LISTED = "31851234567"
SUBSCRIBER = "31201234567"


def listed(store) -> None:
    store.add_entries([Entry(key=LISTED, is_prefix=False, category=Category.FRAUD,
                             applies_to=AppliesTo.BOTH, source="manual")])


def calls(port: int, count: int) -> None:
    for _ in range(count):
        conv = call_fastagi(port, environment(callerid="+" + LISTED, extension="0201234567",
                                              args=("inbound",)))
        assert conv.variables["SCREEN_ACTION"] == "block"
    unlisted = call_fastagi(port, environment(callerid="+31851234000", extension="0201234567",
                                              args=("inbound",)))
    assert unlisted.variables["SCREEN_ACTION"] == "allow"


def test_hits_reach_redis_by_the_periodic_flush(redis_url, store, monkeypatch) -> None:
    """Blocked calls from a listed number show in its activity after a flush; only listed keys
    and the totals are stored, never the subscriber."""
    monkeypatch.setenv("CALLSCREEN_ACTIVITY_FLUSH_S", "0.5")
    listed(store)
    with fastagi(redis_url) as (port, metrics_port, _):
        calls(port, 3)
        deadline = time.monotonic() + 15
        while entry_activity(store, LISTED).windows[Window.HOUR].total < 3:
            assert time.monotonic() < deadline, "the flush never came"
            time.sleep(0.1)
        assert metric(metrics_port, "callscreen_activity_flushes_total") >= 1
    figures = entry_activity(store, LISTED).windows[Window.HOUR]
    assert figures.inbound["block"] == 3 and figures.total == 3
    stored = " ".join(f for name in store.redis.keys("{cs}:act:*")
                      if store.redis.type(name) == "hash" for f in store.redis.hkeys(name))
    assert SUBSCRIBER not in stored and "1234000" not in stored


def test_shutdown_flushes_the_last_counts(redis_url, store, monkeypatch) -> None:
    """Counts not yet flushed when the server is told to stop are written before it exits."""
    monkeypatch.setenv("CALLSCREEN_ACTIVITY_FLUSH_S", "300")
    listed(store)
    with fastagi(redis_url) as (port, _, proc):
        calls(port, 2)
        assert entry_activity(store, LISTED).windows[Window.HOUR].total == 0
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    assert entry_activity(store, LISTED).windows[Window.HOUR].inbound["block"] == 2

