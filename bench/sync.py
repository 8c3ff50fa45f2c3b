"""Feed sync benchmark: a 1M-row CSV feed synced end to end over HTTP, the bulk apply rate
into an empty and into a full source, and bytes per listed number; each round beside
redis-benchmark's pipelined HSET rate from the same Redis in the same round, and a py-spy
profile of the apply.

    .venv/bin/python bench/sync.py [--rows 1000000] [--rounds 3] [--no-profile]

Goals (docs/design.md): end-to-end sync under 20 s; apply at least 500,000 entries/s; at most 40
bytes per listed number at 1M. Figures are medians of the rounds (the machine may be shared:
the single rounds are printed too). Beside the wall-clock rate, the CPU the apply took, in this
process (the sending thread included) and in Redis: those hardly move with other load.
Figures only: nothing here asserts.
"""

from __future__ import annotations

import argparse
import collections
import http.server
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import cpu_seconds, redis_benchmark_hset, shorten_frame, throwaway_redis
from blocklist.entries import AppliesTo, Category, Provenance
from blocklist.redis_server import RedisServer
from blocklist.settings import Settings
from blocklist.store.admin import Store
from blocklist.sync.config import FeedConfig
from blocklist.sync.runner import run_feed

ROOT = Path(__file__).resolve().parent.parent
TOP_FUNCTIONS = 12
Rows = list[tuple[str, bool, Provenance]]


