"""The FastAGI server, run as `callscreen fastagi`, over real sockets."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
from prometheus_client import REGISTRY

from agi import fastagi as fastagi_module
from agi.fastagi import CallHandler, FastAgiServer
from blocklist.entries import AppliesTo, Category, Entry, Mode
from blocklist.redis_server import free_port
from blocklist.screening import Screener
from blocklist.settings import Settings
from blocklist.store.admin import Store
from tests.agi.asterisk_peer import (
    USAGE_520,
    Conversation,
    call_fastagi,
    environment,
    without_mset,
)
from tests.store.test_wire import silent_server  # noqa: F401 - fixture


@contextmanager
def fastagi(redis_url: str, *, timeout_ms: int = 200, workers: int = 1,
            log_level: str = "WARNING",
            ) -> Iterator[tuple[int, int, subprocess.Popen[bytes]]]:
    port, metrics_port = free_port(), free_port()
    env = {**os.environ, "CALLSCREEN_REDIS_URL": redis_url, "CALLSCREEN_REGION": "NL",
           "CALLSCREEN_LOOKUP_TIMEOUT_MS": str(timeout_ms), "CALLSCREEN_LOG_LEVEL": log_level}
    env.pop("CALLSCREEN_LOG_NUMBERS", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "blocklist.cli", "fastagi", "--listen", f"127.0.0.1:{port}",
         "--metrics-listen", f"127.0.0.1:{metrics_port}", "--workers", str(workers)],
        env=env, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 15
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=1).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                err = proc.stderr.read().decode() if proc.stderr else ""
                if proc.stderr:
                    proc.stderr.close()
                proc.wait()
                raise AssertionError(f"fastagi did not start: {err}") from None
            time.sleep(0.05)
    try:
        yield port, metrics_port, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
        if proc.stderr:
            proc.stderr.close()


def metric(metrics_port: int, name: str, **labels: str) -> float:
    body = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics",
                                  timeout=2).read().decode()
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    total = 0.0
    for line in body.splitlines():
        if line.startswith(name + ("{" if labels else " ")) or line.startswith(name + "{"):
            series, _, value = line.rpartition(" ")
            if all(f'{k}="{v}"' in series for k, v in labels.items()) or not want:
                total += float(value)
    return total


@pytest.fixture(scope="module")
def server(redis_url: str) -> Iterator[tuple[int, int]]:
    with fastagi(redis_url) as (port, metrics_port, _):
        yield port, metrics_port


def listed(store: Store, number: str, category: Category) -> None:
    store.add_entries([Entry(key=number, is_prefix=False, category=category,
                             applies_to=AppliesTo.default_for(category), source="acm")])


def test_revoked_caller_is_blocked(store: Store, server) -> None:
    """A revoked inbound caller gets block, and the connection is closed after the answer."""
    listed(store, "31851234567", Category.REVOKED)
    labels = {"direction": "inbound", "action": "block", "status": "ok"}
    before = metric(server[1], "callscreen_calls_total", **labels)
    conv = call_fastagi(server[0], environment(callerid="+31851234567", extension="0201234567",
                                               args=("inbound",)))
    assert conv.variables["SCREEN_ACTION"] == "block"
    assert conv.variables["SCREEN_NUMBER"] == "+31851234567"
    assert conv.closed_by_peer
    assert metric(server[1], "callscreen_calls_total", **labels) - before == 1


def test_suspected_outbound_warns_in_subscriber_language(store: Store, server) -> None:
    """A suspected dialled number warns in the subscriber's language."""
    listed(store, "31851234567", Category.SUSPECTED)
    store.set_subscriber("31201234567", mode=Mode.STANDARD, language="nl")
    conv = call_fastagi(server[0], environment(callerid="+31201234567",
                                               extension="0851234567", args=("outbound",)))
    assert conv.variables["SCREEN_ACTION"] == "warn"
    assert conv.variables["SCREEN_PROMPT"] == "callscreen/nl/warn-outbound"


@pytest.mark.parametrize(
    ("callerid", "args", "reason"),
    [
        ("+31201111111", ("inbound",), "not-listed"),
        ("+31201234567", ("outbound", "112"), "protected"),
        ('+3185"\nEXEC Dial(PJSIP/666)', ("inbound",), "invalid-number"),
        ("x" * 2000, ("inbound",), "invalid-number"),
    ],
)
def test_allowed_calls(store: Store, server, callerid: str, args, reason: str) -> None:
    """Clean, emergency and hostile caller IDs are allowed; nothing injected runs."""
    listed(store, "31851234567", Category.FRAUD)
    conv = call_fastagi(server[0], environment(callerid=callerid.replace("\n", " "), args=args))
    assert conv.variables["SCREEN_ACTION"] == "allow"
    assert conv.variables["SCREEN_REASON"] == reason
    assert conv.commands and all(c.startswith("EXEC MSet SCREEN_") or
                                 c.startswith('EXEC MSet "SCREEN_') for c in conv.commands)
    assert len(conv.commands) == 1


