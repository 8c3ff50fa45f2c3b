"""The roaming check: is the owner of a mobile home number that calls from abroad roaming?

The operator knows it from its HLR/HSS; callscreen asks an HTTP endpoint the operator provides,
`CALLSCREEN_ROAMING_CHECK_URL` (`https://hlr.example/roaming/{e164}`): a GET whose JSON body
says `{"roaming": true}` or `{"roaming": false}`. Only the FastAGI server asks, and only for
a mobile home number arriving from abroad whose policy is not allow
(`blocklist.origin.needs_roaming_check`), concurrently with the store's round trip.

Hazards said plainly:

- The answer comes within the call's budget (`CALLSCREEN_LOOKUP_TIMEOUT_MS`) or not at all:
  no answer in time, an HTTP error, a body we can't read or a refused connection all mean
  `Roaming.UNVERIFIED`, and the call is decided at once without it (the mobile policy
  applies, reason `roaming-unverified`). `check` never raises and its future always resolves
  by the deadline.
- Answers (`true` or `false`) are cached for `CACHE_S`, failures not at all.
- Plain asyncio streams and HTTP/1.0 (no chunked replies, the connection closes after the
  answer): the endpoint is the operator's own, in its core network, and a client library
  would cost the call path an import it does not otherwise need.
"""

from __future__ import annotations

import asyncio
import json
import time
from urllib.parse import quote, urlsplit

from blocklist import metrics
from blocklist.errors import ConfigError
from blocklist.origin import Roaming

CACHE_S = 30.0
CACHE_SIZE = 10_000
MAX_REPLY_BYTES = 16 * 1024


def _template(url: str) -> tuple[str, int, bool, str]:
    """(host, port, tls, path with `{e164}`) from the configured URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"roaming check URL {url!r}: expected http:// or https://HOST/...")
    path = parts.path or "/"
    if "{e164}" not in path:
        path = path.rstrip("/") + "/{e164}"
    if parts.query:
        path += "?" + parts.query
    tls = parts.scheme == "https"
    return parts.hostname, parts.port or (443 if tls else 80), tls, path


class RoamingCheck:
    """Asks the roaming endpoint, within a time budget, with a short cache."""

    def __init__(self, url: str, timeout_s: float) -> None:
        self.host, self.port, self.tls, self.path = _template(url)
        self.timeout_s = timeout_s
        self._cache: dict[str, tuple[Roaming, float]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def check(self, e164: str) -> asyncio.Future[Roaming]:
        """The answer for an E.164 number, as a future that resolves within `timeout_s`."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Roaming] = loop.create_future()
        cached = self._cache.get(e164)
        if cached is not None and cached[1] > time.monotonic():
            metrics.ROAMING_CHECKS.labels("cached").inc()
            future.set_result(cached[0])
            return future
        task = loop.create_task(self._run(e164, future))
        self._tasks.add(task)  # a reference, or the loop may collect the task mid-flight
        task.add_done_callback(self._tasks.discard)
        return future

    async def _run(self, e164: str, future: asyncio.Future[Roaming]) -> None:
        started = time.perf_counter()
        outcome = "error"
        answer = Roaming.UNVERIFIED
        try:
            answer = await asyncio.wait_for(self._ask(e164), self.timeout_s)
            outcome = "verified" if answer is Roaming.VERIFIED else "not-roaming"
            if len(self._cache) >= CACHE_SIZE:
                self._cache.clear()  # cheaper than LRU bookkeeping; answers are cheap to redo
            self._cache[e164] = (answer, time.monotonic() + CACHE_S)
        except TimeoutError:
            outcome = "timeout"
        except (OSError, ValueError, asyncio.IncompleteReadError):
            outcome = "error"
        finally:
            metrics.ROAMING_CHECKS.labels(outcome).inc()
            metrics.ROAMING_CHECK_SECONDS.observe(time.perf_counter() - started)
            if not future.done():
                future.set_result(answer)

    async def _ask(self, e164: str) -> Roaming:
        reader, writer = await asyncio.open_connection(
            self.host, self.port, ssl=True if self.tls else None
        )
        try:
            path = self.path.replace("{e164}", quote(e164, safe="+"))
            writer.write(
                f"GET {path} HTTP/1.0\r\nHost: {self.host}\r\nAccept: application/json\r\n"
                "User-Agent: callscreen\r\n\r\n".encode("ascii")
            )
            reply = await reader.read(MAX_REPLY_BYTES)
            while len(reply) < MAX_REPLY_BYTES:
                more = await reader.read(MAX_REPLY_BYTES - len(reply))
                if not more:
                    break
                reply += more
        finally:
            writer.close()
        return read_reply(reply)


def read_reply(reply: bytes) -> Roaming:
    """The answer in an HTTP reply. Raises ValueError for anything but a 200 whose JSON body
    has a boolean `roaming`."""
    head, sep, body = reply.partition(b"\r\n\r\n")
    status = head.split(b"\r\n", 1)[0].split()
    if not sep or len(status) < 2 or status[1] != b"200":
        raise ValueError(f"roaming check answered {head[:80]!r}")
    said = json.loads(body)
    roaming = said.get("roaming") if isinstance(said, dict) else None
    if not isinstance(roaming, bool):
        raise ValueError(f"roaming check body {body[:80]!r} has no boolean roaming")
    return Roaming.VERIFIED if roaming else Roaming.NOT_ROAMING
