"""Activity, read back: which listed keys calls matched, by direction and action, over the
last hour, day and 30 days (the FastAGI server counts and flushes them:
`blocklist.store.activity_counter`).

    {cs}:act:m:<slot>   hash  `<key>|<d><a>` -> hits in five minutes (300 s slots since 1970)
    {cs}:act:h:<hour>   hash  the same per clock hour (hours since 1970, UTC)
    {cs}:act:d:<day>    hash  the same per day (days since 1970, UTC)
    {cs}:act:seen       zset  key -> when last seen (Unix seconds)

`<key>` is a listed key as stored (digits; a block ends in `*`), or `all` for the totals over
every key; `<d>` is `i`/`o` (inbound, outbound), `<a>` `a`/`w`/`b`/`s` (allow, warn, block,
shadow: a shadow entry matched and changed nothing). A five-minute bucket expires an hour
after it ends, the others 31 days after, so memory stays bounded by the keys active in a month.

Windows are whole buckets, so they say when they start: `hour` is the last twelve five-minute
buckets (55-60 minutes, this one included), `day` the last 24 clock hours (this one
included), `30d` the last 30 UTC days (today included).
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from blocklist.entries import Action, Direction
from blocklist.store.activity_counter import (
    ACTION_CODES,
    DAY_S,
    DIRECTION_CODES,
    HOUR_S,
    SHADOW,
    SLOT_S,
    TOTAL_KEY,
)
from blocklist.store.admin import Store
from blocklist.store.redis_boundary import translated_errors

MAX_SERIES_HOURS = 30 * 24  # the 30-day window
ACTIONS: tuple[str, ...] = (Action.ALLOW, Action.WARN, Action.BLOCK, SHADOW)
_CODES = [(d, a, DIRECTION_CODES[d] + ACTION_CODES[a]) for d in Direction for a in ACTIONS]
_BY_CODE = {code: (d, a) for d, a, code in _CODES}


class Window(StrEnum):
    HOUR = "hour"  # the last 12 five-minute buckets
    DAY = "day"  # the last 24 clock hours
    DAYS_30 = "30d"  # the last 30 UTC days


@dataclass(frozen=True, slots=True)
class Figures:
    """Hits by direction and action (`allow`, `warn`, `block`, `shadow`)."""

    inbound: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ACTIONS, 0))
    outbound: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ACTIONS, 0))

    @property
    def total(self) -> int:
        return sum(self.inbound.values()) + sum(self.outbound.values())

    def add(self, code: str, hits: int) -> None:
        direction, action = _BY_CODE[code]
        side = self.inbound if direction is Direction.INBOUND else self.outbound
        side[action] += hits


@dataclass(frozen=True, slots=True)
class KeyActivity:
    """One listed key's hits in a window."""

    key: str  # digits, or digits and `*` for a block
    figures: Figures
    last_seen: dt.datetime | None


@dataclass(frozen=True, slots=True)
class EntryActivity:
    """One listed key's hits over each window, and when a call last matched it."""

    key: str
    windows: dict[Window, Figures]
    last_seen: dt.datetime | None
    since: dict[Window, dt.datetime]  # where each window starts


@dataclass(frozen=True, slots=True)
class HourHits:
    """Hits in one clock hour, by direction (all actions)."""

    hour: dt.datetime
    inbound: int
    outbound: int


def window_start(window: Window, now: dt.datetime) -> dt.datetime:
    """The first moment a window counts (it ends now)."""
    hour = _hour(now)
    if window is Window.HOUR:
        return _at((_slot(now) - 11) * SLOT_S)
    if window is Window.DAY:
        return _at((hour - 23) * HOUR_S)
    return _at((_day(now) - 29) * DAY_S)


