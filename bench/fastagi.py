"""FastAGI throughput and latency: calls per second of server CPU, side by side with a baseline.

The goals: at least 10,000 screened calls per second of server CPU, p99 under 2 ms at 50
concurrent calls, one store round trip per call; and at least 3 times the calls per CPU-second
of what an operator would write instead (`bench/baseline_fastagi.py`: panoramisk's FastAGI,
redis-py and phonenumbers, one GET and four SET VARIABLEs per call).

One run prints: redis-benchmark's MGET/s against the same Redis (the reference: what this
machine serves right now), callscreen's calls per server CPU-second (median of rounds), the
baseline's under the same load, their ratio, latency at 50 concurrent calls, and where the
server's CPU goes, function by function, from a py-spy profile taken in the same run.

Both servers run at once (one worker each, uvloop) against one throwaway Redis holding 100,000
listed numbers, and rounds alternate between them, so the shared machine's drift hits both
alike. The load comes from this process: `--concurrency` scripted Asterisk connections, each
call: connect, environment, answer every command with `200 result=1`, close. Server CPU is read
from /proc; the client shares the machine's cores, so wall-clock latency includes its own
scheduling.

    python bench/fastagi.py [--calls 20000] [--rounds 5] [--concurrency 50] [--no-profile]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import (
    ROOT,
    cpu_seconds,
    list_numbers,
    percentile,
    redis_benchmark_mget,
    shorten_frame,
    throwaway_redis,
)

from blocklist.redis_server import free_port

ENV = (
    "agi_network: yes\nagi_network_script: screen\nagi_request: agi://127.0.0.1/screen\n"
    "agi_channel: Local/{ext}@screen-fast-00000000;2\nagi_language: en\nagi_type: Local\n"
    "agi_uniqueid: 1795861289.1\nagi_version: 22.10.1\nagi_callerid: {cid}\n"
    "agi_calleridname: Bench\nagi_callingpres: 0\nagi_callingani2: 0\nagi_callington: 0\n"
    "agi_callingtns: 0\nagi_dnid: unknown\nagi_rdnis: unknown\nagi_context: screen-fast\n"
    "agi_extension: {ext}\nagi_priority: 5\nagi_enhanced: 0.0\nagi_accountcode: \n"
    "agi_threadid: 140435055912640\nagi_arg_1: inbound\n\n"
)
PROFILE_S = 8  # seconds of load under py-spy
TOP_FUNCTIONS = 15
IDLE_FRAMES = ("epoll_wait ", "epoll_pwait ")


class Call(asyncio.Protocol):
    def __init__(self, opening: bytes, done: asyncio.Future[int]) -> None:
        self.opening, self.done, self.buffer, self.commands = opening, done, b"", 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        transport.write(self.opening)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\n" in self.buffer:
            _, self.buffer = self.buffer.split(b"\n", 1)
            self.commands += 1
            self.transport.write(b"200 result=1\n")  # type: ignore[attr-defined]

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(self.commands)


async def drive(port: int, numbers: list[str], calls: int, concurrency: int,
                commands: int, interval_s: float = 0.0) -> list[float]:
    """Run `calls` calls from `concurrency` callers; each caller starts a call at most every
    `interval_s` (0: back to back). Every call must send exactly `commands` commands.
    Returns each call's seconds from connect to close."""
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    counter = iter(range(calls))
    bad = 0

    async def worker() -> None:
        nonlocal bad
        for n in counter:
            opening = ENV.format(cid=numbers[n % len(numbers)], ext="31201234567").encode()
            done: asyncio.Future[int] = loop.create_future()
            started = time.perf_counter()
            await loop.create_connection(
                lambda opening=opening, done=done: Call(opening, done), "127.0.0.1", port)
            if await done != commands:
                bad += 1
            latencies.append(time.perf_counter() - started)
            if interval_s:
                await asyncio.sleep(max(0.0, started + interval_s - time.perf_counter()))

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    if bad:
        raise SystemExit(f"{bad} calls did not get their answer in {commands} command(s)")
    return latencies


def run(coroutine: object) -> list[float]:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)  # type: ignore[arg-type]
    return uvloop.run(coroutine)  # type: ignore[arg-type]


class Server:
    """A FastAGI server under test: a child process, its port, and what a call sends."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], port: int,
                 commands: int) -> None:
        self.name, self.port, self.commands = name, port, commands
        self.process = subprocess.Popen(command, env=env, cwd=ROOT)
        self.rates: list[float] = []  # calls per CPU-second, one per round
        self.kernel_shares: list[float] = []  # the share of that CPU spent in the kernel

    def wait_ready(self, numbers: list[str]) -> None:
        """Wait until a whole call succeeds. Not a bare connect-and-close: panoramisk's
        handler then loops forever on the closed socket (it reads until an empty line)."""
        deadline = time.monotonic() + 15
        while True:
            try:
                run(drive(self.port, numbers, 1, 1, self.commands))
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"{self.name} did not start") from None
                time.sleep(0.05)

    def load(self, numbers: list[str], calls: int, concurrency: int,
             interval_s: float = 0.0) -> tuple[float, list[float]]:
        """Server CPU seconds used by `calls` calls, and their latencies."""
        before = cpu_seconds(self.process.pid)
        latencies = run(drive(self.port, numbers, calls, concurrency, self.commands,
                              interval_s))
        return cpu_seconds(self.process.pid) - before, latencies

    def round(self, numbers: list[str], calls: int, concurrency: int) -> None:
        kernel_before = kernel_seconds(self.process.pid)
        cpu, _ = self.load(numbers, calls, concurrency)
        self.rates.append(calls / cpu)
        self.kernel_shares.append((kernel_seconds(self.process.pid) - kernel_before) / cpu)

    @property
    def median(self) -> float:
        return sorted(self.rates)[len(self.rates) // 2]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)


def kernel_seconds(pid: int) -> float:
    """System (kernel) CPU time of a process, from /proc: its socket work."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[12]) / os.sysconf("SC_CLK_TCK")


