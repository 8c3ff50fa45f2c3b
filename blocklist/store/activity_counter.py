"""Activity on the call path: which listed keys calls matched, counted in memory and flushed
to Redis off the call path.

`ActivityCounter.record` is the one call the FastAGI server makes per decided call: a dict
increment, no I/O, no lock (the server is one thread; each worker process counts its own).
`ActivityFlusher` swaps the counter's dict for an empty one every `interval_s`
(`CALLSCREEN_ACTIVITY_FLUSH_S`) and sends its counts as one pipeline on its own connection,
so a flush never waits in line with a call's lookup. Hazards said plainly:

- A crash loses the counts since the last flush (a few seconds); a call never waits for one.
- A flush that fails or times out is dropped, not retried: counts may fall short during a
  store outage, but are never counted twice. `callscreen_activity_flush_errors_total` and
  `callscreen_activity_hits_lost_total` say so.
- Hits are bucketed by the time of their flush, so a hit in the last seconds of an hour may
  land in the next one.

What is stored (`blocklist.store.activity` reads it back): the listed key (the entry's
digits, `*` for a block), the direction, the action and the time bucket. Never a
subscriber's number.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from blocklist import metrics
from blocklist.entries import Action, Direction
from blocklist.policy import Decision
from blocklist.store.layout import KeySpace

log = logging.getLogger("callscreen.activity")

SLOT_S = 300  # five-minute buckets make the `hour` window the last 60 minutes, not the clock's
SLOT_KEEP_S = 3600  # a five-minute bucket is kept an hour after it ends
HOUR_S = 3600
DAY_S = 86400
KEEP_S = 31 * DAY_S  # every bucket, and a key's last-seen time, expire after 31 days
FLUSH_TIMEOUT_S = 5.0
TOTAL_KEY = "all"  # the field prefix of the totals over every key (the chart of all hits)
SHADOW = "shadow"  # the action of a shadow match: counted, changed nothing

# The one-letter codes of a field's `<d><a>` suffix (see `blocklist.store.layout`).
DIRECTION_CODES: dict[str, str] = {Direction.INBOUND: "i", Direction.OUTBOUND: "o"}
ACTION_CODES: dict[str, str] = {Action.ALLOW: "a", Action.WARN: "w", Action.BLOCK: "b",
                                SHADOW: "s"}

Hit = tuple[str, str]  # (listed key as stored: digits, `*` for a block; `<d><a>` code)


class ActivityCounter:
    """Hits per listed key, direction and action since the last flush; in memory only."""

    __slots__ = ("counts",)

    def __init__(self) -> None:
        self.counts: dict[Hit, int] = {}

    def record(self, direction: Direction, decision: Decision) -> None:
        """Count a decided call against the listing that decided it (if any) and every shadow
        listing it matched. Costs a dict increment per match; most calls match nothing."""
        match = decision.matched
        if match is not None:
            key = (match.key + "*" if match.is_prefix else match.key,
                   DIRECTION_CODES[direction] + ACTION_CODES[decision.action])
            self.counts[key] = self.counts.get(key, 0) + 1
        for shadow in decision.shadow:
            key = (shadow.key + "*" if shadow.is_prefix else shadow.key,
                   DIRECTION_CODES[direction] + "s")
            self.counts[key] = self.counts.get(key, 0) + 1

    def take(self) -> dict[Hit, int]:
        """The counts so far, leaving the counter empty."""
        counts, self.counts = self.counts, {}
        return counts


def flush_commands(keys: KeySpace, counts: dict[Hit, int], now_s: float
                   ) -> list[tuple[str, ...]]:
    """The pipeline that adds `counts` to the five-minute, hour and day buckets of `now_s`
    (Unix seconds), with the totals under `all`, the keys' last-seen time, and every expiry.
    Pure."""
    slot, hour, day = int(now_s // SLOT_S), int(now_s // HOUR_S), int(now_s // DAY_S)
    slot_key = keys.activity_slot(slot)
    hour_key, day_key = keys.activity_hour(hour), keys.activity_day(day)
    totals: dict[str, int] = {}
    commands: list[tuple[str, ...]] = []
    seen: list[str] = []
    for (listed, code), hits in counts.items():
        field = f"{listed}|{code}"
        commands.append(("HINCRBY", slot_key, field, str(hits)))
        commands.append(("HINCRBY", hour_key, field, str(hits)))
        commands.append(("HINCRBY", day_key, field, str(hits)))
        totals[code] = totals.get(code, 0) + hits
        seen.append(listed)
    for code, hits in totals.items():
        commands.append(("HINCRBY", hour_key, f"{TOTAL_KEY}|{code}", str(hits)))
        commands.append(("HINCRBY", day_key, f"{TOTAL_KEY}|{code}", str(hits)))
    stamp = str(int(now_s))
    for listed in dict.fromkeys(seen):
        commands.append(("ZADD", keys.activity_seen, stamp, listed))
    commands += [
        ("EXPIREAT", slot_key, str((slot + 1) * SLOT_S + SLOT_KEEP_S)),
        ("EXPIREAT", hour_key, str((hour + 1) * HOUR_S + KEEP_S)),
        ("EXPIREAT", day_key, str((day + 1) * DAY_S + KEEP_S)),
        ("ZREMRANGEBYSCORE", keys.activity_seen, "-inf", f"({int(now_s) - KEEP_S}"),
        ("EXPIRE", keys.activity_seen, str(KEEP_S)),
    ]
    return commands


class Sender(Protocol):
    """What the flusher sends on: `blocklist.store.multiplexer.Multiplexer` fits."""

    def submit(self, commands: Sequence[tuple[str, ...]], timeout_s: float
               ) -> asyncio.Future[list[object]]:
        """The replies to `commands` (an error reply as an exception in the list)."""
        ...


class ActivityFlusher:
    """Flushes a counter to Redis every `interval_s`, and once more at `stop`."""

    def __init__(self, counter: ActivityCounter, sender: Sender, keys: KeySpace,
                 interval_s: float, *, clock: Callable[[], float] = time.time) -> None:
        self.counter = counter
        self._sender = sender
        self._keys = keys
        self._interval_s = interval_s
        self._clock = clock
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Stop the timer and flush what is left (shutdown: a call in its last seconds counts)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            await self.flush()

    async def flush(self) -> bool:
        """Send the counts so far; True when they were stored (or there were none)."""
        counts = self.counter.take()
        if not counts:
            return True
        commands = flush_commands(self._keys, counts, self._clock())
        try:
            replies = await self._sender.submit(commands, FLUSH_TIMEOUT_S)
            refused = next((r for r in replies if isinstance(r, Exception)), None)
            if refused is not None:
                raise refused
        except Exception as error:  # an outage, a timeout, a refusal: drop, never count twice
            metrics.ACTIVITY_FLUSH_ERRORS.inc()
            metrics.ACTIVITY_HITS_LOST.inc(sum(counts.values()))
            log.warning("activity flush failed, %d hits dropped: %s",
                        sum(counts.values()), error)
            return False
        metrics.ACTIVITY_FLUSHES.inc()
        return True
