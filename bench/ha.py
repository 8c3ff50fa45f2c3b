"""High availability: FastAGI calls per CPU-second reading a replica vs the primary, and the
time from the primary's death (SIGKILL) to the first successful write.

Starts one primary, two replicas and three Sentinels on loopback (tests/ha/topology.py; down
after 1 s, as in the kill tests), lists 100,000 numbers, then:

- runs `callscreen fastagi` (one worker) three ways and drives it as bench/fastagi.py does:
  reading the primary over one connection (no HA), the primary through the read endpoints
  (CALLSCREEN_READ_URLS), and a replica through them; server CPU from /proc;
- writes through the Sentinel URL every 20 ms, SIGKILLs the primary, and times the first
  write that succeeds after it (then brings the old primary back as a replica), `--kills`
  times;
- prints redis-benchmark's MGET figure against the replica, in the same run.

    python bench/ha.py [--calls 20000] [--rounds 3] [--kills 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import tempfile
import time
from pathlib import Path

from common import cpu_seconds, list_numbers, redis_benchmark_mget
from fastagi import drive  # the same load as bench/fastagi.py

from blocklist.entries import AppliesTo, Category, Entry
from blocklist.errors import CallscreenError
from blocklist.store.admin import Store
from tests.ha.load import fastagi_process
from tests.ha.topology import Topology


def calls_per_cpu_second(env: dict[str, str], numbers: list[str], calls: int,
                         rounds: int) -> list[float]:
    full = {**os.environ, "CALLSCREEN_LOG_LEVEL": "WARNING", "CALLSCREEN_MAX_CALLS": "100000",
            "CALLSCREEN_LOOKUP_TIMEOUT_MS": "1000", **env}
    with fastagi_process(full) as (server, port, _metrics_port):
        asyncio.run(drive(port, numbers, 2000, 50, 1))  # warm-up: one EXEC MSet a call
        figures = []
        for _ in range(rounds):
            before = cpu_seconds(server.pid)
            asyncio.run(drive(port, numbers, calls, 50, 1))
            figures.append(calls / (cpu_seconds(server.pid) - before))
        return figures


def seconds_to_first_write(topology: Topology, store: Store) -> tuple[float, int]:
    """SIGKILL the primary while writing every 20 ms: seconds until a write succeeds again,
    and how many writes were refused meanwhile."""
    old = topology.primary()
    n, refused = 0, 0
    killed_at = time.monotonic()
    topology.kill(old)
    while True:
        n += 1
        try:
            store.add_entries([Entry(key=f"318811{n:05d}", is_prefix=False,
                                     category=Category.FRAUD, applies_to=AppliesTo.BOTH,
                                     source="manual")])
            took = time.monotonic() - killed_at
            break
        except CallscreenError:
            refused += 1
            time.sleep(0.02)
    topology.wait_for_failover(old)
    topology.restart(old)
    topology.wait_for_replica(old)
    return took, refused


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000, help="calls per round")
    parser.add_argument("--rounds", type=int, default=3, help="report the median round")
    parser.add_argument("--kills", type=int, default=3, help="primaries killed")
    args = parser.parse_args()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory(prefix="callscreen-bench-ha-") as tmp:
        topology = Topology(Path(tmp))
        topology.start()
        try:
            listed = list_numbers(topology.sentinel_url, rng)
            numbers = [("+" + listed[i]) if i % 2 else f"+3120{rng.randrange(10**7):07d}"
                       for i in range(5000)]
            primary, replica = topology.primary(), topology.replicas()[0]
            ways = {
                "primary, one connection (no HA)": {"CALLSCREEN_REDIS_URL": primary.url},
                "primary, through the read endpoints": {
                    "CALLSCREEN_REDIS_URL": topology.sentinel_url,
                    "CALLSCREEN_READ_URLS": primary.url},
                "replica, through the read endpoints": {
                    "CALLSCREEN_REDIS_URL": topology.sentinel_url,
                    "CALLSCREEN_READ_URLS": f"{replica.url},{primary.url}"},
            }
            results = {name: calls_per_cpu_second(env, numbers, args.calls, args.rounds)
                       for name, env in ways.items()}
            store = Store.from_url(topology.sentinel_url)
            failovers = [seconds_to_first_write(topology, store) for _ in range(args.kills)]
            reference = redis_benchmark_mget(topology.replicas()[0].port)
        finally:
            topology.stop()
    print(f"HA bench: 1 primary, 2 replicas, 3 Sentinels (down-after 1 s) on loopback,"
          f" 100,000 listed numbers; FastAGI {args.calls} calls a round, 50 concurrent")
    for name, figures in results.items():
        median = sorted(figures)[len(figures) // 2]
        rounds = ", ".join(f"{f:,.0f}" for f in figures)
        print(f"  reading the {name}: {median:,.0f} calls per FastAGI CPU-second"
              f" (rounds: {rounds})")
    for took, refused in failovers:
        print(f"  primary SIGKILLed: first successful write after {took:.2f} s"
              f" ({refused} writes refused meanwhile)")
    print(f"  reference (replica): {reference}")


if __name__ == "__main__":
    main()
