"""A real local HTTP server (stdlib, in a thread) serving feeds with every misbehaviour."""

from __future__ import annotations

import gzip
import http.server
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

Handler = Callable[[http.server.BaseHTTPRequestHandler], None]


@dataclass
class FeedServer:
    """Routes path -> handler; counts requests per path."""

    port: int = 0
    routes: dict[str, Handler] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def body(self, path: str, data: bytes, *, etag: str | None = None,
             content_type: str = "text/csv", gzipped: bool = False) -> None:
        """Serve `data`; answer 304 to a matching If-None-Match."""

        def handle(h: http.server.BaseHTTPRequestHandler) -> None:
            if etag and h.headers.get("If-None-Match") == etag:
                h.send_response(304)
                h.send_header("ETag", etag)
                h.end_headers()
                return
            payload = gzip.compress(data) if gzipped else data
            h.send_response(200)
            h.send_header("Content-Type", content_type)
            h.send_header("Content-Length", str(len(payload)))
            if gzipped:
                h.send_header("Content-Encoding", "gzip")
            if etag:
                h.send_header("ETag", etag)
            h.end_headers()
            h.wfile.write(payload)

        self.routes[path] = handle


class _Handler(http.server.BaseHTTPRequestHandler):
    server_state: FeedServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        self.server_state.hits[path] = self.server_state.hits.get(path, 0) + 1
        handler = self.server_state.routes.get(path)
        if handler is None:
            self.send_error(404)
            return
        handler(self)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    state = FeedServer()
    handler = type("H", (_Handler,), {"server_state": state})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def slow(delay_s: float) -> Handler:
    def handle(h: http.server.BaseHTTPRequestHandler) -> None:
        time.sleep(delay_s)
        h.send_response(200)
        h.send_header("Content-Length", "0")
        h.end_headers()

    return handle
