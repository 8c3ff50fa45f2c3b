"""The FastAGI server: `callscreen fastagi --listen HOST:PORT`.

    AGI(agi://HOST:4573/screen,DIRECTION[,NUMBER[,SUBSCRIBER]])

One asyncio connection per call, written as a Protocol rather than with streams: it is the
hot path, and a call costs one store round trip plus six SET VARIABLE exchanges. Hazards said
plainly:

- It fails open. When the store does not answer within `CALLSCREEN_LOOKUP_TIMEOUT_MS`, is
  down, or anything else goes wrong, the call is allowed with `SCREEN_STATUS=degraded`, a
  metric counts it and a (rate-limited) log line says why.
- Concurrency is bounded (`CALLSCREEN_MAX_CALLS`): past the bound a call is answered at once,
  allowed and degraded (`overloaded`), without asking the store.
- A peer that sends no complete environment within `ENVIRONMENT_TIMEOUT_S`, or lines longer
  than `MAX_LINE_BYTES`, is disconnected.
- SIGTERM stops accepting and lets calls in flight finish (up to `SHUTDOWN_GRACE_S`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from agi.call import BadRequestError, answer_lines, request_from, set_variable_lines
from agi.protocol import (
    MAX_LINE_BYTES,
    AgiProtocolError,
    Environment,
    EnvironmentReader,
    ReplyReader,
)
from blocklist import metrics
from blocklist.entries import Action, Direction
from blocklist.errors import StoreError, StoreTimeoutError
from blocklist.policy import Decision, Reason
from blocklist.redaction import number_for_log
from blocklist.screening import Screener, Screening
from blocklist.store.multiplexer import Multiplexer
from blocklist.store.replicas import ReadEndpoints

log = logging.getLogger("callscreen.fastagi")

ENVIRONMENT_TIMEOUT_S = 5.0
REPLY_TIMEOUT_S = 5.0
SHUTDOWN_GRACE_S = 10.0
SCRIPT_NAME = "screen"


class RateLimitedLog:
    """At most one line per key per interval, with a count of what was held back."""

    def __init__(self, interval_s: float = 1.0) -> None:
        self._interval_s = interval_s
        self._last: dict[str, tuple[float, int]] = {}

    def warning(self, key: str, message: str) -> None:
        now = time.monotonic()
        last, held = self._last.get(key, (0.0, 0))
        if now - last < self._interval_s:
            self._last[key] = (last, held + 1)
            return
        suffix = f" ({held} more like this held back)" if held else ""
        self._last[key] = (now, 0)
        log.warning("%s%s", message, suffix)


class Pending:
    """A call waiting for the store's replies."""

    __slots__ = ("direction", "screening", "started")

    def __init__(self, direction: Direction, screening: Screening, started: float) -> None:
        self.direction = direction
        self.screening = screening
        self.started = started


