"""The screening latency a roaming check adds: an endpoint that answers vs one that hangs.

Origin screening asks the operator's roaming endpoint (`CALLSCREEN_ROAMING_CHECK_URL`) for a
mobile home number calling from abroad, beside the store's round trip and within the same
budget (`CALLSCREEN_LOOKUP_TIMEOUT_MS`). This bench runs one FastAGI server (one worker, BE
preset) against a throwaway Redis and a local HTTP endpoint, and times whole AGI conversations
(connect, environment, MSet, close), one call at a time:

- baseline: a fixed home number from abroad (no roaming check: only mobiles roam);
- answering: a mobile from abroad, a fresh number each call (no cache), the endpoint answers
  at once;
- cached: the same mobile again and again (the 30 s cache answers);
- hanging: a mobile whose endpoint never answers: the call waits for the budget, no longer.

It prints the median and p95 of each, and the added latency over the baseline. Then the same
for the per-call script (after the store's round trip, with what is left of the budget; no
cache, a process per call): the real `callscreen-agi`, installed into a throwaway venv and run
as Asterisk runs it, as bench/agi_script.py does (baseline, answering, hanging). It ends with
one line per path: what an answering check adds and what a hanging one costs, medians.

    python bench/roaming.py [--calls 300] [--script-calls 100] [--budget-ms 50]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from agi_script import OPENING, converse, install
from common import ROOT, percentile, throwaway_redis

from blocklist.redis_server import free_port

HANGING = "+31612000000"

ENV = (  # the layout Asterisk 22 sends (agi.protocol reads the environment by it)
    "agi_network: yes\nagi_network_script: screen\nagi_request: agi://127.0.0.1/screen\n"
    "agi_channel: PJSIP/abroad-00000001\nagi_language: en\nagi_type: PJSIP\n"
    "agi_uniqueid: 1795861289.1\nagi_version: 22.10.1\nagi_callerid: {cid}\n"
    "agi_calleridname: Bench\nagi_callingpres: 0\nagi_callingani2: 0\nagi_callington: 0\n"
    "agi_callingtns: 0\nagi_dnid: unknown\nagi_rdnis: unknown\nagi_context: from-abroad\n"
    "agi_extension: 0201234567\nagi_priority: 1\nagi_enhanced: 0.0\nagi_accountcode: \n"
    "agi_threadid: 140435055912640\nagi_arg_1: inbound\nagi_arg_2: \nagi_arg_3: \n"
    "agi_arg_4: international\n\n"
)


class Handler(BaseHTTPRequestHandler):
    release = threading.Event()

    def do_GET(self) -> None:
        if self.path.endswith(HANGING):
            self.release.wait(30)
            return
        body = b'{"roaming": true}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


def call(port: int, callerid: str) -> tuple[float, str]:
    """One AGI conversation; (seconds, SCREEN_REASON)."""
    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(ENV.format(cid=callerid).encode())
        reader = sock.makefile("rb")
        line = reader.readline().decode()
        sock.sendall(b"200 result=1\n")
        reader.read()  # the server closes after the answer
    elapsed = time.perf_counter() - started
    reason = line.split("SCREEN_REASON=", 1)[1].split(",", 1)[0] if "REASON=" in line else "?"
    return elapsed, reason


def measure(port: int, numbers: list[str]) -> tuple[list[float], set[str]]:
    times, reasons = [], set()
    for number in numbers:
        elapsed, reason = call(port, number)
        times.append(elapsed)
        reasons.add(reason)
    return sorted(times), reasons


# The per-call script's opening: bench/agi_script.py's, from the international trunk.
SCRIPT_OPENING = OPENING.replace(
    "agi_arg_1: inbound\n\n",
    "agi_arg_1: inbound\nagi_arg_2: \nagi_arg_3: \nagi_arg_4: international\n\n")


def script_call(script: Path, env: dict[str, str], callerid: str) -> tuple[float, str]:
    """One call through `callscreen-agi`, spawn to exit; (seconds, SCREEN_REASON)."""
    started = time.perf_counter()
    answer = converse([str(script), "inbound", "", "", "international"],
                      SCRIPT_OPENING.format(cid=callerid), env)
    elapsed = time.perf_counter() - started
    text = answer.decode()
    reason = text.split("SCREEN_REASON=", 1)[1].split(",", 1)[0] if "REASON=" in text else "?"
    return elapsed, reason


def table(runs: dict[str, list[str]], ask) -> dict[str, float]:
    """Print one line per case (median, p95, added over the first case); the medians, ms.
    The cases' calls are interleaved (one of each in turn, while a case has calls left), so
    that the machine's drift hits every case alike."""
    print(f"{'case':28} {'calls':>6} {'median':>8} {'p95':>8} {'added':>8}  reasons")
    times: dict[str, list[float]] = {name: [] for name in runs}
    reasons: dict[str, set[str]] = {name: set() for name in runs}
    for turn in range(max(len(numbers) for numbers in runs.values())):
        for name, numbers in runs.items():
            if turn < len(numbers):
                elapsed, reason = ask(numbers[turn])
                times[name].append(elapsed)
                reasons[name].add(reason)
    medians: dict[str, float] = {}
    base = 0.0
    for name in runs:
        taken = sorted(times[name])
        median = medians[name] = percentile(taken, 0.5) * 1000
        base = base or median
        print(f"{name:28} {len(taken):6d} {median:8.2f}"
              f" {percentile(taken, 0.95) * 1000:8.2f} {median - base:8.2f}"
              f"  {','.join(sorted(reasons[name]))}")
    return medians