def test_hangup_notification_mid_call(store: Store, server) -> None:
    """An unprompted HANGUP line is not taken as a reply; every variable is still set."""
    listed(store, "31851234567", Category.REVOKED)

    def responder(index: int, command: str) -> list[str]:
        if command.startswith("EXEC MSet"):  # as Asterisk answers on a channel hung up
            return ["HANGUP", "511 Command Not Permitted on a dead channel or intercept routine"]
        return ["200 result=1"]

    before = metric(server[1], "callscreen_agi_errors_total", kind="hangup")
    conv = call_fastagi(server[0], environment(callerid="+31851234567", args=("inbound",)),
                        responder)
    assert conv.variables["SCREEN_ACTION"] == "block"
    assert [c.split()[0] for c in conv.commands] == ["EXEC"] + ["SET"] * 6
    assert metric(server[1], "callscreen_agi_errors_total", kind="hangup") - before == 1


def test_511_and_520_replies(server) -> None:
    """511 and multi-line 520 replies are read whole; the rest of the answer follows."""
    def responder(index: int, _command: str) -> list[str]:
        return {0: ["511 Command Not Permitted on a dead channel or intercept routine"],
                2: USAGE_520}.get(index, ["200 result=1"])

    conv = call_fastagi(server[0], environment(args=("inbound",)), responder)
    assert len(conv.commands) == 7  # MSet refused, then six SET VARIABLEs
    assert set(conv.variables) == {"SCREEN_ACTION", "SCREEN_NUMBER", "SCREEN_PROMPT",
                                   "SCREEN_REASON", "SCREEN_STATUS"}  # CATEGORY got the 520


def test_answer_is_one_mset(server) -> None:
    """The whole answer is one EXEC MSet round trip when Asterisk accepts it."""
    conv = call_fastagi(server[0], environment(callerid="+31201111111", args=("inbound",)))
    assert len(conv.commands) == 1 and conv.commands[0].startswith("EXEC MSet ")
    assert set(conv.variables) == {"SCREEN_ACTION", "SCREEN_CATEGORY", "SCREEN_NUMBER",
                                   "SCREEN_PROMPT", "SCREEN_REASON", "SCREEN_STATUS"}


def test_refused_mset_falls_back_to_set_variable(store: Store, server) -> None:
    """When Asterisk refuses MSet, the six SET VARIABLEs carry the same answer."""
    listed(store, "31851234567", Category.REVOKED)
    opening = environment(callerid="+31851234567", args=("inbound",))
    plain = call_fastagi(server[0], opening)
    before = metric(server[1], "callscreen_agi_errors_total", kind="mset-refused")
    fallback = call_fastagi(server[0], opening, without_mset)
    assert fallback.variables == plain.variables
    assert fallback.variables["SCREEN_ACTION"] == "block"
    assert metric(server[1], "callscreen_agi_errors_total", kind="mset-refused") - before == 1


def test_caller_disconnects_mid_call(server) -> None:
    """A peer that vanishes mid-answer does not hurt the server."""
    with socket.create_connection(("127.0.0.1", server[0]), timeout=5) as sock:
        sock.sendall(environment(args=("inbound",)))
        sock.makefile("rb").readline()
    conv = call_fastagi(server[0], environment(args=("inbound",)))
    assert conv.variables["SCREEN_ACTION"] == "allow"


@pytest.mark.parametrize(
    "opening",
    [b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", b"agi_network: yes\n" + b"A" * 10000 + b"\n\n",
     b"agi_x: y\n" * 500 + b"\n", b"\xff\xfe\x00\n\n"],
)
def test_malformed_environment_is_dropped(server, opening: bytes) -> None:
    """A peer that does not speak AGI is disconnected, and the server goes on."""
    with socket.create_connection(("127.0.0.1", server[0]), timeout=5) as sock:
        sock.sendall(opening)
        assert sock.makefile("rb").read() == b""  # closed without a command
    assert call_fastagi(server[0], environment(args=("inbound",))).variables


def test_unknown_script_and_bad_direction_fail_open(server) -> None:
    """A wrong FastAGI script name or DIRECTION is allowed, degraded, as a bad request."""
    conv = call_fastagi(server[0], environment(args=("sideways",)))
    assert (conv.variables["SCREEN_REASON"], conv.variables["SCREEN_STATUS"]) == (
        "bad-request", "degraded")