def top(store: Store, window: Window, *, direction: Direction | None = None, limit: int = 20,
        now: dt.datetime | None = None) -> list[KeyActivity]:
    """The `limit` keys with the most hits in the window (in `direction`, if given), most
    first; ties by key."""
    now = now or dt.datetime.now(dt.UTC)
    totals: dict[str, Figures] = {}
    with translated_errors("read activity"):
        pipe = store.redis.pipeline(transaction=False)
        for name in _bucket_keys(store, window, now):
            pipe.hgetall(name)
        for bucket in pipe.execute():
            for stored, hits in bucket.items():
                key, _, code = stored.rpartition("|")
                if key == TOTAL_KEY or code not in _BY_CODE:
                    continue
                if direction is not None and _BY_CODE[code][0] is not direction:
                    continue
                totals.setdefault(key, Figures()).add(code, int(hits))
        best = heapq.nsmallest(limit, totals.items(), key=lambda kv: (-kv[1].total, kv[0]))
        seen = _last_seen(store, [key for key, _ in best])
    return [KeyActivity(key, figures, seen[key]) for key, figures in best]


def entry_activity(store: Store, key: str, *, now: dt.datetime | None = None) -> EntryActivity:
    """One listed key's figures over each window (all zero for a key never seen)."""
    now = now or dt.datetime.now(dt.UTC)
    fields = [f"{key}|{code}" for _, _, code in _CODES]
    windows: dict[Window, Figures] = {}
    with translated_errors("read activity"):
        pipe = store.redis.pipeline(transaction=False)
        plan = [(w, list(_bucket_keys(store, w, now))) for w in Window]
        for _, names in plan:
            for name in names:
                pipe.hmget(name, fields)
        replies = iter(pipe.execute())
        for window, names in plan:
            figures = windows[window] = Figures()
            for _ in names:
                _add_values(figures, next(replies))
        seen = _last_seen(store, [key])
    return EntryActivity(key, windows, seen[key], {w: window_start(w, now) for w in Window})


def hourly(store: Store, key: str | None, hours: int, *, now: dt.datetime | None = None
           ) -> list[HourHits]:
    """Hits per clock hour over the last `hours` hours, oldest first: one key's, or every
    key's together when `key` is None (the chart). Hours with no hits are zeros."""
    if not 1 <= hours <= MAX_SERIES_HOURS:
        raise ValueError(f"hours {hours} is outside 1..{MAX_SERIES_HOURS}")
    now = now or dt.datetime.now(dt.UTC)
    last = _hour(now)
    wanted = range(last - hours + 1, last + 1)
    fields = [f"{key or TOTAL_KEY}|{code}" for _, _, code in _CODES]
    with translated_errors("read activity"):
        pipe = store.redis.pipeline(transaction=False)
        for hour in wanted:
            pipe.hmget(store.keys.activity_hour(hour), fields)
        replies = pipe.execute()
    series = []
    for hour, values in zip(wanted, replies, strict=True):
        figures = Figures()
        _add_values(figures, values)
        series.append(HourHits(_at(hour * HOUR_S), sum(figures.inbound.values()),
                               sum(figures.outbound.values())))
    return series


def _add_values(figures: Figures, values: Iterable[str | None]) -> None:
    for (_, _, code), value in zip(_CODES, values, strict=True):
        if value is not None:
            figures.add(code, int(value))


def _bucket_keys(store: Store, window: Window, now: dt.datetime) -> Iterable[str]:
    if window is Window.HOUR:
        return [store.keys.activity_slot(s) for s in range(_slot(now) - 11, _slot(now) + 1)]
    if window is Window.DAY:
        return [store.keys.activity_hour(h) for h in range(_hour(now) - 23, _hour(now) + 1)]
    return [store.keys.activity_day(d) for d in range(_day(now) - 29, _day(now) + 1)]


def _last_seen(store: Store, keys: list[str]) -> Mapping[str, dt.datetime | None]:
    if not keys:
        return {}
    scores: list[Any] = store.redis.zmscore(store.keys.activity_seen, keys)
    return {k: _at(int(s)) if s is not None else None for k, s in zip(keys, scores, strict=True)}


def _slot(now: dt.datetime) -> int:
    return int(now.timestamp() // SLOT_S)


def _hour(now: dt.datetime) -> int:
    return int(now.timestamp() // HOUR_S)


def _day(now: dt.datetime) -> int:
    return int(now.timestamp() // DAY_S)


def _at(seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)