def summary(path: str, medians: dict[str, float], budget_ms: int) -> str:
    base, answering, hanging = medians.values()
    return (f"{path}: answering roaming check adds {answering - base:.1f} ms median,"
            f" hanging costs {hanging - base:.1f} ms (budget {budget_ms} ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--script-calls", type=int, default=100)
    parser.add_argument("--budget-ms", type=int, default=50)
    args = parser.parse_args()

    endpoint = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    endpoint.daemon_threads = True
    threading.Thread(target=endpoint.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{endpoint.server_address[1]}/roaming/{{e164}}"
    with throwaway_redis() as redis:
        port, metrics_port = free_port(), free_port()
        env = {**os.environ, "CALLSCREEN_REDIS_URL": redis.url, "CALLSCREEN_REGION": "NL",
               "CALLSCREEN_ORIGIN_PRESET": "BE", "CALLSCREEN_ROAMING_CHECK_URL": url,
               "CALLSCREEN_LOOKUP_TIMEOUT_MS": str(args.budget_ms),
               "CALLSCREEN_LOG_LEVEL": "ERROR"}
        server = subprocess.Popen(
            [sys.executable, "-m", "blocklist.cli", "fastagi", "--listen", f"127.0.0.1:{port}",
             "--metrics-listen", f"127.0.0.1:{metrics_port}"], env=env, cwd=ROOT)
        try:
            deadline = time.monotonic() + 15
            while True:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics").close()
                    socket.create_connection(("127.0.0.1", port)).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise SystemExit("the FastAGI server did not start") from None
                    time.sleep(0.05)
            n = args.calls
            measure(port, [f"+3120{i:07d}" for i in range(50)])  # warm up
            runs = {
                "baseline (fixed, no check)": [f"+3120{i:07d}" for i in range(n)],
                "answering (fresh mobiles)": [f"+316{i + 10_000_000:08d}" for i in range(n)],
                "cached (one mobile)": ["+31612345678"] * n,
                "hanging endpoint": [HANGING] * max(20, n // 10),
            }
            print(f"budget {args.budget_ms} ms, one call at a time, times in ms\n")
            print("FastAGI server (one worker)")
            fastagi = table(runs, lambda number: call(port, number))
            del fastagi["cached (one mobile)"]

            print("\nper-call script (callscreen-agi, a process per call; no cache)")
            with tempfile.TemporaryDirectory() as tmp:
                script = install(Path(tmp) / "venv")
                script_env = {key: env[key] for key in env if key.startswith("CALLSCREEN_")}
                script_env["PATH"] = os.environ.get("PATH", "")
                m = args.script_calls
                for i in range(10):  # warm the page cache
                    script_call(script, script_env, f"+3120{i:07d}")
                scripted = table({
                    "baseline (fixed, no check)": [f"+3120{i:07d}" for i in range(m)],
                    "answering (fresh mobiles)": [f"+316{i + 20_000_000:08d}" for i in range(m)],
                    "hanging endpoint": [HANGING] * max(20, m // 5),
                }, lambda number: script_call(script, script_env, number))
            print()
            print(summary("FastAGI", fastagi, args.budget_ms))
            print(summary("per-call script", scripted, args.budget_ms))
        finally:
            Handler.release.set()
            server.terminate()
            server.wait(timeout=20)
            endpoint.shutdown()


if __name__ == "__main__":
    main()
