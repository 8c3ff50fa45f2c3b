"""Shared bench helpers: a throwaway Redis and redis-benchmark's reference figure."""

from __future__ import annotations

import contextlib
import random
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from blocklist.redis_server import RedisServer  # noqa: E402


@contextlib.contextmanager
def throwaway_redis() -> Iterator[RedisServer]:
    with tempfile.TemporaryDirectory(prefix="callscreen-bench-") as tmp:
        server = RedisServer(Path(tmp), persistent=False)
        server.start()
        try:
            yield server
        finally:
            server.stop()


def redis_benchmark_mget(port: int, requests: int = 200_000, clients: int = 50) -> str:
    """redis-benchmark's figure for MGET of 10 keys against the same Redis, as text.

    The reference for every bench: what Redis itself serves on this machine right now.
    """
    binary = shutil.which("redis-benchmark")
    if binary is None:
        raise SystemExit("redis-benchmark not found: apt-get install redis-tools")
    keys = [f"bench:k{n}" for n in range(10)]
    out = subprocess.run(
        [binary, "-p", str(port), "-n", str(requests), "-c", str(clients), "--csv", "MGET",
         *keys],
        capture_output=True, text=True, check=True,
    ).stdout.strip().splitlines()
    row = next(line for line in out if line.startswith('"MGET'))
    cells = [c.strip('"') for c in row.split('","')]
    return (f"{float(cells[1]):,.0f} MGET/s, p50 {cells[4]} ms, p99 {cells[6]} ms"
            f" (redis-benchmark, {clients} clients, 10 keys)")


def redis_benchmark_hset(port: int, requests: int = 1_000_000, pipeline: int = 100) -> float:
    """redis-benchmark's pipelined HSET rate (one field a command, one client) against the
    same Redis: the most fields a second Redis writes here right now, the bulk apply's limit.
    Its hash (`myhash`) is deleted afterwards."""
    binary = shutil.which("redis-benchmark")
    if binary is None:
        raise SystemExit("redis-benchmark not found: apt-get install redis-tools")
    out = subprocess.run(
        [binary, "-p", str(port), "-n", str(requests), "-c", "1", "-P", str(pipeline),
         "-r", "100000", "--csv", "-t", "hset"],
        capture_output=True, text=True, check=True,
    ).stdout.strip().splitlines()
    subprocess.run([shutil.which("redis-cli") or "redis-cli", "-p", str(port), "DEL", "myhash"],
                   capture_output=True, check=True)
    row = next(line for line in out if line.startswith('"HSET'))
    return float(row.split('","')[1].strip('"'))


def list_numbers(redis_url: str, rng: random.Random, count: int = 100_000) -> list[str]:
    """List `count` random revoked NL numbers (digits) in a Redis, as one snapshot."""
    from blocklist.entries import AppliesTo, Category, Entry
    from blocklist.store.admin import Store

    listed = [f"3185{rng.randrange(10**7):07d}" for _ in range(count)]
    store = Store.from_url(redis_url)
    store.apply_snapshot("bench", [
        Entry(key=n, is_prefix=False, category=Category.REVOKED, applies_to=AppliesTo.BOTH,
              source="bench", reference="BENCH-1") for n in listed])
    store.close()
    return listed


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    import os

    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


def shorten_frame(frame: str) -> str:
    """A py-spy frame `function (path)` with the path from the package down (site-packages/,
    the repository), for the benches' profile tables."""
    name, _, path = frame.partition(" (")
    path = path.rstrip(")")
    for marker in ("site-packages/", f"{ROOT}/", "python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{name} ({path})" if path else name
