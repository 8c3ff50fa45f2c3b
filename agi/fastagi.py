"""The FastAGI server: `callscreen fastagi --listen HOST:PORT`.

    AGI(agi://HOST:4573/screen,DIRECTION[,NUMBER[,SUBSCRIBER[,ORIGIN[,ATTESTATION]]]])

One asyncio connection per call, written as a Protocol rather than with streams: it is the
hot path, and a call costs one store round trip and one AGI exchange (the answer is one
`EXEC MSet`; one `SET VARIABLE` per variable only when Asterisk refuses MSet). The connection
(`AgiConnection`) only moves bytes; `CallHandler` decides, fails open, logs and counts.
Hazards said plainly:

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
from typing import Any

from agi.call import BadRequestError, answer_lines, request_from, set_variable_lines
from agi.protocol import (
    MAX_LINE_BYTES,
    AgiProtocolError,
    Environment,
    EnvironmentReader,
    Reply,
    ReplyReader,
)
from agi.roaming import RoamingCheck
from blocklist import metrics
from blocklist.entries import Action, Direction
from blocklist.errors import StoreError, StoreTimeoutError
from blocklist.origin import Roaming
from blocklist.policy import Decision, Reason
from blocklist.redaction import number_for_log
from blocklist.screening import Screener, Screening
from blocklist.store.activity_counter import ActivityCounter
from blocklist.store.multiplexer import Multiplexer
from blocklist.store.replicas import ReadEndpoints

log = logging.getLogger("callscreen.fastagi")

ENVIRONMENT_TIMEOUT_S = 5.0
REPLY_TIMEOUT_S = 5.0
SHUTDOWN_GRACE_S = 10.0
SCRIPT_NAME = "screen"
SWEEP_S = 0.25  # how often deadlines are checked and the in-flight gauge is set


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
    """A call waiting for the store's replies (`replies`, a future) and, for a mobile home
    number from abroad, the roaming check's answer (`roaming`, a future; both resolve within
    the call's budget)."""

    __slots__ = ("direction", "replies", "roaming", "screening", "started")

    def __init__(
        self, direction: Direction, screening: Screening, started: float,
        replies: asyncio.Future[list[object]],
        roaming: asyncio.Future[Roaming] | None = None,
    ) -> None:
        self.direction = direction
        self.screening = screening
        self.started = started
        self.replies = replies
        self.roaming = roaming

    def ready(self) -> bool:
        """True once every answer the call waits for is in; a failed store round trip is
        enough (the call fails open, the roaming answer would change nothing)."""
        if not self.replies.done():
            return False
        failed = self.replies.cancelled() or self.replies.exception() is not None
        return failed or self.roaming is None or self.roaming.done()


