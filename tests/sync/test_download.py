"""Downloads from a real local HTTP server: every failure has a clear reason."""

from __future__ import annotations

import gzip
import http.server

import pytest

from blocklist.errors import FeedError
from blocklist.sync.config import FeedConfig
from blocklist.sync.download import download
from tests.sync.conftest import FeedServer, slow

CSV = b"number\n+31851234567\n"


def feed(url: str, **extra: object) -> FeedConfig:
    return FeedConfig.from_dict({"id": "acm", "url": url, "format": "plain", "retries": 0,
                                 "timeout_s": 2, **extra})


def no_sleep(_: float) -> None:
    pass


def test_ok_returns_body_and_validators(feed_server: FeedServer) -> None:
    """A 200 answer gives the body, its ETag and Last-Modified."""
    feed_server.body("/f", CSV, etag='"v1"')
    got = download(feed(feed_server.url("/f")))
    assert got.body == CSV and got.etag == '"v1"' and not got.unchanged


def test_not_modified_costs_nothing(feed_server: FeedServer) -> None:
    """With the last ETag the server answers 304 and the outcome is unchanged."""
    feed_server.body("/f", CSV, etag='"v1"')
    got = download(feed(feed_server.url("/f")), etag='"v1"')
    assert got.unchanged and got.body == b""


def test_truncated_body_fails(feed_server: FeedServer) -> None:
    """A body shorter than its Content-Length fails as truncated."""

    def handle(h: http.server.BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Length", "1000")
        h.end_headers()
        h.wfile.write(CSV)
        h.close_connection = True

    feed_server.routes["/t"] = handle
    with pytest.raises(FeedError, match="truncated"):
        download(feed(feed_server.url("/t")))


def test_html_page_fails(feed_server: FeedServer) -> None:
    """An HTML page (a login page, say) where data was expected fails."""
    feed_server.body("/h", b"<!DOCTYPE html><html><body>Login</body></html>",
                     content_type="text/html")
    with pytest.raises(FeedError, match="HTML page"):
        download(feed(feed_server.url("/h")))


def test_html_without_content_type_fails(feed_server: FeedServer) -> None:
    """An HTML body sent as text/plain is refused too."""
    feed_server.body("/h", b"\n<html><body>Oops</body></html>", content_type="text/plain")
    with pytest.raises(FeedError, match="HTML page"):
        download(feed(feed_server.url("/h")))


def test_gzip_is_decoded(feed_server: FeedServer) -> None:
    """A gzip Content-Encoding is decoded."""
    feed_server.body("/g", CSV, gzipped=True)
    assert download(feed(feed_server.url("/g"))).body == CSV


def test_gzip_bomb_fails_at_the_decompressed_cap(feed_server: FeedServer) -> None:
    """A small gzip body that inflates past max_bytes fails (a decompression bomb)."""
    feed_server.body("/bomb", b"0" * 10_000_000, gzipped=True)
    with pytest.raises(FeedError, match="decompressed body is larger than max_bytes=1000000"):
        download(feed(feed_server.url("/bomb"), max_bytes=1_000_000))


def test_gzip_file_served_plain_is_capped_too(feed_server: FeedServer) -> None:
    """A .gz file served as application/gzip is decompressed under the cap."""
    feed_server.routes.clear()
    feed_server.body("/f.gz", gzip.compress(b"1" * 3_000_000), content_type="application/gzip")
    with pytest.raises(FeedError, match="decompressed"):
        download(feed(feed_server.url("/f.gz"), max_bytes=2_000_000))


def test_huge_body_fails(feed_server: FeedServer) -> None:
    """A body over max_bytes fails."""
    feed_server.body("/huge", b"1" * 3_000_000)
    with pytest.raises(FeedError, match="larger than max_bytes"):
        download(feed(feed_server.url("/huge"), max_bytes=1_000_000))


def test_slow_server_times_out(feed_server: FeedServer) -> None:
    """A server slower than timeout_s fails with a timeout."""
    feed_server.routes["/slow"] = slow(3)
    with pytest.raises(FeedError, match="timed out"):
        download(feed(feed_server.url("/slow"), timeout_s=0.3))


def test_5xx_then_ok_is_retried(feed_server: FeedServer) -> None:
    """A 503 is retried with backoff, and the next answer counts."""
    calls = {"n": 0}

    def flaky(h: http.server.BaseHTTPRequestHandler) -> None:
        calls["n"] += 1
        if calls["n"] < 3:
            h.send_response(503)
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        h.send_response(200)
        h.send_header("Content-Length", str(len(CSV)))
        h.end_headers()
        h.wfile.write(CSV)

    feed_server.routes["/flaky"] = flaky
    waits: list[float] = []
    got = download(feed(feed_server.url("/flaky"), retries=3), sleep=waits.append)
    assert got.body == CSV and calls["n"] == 3 and waits == [0.5, 1.0]


def test_5xx_exhausts_retries(feed_server: FeedServer) -> None:
    """A server that keeps failing fails the download, saying how often it was tried."""
    with pytest.raises(FeedError, match="404"):
        download(feed(feed_server.url("/missing"), retries=2), sleep=no_sleep)


def test_auth_header_comes_from_the_environment(feed_server: FeedServer) -> None:
    """The auth header's value is read from the named environment variable."""
    seen: dict[str, str | None] = {}

    def handle(h: http.server.BaseHTTPRequestHandler) -> None:
        seen["auth"] = h.headers.get("Authorization")
        h.send_response(200)
        h.send_header("Content-Length", str(len(CSV)))
        h.end_headers()
        h.wfile.write(CSV)

    feed_server.routes["/a"] = handle
    config = feed(feed_server.url("/a"), auth_header="Authorization", auth_env="FEED_TOKEN")
    download(config, environ={"FEED_TOKEN": "Bearer s3cret"})
    assert seen["auth"] == "Bearer s3cret"
    with pytest.raises(FeedError, match="FEED_TOKEN"):
        download(config, environ={})
