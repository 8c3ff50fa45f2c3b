"""Feed sync benchmark: a 1M-row CSV feed synced end to end over HTTP, the Redis apply rate,
and bytes per listed number; each beside redis-benchmark's MGET figure from the same run.

    .venv/bin/python bench/sync.py [--rows 1000000]

Goals (docs/design.md): end-to-end sync under 20 s; apply at least 500,000 entries/s; at most 40
bytes per listed number at 1M. Figures only: nothing here asserts.
"""

from __future__ import annotations

import argparse
import http.server
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from blocklist.entries import AppliesTo, Category, Provenance
from blocklist.redis_server import RedisServer
from blocklist.settings import Settings
from blocklist.store.admin import Store
from blocklist.sync.config import FeedConfig
from blocklist.sync.runner import run_feed


def mget_figure(port: int) -> str:
    # `redis-benchmark -t mget` has no MGET test (only MSET): bench.common runs MGET of 10 keys
    # as a custom command against the same Redis.
    from bench.common import redis_benchmark_mget

    return redis_benchmark_mget(port)


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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    rows = parser.parse_args().rows
    with tempfile.TemporaryDirectory() as tmp:
        redis = RedisServer(Path(tmp), persistent=False)
        redis.start()
        try:
            run(redis, rows)
        finally:
            redis.stop()


def run(redis: RedisServer, rows: int) -> None:
    store = Store.from_url(redis.url)
    settings = Settings(redis_url=redis.url, region="NL")
    mget = mget_figure(redis.port)
    print(f"redis-benchmark MGET (same Redis): {mget}")

    body = csv_feed(rows)
    server, url = serve(body)
    feed = FeedConfig.from_dict({"id": "acm", "url": url, "format": "delimited",
                                 "delimited": {"delimiter": ";"}})
    memory_before = store.redis.info("memory")["used_memory"]
    started = time.perf_counter()
    result = run_feed(settings, store, feed)
    seconds = time.perf_counter() - started
    server.shutdown()
    assert result.outcome == "ok", result.reason
    print(f"end-to-end sync of a {rows:,}-row CSV feed ({len(body) / 1e6:.0f} MB over HTTP):"
          f" {seconds:.1f} s (goal < 20 s)  counts={result.counts}  | MGET {mget}")
    listed = result.counts["accepted"]
    used = store.redis.info("memory")["used_memory"] - memory_before
    print(f"memory: {used / listed:.1f} bytes per listed number at {listed:,}"
          f" (goal <= 40; the source's copy and provenance included)")

    # The apply as the feed sync does it (`Store.apply_snapshot_rows`): (key, is_prefix,
    # provenance) rows, a provenance tuple per row as the parsers make them; no `Entry`.
    rows_in = _rows("3186", "B", range(rows))
    report = store.apply_snapshot_rows("bulk", rows_in)
    rate = rows / report.seconds
    print(f"apply into an empty source (rows, as the sync applies them; the source's"
          f" buckets already hold another 1M-number source): {rows:,} entries in"
          f" {report.seconds:.2f} s = {rate:,.0f} entries/s (goal >= 500,000) | MGET {mget}")
    changed = rows_in[rows // 10:] + _rows("3187", "C", range(rows // 10))
    report = store.apply_snapshot_rows("bulk", changed)
    print(f"apply into a full source (10% out, 10% in; rows): {rows:,} entries in"
          f" {report.seconds:.2f} s = {rows / report.seconds:,.0f} entries/s | MGET {mget}")


def _rows(prefix: str, reference: str, numbers: range) -> list[tuple[str, bool, Provenance]]:
    """Numbers `prefix` + 7 digits, one decision reference per 100 numbers."""
    return [(f"{prefix}{n:07d}", False, (Category.REVOKED, AppliesTo.BOTH,
                                          f"{reference}-{n // 100}", "", "", False, None, None))
            for n in numbers]

if __name__ == "__main__":
    main()