class CallHandler:
    """Decides calls for the server: the store round trip, fail-open, metrics and logs.

    `begin` reads the request and either decides at once (no store needed, or a bad request)
    or returns a `Pending` call and the store's future; `finish` turns the store's answer
    (or its failure) into the decision. Every decision is counted once, in `count`.
    """

    def __init__(self, screener: Screener, store: Multiplexer | ReadEndpoints) -> None:
        self.screener = screener
        self.store = store
        self.settings = screener.settings
        self.rate_limited = RateLimitedLog()
        self._children: dict[tuple[str, str, str], Callable[[], None]] = {}

    def begin(
        self, env: Environment
    ) -> Decision | tuple[Pending, asyncio.Future[list[object]]]:
        started = time.perf_counter()
        try:
            script = env.get("network_script")
            if script and script.strip("/") != SCRIPT_NAME:
                raise BadRequestError(f"unknown FastAGI script {script[:40]!r}")
            request = request_from(env)
        except BadRequestError as exc:
            self.rate_limited.warning("bad-request", f"bad request: {exc}; allowing the call")
            return self.count("unknown", self.fail_open(Reason.BAD_REQUEST, None))
        screening = self.screener.prepare(
            request.direction, request.number, request.subscriber, request.language
        )
        pending = Pending(request.direction, screening, started)
        if not screening.commands:
            return self.finish(pending, [])
        return pending, self.store.submit(screening.commands, self.settings.lookup_timeout_s)

    def finish(self, pending: Pending, replies: list[object] | BaseException) -> Decision:
        direction, screening = pending.direction, pending.screening
        if isinstance(replies, BaseException):
            return self.count(direction.value, self._store_failed(replies, screening))
        try:
            decision = self.screener.conclude(screening, replies)
        except ValueError as exc:
            metrics.STORE_ERRORS.labels("bad-reply").inc()
            self.rate_limited.warning("bad-reply", f"unreadable store reply: {exc}")
            return self.count(
                direction.value, self.fail_open(Reason.INTERNAL_ERROR, screening.reading.e164)
            )
        metrics.DECISION_SECONDS.observe(time.perf_counter() - pending.started)
        for match in decision.shadow:
            category = match.listing.category_for(direction)
            if category is not None:
                metrics.SHADOW_MATCHES.labels(category.value).inc()
        if decision.action is not Action.ALLOW and log.isEnabledFor(logging.INFO):
            log.info(
                "%s %s -> %s (%s, %s)", direction.value,
                number_for_log(decision.e164, self.settings.log_numbers),
                decision.action.value, decision.reason, decision.rule,
            )
        return self.count(direction.value, decision)

    def _store_failed(self, error: BaseException, screening: Screening) -> Decision:
        e164 = screening.reading.e164
        if isinstance(error, StoreTimeoutError):
            metrics.STORE_ERRORS.labels("timeout").inc()
            self.rate_limited.warning("store-timeout", f"{error}; allowing calls (degraded)")
            return self.fail_open(Reason.STORE_TIMEOUT, e164)
        if isinstance(error, StoreError):
            metrics.STORE_ERRORS.labels("unavailable").inc()
            self.rate_limited.warning("store-down", f"{error}; allowing calls (degraded)")
            return self.fail_open(Reason.STORE_UNAVAILABLE, e164)
        self.rate_limited.warning("store-error", f"unexpected error asking the store: {error!r}")
        return self.fail_open(Reason.INTERNAL_ERROR, e164)

    def fail_open(self, reason: Reason, e164: str | None) -> Decision:
        """Allow without the store, and count why (the caller counts the call itself)."""
        metrics.FAIL_OPEN.labels(reason).inc()
        return Decision.degraded_allow(reason, e164)

    def overloaded(self) -> Decision:
        """Past CALLSCREEN_MAX_CALLS: allow at once, without asking the store."""
        self.rate_limited.warning("overloaded", "too many calls in flight; allowing (degraded)")
        return self.count("unknown", self.fail_open(Reason.OVERLOADED, None))

    def count(self, direction: str, decision: Decision) -> Decision:
        status = "degraded" if decision.degraded else "ok"
        key = (direction, decision.action.value, status)
        inc = self._children.get(key)
        if inc is None:
            inc = self._children[key] = metrics.CALLS.labels(*key).inc
        inc()
        return decision


