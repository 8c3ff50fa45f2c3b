"""`tools/ha`: the high-availability topology starts on loopback, answers, and stops.

It runs the real script (Redis primary and replicas, three Sentinels, two FastAGI nodes, the
API through Sentinel), screens a call over FastAGI on each node, makes an API write, and
stops it with SIGINT, as Ctrl-C would.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.agi.asterisk_peer import call_fastagi, environment

pytestmark = [pytest.mark.redis, pytest.mark.ha, pytest.mark.timeout(240)]

ROOT = Path(__file__).resolve().parent.parent
TOOL = ROOT / "tools" / "ha"
LISTED = "+31855550188"
SUBSCRIBER = "+31201234567"
PART = re.compile(r"^  (?P<name>[a-z][a-z0-9 ]+?) +(?P<where>\S+) +pid (?P<pid>\d+)")


def free_base() -> int:
    """A base port whose 41 ports above it are free now (the tool refuses busy ones)."""
    for _ in range(50):
        base = random.randrange(20000, 30000)
        if all(_free(base + offset) for offset in range(1, 42)):
            return base
    raise AssertionError("no free range of 41 ports on loopback")


def _free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class Running:
    """tools/ha as a child process, its output collected by a thread."""

    def __init__(self, base: int, data_dir: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CALLSCREEN_")}
        self.process = subprocess.Popen(
            [sys.executable, str(TOOL), "--base-port", str(base), "--dir", str(data_dir)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def close(self) -> None:
        self._reader.join(timeout=10)
        assert self.process.stdout is not None
        self.process.stdout.close()

    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, text: str, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while not any(line.startswith(text) for line in self.lines):
            assert self.process.poll() is None, f"tools/ha exited:\n{self.output()}"
            assert time.monotonic() < deadline, f"no {text!r} from tools/ha:\n{self.output()}"
            time.sleep(0.1)

    def parts(self) -> dict[str, tuple[str, int]]:
        """name -> (where, pid), from the printout."""
        found = {}
        for line in self.lines:
            match = PART.match(line)
            if match:
                found[match["name"]] = (match["where"], int(match["pid"]))
        return found

    def value(self, label: str) -> str:
        for line in self.lines:
            if line.strip().startswith(label):
                return line.strip()[len(label):].strip()
        raise AssertionError(f"tools/ha printed no {label!r}:\n{self.output()}")


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    tool = Running(free_base(), tmp_path / "ha")
    try:
        yield tool
    finally:
        if tool.process.poll() is None:
            tool.process.send_signal(signal.SIGINT)
            try:
                tool.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                tool.process.kill()
                tool.process.wait()
        tool.close()


def port_of(where: str) -> int:
    return int(re.findall(r":(\d+)", where)[-1])


def screenings_run(redis_where: str) -> int:
    """How many screening scripts this Redis has run (EVALSHA or EVALSHA_RO), from INFO."""
    done = subprocess.run(["redis-cli", "-p", str(port_of(redis_where)), "INFO",
                           "commandstats"], capture_output=True, text=True, timeout=10,
                          check=True)
    return sum(int(calls) for calls in
               re.findall(r"cmdstat_evalsha(?:_ro)?:calls=(\d+)", done.stdout))


def screen(where: str) -> dict[str, str]:
    """The SCREEN_* variables a node sets for an inbound call from LISTED."""
    opening = environment(callerid=LISTED, args=("inbound", "", SUBSCRIBER))
    return call_fastagi(port_of(where), opening).variables


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_tools_ha_starts_answers_and_stops(running: Running) -> None:
    """tools/ha starts every part, each FastAGI node screens reading its own replica, the API
    writes through Sentinel, and SIGINT stops every process it started."""
    running.wait_for("ready", timeout_s=150)
    parts = running.parts()
    assert set(parts) == {"redis primary", "redis replica 1", "redis replica 2", "sentinel 1",
                          "sentinel 2", "sentinel 3", "fastagi node 1", "fastagi node 2",
                          "admin api"}, running.output()
    assert running.value("CALLSCREEN_REDIS_URL=").startswith("redis+sentinel://127.0.0.1:")
    globals_line = running.value("dialplan globals:")
    assert f"CALLSCREEN_AGI={parts['fastagi node 1'][0]}" in globals_line
    assert f"CALLSCREEN_AGI_BACKUP={parts['fastagi node 2'][0]}" in globals_line

    # Before the write: the number is not listed, on either node.
    for node in ("fastagi node 1", "fastagi node 2"):
        answer = screen(parts[node][0])
        assert (answer["SCREEN_ACTION"], answer["SCREEN_STATUS"]) == ("allow", "ok"), answer

    # An API write, through Sentinel to the primary.
    request = urllib.request.Request(
        f"{parts['admin api'][0]}/v1/entries", method="POST",
        data=json.dumps({"number": LISTED, "category": "revoked", "reason": "tools/ha test"})
        .encode(),
        headers={"Authorization": f"Bearer {running.value('admin API key:')}",
                 "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 201

    # Each node now blocks it, reading its own replica (the replication is asynchronous:
    # ask until the replica has it, within a bound).
    for n in (1, 2):
        node, replica, other = (f"fastagi node {n}", f"redis replica {n}",
                                f"redis replica {3 - n}")
        deadline = time.monotonic() + 30
        while True:
            own, others = screenings_run(parts[replica][0]), screenings_run(parts[other][0])
            answer = screen(parts[node][0])
            if answer["SCREEN_ACTION"] == "block" or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert (answer["SCREEN_ACTION"], answer["SCREEN_STATUS"]) == ("block", "ok"), answer
        assert screenings_run(parts[replica][0]) == own + 1, f"{node} did not read {replica}"
        assert screenings_run(parts[other][0]) == others, f"{node} read {other}"
        # and its metrics say so
        metrics_url = re.search(r"metrics (http://\S+/metrics)", running.output().split(
            f"  {node} ")[1])
        assert metrics_url is not None, running.output()
        with urllib.request.urlopen(metrics_url[1], timeout=10) as response:
            exported = response.read().decode()
        endpoint = f"127.0.0.1:{port_of(parts[replica][0])}"
        assert f'callscreen_read_endpoint{{endpoint="{endpoint}"}} 1.0' in exported, exported

    running.process.send_signal(signal.SIGINT)
    assert running.process.wait(timeout=60) == 0, running.output()
    assert running.lines[-1] == "stopped"
    assert [name for name, (_, pid) in parts.items() if alive(pid)] == []