class CallHandler:
    """Everything about a call but its bytes: the decision, the store round trip, fail-open,
    metrics and logs. `AgiConnection` only moves bytes and asks this class what to send.

    `begin` reads the request and either decides at once (no store needed, or a bad request)
    or returns a `Pending` call holding the store's future; `finish` turns the store's answer
    (or its failure) into the decision. Neither raises: whatever goes wrong, the call is
    allowed, degraded, and the error logged. Every decision is counted once, by `_counted`.
    """

    def __init__(self, screener: Screener, store: Multiplexer | ReadEndpoints,
                 activity: ActivityCounter | None = None,
                 roaming: RoamingCheck | None = None) -> None:
        self.screener = screener
        self.store = store
        self.roaming = roaming  # None: no endpoint configured, mobiles stay unverified
        # Hits per listed key, in memory; the runner flushes them to the store off the call.
        self.activity = activity if activity is not None else ActivityCounter()
        self.settings = screener.settings
        self.rate_limited = RateLimitedLog()
        self._children: dict[tuple[str, str, str], Callable[[], None]] = {}

    # -- deciding ----------------------------------------------------------------------------

    def begin(self, env: Environment) -> Decision | Pending:
        started = time.perf_counter()
        try:
            script = env.get("network_script")
            if script and script.strip("/") != SCRIPT_NAME:
                raise BadRequestError(f"unknown FastAGI script {script[:40]!r}")
            request = request_from(env)
        except BadRequestError as exc:
            self.rate_limited.warning("bad-request", f"bad request: {exc}; allowing the call")
            return self._counted("unknown", self._fail_open(Reason.BAD_REQUEST, None))
        try:
            if request.warning is not None:
                self.rate_limited.warning("bad-argument", f"bad request: {request.warning}")
            screening = self.screener.prepare(
                request.direction, request.number, request.subscriber, request.language,
                request.origin, request.attestation,
            )
            if not screening.commands:
                return self._concluded(request.direction, screening, started, [])
            replies = self.store.submit(screening.commands, self.settings.lookup_timeout_s)
            roaming = None
            if self.roaming is not None and self.screener.roaming_may_matter(screening):
                assert screening.reading.e164 is not None
                # Asked beside the store, within the same budget: no added wait past it.
                roaming = self.roaming.check(screening.reading.e164)
        except Exception:  # never let one call take the server down: fail open
            log.exception("unexpected error deciding a FastAGI call")
            return self._counted("unknown", self._fail_open(Reason.INTERNAL_ERROR, None))
        return Pending(request.direction, screening, started, replies, roaming)

    def finish(self, pending: Pending) -> Decision:
        """The decision once `pending.replies` is done (a result, an error or cancelled)."""
        direction, screening = pending.direction, pending.screening
        try:
            error = pending.replies.exception()
            if error is not None:
                return self._counted(direction, self._store_failed(error, screening))
            roaming = (
                pending.roaming.result() if pending.roaming is not None else Roaming.UNVERIFIED
            )
            return self._concluded(
                direction, screening, pending.started, pending.replies.result(), roaming
            )
        except (Exception, asyncio.CancelledError):  # else the call would wait unanswered
            log.exception("unexpected error concluding a FastAGI call")
            return self._counted(direction, self._fail_open(
                Reason.INTERNAL_ERROR, screening.reading.e164))

    def overloaded(self) -> Decision:
        """Past CALLSCREEN_MAX_CALLS: allow at once, without asking the store."""
        self.rate_limited.warning("overloaded", "too many calls in flight; allowing (degraded)")
        return self._counted("unknown", self._fail_open(Reason.OVERLOADED, None))

    def _fail_open(self, reason: Reason, e164: str | None) -> Decision:
        """Allow without the store, and count why (the caller counts the call itself)."""
        metrics.FAIL_OPEN.labels(reason).inc()
        return Decision.degraded_allow(reason, e164)

    def _concluded(
        self, direction: Direction, screening: Screening, started: float,
        replies: list[object], roaming: Roaming = Roaming.UNVERIFIED,
    ) -> Decision:
        try:
            decision = self.screener.conclude(screening, replies, roaming=roaming)
        except ValueError as exc:
            metrics.STORE_ERRORS.labels("bad-reply").inc()
            self.rate_limited.warning("bad-reply", f"unreadable store reply: {exc}")
            return self._counted(
                direction, self._fail_open(Reason.INTERNAL_ERROR, screening.reading.e164)
            )
        metrics.DECISION_SECONDS.observe(time.perf_counter() - started)
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
        self.activity.record(direction, decision)  # a dict increment; flushed elsewhere
        if screening.origin is not None or screening.attestation is not None:
            # The origin's own reason when it spoke (roaming-verified, registered-abroad...),
            # even where the blocklist's reason stayed on the channel (a listing, an
            # allowlisting).
            said = decision.origin
            metrics.ORIGIN_CALLS.labels(
                screening.origin or "unknown", decision.action,
                said.reason if said is not None else decision.reason,
            ).inc()
        return self._counted(direction, decision)

    def _store_failed(self, error: BaseException, screening: Screening) -> Decision:
        e164 = screening.reading.e164
        if isinstance(error, StoreTimeoutError):
            metrics.STORE_ERRORS.labels("timeout").inc()
            self.rate_limited.warning("store-timeout", f"{error}; allowing calls (degraded)")
            return self._fail_open(Reason.STORE_TIMEOUT, e164)
        if isinstance(error, StoreError):
            metrics.STORE_ERRORS.labels("unavailable").inc()
            self.rate_limited.warning("store-down", f"{error}; allowing calls (degraded)")
            return self._fail_open(Reason.STORE_UNAVAILABLE, e164)
        self.rate_limited.warning("store-error", f"unexpected error asking the store: {error!r}")
        return self._fail_open(Reason.INTERNAL_ERROR, e164)

    def _counted(self, direction: str, decision: Decision) -> Decision:
        """Count the decision in callscreen_calls_total, and return it."""
        status = "degraded" if decision.degraded else "ok"
        key = (direction, decision.action, status)  # StrEnums: str, without .value lookups
        inc = self._children.get(key)
        if inc is None:
            inc = self._children[key] = metrics.CALLS.labels(*key).inc
        inc()
        return decision

    # -- answering ---------------------------------------------------------------------------

    def answer(self, decision: Decision) -> list[str]:
        """The command lines that carry the decision, first first: one `EXEC MSet`."""
        return answer_lines(decision)

    def refused(self, command: str, reply: Reply, decision: Decision) -> list[str]:
        """Asterisk answered `command` with anything but 200: the lines to send instead of
        the rest of the answer (one `SET VARIABLE` per variable when it refused MSet), or
        an empty list to go on with the rest."""
        if command.startswith("EXEC MSet"):
            # An Asterisk without MSet, or a dead channel: SET VARIABLE still works after a
            # hangup, and the `h` extension reads the variables.
            metrics.AGI_ERRORS.labels("mset-refused").inc()
            return set_variable_lines(decision)
        if reply.code != 511:  # 511: the channel hung up meanwhile; nothing to say
            self.rate_limited.warning(
                "agi-reply", f"Asterisk answered {reply.text[:80]!r} to {command[:20]!r}"
            )
        return []

    # -- the conversation's end --------------------------------------------------------------

    def broke_off(self, kind: str, message: str | None = None) -> None:
        """Count an AGI conversation that ended early (`hangup`, `reset`, `protocol`,
        `timeout`, `shutdown`); with a message, also log it (rate-limited)."""
        metrics.AGI_ERRORS.labels(kind).inc()
        if message is not None:
            self.rate_limited.warning("agi-" + kind, f"dropping AGI peer: {message}")

    def in_flight(self, calls: int) -> None:
        """The number of connections being served now (set periodically, not per call)."""
        metrics.CALLS_IN_FLIGHT.set(calls)


