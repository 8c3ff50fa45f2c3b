"""Test session fixtures: a real Redis the session starts itself (a free port, a throwaway
directory), or the one named by CALLSCREEN_TEST_REDIS_URL. Tests that use it are marked
`redis`; `pytest -m "not redis"` runs the pure suite alone."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from blocklist.redis_server import RedisServer
from blocklist.settings import Settings
from blocklist.store.admin import Store


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Redis for the whole session; fails loudly when none can be had."""
    named = os.environ.get("CALLSCREEN_TEST_REDIS_URL")
    if named:
        yield named
        return
    server = RedisServer(tmp_path_factory.mktemp("redis"), persistent=False)
    server.start()  # raises with the reason (no redis-server on PATH, ...)
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    client.flushdb()
    yield client
    client.close()


@pytest.fixture
def store(redis_client: redis.Redis) -> Store:
    return Store(redis_client, "cs")


@pytest.fixture
def settings(redis_url: str) -> Settings:
    return Settings(redis_url=redis_url, region="NL", lookup_timeout_s=0.5)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "redis_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.redis)


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A TCP port whose connections the kernel accepts (its backlog) and nobody serves: no
    reply, no TLS handshake; a client gives up only by its own time budget."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        yield server.getsockname()[1]
