"""Admin API lookups under concurrent load: `GET /v1/numbers/{number}` p50/p99 and requests/s.

Runs `callscreen api` (one process, as `callscreen run` starts it) against a throwaway Redis
holding 100,000 listed numbers, and sends lookups from 50 concurrent httpx clients in this
process (half of them for listed numbers, each answer with its explanation).

    python bench/api.py [--requests 5000] [--concurrency 50]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import time

import httpx
from common import ROOT, list_numbers, percentile, redis_benchmark_mget, throwaway_redis

from blocklist.redis_server import free_port
from blocklist.store.admin import Store
from blocklist.store.apikeys import Role, create_key


async def drive(base: str, key: str, numbers: list[str], requests: int,
                concurrency: int, interval_s: float = 0.0) -> list[float]:
    """`requests` lookups from `concurrency` clients, each starting one at most every
    `interval_s` (0: back to back); each request's seconds."""
    latencies: list[float] = []
    todo = iter(range(requests))
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:

        async def worker() -> None:
            for n in todo:
                started = time.perf_counter()
                reply = await client.get(f"/v1/numbers/{numbers[n % len(numbers)]}",
                                         params={"direction": "inbound"})
                latencies.append(time.perf_counter() - started)
                if interval_s:
                    await asyncio.sleep(max(0.0, started + interval_s - time.perf_counter()))
                if reply.status_code != 200:
                    raise SystemExit(f"lookup answered {reply.status_code}: {reply.text[:200]}")

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args()
    rng = random.Random(5)
    with throwaway_redis() as redis:
        listed = list_numbers(redis.url, rng)
        store = Store.from_url(redis.url)
        _, key = create_key(store, "bench", Role.READ, "bench")
        numbers = [("%2B" + listed[i]) if i % 2 else f"%2B3120{rng.randrange(10**7):07d}"
                   for i in range(2000)]
        port = free_port()
        env = {**os.environ, "CALLSCREEN_REDIS_URL": redis.url, "CALLSCREEN_LOG_LEVEL": "WARNING",
               "CALLSCREEN_FEED_SYNC": "off"}
        server = subprocess.Popen(
            [sys.executable, "-m", "blocklist.cli", "api", "--listen", f"127.0.0.1:{port}"],
            env=env, cwd=ROOT)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    httpx.get(base + "/healthz", timeout=1)
                    break
                except httpx.HTTPError:
                    if time.monotonic() > deadline:
                        raise SystemExit("callscreen api did not start") from None
                    time.sleep(0.1)
            asyncio.run(drive(base, key, numbers, 200, args.concurrency))  # warm-up
            started = time.perf_counter()
            latencies = asyncio.run(drive(base, key, numbers, args.requests, args.concurrency))
            wall = time.perf_counter() - started
            # Below saturation: 10 clients, each a lookup every 100 ms (100 requests/s).
            paced = asyncio.run(drive(base, key, numbers, 1000, 10, interval_s=0.1))
        finally:
            server.terminate()
            server.wait(timeout=30)
        reference = redis_benchmark_mget(redis.port)
    latencies.sort()
    print(f"admin API, GET /v1/numbers/{{number}} with explanation, {args.requests} requests,"
          f" {args.concurrency} concurrent, 100,000 listed numbers")
    p50, p99 = percentile(latencies, .5) * 1000, percentile(latencies, .99) * 1000
    print(f"  {args.requests / wall:,.0f} requests/s; per request p50 {p50:.1f} ms,"
          f" p99 {p99:.1f} ms (client and server sharing 2 cores)")
    paced.sort()
    print(f"  at 100 requests/s (10 clients): p50 {percentile(paced, .5) * 1000:.1f} ms,"
          f" p99 {percentile(paced, .99) * 1000:.1f} ms")
    print(f"  reference: {reference}")


if __name__ == "__main__":
    main()
