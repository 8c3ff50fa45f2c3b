"""The call path's lean Redis client: URLs, real Redis, and Redis that is slow or down."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from blocklist.errors import ConfigError, StoreError, StoreTimeoutError
from blocklist.store.multiplexer import Multiplexer
from blocklist.store.wire import BlockingConnection, RedisAddress, encode


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis://127.0.0.1:6380/2", RedisAddress("127.0.0.1", 6380, db=2)),
        ("redis://:s3cret@db.example:6379", RedisAddress("db.example", password="s3cret")),
        ("redis://user:p%40ss@h/0", RedisAddress("h", username="user", password="p@ss")),
        ("rediss://h:6390", RedisAddress("h", 6390, tls=True)),
        ("unix:///run/redis.sock?db=3", RedisAddress(path="/run/redis.sock", db=3)),
    ],
)
def test_url_parsing(url: str, expected: RedisAddress) -> None:
    """redis://, rediss:// and unix:// URLs, with credentials and database."""
    assert RedisAddress.from_url(url) == expected


@pytest.mark.parametrize("url", ["http://h", "redis://h:99999", "redis://h/x", "unix://"])
def test_bad_urls_are_config_errors(url: str) -> None:
    """A malformed URL is refused without echoing a password."""
    with pytest.raises(ConfigError):
        RedisAddress.from_url(url)


def test_password_is_redacted_in_errors() -> None:
    """The password never appears in the error message."""
    with pytest.raises(ConfigError) as info:
        RedisAddress.from_url("redis://u:topsecret@h:notaport")
    assert "topsecret" not in str(info.value)


def test_encode_is_resp() -> None:
    """Commands are written as RESP arrays of bulk strings (binary-safe, no quoting)."""
    assert encode([("GET", "a\r\nb")]) == b"*2\r\n$3\r\nGET\r\n$4\r\na\r\nb\r\n"


def test_blocking_connection_runs_a_pipeline(redis_url: str, redis_client) -> None:
    """A pipeline's replies come back in order from a real Redis."""
    redis_client.hset("h", "f", "1")
    replies = BlockingConnection(RedisAddress.from_url(redis_url), 1.0).run(
        [("HGET", "h", "f"), ("HMGET", "h", "f", "x")]
    )
    assert replies == [b"1", [b"1", None]]


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP server that accepts and never answers: a Redis that hangs."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def test_blocking_connection_times_out(silent_server: int) -> None:
    """A Redis that does not answer costs at most the budget."""
    started = time.monotonic()
    with pytest.raises(StoreTimeoutError):
        BlockingConnection(RedisAddress(port=silent_server), 0.05).run([("PING",)])
    assert time.monotonic() - started < 1.0


def test_blocking_connection_budget_covers_a_slow_reply() -> None:
    """A Redis that answers a byte at a time still costs at most the budget in all."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)

    def drip() -> None:
        conn = server.accept()[0]
        with conn:
            for byte in b"$10\r\n0123456789\r\n":
                time.sleep(0.02)
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return

    thread = threading.Thread(target=drip, daemon=True)
    thread.start()
    started = time.monotonic()
    with pytest.raises(StoreTimeoutError):
        BlockingConnection(RedisAddress(port=server.getsockname()[1]), 0.1).run([("GET", "k")])
    assert time.monotonic() - started < 0.2
    thread.join()
    server.close()


def test_blocking_connection_down() -> None:
    """A Redis that is not there is a StoreError."""
    with pytest.raises(StoreError):
        BlockingConnection(RedisAddress(port=1), 0.05).run([("PING",)])


async def test_multiplexer_matches_replies_in_order(redis_url: str, redis_client) -> None:
    """Many concurrent pipelines on one connection each get their own replies."""
    for n in range(50):
        redis_client.set(f"k{n}", str(n))
    mux = Multiplexer(RedisAddress.from_url(redis_url))
    results = await asyncio.gather(*(mux.run([("GET", f"k{n}")], 1.0) for n in range(50)))
    assert [r[0] for r in results] == [str(n).encode() for n in range(50)]
    await mux.close()


async def test_multiplexer_times_out_then_recovers(silent_server: int) -> None:
    """A hanging Redis times out each call within its budget."""
    mux = Multiplexer(RedisAddress(port=silent_server))
    for _ in range(3):
        started = time.monotonic()
        with pytest.raises(StoreTimeoutError):
            await mux.run([("PING",)], 0.05)
        assert time.monotonic() - started < 0.5
    await mux.close()


async def test_multiplexer_closes_a_connection_whose_setup_hangs(
    silent_server: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Redis that accepts but never answers the setup costs no socket per reconnect."""
    from blocklist.store import multiplexer

    made: list[multiplexer._Protocol] = []

    class Recorded(multiplexer._Protocol):
        def __init__(self) -> None:
            super().__init__()
            made.append(self)

    monkeypatch.setattr(multiplexer, "_Protocol", Recorded)
    monkeypatch.setattr(multiplexer, "SETUP_TIMEOUT_S", 0.05)
    mux = Multiplexer(RedisAddress(port=silent_server), retry_s=0, setup=[("PING",)])
    for _ in range(3):
        with pytest.raises(StoreError):
            await mux.run([("PING",)], 0.5)
    assert len(made) == 3
    assert all(p.closed for p in made)
    await mux.close()


async def test_multiplexer_down_fails_fast() -> None:
    """A Redis that is down fails at once, and reconnects are rate-limited."""
    mux = Multiplexer(RedisAddress(port=1), retry_s=10)
    with pytest.raises(StoreError):
        await mux.run([("PING",)], 0.5)
    attempts = []
    original = mux._connect

    async def counted():  # type: ignore[no-untyped-def]
        attempts.append(1)
        return await original()

    mux._connect = counted  # type: ignore[method-assign]
    for _ in range(5):
        with pytest.raises(StoreError, match="unavailable"):
            await mux.run([("PING",)], 0.5)
    assert attempts == []  # within retry_s no call waits on a new connection attempt


async def test_close_cancels_a_connection_being_made(silent_server: int) -> None:
    """close() during a connection attempt leaves no connection behind it."""
    mux = Multiplexer(RedisAddress(port=silent_server), setup=[("SCRIPT", "LOAD", "return 1")])
    with pytest.raises(StoreTimeoutError):
        await mux.run([("PING",)], 0.05)  # the setup hangs: the attempt goes on
    await mux.close()
    assert mux._connecting is None and mux._protocol is None
