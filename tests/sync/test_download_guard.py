"""The download's guard against server-side request forgery, against a real local HTTP
server: every connection, redirects included, must reach a public address unless its host
is allowed or is the IP address the feed's own URL names."""

from __future__ import annotations

import http.server

import pytest

from blocklist.errors import FeedError
from blocklist.sync.config import FeedConfig
from blocklist.sync.download import address_kind, download
from tests.sync.conftest import FeedServer

CSV = b"number\n+31851234567\n"


def feed(url: str) -> FeedConfig:
    return FeedConfig.from_dict({"id": "acm", "url": url, "format": "plain", "retries": 0,
                                 "timeout_s": 2})


def redirect_to(location: str):
    def handle(h: http.server.BaseHTTPRequestHandler) -> None:
        h.send_response(302)
        h.send_header("Location", location)
        h.send_header("Content-Length", "0")
        h.end_headers()

    return handle


@pytest.mark.parametrize(("address", "kind"), [
    ("127.0.0.1", "loopback"), ("::1", "loopback"), ("::ffff:127.0.0.1", "loopback"),
    ("10.1.2.3", "private"), ("192.168.1.1", "private"), ("169.254.169.254", "link-local"),
    ("fe80::1", "link-local"), ("0.0.0.0", "unspecified"), ("100.64.0.1", "non-public"),
    ("8.8.8.8", None), ("2001:4860:4860::8888", None)])
def test_address_kinds(address: str, kind: str | None) -> None:
    """Addresses are classed as the guard sees them; public ones are None."""
    assert address_kind(address) == kind


def test_configured_ip_address_is_fetched(feed_server: FeedServer) -> None:
    """The IP address the feed's URL names (checked when it was configured) is fetched."""
    feed_server.body("/f", CSV)
    assert download(feed(feed_server.url("/f"))).body == CSV


def test_name_resolving_to_loopback_is_refused(feed_server: FeedServer) -> None:
    """A host name that resolves to a loopback address is refused before connecting,
    naming the host and the address."""
    feed_server.body("/f", CSV)
    with pytest.raises(FeedError, match=r"'localhost' resolves to (127\.0\.0\.1|::1), a"
                                        " loopback address"):
        download(feed(f"http://localhost:{feed_server.port}/f"))
    assert feed_server.hits.get("/f") is None


def test_allowed_host_is_fetched(feed_server: FeedServer) -> None:
    """A host in allowed_hosts (CALLSCREEN_FEED_ALLOWED_HOSTS) may resolve anywhere."""
    feed_server.body("/f", CSV)
    got = download(feed(f"http://localhost:{feed_server.port}/f"), allowed_hosts=("localhost",))
    assert got.body == CSV


def test_redirect_to_a_non_public_host_is_refused(feed_server: FeedServer) -> None:
    """A redirect is a new connection, checked like the first: one to a loopback name is
    refused."""
    feed_server.body("/f", CSV)
    feed_server.routes["/r"] = redirect_to(f"http://localhost:{feed_server.port}/f")
    with pytest.raises(FeedError, match="'localhost' resolves to"):
        download(feed(feed_server.url("/r")))
    assert feed_server.hits.get("/f") is None


def test_the_environment_s_proxy_is_used(feed_server: FeedServer,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """With HTTP_PROXY set (a closed core network's way out), the feed is fetched through the
    proxy: the proxy gets the absolute URL, and the feed's host is resolved by the proxy."""
    feed_server.body("http://feeds.invalid/f", CSV)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{feed_server.port}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert download(feed("http://feeds.invalid/f")).body == CSV
    assert feed_server.hits.get("http://feeds.invalid/f") == 1


def test_through_a_proxy_a_non_public_host_is_still_refused(
        feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Through a proxy the guard checks each request's host before it is sent: a name that
    resolves to loopback never reaches the proxy."""
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{feed_server.port}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with pytest.raises(FeedError, match="'localhost' resolves to"):
        download(feed("http://localhost:9/f"))
    assert feed_server.hits == {}


def test_no_proxy_means_a_direct_guarded_connection(
        feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """A host NO_PROXY covers is fetched directly, through the connection guard."""
    feed_server.body("/f", CSV)
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert download(feed(feed_server.url("/f"))).body == CSV