class AgiConnection(asyncio.Protocol):
    """One FastAGI call: read the environment, let the handler decide, send its answer, close.

    Written as a state machine driven by transport callbacks, not as a coroutine: a task
    with a future per round trip (the store, then the answer) measured as a large share of
    the server's CPU per call. No timer per call either: the server's sweep drops a
    connection past its `deadline`. The answer is one `EXEC MSet` (falling back to one
    `SET VARIABLE` per variable when Asterisk refuses it).
    """

    __slots__ = (
        "_answer", "_awaiting_reply", "_buffer", "_decision", "_environment", "_handler",
        "_pending", "_replies", "_sent", "_server", "_transport", "deadline",
    )

    def __init__(self, server: FastAgiServer) -> None:
        self._server = server
        self._handler = server.handler
        self._transport: asyncio.Transport | None = None
        self._buffer = b""
        self._environment: EnvironmentReader | None = EnvironmentReader()
        self._replies = ReplyReader()
        self._answer: list[str] = []  # command lines still to send, last first
        self._sent = ""  # the command line whose reply is awaited
        self._decision: Decision | None = None
        self._pending: Pending | None = None
        self._awaiting_reply = False
        self.deadline = server.loop.time() + ENVIRONMENT_TIMEOUT_S

    # -- transport callbacks ---------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        self._server.connections.add(self)

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
            self.abort("protocol", str(exc))

    def connection_lost(self, exc: Exception | None) -> None:
        self._server.connections.discard(self)
        if self._answer or self._awaiting_reply:
            self._handler.broke_off("reset")
            self._answer = []

    # -- the conversation ------------------------------------------------------------------

    def _line(self, line: str) -> None:
        environment = self._environment
        if environment is not None:
            if environment.feed(line):
                self._environment = None
                self.deadline = _NEVER  # the store's own timeout bounds the wait
                self._decide(environment.environment)
            return
        reply = self._replies.feed(line)
        if reply is None:
            return
        if not self._awaiting_reply:
            raise AgiProtocolError(f"AGI reply with no command waiting: {line[:80]!r}")
        self._awaiting_reply = False
        if reply.code != 200 and self._decision is not None:
            instead = self._handler.refused(self._sent, reply, self._decision)
            if instead:
                self._answer = instead[::-1]
        self._send_next()

    def _decide(self, env: Environment) -> None:
        server = self._server
        if len(server.connections) > server.max_calls:
            self._start_answer(self._handler.overloaded())
            return
        begun = self._handler.begin(env)
        if isinstance(begun, Decision):
            self._start_answer(begun)
            return
        self._pending = begun
        begun.replies.add_done_callback(self._stored)
        if begun.roaming is not None:
            begun.roaming.add_done_callback(self._stored)

    def _stored(self, _answer: asyncio.Future[Any]) -> None:
        pending = self._pending
        if pending is None or not pending.ready():
            return  # answered already, or the other answer is still out
        self._pending = None
        self._start_answer(self._handler.finish(pending))

    def _start_answer(self, decision: Decision) -> None:
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        self._decision = decision
        self._answer = self._handler.answer(decision)[::-1]
        # One deadline for the whole answer: if Asterisk stops answering, the sweep drops us.
        self.deadline = self._server.loop.time() + REPLY_TIMEOUT_S
        self._send_next()

    def _send_next(self) -> None:
        transport = self._transport
        if transport is None:
            return
        if not self._answer:
            if self._replies.hung_up:
                self._handler.broke_off("hangup")
            transport.close()  # Asterisk ends the AGI when we close
            return
        self._awaiting_reply = True
        self._sent = self._answer.pop()
        transport.write(self._sent.encode())

    def expire(self) -> None:
        """Past the deadline: drop the peer (called by the server's sweep)."""
        if self._environment is not None:
            self.abort("timeout", "no complete AGI environment in time")
        else:
            self.abort("timeout", "Asterisk stopped answering")

    def abort(self, kind: str, message: str) -> None:
        """Drop the peer: count and log why, close."""
        self._handler.broke_off(kind, message)
        self._answer = []
        self._awaiting_reply = False
        self.deadline = _NEVER
        if self._transport is not None:
            self._transport.close()


