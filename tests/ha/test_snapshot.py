"""A snapshot sync interrupted by a failover: the next run completes it, and lookups never
miss a stable entry meanwhile. 200,000 rows by default; CALLSCREEN_HA_FULL=1 (tools/check):
1,000,000."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import pytest

from blocklist.entries import Action, AppliesTo, Category, Direction, Entry
from blocklist.errors import CallscreenError, StoreError
from blocklist.screening import Screener
from blocklist.settings import Settings
from blocklist.store.admin import Store
from blocklist.store.reads import FailoverConnection
from tests.ha.load import FULL
from tests.ha.topology import running

pytestmark = [pytest.mark.ha, pytest.mark.timeout(900)]

SIZE = 1_000_000 if FULL else 200_000


def entries(start: int, count: int) -> list[Entry]:
    return [Entry(key=f"3185{n:07d}", is_prefix=False, category=Category.REVOKED,
                  applies_to=AppliesTo.BOTH, source="acm", reference=f"ACM-{n // 1000}")
            for n in range(start, start + count)]


def test_a_snapshot_cut_by_a_failover_is_completed_by_the_next_run(tmp_path: Path) -> None:
    """SIGKILL the primary while a snapshot is applied: the apply fails, the next run on the
    new primary completes it (the list equals the feed), and a hammer of lookups on the
    replicas never misses an entry that is in both the old and the new list."""
    with running(tmp_path) as topology:
        settings = Settings(redis_url=topology.sentinel_url, region="NL", lookup_timeout_s=2.0)
        store = Store.from_url(topology.sentinel_url)
        store.apply_snapshot("acm", entries(0, SIZE))
        new = entries(SIZE // 10, SIZE)  # drops the first 10%, adds 10% more
        stable = [f"+3185{n:07d}"
                  for n in random.Random(7).sample(range(SIZE // 10, SIZE), 20_000)]
        screener = Screener(settings)
        reads = FailoverConnection(settings.redis, 2.0)
        stop = threading.Event()
        tally = {"lookups": 0, "misses": 0, "errors": 0}

        def hammer() -> None:
            i = 0
            while not stop.is_set():
                screening = screener.prepare(Direction.INBOUND, stable[i % len(stable)], None)
                try:
                    replies = reads.run(screening.commands)
                except StoreError:
                    tally["errors"] += 1
                    continue
                tally["lookups"] += 1
                if screener.conclude(screening, replies).action is not Action.BLOCK:
                    tally["misses"] += 1
                i += 1

        old = topology.primary()
        keys = store.keys

        def kill_mid_apply() -> None:
            # The dirty marker is set once the apply holds the lock and starts writing: kill
            # at once (a loaded machine must not let the apply finish first).
            while not store.redis.exists(keys.dirty):
                time.sleep(0.001)
            topology.kill(old)

        thread = threading.Thread(target=hammer)
        killer = threading.Thread(target=kill_mid_apply)
        thread.start()
        killer.start()
        try:
            with pytest.raises(CallscreenError):
                store.apply_snapshot("acm", new)
            killer.join()
            topology.wait_for_failover(old)
            deadline = time.monotonic() + 60
            while True:  # the next run: a sync retried until the new primary takes it
                try:
                    report = store.apply_snapshot("acm", new)
                    break
                except StoreError:
                    assert time.monotonic() < deadline
                    time.sleep(0.5)
        finally:
            stop.set()
            thread.join()
        assert store.redis.exists(keys.dirty) == 0
        assert set(store.source_entries("acm")) == {(e.key, False) for e in new}
        primary = FailoverConnection(settings.redis, 2.0, primary=True)
        for n, wanted in ((0, Action.ALLOW), (SIZE // 10, Action.BLOCK), (SIZE, Action.BLOCK),
                          (SIZE + SIZE // 10 - 1, Action.BLOCK)):
            decision = screener.screen(primary, Direction.INBOUND, f"+3185{n:07d}")
            assert decision.action is wanted, n
        print(f"\n{SIZE} rows; next run {report.seconds:.1f} s; lookups {tally}")
        assert tally["lookups"] > 100, tally
        assert tally["misses"] == 0, tally
