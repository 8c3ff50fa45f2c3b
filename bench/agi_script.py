"""The per-call AGI script: median wall time and peak memory per call.

The goals: at most 30 ms wall and 16 MB peak memory per call, median, and at most 2.5 times
the wall time of a bare interpreter started the same way (this machine's floor). Installs the
project (not editable, as an operator would) with its one call-path dependency (hiredis) into
a throwaway virtual environment, then runs `callscreen-agi` the way Asterisk does: a new
process per call, the AGI environment on stdin, the answer (one EXEC MSet), against a
throwaway Redis holding 100,000 listed numbers. Wall time is from spawn to exit; peak memory
is the child's maximum resident set size (wait4).

    python bench/agi_script.py [--calls 200]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, list_numbers, redis_benchmark_mget, throwaway_redis

OPENING = (
    "agi_request: callscreen-agi\nagi_channel: PJSIP/trunk-00000001\nagi_language: nl\n"
    "agi_type: PJSIP\nagi_uniqueid: 1795861289.1\nagi_version: 22.10.1\n"
    "agi_callerid: {cid}\nagi_calleridname: Bench\nagi_callingpres: 0\nagi_callingani2: 0\n"
    "agi_callington: 0\nagi_callingtns: 0\nagi_dnid: 31201234567\nagi_rdnis: unknown\n"
    "agi_context: from-trunk\nagi_extension: 31201234567\nagi_priority: 2\nagi_enhanced: 0.0\n"
    "agi_accountcode: \nagi_threadid: 140435055912640\nagi_arg_1: inbound\n\n"
)


def install(venv: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, "--no-deps", str(ROOT), "hiredis"], check=True)
    return venv / "bin" / "callscreen-agi"


PYST2_REFERENCE = """
import sys
from asterisk.agi import AGI
import redis
agi = AGI(stderr=open("/dev/null", "w"))
number = agi.env["agi_callerid"].lstrip("+")
hit = redis.Redis.from_url(sys.argv[1]).get("n:" + number)
agi.set_variable("SCREEN_ACTION", "block" if hit else "allow")
"""


def one_call(script: Path, env: dict[str, str], number: str,
             report: Path) -> tuple[float, int, bytes]:
    return one_call_command([str(script), "inbound"], number, report, env)


def one_call_command(command: list[str], number: str, report: Path,
                     env: dict[str, str] | None = None) -> tuple[float, int, bytes]:
    """One call; peak memory comes from GNU time (`%M`), since the rusage of a child forked
    from this (large) bench process would count the bench's own pages."""
    started = time.perf_counter()
    answer = converse(["/usr/bin/time", "-f", "%M", "-o", str(report), *command],
                      OPENING.format(cid=number), env)
    elapsed = time.perf_counter() - started
    return elapsed, int(report.read_text().split()[-1]), answer  # KiB


def converse(command: list[str], opening: str, env: dict[str, str] | None) -> bytes:
    """Run an AGI script as Asterisk does: send the environment (`opening`), answer every
    command `200 result=0` until it exits; what it sent. Exits the bench if the script
    fails."""
    proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=env)
    assert proc.stdin and proc.stdout
    proc.stdin.write(opening.encode())
    proc.stdin.flush()
    answer = b""
    while line := proc.stdout.readline():  # answer every command until the script exits
        answer += line
        proc.stdin.write(b"200 result=0\n")
        proc.stdin.flush()
    proc.stdin.close()
    proc.stdout.close()
    if proc.wait() != 0:
        raise SystemExit(f"{command[0]} exited with {proc.returncode}")
    return answer


def bare_interpreter(python: str, env: dict[str, str], report: Path) -> tuple[float, int]:
    """`python -c pass`, started as a call is (GNU time, pipes): wall seconds, peak KiB."""
    started = time.perf_counter()
    subprocess.run(["/usr/bin/time", "-f", "%M", "-o", str(report), python, "-c", "pass"],
                   stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, env=env, check=True)
    return time.perf_counter() - started, int(report.read_text().split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    rng = random.Random(11)
    with throwaway_redis() as redis, tempfile.TemporaryDirectory() as tmp:
        listed = list_numbers(redis.url, rng)
        if not Path("/usr/bin/time").exists():
            raise SystemExit("GNU time is needed for peak memory: apt-get install time")
        script = install(Path(tmp) / "venv")
        env = {"PATH": os.environ.get("PATH", ""), "CALLSCREEN_REDIS_URL": redis.url,
               "CALLSCREEN_REGION": "NL", "CALLSCREEN_LOOKUP_TIMEOUT_MS": "200"}
        for n in range(10):  # warm the page cache
            one_call(script, env, "+" + listed[n], Path(tmp) / "time.txt")
        python = str(Path(tmp) / "venv" / "bin" / "python")
        walls, peaks, bare, bare_peaks = [], [], [], []
        blocked = 0
        for n in range(args.calls):
            number = "+" + listed[n] if n % 2 else f"+3120{rng.randrange(10**7):07d}"
            wall, peak, answer = one_call(script, env, number, Path(tmp) / "time.txt")
            walls.append(wall)
            peaks.append(peak)
            blocked += b"SCREEN_ACTION=block" in answer
            if n % 4 == 0:  # the floor, interleaved so that drift hits both alike
                wall, peak = bare_interpreter(python, env, Path(tmp) / "time.txt")
                bare.append(wall)
                bare_peaks.append(peak)
        if blocked != args.calls // 2:
            raise SystemExit(f"expected {args.calls // 2} blocks, got {blocked}")
        # The usual alternative, in the same run: a per-call script on pyst2 and
        # redis-py doing one lookup (installed into the same throwaway venv for this only).
        subprocess.run([python, "-m", "pip", "install", "-q", "pyst2", "six", "redis"],
                       check=True)
        classic = []
        for n in range(30):
            wall, peak, _ = one_call_command(
                [python, "-c", PYST2_REFERENCE, redis.url], "+" + listed[n],
                Path(tmp) / "time.txt")
            classic.append((wall, peak))
        reference = redis_benchmark_mget(redis.port)
    walls.sort()
    script_ms, bare_ms = statistics.median(walls) * 1000, statistics.median(bare) * 1000
    print(f"callscreen-agi, {args.calls} calls (half of them listed numbers), 100,000 listed")
    print(f"  reference: {reference}")
    print(f"  wall per call: median {script_ms:.1f} ms,"
          f" p90 {walls[int(len(walls) * .9)] * 1000:.1f} ms   (goal median <= 30 ms)")
    print(f"  a bare `python -c pass` from the same venv, started the same way: median"
          f" {bare_ms:.1f} ms, peak {statistics.median(bare_peaks) / 1024:.1f} MB")
    print(f"  ratio: callscreen-agi takes {script_ms / bare_ms:.2f} times a bare interpreter's"
          " wall time (medians)   (goal <= 2.5)")
    print(f"  peak memory per call: median {statistics.median(peaks) / 1024:.1f} MB,"
          f" max {max(peaks) / 1024:.1f} MB   (goal median <= 16 MB)")
    print(f"  for scale: pyst2 + redis-py doing one lookup:"
          f" {statistics.median(w for w, _ in classic) * 1000:.1f} ms and"
          f" {statistics.median(p for _, p in classic) / 1024:.1f} MB (median)")


if __name__ == "__main__":
    main()
