"""The FastAGI server's Redis connection: one per process, shared by every call.

Replies are matched to pipelines in order (Redis answers in order). See `blocklist.store.wire`
for why this is not redis-py.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import socket
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import hiredis

from blocklist.errors import StoreError, StoreTimeoutError
from blocklist.store.wire import RedisAddress, encode, ssl_context

if TYPE_CHECKING:
    from blocklist.store.wire import Command

SETUP_TIMEOUT_S = 5.0  # AUTH, SELECT and SCRIPT LOAD on a new connection


class ConnectionLostError(StoreError):
    """The connection dropped with replies outstanding. The server may well be up (Sentinel
    drops every client of a node it reconfigures): asking again on a new connection may
    work."""


class Multiplexer:
    """One asyncio connection shared by every call of a process.

    `submit` sends a pipeline at once (or as soon as the connection is up) and returns a
    future that fails with StoreTimeoutError when the replies don't arrive within the
    caller's budget. A caller that gives up leaves its slot in the queue, so later replies
    still land where they belong. When the connection drops, every waiting caller gets
    StoreError at once; reconnecting is tried at most once per `retry_s`, so a dead Redis
    costs no time per call.
    """

    def __init__(
        self, address: RedisAddress, *, retry_s: float = 0.5,
        setup: Sequence[Command] = (),
        check: Callable[[list[object]], str | None] | None = None,
    ) -> None:
        """`setup`: commands sent on every new connection after AUTH/SELECT (SCRIPT LOAD).
        `check`: given the setup's replies, why the connection must not be used (it fails
        as unavailable), or None."""
        self._address = address
        self._setup = list(setup)
        self._check = check
        self._retry_s = retry_s
        self._protocol: _Protocol | None = None
        self._connecting: asyncio.Task[_Protocol] | None = None
        self._next_attempt = 0.0
        self._last_error = "not connected yet"

    def submit(
        self, commands: Sequence[Command], timeout_s: float
    ) -> asyncio.Future[list[object]]:
        """The replies to `commands`, as a future bounded by `timeout_s`. Never blocks."""
        loop = asyncio.get_running_loop()
        protocol = self._protocol
        if protocol is not None and not protocol.closed:
            future = protocol.send(commands)
        else:
            future = loop.create_future()
            connecting = self._connecting or self._start_connecting(loop)
            if connecting is None:
                future.set_exception(
                    StoreError(f"Redis at {self._address} unavailable: {self._last_error}")
                )
                return future
            connecting.add_done_callback(lambda task: _send_when_connected(task, commands, future))
        # A plain timer rather than asyncio.wait_for: this runs once per call.
        timer = loop.call_later(timeout_s, _expire, future, self._address, timeout_s)
        future.add_done_callback(lambda _: timer.cancel())
        return future

    async def run(self, commands: Sequence[Command], timeout_s: float) -> list[object]:
        return await self.submit(commands, timeout_s)

    def _start_connecting(self, loop: asyncio.AbstractEventLoop) -> asyncio.Task[_Protocol] | None:
        if loop.time() < self._next_attempt:
            return None
        self._next_attempt = loop.time() + self._retry_s
        self._connecting = loop.create_task(self._connect())
        return self._connecting

    async def _connect(self) -> _Protocol:
        loop = asyncio.get_running_loop()
        address = self._address
        protocol: _Protocol | None = None
        try:
            if address.path:
                _, protocol = await loop.create_unix_connection(_Protocol, address.path)
            else:
                if address.tls:
                    _, protocol = await loop.create_connection(
                        _Protocol, address.host, address.port,
                        ssl=ssl_context(address),
                        server_hostname=address.host,
                    )
                else:
                    _, protocol = await loop.create_connection(
                        _Protocol, address.host, address.port
                    )
            setup = [*address.setup_commands(), *self._setup]
            if setup:
                replies = await asyncio.wait_for(protocol.send(setup), SETUP_TIMEOUT_S)
                for reply in replies:
                    if isinstance(reply, hiredis.ReplyError):
                        raise StoreError(f"Redis at {address} refused setup: {reply}")
                why = self._check(replies[-len(self._setup):]) if self._check else None
                if why is not None:
                    self._last_error = why
                    raise StoreError(f"Redis at {address} unavailable: {why}")
            self._protocol = protocol
            return protocol
        except (OSError, TimeoutError) as exc:
            self._last_error = str(exc) or type(exc).__name__
            raise StoreError(f"Redis at {address} unavailable: {self._last_error}") from None
        finally:
            self._connecting = None
            if protocol is not None and self._protocol is not protocol:
                protocol.close()  # a setup that failed or timed out: don't leak the socket

    async def close(self) -> None:
        """Close the connection, and one still being made (it would outlive shutdown)."""
        connecting = self._connecting
        if connecting is not None:
            connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError, StoreError):
                await connecting
        if self._protocol is not None:
            self._protocol.close()
            self._protocol = None


def _send_when_connected(
    task: asyncio.Task[_Protocol], commands: Sequence[Command],
    future: asyncio.Future[list[object]],
) -> None:
    if future.done():
        return
    if task.cancelled() or task.exception() is not None:
        error = task.exception() if not task.cancelled() else None
        future.set_exception(error or StoreError("connecting to Redis was cancelled"))
        return
    replies = task.result().send(commands)
    replies.add_done_callback(lambda done: _copy_result(done, future))


def _copy_result(
    source: asyncio.Future[list[object]], target: asyncio.Future[list[object]]
) -> None:
    if target.done():
        return
    if source.exception() is not None:
        target.set_exception(source.exception())  # type: ignore[arg-type]
    else:
        target.set_result(source.result())


def _expire(future: asyncio.Future[list[object]], address: RedisAddress, timeout_s: float) -> None:
    if not future.done():
        future.set_exception(
            StoreTimeoutError(f"Redis at {address} did not answer within {timeout_s * 1000:.0f} ms")
        )


class _Protocol(asyncio.Protocol):
    def __init__(self) -> None:
        self._reader = hiredis.Reader()
        self._waiting: collections.deque[tuple[int, list[object], asyncio.Future[list[object]]]]
        self._waiting = collections.deque()
        self._transport: asyncio.Transport | None = None
        self._outgoing: list[bytes] = []
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def send(self, commands: Sequence[Command]) -> asyncio.Future[list[object]]:
        if self.closed or self._transport is None:
            raise StoreError("Redis connection is closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[object]] = loop.create_future()
        self._waiting.append((len(commands), [], future))
        # Calls decided in the same event-loop turn share one write (one syscall).
        if not self._outgoing:
            loop.call_soon(self._flush)
        self._outgoing.append(encode(commands))
        return future

    def _flush(self) -> None:
        data, self._outgoing = b"".join(self._outgoing), []
        if self._transport is not None and not self.closed:
            self._transport.write(data)

    def data_received(self, data: bytes) -> None:
        reader = self._reader
        reader.feed(data)
        waiting = self._waiting
        while waiting:
            reply = reader.gets()
            if reply is False:
                return
            count, replies, future = waiting[0]
            if isinstance(reply, hiredis.ReplyError) and str(reply).startswith("NOSCRIPT"):
                self.close()  # the script was flushed: reconnect, which loads it again
            replies.append(reply)
            if len(replies) == count:
                waiting.popleft()
                if not future.done():  # a caller past its deadline has gone
                    future.set_result(replies)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        while self._waiting:
            _, _, future = self._waiting.popleft()
            if not future.done():
                future.set_exception(
                    ConnectionLostError(f"Redis connection lost: {exc or 'closed'}"))

    def close(self) -> None:
        self.closed = True
        if self._transport is not None:
            self._transport.close()