def csv_feed(rows: int) -> bytes:
    # National format, as operators send them; one decision reference per 100 numbers.
    lines = ["nummer;categorie;referentie"]
    lines += [f"085 {n // 10000:03d} {n % 10000:04d};revoked;ACM-{n // 100}"
              for n in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def serve(body: bytes) -> tuple[http.server.ThreadingHTTPServer, str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/csv")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/acm.csv"


@dataclass
class Apply:
    """One apply: wall seconds, and CPU seconds of this process and of Redis."""

    seconds: float
    python_cpu: float
    redis_cpu: float


@dataclass
class Round:
    hset_per_s: float  # redis-benchmark's reference, this round
    sync_s: float
    bytes_per_number: float
    empty: Apply
    full: Apply


def timed_apply(store: Store, redis: RedisServer, source: str, rows: Rows) -> Apply:
    """The apply as the feed sync does it (`Store.apply_snapshot_rows`): (key, is_prefix,
    provenance) rows, a provenance tuple per row as the parsers make them; no `Entry`."""
    assert redis.process is not None
    python_before = _own_cpu()
    redis_before = cpu_seconds(redis.process.pid)
    report = store.apply_snapshot_rows(source, rows)
    return Apply(report.seconds, _own_cpu() - python_before,
                 cpu_seconds(redis.process.pid) - redis_before)


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def one_round(redis: RedisServer, store: Store, rows: int, body: bytes) -> Round:
    store.redis.flushall()
    hset = redis_benchmark_hset(redis.port)
    server, url = serve(body)
    feed = FeedConfig.from_dict({"id": "acm", "url": url, "format": "delimited",
                                 "delimited": {"delimiter": ";"}})
    settings = Settings(redis_url=redis.url, region="NL")
    memory_before = store.redis.info("memory")["used_memory"]
    started = time.perf_counter()
    result = run_feed(settings, store, feed)
    sync_s = time.perf_counter() - started
    server.shutdown()
    if result.outcome != "ok":
        raise SystemExit(f"the sync failed: {result.reason}")
    listed = result.counts["accepted"]
    used = store.redis.info("memory")["used_memory"] - memory_before
    # Into an empty source whose buckets already hold the feed's 1M numbers; then into that
    # full source, 10% of its numbers out and 10% new ones in.
    rows_in = _rows("3186", "B", range(rows))
    empty = timed_apply(store, redis, "bulk", rows_in)
    changed = rows_in[rows // 10:] + _rows("3187", "C", range(rows // 10))
    full = timed_apply(store, redis, "bulk", changed)
    return Round(hset, sync_s, used / listed, empty, full)


def _rows(prefix: str, reference: str, numbers: range) -> Rows:
    """Numbers `prefix` + 7 digits, one decision reference per 100 numbers."""
    return [(f"{prefix}{n:07d}", False, (Category.REVOKED, AppliesTo.BOTH,
                                          f"{reference}-{n // 100}", "", "", False, None, None))
            for n in numbers]


def profile(store: Store, rows: int) -> tuple[list[tuple[str, float]], float]:
    """py-spy samples of one apply into an empty source beside a `rows`-number one: (innermost
    Python function of the applying thread, share of its samples), largest first, and the
    sending thread's samples as a share of the applying thread's."""
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(py_spy).exists():
        raise SystemExit("py-spy not found: pip install py-spy (it is in the dev extras)")
    store.redis.flushall()
    store.apply_snapshot_rows("acm", _rows("3185", "A", range(rows)))
    rows_in = _rows("3186", "B", range(rows))
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "profile.txt"
        spy = subprocess.Popen(
            [py_spy, "record", "--pid", str(os.getpid()), "--rate", "250", "--format", "raw",
             "--nolineno", "--threads", "--output", str(raw)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(1.0)  # py-spy attaches
        store.apply_snapshot_rows("bulk", rows_in)
        spy.send_signal(signal.SIGINT)
        _, err = spy.communicate(timeout=60)
        if not raw.exists():
            raise SystemExit(f"py-spy failed: {err.decode()[-500:]}")
        main: collections.Counter[str] = collections.Counter()
        sender = 0
        for line in raw.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            thread, _, frames = stack.partition(";")
            if "redis-bulk-send" in thread:
                sender += int(count)
            elif "MainThread" in thread and "apply_snapshot" in frames:
                main[shorten_frame(frames.split(";")[-1])] += int(count)
    total = sum(main.values()) or 1
    return [(name, n / total) for name, n in main.most_common(TOP_FUNCTIONS)], sender / total



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3, help="report the median round")
    parser.add_argument("--no-profile", action="store_true", help="skip the py-spy profile")
    args = parser.parse_args()
    rows = args.rows
    body = csv_feed(rows)
    with throwaway_redis() as redis:
        store = Store.from_url(redis.url)
        rounds = []
        for n in range(args.rounds):
            rounds.append(one_round(redis, store, rows, body))
            r = rounds[-1]
            print(f"round {n + 1}: HSET {r.hset_per_s:,.0f}/s; sync {r.sync_s:.1f} s;"
                  f" apply into an empty source {rows / r.empty.seconds:,.0f}/s,"
                  f" into a full one {rows / r.full.seconds:,.0f}/s", flush=True)
        report(rounds, rows, len(body))
        if not args.no_profile:
            top, sender = profile(store, rows)
            print(f"where the apply's CPU goes (py-spy, one apply of {rows:,} rows into an"
                  f" empty source beside a {rows:,}-number one; innermost Python function of"
                  " the applying thread, the native work it called included):")
            for name, share in top:
                print(f"  {share * 100:5.1f}%  {name}")
            print(f"  the sending thread (socket writes, replies) sampled busy"
                  f" {sender * 100:.0f}% as often as the applying thread")
        store.close()


def report(rounds: list[Round], rows: int, body_bytes: int) -> None:
    def med(values: list[float]) -> float:
        return statistics.median(values)

    hset = med([r.hset_per_s for r in rounds])
    print(f"\nmedians of {len(rounds)} rounds; reference: redis-benchmark HSET, one field a"
          f" command, pipelined 100, one client, same Redis: {hset:,.0f}/s"
          f" (rounds {_each([r.hset_per_s for r in rounds], '{:,.0f}')})")
    sync = [r.sync_s for r in rounds]
    print(f"end-to-end sync of a {rows:,}-row CSV feed ({body_bytes / 1e6:.0f} MB over HTTP:"
          f" download, parse, normalise, diff, apply): {med(sync):.1f} s (goal < 20 s;"
          f" rounds {_each(sync, '{:.1f}')})")
    print(f"memory: {med([r.bytes_per_number for r in rounds]):.1f} bytes per listed number"
          f" at {rows:,} (goal <= 40; the source's copy and provenance included)")
    for label, pick in (("into an empty source (its buckets already hold the feed's"
                         " numbers)", lambda r: r.empty),
                        ("into a full source (10% out, 10% in)", lambda r: r.full)):
        applies = [pick(r) for r in rounds]
        rates = [rows / a.seconds for a in applies]
        ratios = [rows / pick(r).seconds / r.hset_per_s for r in rounds]
        python_cpu = med([a.python_cpu for a in applies])
        redis_cpu = med([a.redis_cpu for a in applies])
        print(f"apply {label}: {med(rates):,.0f} entries/s (goal >= 500,000;"
              f" rounds {_each(rates, '{:,.0f}')}), {med(ratios):.2f}x redis-benchmark's HSET"
              f" rate of the same round; CPU {python_cpu:.2f} s here (sending thread"
              f" included) and {redis_cpu:.2f} s in Redis for {rows:,} entries"
              f" ({rows / python_cpu:,.0f} entries per CPU-second here)")


def _each(values: list[float], form: str) -> str:
    return ", ".join(form.format(v) for v in values)


if __name__ == "__main__":
    main()
