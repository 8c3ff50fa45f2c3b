"""The kill tests' moving parts: a FastAGI server process, a steady load of screened calls,
and a writer that records which writes the store acknowledged."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from blocklist.entries import AppliesTo, Category, Entry
from blocklist.errors import CallscreenError
from blocklist.store.admin import Store
from tests.agi.asterisk_peer import call_fastagi, environment
from tests.ha.topology import free_port

FULL = os.environ.get("CALLSCREEN_HA_FULL") == "1"  # the full scale (tools/check)


ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def fastagi_process(
    env: dict[str, str], stderr: IO[bytes] | None = None
) -> Iterator[tuple[subprocess.Popen[bytes], int, int]]:
    """`callscreen fastagi` of this checkout with the environment `env`, once it accepts
    connections: (its process, its port, its metrics port); SIGTERMed after the block.
    RuntimeError when it exits or does not accept within 15 s. bench/ha.py uses it too."""
    port, metrics_port = free_port(), free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "blocklist.cli", "fastagi", "--listen", f"127.0.0.1:{port}",
         "--metrics-listen", f"127.0.0.1:{metrics_port}"],
        env=env, stderr=stderr, cwd=ROOT)
    deadline = time.monotonic() + 15
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                proc.wait()
                raise RuntimeError(
                    f"callscreen fastagi did not start (exit code {proc.returncode})"
                ) from None
            time.sleep(0.05)
    try:
        yield proc, port, metrics_port
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)


@contextmanager
def fastagi(env: dict[str, str], *, timeout_ms: int = 250) -> Iterator[tuple[int, int]]:
    """`callscreen fastagi` with `env` added: (its port, its metrics port)."""
    full_env = {**os.environ, "CALLSCREEN_REGION": "NL", "CALLSCREEN_LOG_LEVEL": "WARNING",
                "CALLSCREEN_LOOKUP_TIMEOUT_MS": str(timeout_ms), **env}
    # CALLSCREEN_HA_LOG names a file for the server's log, to see why a kill test failed.
    with (open(os.environ.get("CALLSCREEN_HA_LOG", os.devnull), "ab") as stderr,
          fastagi_process(full_env, stderr) as (_, port, metrics_port)):
        yield port, metrics_port


def metric(metrics_port: int, name: str, **labels: str) -> float:
    """The sum of a metric's series that carry `labels`."""
    return sum(series(metrics_port, name, **labels))


def series(metrics_port: int, name: str, **labels: str) -> list[float]:
    """The values of a metric's series that carry `labels` (none when it has none)."""
    body = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics",
                                  timeout=2).read().decode()
    found = []
    for line in body.splitlines():
        name_labels, _, value = line.rpartition(" ")
        if (name_labels == name or name_labels.startswith(name + "{")) and all(
                f'{k}="{v}"' in name_labels for k, v in labels.items()):
            found.append(float(value))
    return found


def listed_entry(digits: str, source: str = "feed") -> Entry:
    return Entry(key=digits, is_prefix=False, category=Category.REVOKED,
                 applies_to=AppliesTo.BOTH, source=source, reference="HA-1")


@dataclass
class CallLog:
    """Every call's outcome: (when, expected action, action, status)."""

    calls: list[tuple[float, str, str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wrong(self) -> list[tuple[float, str, str, str]]:
        return [c for c in self.calls if c[3] == "ok" and c[1] != c[2]]

    def degraded(self, since: float = 0.0, until: float = float("inf")) -> list[
            tuple[float, str, str, str]]:
        return [c for c in self.calls if c[3] != "ok" and since <= c[0] <= until]


def steady_calls(port: int, numbers: list[str], unlisted: list[str], rate: float,
                 seconds: float, log: CallLog) -> None:
    """`rate` calls a second for `seconds`, half to listed numbers (block), half not (allow),
    through the FastAGI server on `port`; each outcome goes to `log`."""
    def one(index: int) -> None:
        listed = index % 2 == 0
        pool = numbers if listed else unlisted
        digits = pool[(index * 7919) % len(pool)]
        opening = environment(callerid="+" + digits, args=("inbound",))
        started = time.monotonic()
        try:
            conv = call_fastagi(port, opening)
            outcome = (conv.variables.get("SCREEN_ACTION", "?"),
                       conv.variables.get("SCREEN_STATUS", "?"))
        except OSError as exc:
            outcome = ("?", f"socket: {exc}")
        with log.lock:
            log.calls.append((started, "block" if listed else "allow", *outcome))

    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=32) as pool:
        for index in range(int(rate * seconds)):
            delay = start + index / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            pool.submit(one, index)


@dataclass
class Writer:
    """Adds one manual entry every `interval_s` through the store (as the API does) until
    stopped; keeps the acknowledged ones and when each write succeeded or failed."""

    store: Store
    interval_s: float = 0.1
    acknowledged: list[str] = field(default_factory=list)
    successes: list[float] = field(default_factory=list)
    failures: list[tuple[float, str]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            digits = f"318800{n:05d}"
            n += 1
            try:
                self.store.add_entries([listed_entry(digits, "manual")])
            except CallscreenError as exc:
                self.failures.append((time.monotonic(), str(exc)))
            else:
                self.acknowledged.append(digits)
                self.successes.append(time.monotonic())
            self.stop.wait(self.interval_s)
