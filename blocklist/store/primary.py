"""The FastAGI server's writes (its activity counts): to the primary, found again for every
send through the Sentinels when `CALLSCREEN_REDIS_URL` is a Sentinel URL.

So a server starts while no Sentinel answers (its first flushes fail, are counted and
dropped, as any failed flush: `blocklist.store.activity_counter`) and follows a failover
without a restart: the next flush after the Sentinels name a new primary goes there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING

from blocklist.errors import StoreError
from blocklist.store.multiplexer import Multiplexer
from blocklist.store.replicas import discover

if TYPE_CHECKING:
    from blocklist.settings import SentinelLocation
    from blocklist.store.wire import Command, RedisAddress


class PrimaryWriter:
    """Sends to the primary: `address`, or the one `sentinel` names at each send (it has the
    `submit` of `Multiplexer`, so it is the activity flusher's `Sender`)."""

    def __init__(self, address: RedisAddress | None = None, *,
                 sentinel: SentinelLocation | None = None) -> None:
        if (address is None) == (sentinel is None):
            raise ValueError("PrimaryWriter needs an address or a Sentinel location, not both")
        self._sentinel = sentinel
        self._address = address
        self._mux = Multiplexer(address) if address is not None else None

    def submit(self, commands: Sequence[Command], timeout_s: float
               ) -> asyncio.Future[list[object]]:
        """The primary's replies to `commands` within `timeout_s` (the Sentinels' answer
        included); fails with StoreError or TimeoutError."""
        if self._sentinel is None:
            assert self._mux is not None
            return self._mux.submit(commands, timeout_s)
        return asyncio.ensure_future(self._send(self._sentinel, commands, timeout_s))

    async def _send(self, sentinel: SentinelLocation, commands: Sequence[Command],
                    timeout_s: float) -> list[object]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        async with asyncio.timeout(timeout_s):
            found = await discover(sentinel)
        if found is None:
            raise StoreError(f"no Sentinel names a primary {sentinel.service!r}")
        primary = found[0]
        if self._mux is None or self._address != primary:
            if self._mux is not None:
                await self._mux.close()
            self._address, self._mux = primary, Multiplexer(primary)
        return await self._mux.submit(commands, max(0.0, deadline - loop.time()))

    async def close(self) -> None:
        if self._mux is not None:
            await self._mux.close()
