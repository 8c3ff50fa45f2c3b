"""Fetching a feed's bytes: HTTP(S) with httpx, or a local file.

Every way a download can go wrong ends as `FeedError` with a reason that says what happened:
a timeout, a status, a body over `max_bytes` (counted after decompression, so a gzip bomb stops
at the cap), a body shorter than its Content-Length, an HTML page where data was expected.
Connection errors, timeouts, 429 and 5xx answers are retried `retries` times with exponential
backoff. With the `ETag`/`Last-Modified` of the last success, an unchanged feed answers
`304 Not Modified` and costs one small request (`Download.unchanged`).

Server-side request forgery: a feed URL must not make the API's host fetch from its own
network (loopback, private, link-local addresses: a cloud metadata service, an internal
admin page). Every connection, redirects included, is checked at the moment it is made,
against the address the name resolved to then, and goes to that checked address (a name
that resolves to a public address for a check and a private one for the connection can't
slip through). A connection to a non-public address is refused unless its host name is in
`allowed_hosts` (CALLSCREEN_FEED_ALLOWED_HOSTS), or it is the IP address the feed's own URL
names: a private address written in a URL is checked when the feed is configured (only an
admin key may), a name can only be checked when it is used.

Through a proxy (`HTTPS_PROXY` / `HTTP_PROXY`, minus `NO_PROXY`, as operators' closed networks
have them), the proxy resolves and connects, so the guard can only check each request's host
(redirects included) as it resolves here just before the request: a weaker check, since the
proxy's own resolution is out of sight; the proxy's policy is the operator's second line.
"""

from __future__ import annotations

import ipaddress
import socket
import time
import urllib.request
import zlib
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpcore
import httpx

from blocklist.errors import FeedError
from blocklist.sync.config import FeedConfig

GZIP_MAGIC = b"\x1f\x8b"
BACKOFF_S = 0.5
MAX_BACKOFF_S = 30.0
USER_AGENT = "callscreen-feed-sync/1"


@dataclass(frozen=True, slots=True)
class Download:
    """A feed's body, or `unchanged` (304) with an empty body."""

    body: bytes
    unchanged: bool = False
    etag: str | None = None
    last_modified: str | None = None


class _Retry(Exception):
    """A failure worth another attempt."""


def address_kind(address: str) -> str | None:
    """Why an IP address is not a public one (`loopback`, `link-local`, `private`, ...), or
    None for a public address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for kind, flag in (("loopback", ip.is_loopback), ("link-local", ip.is_link_local),
                       ("unspecified", ip.is_unspecified), ("multicast", ip.is_multicast),
                       ("private", ip.is_private)):
        if flag:
            return kind
    return None if ip.is_global else "non-public"


def resolve(host: str, port: int = 443) -> list[str]:
    """The IP addresses `host` (a name or an IP literal) resolves to now; OSError if none."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def non_public(host: str, port: int = 443) -> tuple[str, str] | None:
    """The first (address, kind) of `host` that is not public, or None when all are (or the
    name does not resolve now: that is checked again when it is used)."""
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError):  # UnicodeError: a name IDNA can't encode ("a..b")
        return None
    for address in addresses:
        kind = address_kind(address)
        if kind is not None:
            return address, kind
    return None


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class RefusedAddressError(httpx.TransportError):
    """A connection the SSRF guard refused (a non-public address not allowed)."""


class _GuardedBackend(httpcore.NetworkBackend):
    """httpcore's network backend, connecting only to addresses the guard allows."""

    def __init__(self, inner: httpcore.NetworkBackend, feed_id: str, configured_host: str,
                 allowed_hosts: Collection[str]) -> None:
        self.inner = inner
        self.feed_id = feed_id
        self.configured_host = configured_host
        self.allowed_hosts = allowed_hosts

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        name = host.strip("[]").lower().rstrip(".")
        trusted = name in self.allowed_hosts or (name == self.configured_host and _is_ip(name))
        try:
            addresses = resolve(name, port)
        except (OSError, UnicodeError) as exc:
            raise httpcore.ConnectError(f"{host!r} does not resolve: {exc}") from None
        if not trusted:
            for address in addresses:
                kind = address_kind(address)
                if kind is not None:
                    raise RefusedAddressError(
                        f"host {host!r} resolves to {address}, a {kind} address; feeds may"
                        " fetch only from public addresses unless the host is in"
                        " CALLSCREEN_FEED_ALLOWED_HOSTS")
        # Connect to the address just checked, not to the name again (DNS rebinding).
        return self.inner.connect_tcp(addresses[0], port, timeout=timeout,
                                      local_address=local_address,
                                      socket_options=socket_options)

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[Any] | None = None
                            ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("feeds are not fetched over unix sockets")

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)


