"""The FastAGI server's reads across several Redis endpoints: replicas first, switching on
failure, back to the preferred one when it recovers, and following Sentinel.

`ReadEndpoints` has the `submit` of `blocklist.store.multiplexer.Multiplexer` (one
multiplexed connection per endpoint underneath) and adds, per call: when the endpoint in use
fails, does not answer within the budget, or answers -READONLY, -LOADING or -MASTERDOWN, it is
skipped for `skip_s` and the next endpoint in order takes over, for this call too when time
is left in its budget (a killed replica's connection drops at once, so the calls waiting on
it are asked again elsewhere). Off the call path, every `check_s`: the Sentinels are asked
for the primary and replicas (when the URL is a Sentinel URL; also at once after a switch),
a preferred endpoint that may be read again (`blocklist.store.reads.unusable`) is taken
back, and the lag of the replica in use is read from INFO replication. Every new connection
asks INFO replication first: a replica restarted empty is never read before it has synced.

Endpoints are `CALLSCREEN_READ_URLS` in order, or else the replicas the Sentinels name then
the primary (`blocklist.store.reads`). While the primary is down the replicas still answer
(Redis' replica-serve-stale-data): calls are screened on the list as it was, status `ok`.

Metrics (`blocklist.metrics`): callscreen_read_endpoint, callscreen_read_endpoint_switches_total,
callscreen_replica_lag_seconds, callscreen_failovers_followed_total. Labels are endpoint
addresses, never numbers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import hiredis

from blocklist import metrics
from blocklist.errors import StoreError, StoreTimeoutError
from blocklist.store.multiplexer import ConnectionLostError, Multiplexer
from blocklist.store.reads import (
    INFO_REPLICATION,
    NOT_THE_PRIMARY,
    SWITCH_REPLIES,
    label,
    read_sentinel_replies,
    sentinel_address,
    sentinel_commands,
    switch_reply,
    unusable,
)
from blocklist.store.wire import RedisAddress, encode

if TYPE_CHECKING:
    from blocklist.settings import SentinelLocation
    from blocklist.store.wire import Command

log = logging.getLogger("callscreen.reads")

SKIP_S = 5.0  # a failed endpoint is not asked for this long (then the watcher tries it)
CHECK_S = 2.0  # the watcher's period: Sentinel, preferred endpoints, replica lag
PROBE_TIMEOUT_S = 0.5  # the watcher's PING and INFO, and each Sentinel query
MIN_RETRY_S = 0.001  # less budget than this left: the call fails open rather than retry


class _Endpoint:
    __slots__ = ("address", "label", "mux", "skip_until")

    def __init__(self, address: RedisAddress, setup: Sequence[Command],
                 readable: Callable[[RedisAddress, object], str | None]) -> None:
        self.address = address
        self.label = label(address)
        # Every new connection asks first whether the node may be read (`unusable`).
        self.mux = Multiplexer(address, setup=[*setup, INFO_REPLICATION],
                               check=lambda replies: readable(address, replies[-1]))
        self.skip_until = 0.0


class ReadEndpoints:
    """Reads for a whole process, over `addresses` in order or what `sentinel` names.

    A node that says it is a primary is read only when it is `self.primary`: the one the
    Sentinels name (asked with `addresses` too), else `primary` (the configured Redis)."""

    def __init__(
        self, addresses: Sequence[RedisAddress] = (), *, sentinel: SentinelLocation | None = None,
        primary: RedisAddress | None = None, setup: Sequence[Command] = (),
        skip_s: float = SKIP_S, check_s: float = CHECK_S,
    ) -> None:
        if not addresses and sentinel is None:
            raise ValueError("ReadEndpoints needs addresses or a Sentinel location")
        self._setup = list(setup)
        self._sentinel = sentinel
        self._follow = not addresses  # the endpoints are what the Sentinels name
        self._skip_s = skip_s
        self._check_s = check_s
        self.endpoints = [_Endpoint(a, self._setup, self.unusable) for a in addresses]
        self.current = 0
        self.primary: RedisAddress | None = primary if sentinel is None else None
        self._named: RedisAddress | None = None  # the primary the Sentinels named last
        self._watcher: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._show()

    def is_primary(self, address: RedisAddress) -> bool:
        return address == self.primary

    def unusable(self, address: RedisAddress, info_replication: object) -> str | None:
        """Why the node at `address` must not be read now (`blocklist.store.reads.unusable`);
        a node that says it is a primary but is not the one named last wakes the watcher, so
        the Sentinels are asked again at once (a failover this process has not heard of)."""
        why = unusable(info_replication, primary=self.is_primary(address),
                       history=self._sentinel is not None)
        if why == NOT_THE_PRIMARY and self._sentinel is not None:
            self._wake.set()
        return why

    @property
    def in_use(self) -> str | None:
        """The label of the endpoint reads go to now."""
        return self.endpoints[self.current].label if self.endpoints else None

    async def start(self) -> None:
        """Ask the Sentinels once (when there are), then watch in the background."""
        if self._sentinel is not None:
            await self._discover()
        self._watcher = asyncio.get_running_loop().create_task(self._watch())

    async def close(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        for endpoint in self.endpoints:
            await endpoint.mux.close()

    # -- the call path --------------------------------------------------------------------

    def submit(
        self, commands: Sequence[Command], timeout_s: float
    ) -> asyncio.Future[list[object]]:
        """The replies to `commands` from the first endpoint that gives them within
        `timeout_s`. Never blocks; fails with StoreError (StoreTimeoutError past the budget)."""
        loop = asyncio.get_running_loop()
        outer: asyncio.Future[list[object]] = loop.create_future()
        self._attempt(commands, outer, loop.time() + timeout_s, 0, reconnect=True)
        return outer

    async def run(self, commands: Sequence[Command], timeout_s: float) -> list[object]:
        return await self.submit(commands, timeout_s)

    def _attempt(self, commands: Sequence[Command], outer: asyncio.Future[list[object]],
                 deadline: float, tries: int, *, reconnect: bool,
                 endpoint: _Endpoint | None = None) -> None:
        loop = asyncio.get_running_loop()
        endpoint = endpoint or self._pick(loop.time())
        if endpoint is None:
            outer.set_exception(StoreError("no read endpoint known (Sentinels not answering)"))
            return
        inner = endpoint.mux.submit(commands, deadline - loop.time())
        inner.add_done_callback(lambda done: self._answered(
            done, endpoint, commands, outer, deadline, tries, reconnect))

    def _answered(self, done: asyncio.Future[list[object]], endpoint: _Endpoint,
                  commands: Sequence[Command], outer: asyncio.Future[list[object]],
                  deadline: float, tries: int, reconnect: bool) -> None:
        if outer.done():
            return
        error = done.exception()
        loop = asyncio.get_running_loop()
        if (isinstance(error, ConnectionLostError) and reconnect
                and deadline - loop.time() > MIN_RETRY_S):
            # A dropped connection, not a refused one: Sentinel drops the clients of every
            # node it reconfigures in a failover. Once more on a new connection; a node that
            # is really gone refuses it at once, and then the next endpoint is asked.
            self._attempt(commands, outer, deadline, tries, reconnect=False, endpoint=endpoint)
            return
        if error is None:
            replies = done.result()
            code = switch_reply(replies)
            if code is None:
                outer.set_result(replies)
                return
            reason = code.lower()
            error = StoreError(f"Redis at {endpoint.label} answered {code}")
        elif isinstance(error, StoreTimeoutError):
            reason = "timeout"
        else:
            # A new connection's setup answered LOADING (say): the message ends with the reply.
            refused = str(error).partition(" refused setup: ")[2].split(" ", 1)[0]
            reason = refused.lower() if refused in SWITCH_REPLIES else "error"
        self._failed(endpoint, reason, error)
        if tries + 1 < len(self.endpoints) and deadline - loop.time() > MIN_RETRY_S:
            self._attempt(commands, outer, deadline, tries + 1, reconnect=True)
        else:
            outer.set_exception(error)

    def _pick(self, now: float) -> _Endpoint | None:
        endpoints = self.endpoints
        if not endpoints:
            return None
        current = endpoints[self.current]
        if current.skip_until <= now:
            return current
        # Every endpoint skipped: the one whose skip ends first is the best guess.
        return min(endpoints, key=lambda e: e.skip_until)

    def _failed(self, endpoint: _Endpoint, reason: str, error: BaseException) -> None:
        loop = asyncio.get_running_loop()
        if endpoint.skip_until > loop.time():
            return  # already skipped (many calls fail together when a node dies)
        endpoint.skip_until = loop.time() + self._skip_s
        if self.endpoints[self.current] is endpoint:
            self._switch(self._next_index(loop.time()), reason)
            log.warning("read endpoint %s failed (%s: %s); reading %s", endpoint.label, reason,
                        error, self.in_use)
        self._wake.set()

    def _next_index(self, now: float) -> int:
        count = len(self.endpoints)
        for step in range(1, count + 1):
            index = (self.current + step) % count
            if self.endpoints[index].skip_until <= now:
                return index
        return self.current

    def _switch(self, index: int, reason: str) -> None:
        if index != self.current:
            self.current = index
            metrics.READ_ENDPOINT_SWITCHES.labels(reason).inc()
        self._show()

    def _show(self) -> None:
        for index, endpoint in enumerate(self.endpoints):
            metrics.READ_ENDPOINT.labels(endpoint.label).set(1 if index == self.current else 0)

    # -- off the call path ----------------------------------------------------------------

    async def _watch(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._check_s)
            self._wake.clear()
            try:
                if self._sentinel is not None:
                    await self._discover()
                await self._take_back_preferred()
                await self._measure_lag()
            except Exception as exc:  # the watcher must outlive any one bad round
                log.warning("read endpoint check failed: %s", exc)

    async def _take_back_preferred(self) -> None:
        loop = asyncio.get_running_loop()
        for index, endpoint in enumerate(self.endpoints[: self.current]):
            if endpoint.skip_until > loop.time():
                continue
            try:
                replies = await endpoint.mux.run([INFO_REPLICATION], PROBE_TIMEOUT_S)
            except StoreError:
                endpoint.skip_until = loop.time() + self._skip_s
                continue
            if self.unusable(endpoint.address, replies[0]) is None:
                log.info("read endpoint %s answers again; reading it", endpoint.label)
                self._switch(index, "preferred_back")
                return

    async def _measure_lag(self) -> None:
        if not self.endpoints:
            return
        endpoint = self.endpoints[self.current]
        try:
            replies = await endpoint.mux.run([("INFO", "replication")], PROBE_TIMEOUT_S)
        except StoreError:
            return
        raw = replies[0]
        why = self.unusable(endpoint.address, raw)
        if why is not None and len(self.endpoints) > 1:
            self._failed(endpoint, "error", StoreError(why))
            return
        text = raw.decode() if isinstance(raw, bytes) else str(raw)
        fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
        if fields.get("role") != "slave":
            metrics.REPLICA_LAG_SECONDS.labels(endpoint.label).set(0)
            return
        if fields.get("master_link_status") == "up":
            lag = float(fields.get("master_last_io_seconds_ago", "0"))
        else:
            lag = float(fields.get("master_link_down_since_seconds", "0"))
        metrics.REPLICA_LAG_SECONDS.labels(endpoint.label).set(max(0.0, lag))

    async def _discover(self) -> None:
        """Ask the Sentinels in turn; the first that answers sets the endpoints."""
        assert self._sentinel is not None
        found = await discover(self._sentinel)
        if found is None:
            log.warning("no Sentinel answered; reading the endpoints known before")
            return
        self._update(*found)

    def _update(self, primary: RedisAddress, replicas: list[RedisAddress]) -> None:
        if self._named is not None and primary != self._named:
            metrics.FAILOVERS_FOLLOWED.inc()
            log.warning("the Sentinels name a new primary: %s (was %s)", label(primary),
                        label(self._named))
        self.primary = self._named = primary
        if not self._follow:
            return
        wanted = [*replicas, primary]
        if [e.address for e in self.endpoints] == wanted:
            return
        in_use = self.in_use
        known: dict[RedisAddress, _Endpoint | None] = {e.address: e for e in self.endpoints}
        self.endpoints = [known.pop(a, None) or _Endpoint(a, self._setup, self.unusable)
                          for a in wanted]
        for gone in filter(None, known.values()):
            metrics.READ_ENDPOINT.labels(gone.label).set(0)
            asyncio.get_running_loop().create_task(gone.mux.close())
        labels = [e.label for e in self.endpoints]
        self.current = labels.index(in_use) if in_use in labels else 0
        if self.endpoints[self.current].skip_until > asyncio.get_running_loop().time():
            self.current = self._next_index(asyncio.get_running_loop().time())
        self._show()


async def discover(location: SentinelLocation
                   ) -> tuple[RedisAddress, list[RedisAddress]] | None:
    """(the primary, the replicas that may be read) from the first Sentinel that answers and
    names a primary; None when none does (each is given PROBE_TIMEOUT_S)."""
    for host, port in location.sentinels:
        try:
            replies = await _query(sentinel_address(location, host, port),
                                   sentinel_commands(location.service))
            primary, replicas = read_sentinel_replies(location, replies)
        except (StoreError, OSError, TimeoutError) as exc:
            log.debug("Sentinel %s:%d: %s", host, port, exc)
            continue
        if primary is not None:
            return primary, replicas
    return None


async def _query(address: RedisAddress, commands: Sequence[Command]) -> list[object]:
    """One short-lived connection: `commands` (after AUTH), their replies."""
    setup = address.setup_commands()
    reader_stream, writer = await asyncio.wait_for(
        asyncio.open_connection(address.host, address.port), PROBE_TIMEOUT_S)
    try:
        writer.write(encode([*setup, *commands]))
        reader = hiredis.Reader()
        replies: list[object] = []
        async with asyncio.timeout(PROBE_TIMEOUT_S):
            while len(replies) < len(setup) + len(commands):
                data = await reader_stream.read(65536)
                if not data:
                    raise StoreError(f"{label(address)} closed the connection")
                reader.feed(data)
                while (reply := reader.gets()) is not False:
                    replies.append(reply)
    finally:
        writer.close()
    return replies[len(setup):]
