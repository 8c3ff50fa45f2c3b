"""The FastAGI server's activity counts with Sentinel: the server starts while no Sentinel
answers, and its counts reach the primary the Sentinels name, after a failover too."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from blocklist.errors import CallscreenError
from blocklist.store.activity import Window, entry_activity
from blocklist.store.admin import Store
from tests.ha.load import fastagi, listed_entry
from tests.ha.test_stale_nodes import LISTED, fastagi_outcome
from tests.ha.topology import Topology, running

pytestmark = [pytest.mark.ha, pytest.mark.timeout(300)]

FLUSH = {"CALLSCREEN_ACTIVITY_FLUSH_S": "0.5"}


def blocked_hits(topology: Topology) -> int:
    """Inbound blocks of LISTED over the last day, as the primary holds them."""
    store = Store.from_url(topology.sentinel_url)
    return entry_activity(store, LISTED).windows[Window.DAY].inbound["block"]


def ready_now(ready: Callable[[], bool]) -> bool:
    try:
        return ready()
    except CallscreenError:  # the admin side's Sentinel client, while Sentinels catch up
        return False


def wait_for(ready: Callable[[], bool], what: str, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not ready_now(ready):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_fastagi_starts_while_no_sentinel_answers(tmp_path: Path) -> None:
    """With every Sentinel down the server starts and fails calls open; once the Sentinels
    are back it blocks a listed caller, status ok, and the call's count reaches the primary."""
    with running(tmp_path) as topology:
        Store.from_url(topology.sentinel_url).add_entries([listed_entry(LISTED)])
        for sentinel in topology.sentinels:
            topology.kill(sentinel)
        env = {"CALLSCREEN_REDIS_URL": topology.sentinel_url, **FLUSH}
        with fastagi(env) as (port, _metrics):
            action, status = fastagi_outcome(port)
            assert action == "allow" and status != "ok"
            for sentinel in topology.sentinels:
                topology.restart(sentinel)
            wait_for(lambda: fastagi_outcome(port) == ("block", "ok"), "reads via Sentinel")
            wait_for(lambda: blocked_hits(topology) >= 1, "the activity count")


def test_activity_counts_follow_a_failover(tmp_path: Path) -> None:
    """After the primary is killed and the Sentinels promote a replica, the server's counts
    of calls made since reach the new primary, without a restart."""
    with running(tmp_path) as topology:
        Store.from_url(topology.sentinel_url).add_entries([listed_entry(LISTED)])
        env = {"CALLSCREEN_REDIS_URL": topology.sentinel_url, **FLUSH}
        with fastagi(env) as (port, _metrics):
            old = topology.primary()
            topology.kill(old)
            topology.wait_for_failover(old)
            outcomes = [fastagi_outcome(port) for _ in range(3)]
            assert set(outcomes) == {("block", "ok")}
            wait_for(lambda: blocked_hits(topology) >= 3, "the counts on the new primary")
