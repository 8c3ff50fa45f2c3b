"""A second FastAGI server: node 1 is killed during a load run and the dialplan screens the
rest of the calls through `CALLSCREEN_AGI_BACKUP` (node 2). No call may fail; the number of
calls that were allowed degraded is printed (only calls in flight on node 1 when it died can
be), and node 2's own counter agrees with what Asterisk logged.

Rate and length: CALLSCREEN_E2E_BACKUP_RATE (calls/s, default 50) and
CALLSCREEN_E2E_BACKUP_SECONDS (default 20); node 1 is killed (SIGKILL) halfway.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator

import pytest
from callscreen_e2e import metrics
from callscreen_e2e.asterisk import Asterisk
from callscreen_e2e.rtp import RtpSink
from callscreen_e2e.seed import SUBSCRIBER
from callscreen_e2e.services import FastAgi, Redis
from callscreen_e2e.sipp import Sipp

pytestmark = pytest.mark.asterisk

RATE = int(os.environ.get("CALLSCREEN_E2E_BACKUP_RATE", "50"))
SECONDS = int(os.environ.get("CALLSCREEN_E2E_BACKUP_SECONDS", "20"))


@pytest.fixture
def nodes(redis: Redis, asterisk: Asterisk, fastagi: FastAgi) -> Iterator[tuple[FastAgi, FastAgi]]:
    """Two more FastAGI nodes on the suite's Redis, wired in as CALLSCREEN_AGI and
    CALLSCREEN_AGI_BACKUP; afterwards the suite's own node is CALLSCREEN_AGI again."""
    first, second = FastAgi(redis), FastAgi(redis)
    try:
        first.start()
        second.start()
        asterisk.set_global("CALLSCREEN_AGI", first.url)
        asterisk.set_global("CALLSCREEN_AGI_BACKUP", second.url)
        yield first, second
    finally:
        asterisk.set_global("CALLSCREEN_AGI", fastagi.url)
        asterisk.set_global("CALLSCREEN_AGI_BACKUP", '""')
        first.cleanup()
        second.cleanup()


@pytest.mark.timeout(SECONDS * 4 + 300)
def test_backup_fastagi_takes_over_when_node_1_dies(
        asterisk: Asterisk, sipp: Sipp, nodes: tuple[FastAgi, FastAgi]) -> None:
    """Node 1 killed mid-run: every call connects, the calls after it are screened ok by
    node 2 through CALLSCREEN_AGI_BACKUP, and at most the calls in flight go degraded."""
    first, second = nodes
    total = RATE * SECONDS
    rng = random.Random(8)
    callers = [f"+3120{rng.randrange(10**7):07d}" for _ in range(total)]
    asterisk.cli("core set verbose 0")
    offset = asterisk.log_size()
    backup_before = metrics.counter(second.metrics(), "callscreen_calls_total", status="ok")

    killed_at: list[float] = []

    def kill_first() -> None:
        assert first.proc is not None
        first.proc.kill()  # SIGKILL: no goodbye, as a crashed server
        killed_at.append(time.monotonic())

    killer = threading.Timer(SECONDS / 2, kill_first)
    started = time.monotonic()
    with RtpSink() as ears:
        callee = sipp.answer("backup-subscriber", asterisk.ports.subscriber, ears.port,
                             calls=None, trace=False)
        try:
            killer.start()
            run = sipp.call("backup-trunk", asterisk.ports.trunk,
                            [(c, SUBSCRIBER, ears.port) for c in callers], talk_ms=500,
                            timeout_s=SECONDS * 3 + 60, trace=False,
                            extra=["-r", str(RATE), "-rp", "1000", "-l", str(RATE * 10)])
        finally:
            killer.cancel()
            time.sleep(3)  # the answerer keeps each ended call 2 s for retransmissions
            answered = callee.quit()
    results = asterisk.wait_results(offset, total, timeout_s=30)
    screenings = asterisk.screenings_since(offset)
    by_path = Counter((s.get("agi"), s.get("status")) for s in screenings)
    degraded = [s for s in screenings if s.get("status") != "ok"]
    backup_after = metrics.counter(second.metrics(), "callscreen_calls_total", status="ok")
    succeeded, failed = run.statistic("Successful call"), run.statistic("Failed call")
    print(f"\n    backup FastAGI: {total} calls at {RATE}/s for {SECONDS} s, node 1 killed after"
          f" {killed_at[0] - started:.1f} s" if killed_at else "\n    node 1 was never killed")
    print(f"    sipp caller: exit {run.returncode}, successful {succeeded}, failed {failed};"
          f" answerer: successful {answered.statistic('Successful call')}"
          f"\n    screened by node 1: {by_path[('main', 'ok')]}, by node 2 (backup):"
          f" {by_path[('backup', 'ok')]}, degraded: {len(degraded)}"
          f" {dict(Counter((s.get('agi'), s.get('reason')) for s in degraded))}")

    assert killed_at, "node 1 was not killed during the run"
    assert first.proc is not None and first.proc.poll() is not None
    assert run.returncode == 0 and succeeded == total and failed == 0, run.describe()
    assert answered.statistic("Successful call") == total, answered.describe()
    assert len(results) == total, f"Asterisk logged {len(results)} of {total} calls"
    assert {(r["action"], r["dialstatus"]) for r in results} == {("allow", "ANSWER")}
    assert len(screenings) == total
    # Both nodes screened: node 1 until it died, node 2 after.
    assert by_path[("main", "ok")] > 0 and by_path[("backup", "ok")] > 0, dict(by_path)
    # Node 2 counted exactly the calls Asterisk says the backup screened.
    assert backup_after - backup_before == by_path[("backup", "ok")]
    # Without the backup every call after the kill (about half) would be degraded; with it,
    # only calls in flight on node 1 when it died can be: fewer than one second's calls.
    assert len(degraded) < RATE, dict(by_path)
