"""`blocklist.redis_server`: the redis-server it starts is the one that answers, never another
process that holds the port (two test sessions on one machine must not share a Redis)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from blocklist.errors import StoreError
from blocklist.redis_server import RedisServer

pytestmark = pytest.mark.redis


@pytest.fixture
def other(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of someone else's: another test session's, say."""
    server = RedisServer(tmp_path / "other", persistent=False)
    server.start()
    yield server
    server.stop()


def answering_pid(server: RedisServer) -> int:
    client = redis.Redis.from_url(server.url)
    try:
        return int(client.info("server")["process_id"])
    finally:
        client.close()


def test_a_given_port_held_by_another_redis_is_an_error(
    tmp_path: Path, other: RedisServer
) -> None:
    """The other Redis answers on the port, but it is not ours: start says ours exited."""
    server = RedisServer(tmp_path / "ours", port=other.port, persistent=False)
    with pytest.raises(StoreError, match=r"(?s)exited at start.*Address already in use"):
        server.start()
    server.stop()
    assert server.port == other.port


def test_a_chosen_port_taken_before_start_moves_to_another(tmp_path: Path) -> None:
    """A port `free_port` chose, taken before redis-server binds it: another one, and the
    Redis answering there is ours."""
    server = RedisServer(tmp_path / "ours", persistent=False)
    taken = server.port
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", taken))
        holder.listen()
        server.start()
    try:
        assert server.process is not None
        assert server.port != taken
        assert answering_pid(server) == server.process.pid
    finally:
        server.stop()