_NEVER = float("inf")


class FastAgiServer:
    """Accepts FastAGI connections: `start` listens, `stop` drains and closes.

    A sweep every `SWEEP_S` drops connections past their deadline and updates the in-flight
    gauge, instead of a timer per call.
    """

    def __init__(self, handler: CallHandler, max_calls: int) -> None:
        self.handler = handler
        self.max_calls = max_calls
        self.connections: set[AgiConnection] = set()
        self.loop: asyncio.AbstractEventLoop  # the running loop, from `start` on
        self._server: asyncio.Server | None = None
        self._sweep_timer: asyncio.TimerHandle | None = None

    async def start(self, host: str, port: int, *, reuse_port: bool = False) -> int:
        """Listen; returns the port (useful with port 0)."""
        loop = self.loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: AgiConnection(self), host, port, reuse_port=reuse_port or None, backlog=4096
        )
        self._sweep_timer = loop.call_later(SWEEP_S, self._sweep)
        sockets = self._server.sockets
        return int(sockets[0].getsockname()[1]) if sockets else port

    def _sweep(self) -> None:
        now = self.loop.time()
        for connection in [c for c in self.connections if c.deadline < now]:
            connection.expire()
        self.handler.in_flight(len(self.connections))
        self._sweep_timer = self.loop.call_later(SWEEP_S, self._sweep)

    async def stop(self, grace_s: float = SHUTDOWN_GRACE_S) -> None:
        """Stop accepting; let calls in flight finish, up to `grace_s`."""
        if self._server is not None:
            self._server.close()
        deadline = time.monotonic() + grace_s
        while self.connections and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        for connection in list(self.connections):
            connection.abort("shutdown", "server shutting down")
        if self._sweep_timer is not None:
            self._sweep_timer.cancel()
        self.handler.in_flight(0)
        if self._server is not None:
            await self._server.wait_closed()
        await self.handler.store.close()