def test_many_concurrent_calls(store: Store, server) -> None:
    """Hundreds of simultaneous calls are all answered correctly."""
    listed(store, "31851234567", Category.REVOKED)

    def one(n: int) -> str:
        number = "+31851234567" if n % 2 else f"+3120{n:07d}"
        conv = call_fastagi(server[0], environment(callerid=number, args=("inbound",)))
        return conv.variables["SCREEN_ACTION"]

    with ThreadPoolExecutor(64) as pool:
        actions = list(pool.map(one, range(300)))
    assert actions == ["block" if n % 2 else "allow" for n in range(300)]


def test_slow_redis_fails_open_within_budget(silent_server: int) -> None:  # noqa: F811
    """A Redis that hangs: the call is allowed, degraded, within the budget."""
    with fastagi(f"redis://127.0.0.1:{silent_server}/0", timeout_ms=50) as (port, mport, _):
        before = metric(mport, "callscreen_calls_total", status="degraded")
        started = time.monotonic()
        conv = call_fastagi(port, environment(callerid="+31851234567", args=("inbound",)))
        assert time.monotonic() - started < 1.0
        assert conv.variables["SCREEN_STATUS"] == "degraded"
        assert conv.variables["SCREEN_REASON"] in ("store-timeout", "store-unavailable")
        assert metric(mport, "callscreen_calls_total", status="degraded") - before == 1


def test_dead_redis_fails_open_then_recovers(redis_url: str, tmp_path) -> None:
    """Redis down: allowed and degraded; Redis back: screening resumes by itself."""
    from blocklist.redis_server import RedisServer

    redis = RedisServer(tmp_path, persistent=False)
    with fastagi(redis.url, timeout_ms=50) as (port, mport, _):
        before = metric(mport, "callscreen_fail_open_total", reason="store-unavailable")
        conv = call_fastagi(port, environment(callerid="+31851234567", args=("inbound",)))
        assert conv.variables["SCREEN_STATUS"] == "degraded"
        after = metric(mport, "callscreen_fail_open_total", reason="store-unavailable")
        assert after - before == 1
        redis.start()
        try:
            store = Store.from_url(redis.url)
            listed(store, "31851234567", Category.REVOKED)
            deadline = time.monotonic() + 5
            while True:
                conv = call_fastagi(port, environment(callerid="+31851234567",
                                                      args=("inbound",)))
                if conv.variables["SCREEN_STATUS"] == "ok" or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            assert conv.variables["SCREEN_ACTION"] == "block"
            store.close()
        finally:
            redis.stop()


def test_sigterm_lets_calls_in_flight_finish(redis_url: str) -> None:
    """On SIGTERM the server stops accepting but finishes the call in flight, then exits 0."""
    with fastagi(redis_url) as (port, _, proc):
        got_first = threading.Event()
        release = threading.Event()
        result: dict[str, object] = {}

        def responder(index: int, _command: str) -> list[str]:
            if index == 0:
                got_first.set()
                release.wait(5)
            return ["200 result=1"]

        def call() -> None:
            result["conv"] = call_fastagi(port, environment(args=("inbound",)), responder)

        thread = threading.Thread(target=call)
        thread.start()
        assert got_first.wait(5)
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        release.set()
        thread.join(10)
        assert proc.wait(timeout=15) == 0
        conv = result["conv"]
        assert conv.variables["SCREEN_ACTION"] == "allow"  # type: ignore[attr-defined]


def test_workers_share_the_port(store: Store, redis_url: str) -> None:
    """With two worker processes, calls are answered and metrics merge across them."""
    listed(store, "31851234567", Category.REVOKED)
    with fastagi(redis_url, workers=2) as (port, mport, _):
        before = metric(mport, "callscreen_calls_total", action="block")
        for _ in range(20):
            conv = call_fastagi(port, environment(callerid="+31851234567", args=("inbound",)))
            assert conv.variables["SCREEN_ACTION"] == "block"
        assert metric(mport, "callscreen_calls_total", action="block") - before == 20


def test_numbers_stay_out_of_logs_and_metrics(store: Store, redis_url: str) -> None:
    """A blocked call is logged with a hashed number, and no number is in the metrics."""
    listed(store, "31851234567", Category.REVOKED)
    with fastagi(redis_url, log_level="INFO") as (port, mport, proc):
        conv = call_fastagi(port, environment(callerid="+31851234567", args=("inbound",)))
        assert conv.variables["SCREEN_ACTION"] == "block"
        body = urllib.request.urlopen(f"http://127.0.0.1:{mport}/metrics").read().decode()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
        log = proc.stderr.read().decode() if proc.stderr else ""
    assert "inbound #" in log and "-> block" in log  # the decision is logged, hashed
    assert "31851234567" not in log and "+3185" not in log
    assert "31851234567" not in body


