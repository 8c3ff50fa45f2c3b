"""Reading across endpoints: the FastAGI server's `ReadEndpoints` and the blocking
`FailoverConnection`, against a real Redis and misbehaving servers on real sockets."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import hiredis
import pytest
from prometheus_client import REGISTRY

from blocklist.errors import StoreTimeoutError
from blocklist.settings import Settings
from blocklist.store.reads import NOT_THE_PRIMARY, FailoverConnection, unusable
from blocklist.store.replicas import ReadEndpoints
from blocklist.store.wire import RedisAddress
from tests.ha.topology import free_port
from tests.store.test_wire import silent_server  # noqa: F401 - fixture


@pytest.fixture
def loading_server() -> Iterator[int]:
    """A Redis still loading its data: every command is answered -LOADING."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.1)
    stop = threading.Event()

    def serve(conn: socket.socket) -> None:
        reader = hiredis.Reader()
        with conn:
            while not stop.is_set():
                try:
                    data = conn.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                reader.feed(data)
                while reader.gets() is not False:
                    conn.sendall(b"-LOADING Redis is loading the dataset in memory\r\n")

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            conn.settimeout(0.2)
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    server.close()


def switches(reason: str) -> float:
    return REGISTRY.get_sample_value("callscreen_read_endpoint_switches_total",
                                     {"reason": reason}) or 0.0


def reading(endpoint: str) -> float | None:
    return REGISTRY.get_sample_value("callscreen_read_endpoint", {"endpoint": endpoint})


async def test_a_loading_endpoint_is_skipped_within_the_same_call(
    loading_server: int, redis_url: str, redis_client
) -> None:
    """-LOADING from the first endpoint: the same call is answered by the next, the switch
    is counted with reason `loading`, and the gauge names the endpoint in use."""
    redis_client.set("k", "v")
    real = RedisAddress.from_url(redis_url)
    before = switches("loading")
    reads = ReadEndpoints([RedisAddress(port=loading_server), real], primary=real)
    try:
        assert await reads.run([("GET", "k")], 2.0) == [b"v"]
        assert reads.in_use == f"{real.host}:{real.port}"
        assert switches("loading") == before + 1
        assert reading(f"127.0.0.1:{loading_server}") == 0
        assert reading(f"{real.host}:{real.port}") == 1
    finally:
        await reads.close()


async def test_a_dead_endpoint_costs_the_call_nothing(redis_url: str, redis_client) -> None:
    """A refused connection: the call is answered by the next endpoint (reason `error`)."""
    redis_client.set("k", "v")
    before = switches("error")
    real = RedisAddress.from_url(redis_url)
    reads = ReadEndpoints([RedisAddress(port=free_port()), real], primary=real)
    try:
        assert await reads.run([("GET", "k")], 2.0) == [b"v"]
        assert await reads.run([("GET", "k")], 2.0) == [b"v"]
        assert switches("error") == before + 1
    finally:
        await reads.close()


async def test_a_silent_endpoint_fails_one_call_then_is_skipped(
    silent_server: int, redis_url: str, redis_client  # noqa: F811
) -> None:
    """An endpoint that does not answer uses up that call's budget (it fails open); the
    next call goes to the next endpoint (reason `timeout`)."""
    redis_client.set("k", "v")
    before = switches("timeout")
    real = RedisAddress.from_url(redis_url)
    reads = ReadEndpoints([RedisAddress(port=silent_server), real], primary=real)
    try:
        with pytest.raises(StoreTimeoutError):
            await reads.run([("GET", "k")], 0.1)
        assert await reads.run([("GET", "k")], 1.0) == [b"v"]
        assert switches("timeout") == before + 1
    finally:
        await reads.close()


def test_the_blocking_connection_tries_the_read_urls_in_order(
    loading_server: int, redis_url: str, redis_client
) -> None:
    """The per-call script's connection: a dead and a loading endpoint are passed over
    within one budget, and the first that answers gives the replies."""
    redis_client.set("k", "v")
    reads = (f"redis://127.0.0.1:{free_port()}/0", f"redis://127.0.0.1:{loading_server}/0",
             redis_url)
    location = Settings(redis_url=redis_url, read_urls=reads).redis
    assert FailoverConnection(location, 2.0).run([("GET", "k")]) == [b"v"]


def test_the_blocking_connection_fails_when_no_endpoint_answers(
    silent_server: int,  # noqa: F811
) -> None:
    """Nothing answers within the budget: StoreTimeoutError (the call fails open)."""
    location = Settings(read_urls=(f"redis://127.0.0.1:{silent_server}/0",)).redis
    with pytest.raises(StoreTimeoutError):
        FailoverConnection(location, 0.1).run([("GET", "k")])


@pytest.mark.parametrize(("info", "why"), [
    ("# Replication\r\nrole:master\r\nconnected_slaves:2\r\n", NOT_THE_PRIMARY),
    ("role:master\r\nmaster_repl_offset:0\r\nsecond_repl_offset:5120\r\n", None),
    ("role:slave\r\nmaster_link_status:up\r\nmaster_last_io_seconds_ago:0\r\n", None),
    ("role:slave\r\nmaster_link_status:down\r\nmaster_link_down_since_seconds:12\r\n", None),
    ("role:slave\r\nmaster_link_status:down\r\nmaster_link_down_since_seconds:-1\r\n",
     "a replica that has not synced since it started"),
    (b"role:slave\r\nmaster_link_status:down\r\n",
     "a replica that has not synced since it started"),
])
def test_a_replica_restarted_empty_is_not_read(info: object, why: str | None) -> None:
    """A replica just promoted, a linked replica or one whose primary died may be read; a
    replica that has not synced since it started, or a primary not named as the primary
    (an old primary back empty), may not."""
    assert unusable(info) == why


@pytest.mark.parametrize(("info", "history", "why"), [
    ("role:master\r\nmaster_repl_offset:0\r\nsecond_repl_offset:-1\r\n", False, None),
    ("role:master\r\nmaster_repl_offset:0\r\nsecond_repl_offset:-1\r\n", True,
     NOT_THE_PRIMARY),
    ("role:master\r\nmaster_repl_offset:8812\r\nsecond_repl_offset:-1\r\n", True, None),
])
def test_the_primary_is_read_when_it_may_hold_the_list(
    info: str, history: bool, why: str | None,
) -> None:
    """The configured primary is read; the one the Sentinels name only once it has fed
    replicas (one restarted empty before a process heard of the failover has not)."""
    assert unusable(info, primary=True, history=history) == why
