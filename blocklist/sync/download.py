"""Fetching a feed's bytes: HTTP(S) with httpx, or a local file.

Every way a download can go wrong ends as `FeedError` with a reason that says what happened:
a timeout, a status, a body over `max_bytes` (counted after decompression, so a gzip bomb stops
at the cap), a body shorter than its Content-Length, an HTML page where data was expected.
Connection errors, timeouts, 429 and 5xx answers are retried `retries` times with exponential
backoff. With the `ETag`/`Last-Modified` of the last success, an unchanged feed answers
`304 Not Modified` and costs one small request (`Download.unchanged`).
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

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


def download(
    feed: FeedConfig,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    environ: Mapping[str, str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Download:
    """Fetch `feed`'s bytes; see the module docstring. Raises FeedError."""
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
    with httpx.Client(timeout=timeout, follow_redirects=True, max_redirects=5) as client:
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