Responder = Callable[[int, str], list[str]]


class AnsweringStore:
    """A store that answers every screening at once: nothing listed, no subscriber."""

    def submit(self, commands: object, timeout_s: float) -> asyncio.Future[list[object]]:
        future: asyncio.Future[list[object]] = asyncio.get_running_loop().create_future()
        future.set_result([[None, [], 0, []]])
        return future

    async def close(self) -> None:
        pass


class SilentStore(AnsweringStore):
    """A store that never answers (the real one's timer would fail the call open)."""

    def submit(self, commands: object, timeout_s: float) -> asyncio.Future[list[object]]:
        return asyncio.get_running_loop().create_future()


def in_process_server(screener: Screener | None = None, store: object = None,
                      max_calls: int = 10) -> FastAgiServer:
    handler = CallHandler(screener or Screener(Settings()), store or AnsweringStore())  # type: ignore[arg-type]
    return FastAgiServer(handler, max_calls)


def sample(name: str, **labels: str) -> float:
    """A metric of this process (the in-process servers'), 0 when not yet exported."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_error_concluding_a_call_fails_open(monkeypatch: pytest.MonkeyPatch) -> None:
    """An unexpected error after the store answered still answers the call: allowed, degraded."""
    def broken(*_args: object, **_kwargs: object) -> None:
        raise TypeError("a bug")

    screener = Screener(Settings())
    monkeypatch.setattr(screener, "conclude", broken)
    server = in_process_server(screener)
    port = await server.start("127.0.0.1", 0)
    try:
        conv = await asyncio.to_thread(
            call_fastagi, port, environment(callerid="+31851234567", args=("inbound",)),
            timeout_s=2.0)
    finally:
        await server.stop(0)
    assert conv.variables["SCREEN_ACTION"] == "allow"
    assert conv.variables["SCREEN_STATUS"] == "degraded"
    assert conv.variables["SCREEN_REASON"] == "internal-error"


async def test_silent_peers_are_dropped_and_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    """A peer silent past its deadline is dropped: before its environment ends, and while
    an answer waits for its reply; calls in flight show in the gauge meanwhile."""
    monkeypatch.setattr(fastagi_module, "ENVIRONMENT_TIMEOUT_S", 1.0)
    monkeypatch.setattr(fastagi_module, "REPLY_TIMEOUT_S", 1.0)
    server = in_process_server()
    port = await server.start("127.0.0.1", 0)
    before = sample("callscreen_agi_errors_total", kind="timeout")

    def silent_peers() -> tuple[bytes, float, bytes, bytes]:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as mute, \
                socket.create_connection(("127.0.0.1", port), timeout=5) as deaf:
            mute.sendall(b"agi_network: yes\n")  # and never the rest of the environment
            deaf.sendall(environment(args=("inbound",)))
            command = deaf.makefile("rb").readline()  # the answer, never replied to
            time.sleep(2 * fastagi_module.SWEEP_S)  # both still within their deadlines
            in_flight = sample("callscreen_calls_in_flight")
            return command, in_flight, mute.makefile("rb").read(), deaf.makefile("rb").read()

    try:
        command, in_flight, mute_rest, deaf_rest = await asyncio.to_thread(silent_peers)
    finally:
        await server.stop(0)
    assert command.startswith(b"EXEC MSet ")
    assert in_flight == 2
    assert (mute_rest, deaf_rest) == (b"", b"")  # both closed by the server, nothing sent
    assert sample("callscreen_agi_errors_total", kind="timeout") - before == 2


async def test_calls_past_the_bound_are_allowed_at_once() -> None:
    """Past CALLSCREEN_MAX_CALLS a call is allowed, degraded (overloaded), without the store."""
    server = in_process_server(store=SilentStore(), max_calls=1)
    port = await server.start("127.0.0.1", 0)
    before = sample("callscreen_fail_open_total", reason="overloaded")

    def second_call_while_first_waits() -> Conversation:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as first:
            first.sendall(environment(callerid="+31851234567", args=("inbound",)))
            time.sleep(0.2)  # the first call now waits for the store
            return call_fastagi(port, environment(callerid="+31851234568", args=("inbound",)))

    try:
        conv = await asyncio.to_thread(second_call_while_first_waits)
    finally:
        await server.stop(0)
    assert (conv.variables["SCREEN_ACTION"], conv.variables["SCREEN_STATUS"],
            conv.variables["SCREEN_REASON"]) == ("allow", "degraded", "overloaded")
    assert sample("callscreen_fail_open_total", reason="overloaded") - before == 1
