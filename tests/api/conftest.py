"""The API under test: a real uvicorn server on a free port (one per session, in a thread),
against the session's Redis, and httpx clients holding a key of each role. The `api`
fixture flushes Redis (through `store`) and makes fresh keys for every test. The session's
server runs no feed scheduler (a test's feeds sync when it says so); `serve` starts a server
of its own for a test that needs other settings."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx
import pytest
import uvicorn

from api.app import create_app
from blocklist.settings import Settings
from blocklist.store.admin import Store
from blocklist.store.apikeys import Role, create_key
from tests.sync.conftest import feed_server  # noqa: F401 (a fixture: feeds over real HTTP)

UPLOAD_MAX_BYTES = 256 * 1024
# The feed server of tests.sync listens on 127.0.0.1: write keys may point feeds at it.
FEED_ALLOWED_HOSTS = ("127.0.0.1",)


@pytest.fixture(scope="session")
def api_settings(redis_url: str) -> Settings:
    return Settings(redis_url=redis_url, region="NL", lookup_timeout_s=0.5,
                    report_threshold=3, report_window_s=3600, report_listing_days=30,
                    api_max_upload_bytes=UPLOAD_MAX_BYTES, feed_sync=False,
                    feed_allowed_hosts=FEED_ALLOWED_HOSTS)


@contextmanager
def serve(settings: Settings) -> Iterator[str]:
    """A uvicorn server running the app for `settings` (lifespan included), on a socket bound
    before it starts; yields its URL and stops it on exit."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    # proxy_headers off, as `callscreen-api` runs it: the app decides whom to believe.
    config = uvicorn.Config(create_app(settings), log_level="warning", access_log=False,
                            lifespan="on", ws="none", proxy_headers=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the API server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture(scope="package")
def api_url(api_settings: Settings) -> Iterator[str]:
    """The API for the tests of this package, stopped after them: its background tasks (the
    primary watch writes `{cs}:durable` every few seconds) must not touch the shared Redis
    while other packages' tests compare every key before and after."""
    with serve(api_settings) as url:
        yield url


@dataclass
class Api:
    """Clients for the running API: `client("write")` holds a write key, `client()` none."""

    url: str
    store: Store
    tokens: dict[str, str]
    key_ids: dict[str, str]
    _clients: list[httpx.Client] = field(default_factory=list)

    def client(self, role: str | None = None, *, token: str | None = None) -> httpx.Client:
        headers = {}
        if role is not None or token is not None:
            headers["Authorization"] = f"Bearer {token or self.tokens[role or '']}"
        client = httpx.Client(base_url=self.url, headers=headers, timeout=30)
        self._clients.append(client)
        return client

    def close(self) -> None:
        for client in self._clients:
            client.close()


@pytest.fixture
def api(api_url: str, store: Store) -> Iterator[Api]:
    tokens, ids = {}, {}
    for role in Role:
        key, token = create_key(store, f"test-{role.value}", role, created_by="tests")
        tokens[role.value], ids[role.value] = token, key.id
    handle = Api(api_url, store, tokens, ids)
    try:
        yield handle
    finally:
        handle.close()


@pytest.fixture
def admin(api: Api) -> httpx.Client:
    return api.client("admin")


@pytest.fixture
def writer(api: Api) -> httpx.Client:
    return api.client("write")


@pytest.fixture
def reader(api: Api) -> httpx.Client:
    return api.client("read")
