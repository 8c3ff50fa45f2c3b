"""The roaming check of the FastAGI server: is the owner of a mobile home number that calls
from abroad roaming?

The operator knows it from its HLR/HSS; callscreen asks an HTTP endpoint the operator provides,
`CALLSCREEN_ROAMING_CHECK_URL` (`https://hlr.example/roaming/{e164}`): a GET whose JSON body
says `{"roaming": true}` or `{"roaming": false}` (the bytes: `agi.roaming_http`). Both call
paths ask, only for a mobile home number arriving from abroad whose policy is not allow
(`blocklist.origin.needs_roaming_check`): the FastAGI server here, concurrently with the
store's round trip; the per-call script through `agi.roaming_blocking`, after it.

Hazards said plainly:

- The answer comes within the call's budget (`CALLSCREEN_LOOKUP_TIMEOUT_MS`) or not at all:
  no answer in time, an HTTP error, a body we can't read, a refused connection or a failed
  TLS handshake all mean `Roaming.UNVERIFIED`, and the call is decided at once without it
  (the mobile policy applies, reason `roaming-unverified`). `check` never raises and its
  future always resolves by the deadline.
- Over https the endpoint's certificate is verified, host name included, against
  `CALLSCREEN_ROAMING_CHECK_CA` (a PEM bundle, for an operator's internal CA) or else the
  system's trust store.
- Answers (`true` or `false`) are cached for `CACHE_S`, failures not at all.
- The endpoint's host name is resolved once per `RESOLVED_S` (a failure: per `UNRESOLVED_S`),
  one lookup at a time, and the connection made to the address (over TLS the certificate is
  still verified for the name). getaddrinfo runs in a thread that a call's deadline can't
  stop: asked per check, a DNS outage would pile up stuck lookups; this way at most one.
- Plain asyncio streams and HTTP/1.0: the endpoint is the operator's own, in its core network,
  and a client library would cost the call path an import it does not otherwise need.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time

from agi.roaming_http import MAX_REPLY_BYTES, read_reply, request_bytes, roaming_endpoint
from blocklist import metrics
from blocklist.errors import ConfigError
from blocklist.origin import Roaming

CACHE_S = 30.0
CACHE_SIZE = 10_000
RESOLVED_S = 60.0  # how long the endpoint's addresses are used before it is resolved again
UNRESOLVED_S = 5.0  # how long a failed resolution is the answer, before asking again


def tls_context(ca_file: str | None) -> ssl.SSLContext:
    """A client context that verifies the endpoint's certificate and host name, against
    `ca_file` (PEM) or, without it, the system's trust store. Raises ssl.SSLError or OSError
    for a CA file it can't load."""
    return ssl.create_default_context(cafile=ca_file)


class RoamingCheck:
    """Asks the roaming endpoint, within a time budget, with a short cache."""

    def __init__(self, url: str, timeout_s: float, ca_file: str | None = None) -> None:
        """Raises ConfigError for a bad URL, or a CA file OpenSSL can't load (the server's
        start has checked it is a readable PEM file: `blocklist.settings.check_at_start`)."""
        self.endpoint = roaming_endpoint(url)
        self.timeout_s = timeout_s
        try:
            self.tls = tls_context(ca_file) if self.endpoint.tls else None
        except (ssl.SSLError, OSError) as exc:
            raise ConfigError(f"CALLSCREEN_ROAMING_CHECK_CA={ca_file!r}: {exc}") from None
        self._cache: dict[str, tuple[Roaming, float]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        # The endpoint's addresses (or why there are none) and until when; an IP literal for ever.
        self._resolved: tuple[list[str] | str, float] | None = None
        if _is_address(self.endpoint.host):
            self._resolved = ([self.endpoint.host], float("inf"))
        self._resolving: asyncio.Future[list[str]] | None = None

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
        except Exception:  # refused, reset, TLS, a bad reply...: no answer, never a raise
            outcome = "error"
        finally:
            metrics.ROAMING_CHECKS.labels(outcome).inc()
            metrics.ROAMING_CHECK_SECONDS.observe(time.perf_counter() - started)
            if not future.done():
                future.set_result(answer)

    async def _addresses(self) -> list[str]:
        """The endpoint's addresses: cached, or from the one lookup in flight (a check that
        gives up stops waiting for it, not the lookup, which the next check joins)."""
        resolved = self._resolved
        if resolved is not None and resolved[1] > time.monotonic():
            if isinstance(resolved[0], str):
                raise OSError(resolved[0])
            return resolved[0]
        if self._resolving is None:
            self._resolving = asyncio.ensure_future(self._resolve())
        return await asyncio.shield(self._resolving)

    async def _resolve(self) -> list[str]:
        host, port = self.endpoint.host, self.endpoint.port
        try:
            found = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM)
            addresses = list(dict.fromkeys(str(info[4][0]) for info in found))
            if not addresses:
                raise OSError("no address")
        except OSError as exc:
            why = f"{host}: {exc}"
            self._resolved = (why, time.monotonic() + UNRESOLVED_S)
            raise OSError(why) from None
        finally:
            self._resolving = None
        self._resolved = (addresses, time.monotonic() + RESOLVED_S)
        return addresses

    async def _ask(self, e164: str) -> Roaming:
        endpoint = self.endpoint
        error: OSError = OSError(f"{endpoint.host}: no address")
        for address in await self._addresses():
            try:
                reader, writer = await asyncio.open_connection(
                    address, endpoint.port, ssl=self.tls,
                    server_hostname=endpoint.host if self.tls else None,
                )
            except OSError as exc:  # refused, unreachable: the next address may answer
                error = exc
                continue
            break
        else:
            raise error
        try:
            writer.write(request_bytes(endpoint, e164))
            reply = await reader.read(MAX_REPLY_BYTES)
            while len(reply) < MAX_REPLY_BYTES:
                more = await reader.read(MAX_REPLY_BYTES - len(reply))
                if not more:
                    break
                reply += more
        finally:
            # Not close(): over TLS that waits for the peer's close_notify, which an endpoint
            # that hangs never sends; the reply is read (or given up on), nothing is owed.
            writer.transport.abort()
        return read_reply(reply)


def _is_address(host: str) -> bool:
    """True for an IPv4 or IPv6 literal (never resolved)."""
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, host)
        except OSError:
            continue
        return True
    return False