def decision_buckets(metrics_port: int) -> dict[float, float]:
    """The cumulative buckets of callscreen_decision_seconds."""
    import urllib.request

    body = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics").read().decode()
    buckets: dict[float, float] = {}
    for line in body.splitlines():
        if line.startswith("callscreen_decision_seconds_bucket{"):
            le = line.split('le="', 1)[1].split('"', 1)[0]
            buckets[float(le)] = float(line.rsplit(" ", 1)[1])
    return buckets


def bucket_quantile(buckets: dict[float, float], q: float) -> float:
    """The upper bound of the histogram bucket holding quantile q."""
    total = buckets.get(float("inf"), 0.0)
    for le in sorted(buckets):
        if buckets[le] >= q * total:
            return le
    return float("nan")


Profile = dict[str, list[tuple[str, float]]]


def profile(server: Server, numbers: list[str], concurrency: int) -> Profile:
    """Sample the server with py-spy (native frames included) under back-to-back load.

    Returns two views, each (function, share of the busy samples), largest first:
    `self`: the frame that was running, native (libc's `write`: the kernel's socket work, as
    seen from the process) or Python; `python`: the innermost Python function, the native
    work it called included (the event loop's own work counts under `run_forever`).
    py-spy pauses the process for each sample, which over-weights system calls; the /proc
    figure of kernel time printed beside it is the unbiased one.
    """
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(py_spy).exists():
        raise SystemExit("py-spy not found: pip install py-spy (it is in the dev extras)")
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "profile.txt"
        spy = subprocess.Popen(
            [py_spy, "record", "--pid", str(server.process.pid), "--duration", str(PROFILE_S),
             "--rate", "200", "--format", "raw", "--native", "--nolineno", "--threads",
             "--output", str(raw)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + PROFILE_S
        while time.monotonic() < deadline and spy.poll() is None:
            run(drive(server.port, numbers, 2000, concurrency, server.commands))
        _, err = spy.communicate(timeout=60)
        if spy.returncode != 0 or not raw.exists():
            raise SystemExit(f"py-spy failed: {err.decode()[-500:]}")
        stacks: dict[str, list[tuple[list[str], int]]] = collections.defaultdict(list)
        for line in raw.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            thread, _, frames = stack.partition(";")
            if frames:
                stacks[thread].append((frames.split(";"), int(count)))
    # Only the event loop's thread (the metrics endpoint's thread waits in poll()), and
    # without the loop waiting for events: idle time, which py-spy can't tell in native frames.
    busiest = max(stacks.values(), key=lambda s: sum(n for _, n in s))
    busy = [(f, n) for f, n in busiest if not f[-1].startswith(IDLE_FRAMES)]
    total = sum(n for _, n in busy) or 1
    views: Profile = {}
    for view, pick in (("self", lambda f: f[-1]), ("python", innermost_python)):
        counts: collections.Counter[str] = collections.Counter()
        for frames, n in busy:
            counts[shorten_frame(pick(frames))] += n
        views[view] = [(name, n / total) for name, n in counts.most_common(TOP_FUNCTIONS)]
    return views


def innermost_python(frames: list[str]) -> str:
    return next((f for f in reversed(frames) if ".py)" in f), frames[-1])



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000, help="calls per round")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5, help="report the median round")
    parser.add_argument("--transport", choices=["tcp", "unix"], default="tcp",
                        help="how the server reaches Redis (loopback TCP or the unix socket)")
    parser.add_argument("--no-profile", action="store_true", help="skip the py-spy profile")
    args = parser.parse_args()
    rng = random.Random(7)
    with throwaway_redis() as redis, tempfile.TemporaryDirectory() as tmp:
        baseline_python = baseline_interpreter(Path(tmp))
        listed = list_numbers(redis.url, rng)
        list_for_baseline(redis.url, listed)
        # Half the calls from listed numbers, half from clean ones.
        numbers = [("+" + listed[i]) if i % 2 else f"+3120{rng.randrange(10**7):07d}"
                   for i in range(5000)]
        port, metrics_port, baseline_port = free_port(), free_port(), free_port()
        url = redis.url if args.transport == "tcp" else f"unix://{redis.socket_path.resolve()}"
        env = {**os.environ, "CALLSCREEN_REDIS_URL": url, "CALLSCREEN_LOG_LEVEL": "WARNING",
               "CALLSCREEN_MAX_CALLS": "100000", "CALLSCREEN_LOOKUP_TIMEOUT_MS": "1000"}
        callscreen = Server(
            "callscreen fastagi",
            [sys.executable, "-m", "blocklist.cli", "fastagi", "--listen", f"127.0.0.1:{port}",
             "--metrics-listen", f"127.0.0.1:{metrics_port}"], env, port, commands=1)
        baseline = Server(
            "baseline",
            [baseline_python, str(ROOT / "bench" / "baseline_fastagi.py"),
             "--listen", f"127.0.0.1:{baseline_port}", "--redis", url], env, baseline_port,
            commands=4)
        try:
            for server in (callscreen, baseline):
                server.wait_ready(numbers)
                server.load(numbers, 2000, args.concurrency)  # warm-up
            # Alternating rounds: this shared VM's speed drifts by a third from minute to
            # minute; both servers see the same drift.
            for _ in range(args.rounds):
                callscreen.round(numbers, args.calls, args.concurrency)
                baseline.round(numbers, args.calls, args.concurrency)
            # Latency below saturation: 50 callers, each starting a call every 50 ms.
            before = decision_buckets(metrics_port)
            _, paced = callscreen.load(numbers, 20 * args.concurrency * 10, args.concurrency,
                                       interval_s=0.05)
            after = decision_buckets(metrics_port)
            decided = {le: n - before.get(le, 0) for le, n in after.items()}
            top = {} if args.no_profile else profile(callscreen, numbers, args.concurrency)
        finally:
            callscreen.stop()
            baseline.stop()
        reference = redis_benchmark_mget(redis.port)

    print(f"FastAGI, {args.calls} calls per round, {args.concurrency} concurrent callers,"
          f" 100,000 listed numbers, Redis over {args.transport}")
    print(f"  reference: {reference}")
    for server, goal in ((callscreen, "   (goal >= 10,000)"), (baseline, "")):
        rounds = ", ".join(f"{rate:,.0f}" for rate in server.rates)
        print(f"  {server.name}: {server.median:,.0f} calls per second of server CPU"
              f" (median of {len(server.rates)} rounds: {rounds}){goal}")
        kernel = sorted(server.kernel_shares)[len(server.kernel_shares) // 2]
        print(f"    {kernel * 100:.0f}% of that CPU in the kernel (sockets), median")
    ratios = sorted(c / b for c, b in zip(callscreen.rates, baseline.rates, strict=True))
    print(f"  ratio: callscreen does {callscreen.median / baseline.median:.2f} times the"
          f" baseline's calls per CPU-second (per alternating pair of rounds:"
          f" {', '.join(f'{r:.2f}' for r in ratios)})   (goal >= 3)")
    paced.sort()
    rate = 20 * args.concurrency
    print(f"  {args.concurrency} concurrent callers at {rate} calls/s: per call (connect to"
          f" close, the AGI exchange included) p50 {percentile(paced, .5) * 1000:.2f} ms,"
          f" p99 {percentile(paced, .99) * 1000:.2f} ms   (goal p99 < 2 ms)")
    print(f"  server's decision time at that load (callscreen_decision_seconds, store round"
          f" trip included): p50 <= {bucket_quantile(decided, .5) * 1000:.2f} ms,"
          f" p99 <= {bucket_quantile(decided, .99) * 1000:.2f} ms")
    if top:
        print(f"  where callscreen's server CPU goes (py-spy, {PROFILE_S} s under back-to-back"
              " load, the loop's idle waits left out; py-spy over-weights system calls):")
        print("    by the function running (native frames included):")
        for name, share in top["self"]:
            print(f"    {share * 100:5.1f}%  {name}")
        print("    by the innermost Python function (the native work it called included):")
        for name, share in top["python"]:
            print(f"    {share * 100:5.1f}%  {name}")


BASELINE_PACKAGES = ("panoramisk", "redis", "hiredis", "phonenumbers", "uvloop")


def baseline_interpreter(tmp: Path) -> str:
    """A Python with the baseline's packages: this one when it has them, else a throwaway
    virtual environment with them installed (as `bench/agi_script.py` does for pyst2)."""
    try:
        import panoramisk  # noqa: F401 - the one not among callscreen's dependencies
    except ImportError:
        venv = tmp / "baseline-venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        python = str(venv / "bin" / "python")
        subprocess.run([python, "-m", "pip", "install", "-q", *BASELINE_PACKAGES], check=True)
        return python
    return sys.executable


def list_for_baseline(redis_url: str, listed: list[str]) -> None:
    """The same numbers as plain string keys, the layout the baseline reads."""
    import redis

    sys.path.insert(0, str(ROOT / "bench"))
    from baseline_fastagi import key_for

    client = redis.Redis.from_url(redis_url)
    pipe = client.pipeline(transaction=False)
    for number in listed:
        pipe.set(key_for("+" + number), "revoked")
    pipe.execute()
    client.close()


if __name__ == "__main__":
    main()