class AgiConnection(asyncio.Protocol):
    """One FastAGI call: read the environment, decide, send the answer, close.

    Written as a state machine driven by transport callbacks, not as a coroutine: a task
    with a future per round trip (the store, then the answer) measured as a large share of
    the server's CPU per call. The answer is one `EXEC MSet` (falling back to six
    `SET VARIABLE`s when Asterisk refuses it).
    """

    def __init__(self, server: FastAgiServer) -> None:
        self._server = server
        self._transport: asyncio.Transport | None = None
        self._buffer = b""
        self._environment: EnvironmentReader | None = EnvironmentReader()
        self._replies = ReplyReader()
        self._answer: list[str] = []  # command lines still to send, last first
        self._sent = ""  # the command line whose reply is awaited
        self._decision: Decision | None = None
        self._awaiting_reply = False
        self._timer: asyncio.TimerHandle | None = None

    # -- transport callbacks ---------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        self._server.connections.add(self)
        metrics.CALLS_IN_FLIGHT.inc()
        self._timer = asyncio.get_running_loop().call_later(
            ENVIRONMENT_TIMEOUT_S, self._abort, "timeout", "no complete AGI environment in time"
        )

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer + data if self._buffer else data
        start = 0
        try:
            if self._environment is not None:
                # Fast path: the whole environment usually arrives in one segment.
                end = buffer.find(b"\n\n")
                if end >= 0:
                    self._environment.feed_block(buffer[:end].decode("utf-8", "replace"))
                    start = end + 2
                    self._line("")  # the empty line that ends the environment
            while True:
                end = buffer.find(b"\n", start)
                if end < 0:
                    break
                if end - start > MAX_LINE_BYTES:
                    raise AgiProtocolError(f"AGI line longer than {MAX_LINE_BYTES} bytes")
                line = buffer[start:end].decode("utf-8", "replace").rstrip("\r")
                start = end + 1
                self._line(line)
            self._buffer = buffer[start:]
            if len(self._buffer) > MAX_LINE_BYTES:
                raise AgiProtocolError(f"AGI line longer than {MAX_LINE_BYTES} bytes")
        except AgiProtocolError as exc:
            self._abort("protocol", str(exc))

    def connection_lost(self, exc: Exception | None) -> None:
        self._server.connections.discard(self)
        metrics.CALLS_IN_FLIGHT.dec()
        if self._timer is not None:
            self._timer.cancel()
        if self._answer or self._awaiting_reply:
            metrics.AGI_ERRORS.labels("reset").inc()
            self._answer = []

    # -- the conversation ------------------------------------------------------------------

    def _line(self, line: str) -> None:
        environment = self._environment
        if environment is not None:
            if environment.feed(line):
                self._environment = None
                if self._timer is not None:
                    self._timer.cancel()
                    self._timer = None
                self._decide(environment.environment)
            return
        reply = self._replies.feed(line)
        if reply is None:
            return
        if not self._awaiting_reply:
            raise AgiProtocolError(f"AGI reply with no command waiting: {line[:80]!r}")
        self._awaiting_reply = False
        if reply.code != 200 and self._sent.startswith("EXEC MSet") and self._decision:
            # MSet refused (an Asterisk without it, or a dead channel): the six SET VARIABLEs,
            # which Asterisk accepts even after a hangup.
            metrics.AGI_ERRORS.labels("mset-refused").inc()
            self._answer = set_variable_lines(self._decision)[::-1]
        elif reply.code not in (200, 511):  # 511: the channel hung up meanwhile
            self._server.handler.rate_limited.warning(
                "agi-reply", f"Asterisk answered {reply.text[:80]!r} to {self._sent[:20]!r}"
            )
        self._send_next()

    def _decide(self, env: Environment) -> None:
        server = self._server
        if len(server.connections) > server.max_calls:
            self._start_answer(server.handler.overloaded())
            return
        try:
            begun = server.handler.begin(env)
        except Exception:  # never let one call take the server down: fail open
            log.exception("unexpected error deciding a FastAGI call")
            self._start_answer(server.handler.count("unknown", server.handler.fail_open(
                Reason.INTERNAL_ERROR, None)))
            return
        if isinstance(begun, Decision):
            self._start_answer(begun)
            return
        pending, future = begun
        future.add_done_callback(lambda done: self._stored(pending, done))

    def _stored(self, pending: Pending, done: asyncio.Future[list[object]]) -> None:
        handler = self._server.handler
        try:
            error = done.exception()
            decision = handler.finish(pending, error or done.result())
        except (Exception, asyncio.CancelledError):  # else the call would wait unanswered
            log.exception("unexpected error concluding a FastAGI call")
            decision = handler.count(pending.direction.value, handler.fail_open(
                Reason.INTERNAL_ERROR, pending.screening.reading.e164))
        self._start_answer(decision)

    def _start_answer(self, decision: Decision) -> None:
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        self._decision = decision
        self._answer = answer_lines(decision)[::-1]
        # One timer for the whole answer: if Asterisk stops answering, drop the connection.
        self._timer = asyncio.get_running_loop().call_later(
            REPLY_TIMEOUT_S, self._abort, "timeout", "Asterisk stopped answering"
        )
        self._send_next()

    def _send_next(self) -> None:
        transport = self._transport
        if transport is None:
            return
        if not self._answer:
            if self._replies.hung_up:
                metrics.AGI_ERRORS.labels("hangup").inc()
            transport.close()  # Asterisk ends the AGI when we close
            return
        self._awaiting_reply = True
        self._sent = self._answer.pop()
        transport.write(self._sent.encode())

    def _abort(self, kind: str, message: str) -> None:
        metrics.AGI_ERRORS.labels(kind).inc()
        self._server.handler.rate_limited.warning("agi-" + kind, f"dropping AGI peer: {message}")
        self._answer = []
        self._awaiting_reply = False
        if self._transport is not None:
            self._transport.close()


class FastAgiServer:
    """Accepts FastAGI connections; `serve_until` runs it until a stop event is set."""

    def __init__(self, handler: CallHandler, max_calls: int) -> None:
        self.handler = handler
        self.max_calls = max_calls
        self.connections: set[AgiConnection] = set()
        self._server: asyncio.Server | None = None

    async def start(self, host: str, port: int, *, reuse_port: bool = False) -> int:
        """Listen; returns the port (useful with port 0)."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: AgiConnection(self), host, port, reuse_port=reuse_port or None, backlog=4096
        )
        sockets = self._server.sockets
        return int(sockets[0].getsockname()[1]) if sockets else port

    async def stop(self, grace_s: float = SHUTDOWN_GRACE_S) -> None:
        """Stop accepting; let calls in flight finish, up to `grace_s`."""
        if self._server is not None:
            self._server.close()
        deadline = time.monotonic() + grace_s
        while self.connections and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        for connection in list(self.connections):
            connection._abort("shutdown", "server shutting down")
        if self._server is not None:
            await self._server.wait_closed()
        await self.handler.store.close()