def guarded_transport(feed_id: str, url: str,
                      allowed_hosts: Collection[str]) -> httpx.HTTPTransport:
    """An httpx transport whose every connection goes through the SSRF guard."""
    transport = httpx.HTTPTransport()
    configured = (httpx.URL(url).host or "").lower()
    # httpx has no public hook between resolving a name and connecting; its pool's network
    # backend is that point (test_download proves the guard is in place).
    pool: Any = transport._pool
    pool._network_backend = _GuardedBackend(pool._network_backend, feed_id, configured,
                                            frozenset(allowed_hosts))
    return transport


def environment_proxy(url: str) -> str | None:
    """The proxy the environment names for `url` (`HTTPS_PROXY`/`HTTP_PROXY`, lower case too,
    unless `NO_PROXY` covers its host), or None for a direct connection."""
    parsed = httpx.URL(url)
    proxies = urllib.request.getproxies_environment()
    proxy = proxies.get(parsed.scheme)
    # On POSIX, proxy_bypass reads NO_PROXY from the environment.
    if not proxy or urllib.request.proxy_bypass(parsed.host):
        return None
    return proxy


def _request_guard(configured_url: str, allowed_hosts: Collection[str]
                   ) -> Callable[[httpx.Request], None]:
    """An httpx request hook for proxied downloads: each request's host (redirects too) must
    resolve to public addresses here, unless allowed or the IP address the feed names."""
    configured = (httpx.URL(configured_url).host or "").lower()
    allowed = frozenset(allowed_hosts)

    def check(request: httpx.Request) -> None:
        name = request.url.host.strip("[]").lower().rstrip(".")
        if name in allowed or (name == configured and _is_ip(name)):
            return
        found = non_public(name, request.url.port or 443)
        if found is not None:
            address, kind = found
            raise RefusedAddressError(
                f"host {request.url.host!r} resolves to {address}, a {kind} address; feeds"
                " may fetch only from public addresses unless the host is in"
                " CALLSCREEN_FEED_ALLOWED_HOSTS")

    return check


def download(
    feed: FeedConfig,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    environ: Mapping[str, str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    allowed_hosts: Collection[str] = (),
) -> Download:
    """Fetch `feed`'s bytes; see the module docstring. Raises FeedError, also when the
    URL (or a redirect) leads to a non-public address not allowed (`allowed_hosts`:
    lower-case host names)."""
    if feed.path is not None:
        return Download(_read_file(Path(feed.path), feed.max_bytes))
    assert feed.url is not None
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "gzip"}
    if feed.auth_header and feed.auth_env:
        value = (environ or {}).get(feed.auth_env)
        if not value:
            raise FeedError(f"feed {feed.id!r}: environment variable {feed.auth_env} (for the"
                            f" {feed.auth_header} header) is not set")
        headers[feed.auth_header] = value
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    timeout = httpx.Timeout(feed.timeout_s)
    last_error = ""
    proxy = environment_proxy(feed.url)
    if proxy is None:
        client = httpx.Client(timeout=timeout, follow_redirects=True, max_redirects=5,
                              transport=guarded_transport(feed.id, feed.url, allowed_hosts))
    else:
        client = httpx.Client(timeout=timeout, follow_redirects=True, max_redirects=5,
                              proxy=proxy, trust_env=False,
                              event_hooks={"request": [_request_guard(feed.url, allowed_hosts)]})
    with client:
        for attempt in range(feed.retries + 1):
            if attempt:
                sleep(min(MAX_BACKOFF_S, BACKOFF_S * 2 ** (attempt - 1)))
            try:
                return _fetch(client, feed, headers)
            except _Retry as retry:
                last_error = str(retry)
    raise FeedError(f"feed {feed.id!r}: {last_error} (after {feed.retries + 1} attempts)")


def _fetch(client: httpx.Client, feed: FeedConfig, headers: dict[str, str]) -> Download:
    assert feed.url is not None
    label = f"feed {feed.id!r}"
    try:
        with client.stream("GET", feed.url, headers=headers) as response:
            status = response.status_code
            if status == 304:
                return Download(b"", unchanged=True, etag=response.headers.get("etag"),
                                last_modified=response.headers.get("last-modified"))
            if status == 429 or status >= 500:
                raise _Retry(f"the server answered {status} {response.reason_phrase}")
            if status != 200:
                raise FeedError(f"feed {feed.id!r}: the server answered {status}"
                                f" {response.reason_phrase} for {_safe_url(feed.url)}")
            content_type = response.headers.get("content-type", "").lower()
            if "text/html" in content_type:
                raise FeedError(f"feed {feed.id!r}: the server sent an HTML page"
                                f" ({content_type}) where feed data was expected")
            expected = response.headers.get("content-length")
            encoding = response.headers.get("content-encoding", "identity").lower()
            raw_count = 0
            body = bytearray()

            def counted() -> Iterator[bytes]:
                nonlocal raw_count
                for chunk in response.iter_raw():
                    raw_count += len(chunk)
                    yield chunk

            if encoding == "gzip":
                body = _gunzip(counted(), label, feed.max_bytes)
            elif encoding in ("identity", ""):
                for chunk in counted():
                    body += chunk
                    if len(body) > feed.max_bytes:
                        raise FeedError(_too_big(label, feed.max_bytes))
            else:
                raise FeedError(f"feed {feed.id!r}: unsupported Content-Encoding {encoding!r}")
            if expected is not None and expected.isdigit() and raw_count != int(expected):
                raise FeedError(f"feed {feed.id!r}: truncated body: {raw_count} of"
                                f" {expected} bytes (Content-Length) arrived")
            data = bytes(body)
            if data.startswith(GZIP_MAGIC):  # a .gz file served as such
                data = bytes(_gunzip(iter((data,)), label, feed.max_bytes))
            _refuse_html(feed, data)
            return Download(data, etag=response.headers.get("etag"),
                            last_modified=response.headers.get("last-modified"))
    except httpx.TimeoutException as exc:
        raise _Retry(f"timed out after {feed.timeout_s:g} s ({type(exc).__name__})") from None
    except RefusedAddressError as exc:
        raise FeedError(f"feed {feed.id!r}: {exc}") from None
    except httpx.RemoteProtocolError as exc:
        # The peer closed before the body was complete: a truncated download.
        raise FeedError(f"feed {feed.id!r}: truncated body: {exc}") from None
    except httpx.TransportError as exc:
        raise _Retry(f"connection failed: {exc or type(exc).__name__}") from None


def _gunzip(chunks: Iterator[bytes], label: str, max_bytes: int) -> bytearray:
    """Decompress gzip, refusing output past `max_bytes` (a decompression bomb)."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = bytearray()
    try:
        for chunk in chunks:
            data = chunk
            while data:
                out += inflater.decompress(data, max_bytes + 1 - len(out))
                if len(out) > max_bytes:
                    raise FeedError(_too_big(label, max_bytes, "decompressed "))
                data = inflater.unconsumed_tail
        out += inflater.flush()
    except zlib.error as exc:
        raise FeedError(f"{label}: broken gzip data ({exc})") from None
    if len(out) > max_bytes:
        raise FeedError(_too_big(label, max_bytes, "decompressed "))
    if not inflater.eof:
        raise FeedError(f"{label}: truncated gzip data")
    return out


def _read_file(path: Path, max_bytes: int) -> bytes:
    try:
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise FeedError(f"feed file {str(path)!r}: {exc.strerror}") from None
    if len(data) > max_bytes:
        raise FeedError(f"feed file {str(path)!r} is larger than {max_bytes} bytes")
    if data.startswith(GZIP_MAGIC):
        data = bytes(_gunzip(iter((data,)), f"feed file {str(path)!r}", max_bytes))
    return data


def _refuse_html(feed: FeedConfig, data: bytes) -> None:
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<!doctype html", b"<html", b"<head", b"<body")):
        raise FeedError(f"feed {feed.id!r}: the server sent an HTML page where feed data was"
                        " expected (a login or error page?)")


def _too_big(label: str, max_bytes: int, what: str = "") -> str:
    return f"{label}: the {what}body is larger than max_bytes={max_bytes}"


def _safe_url(url: str) -> str:
    """The URL without credentials or query (a token may hide there)."""
    return str(httpx.URL(url).copy_with(userinfo=b"", query=None))
