"""Reports of scam numbers by subscribers (or the support desk on their behalf).

When at least `threshold` distinct reporters report one number within `window_s`, the number
is listed as `suspected` (source `reports`) until `listing_days` from the last report. A
reporter counts once per number however often they report, so one reporter can't list a
number alone (the threshold is at least 2). Reporters are kept only as a keyed hash.

    {cs}:reports:<digits>    sorted set  reporter hash -> when last reported (Unix seconds).
                                         Reports older than the window are dropped at each
                                         new report; the key expires a window after the last.
                                         (`KeySpace.reports`, `blocklist.store.layout`)
    {cs}:reported            sorted set  digits -> when last reported: the queue the fraud
                                         desk works through (`reported`); a number leaves it
                                         a window after its last report, or when dismissed
                                         or promoted (`clear_reports`)
    {cs}:reported:first      hash        digits -> when first reported (Unix seconds)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from dataclasses import dataclass
from typing import Any

from blocklist.entries import MANUAL_SOURCE, AppliesTo, Category, Entry
from blocklist.store.admin import Store
from blocklist.store.layout import lookup_prefixes
from blocklist.store.redis_boundary import translated_errors

REPORTS_SOURCE = "reports"


@dataclass(frozen=True, slots=True)
class ReportOutcome:
    """What one report led to: distinct reporters in the window, and the listing if any."""

    reporters: int
    threshold: int
    entry: Entry | None  # the `reports` entry when the number is listed by reports
    newly_listed: bool  # this report pushed the number over the threshold


def reporter_hash(reporter: str) -> str:
    """A stable pseudonym for a reporter: enough to tell reporters apart, not to name one."""
    return hashlib.blake2b(reporter.encode(), digest_size=10, person=b"cs-reporter").hexdigest()


def add_report(
    store: Store,
    number_digits: str,
    reporter: str,
    *,
    threshold: int,
    window_s: float,
    listing_days: int,
    now: dt.datetime | None = None,
    reason: str = "",
) -> ReportOutcome:
    """Count one report; list the number as `suspected` once the threshold is reached."""
    if threshold < 2:
        raise ValueError(f"report threshold {threshold} must be at least 2")
    now = now or dt.datetime.now(dt.UTC)
    stamp = now.timestamp()
    key = store.keys.reports(number_digits)
    with translated_errors("record a report"):
        pipe = store.redis.pipeline(transaction=True)
        pipe.zadd(key, {reporter_hash(reporter): stamp})
        pipe.zremrangebyscore(key, "-inf", f"({stamp - window_s}")
        pipe.zcard(key)
        pipe.expire(key, math.ceil(window_s))
        pipe.zadd(store.keys.reported, {number_digits: stamp})
        pipe.hsetnx(store.keys.reported_first, number_digits, str(stamp))
        reporters = int(pipe.execute()[2])
    if reporters < threshold:
        return ReportOutcome(reporters, threshold, None, newly_listed=False)
    was_listed = any(
        e.source == REPORTS_SOURCE
        for e in store.entries_for([(number_digits, False)])[(number_digits, False)]
        if not e.expired(now.date())
    )
    entry = Entry(
        key=number_digits, is_prefix=False, category=Category.SUSPECTED,
        applies_to=AppliesTo.BOTH, source=REPORTS_SOURCE,
        reason=reason or f"reported by {reporters} distinct reporters",
        listed_at=now.date(), valid_until=now.date() + dt.timedelta(days=listing_days),
        added_by=REPORTS_SOURCE,
    )
    store.add_entries([entry])
    return ReportOutcome(reporters, threshold, entry, newly_listed=not was_listed)


def count_reporters(store: Store, number_digits: str, *, window_s: float,
                    now: dt.datetime | None = None) -> int:
    """Distinct reporters of a number within the window ending now."""
    stamp = (now or dt.datetime.now(dt.UTC)).timestamp()
    with translated_errors("count reports"):
        return int(store.redis.zcount(store.keys.reports(number_digits), stamp - window_s, "+inf"))


@dataclass(frozen=True, slots=True)
class Reported:
    """A number in the reports queue."""

    number: str  # digits
    reporters: int  # distinct reporters within the window
    first_reported: dt.datetime
    last_reported: dt.datetime
    entries: list[Entry]  # every entry listing it now (exact or by a block), any source


def reported(store: Store, *, window_s: float, after: tuple[float, str] | None = None,
             limit: int = 100, now: dt.datetime | None = None
             ) -> tuple[list[Reported], tuple[float, str] | None]:
    """The reports queue: numbers reported within the window, most recently reported first,
    from after the cursor `after` (the last item's (last report, digits)); and the cursor for
    the next page, None at the end. Numbers whose reports all left the window leave it."""
    stamp = (now or dt.datetime.now(dt.UTC)).timestamp()
    oldest = stamp - window_s
    keys = store.keys
    with translated_errors("read the reports queue"):
        stale = store.redis.zrangebyscore(keys.reported, "-inf", f"({oldest}")
        if stale:
            pipe = store.redis.pipeline(transaction=True)
            pipe.zrem(keys.reported, *stale)
            pipe.hdel(keys.reported_first, *stale)
            pipe.execute()
        high: Any = "+inf" if after is None else after[0]
        rows: list[tuple[str, float]] = []
        offset = 0
        while len(rows) <= limit:  # one extra row says whether there is a next page
            batch = store.redis.zrevrangebyscore(keys.reported, high, oldest, start=offset,
                                                 num=limit + 1, withscores=True)
            offset += len(batch)
            rows += [(m, s) for m, s in batch
                     if after is None or (s, m) < (after[0], after[1])]
            if len(batch) < limit + 1:
                break
        rows = rows[:limit + 1]
        more = len(rows) > limit
        rows = rows[:limit]
        pipe = store.redis.pipeline(transaction=False)
        for number, _ in rows:
            pipe.zcount(keys.reports(number), oldest, "+inf")
            pipe.hget(keys.reported_first, number)
        replies = pipe.execute()
    wanted = [(n, False) for n, _ in rows] + [(p, True) for n, _ in rows
                                              for p in lookup_prefixes(n)]
    listings = store.entries_for(wanted) if rows else {}
    today = dt.datetime.fromtimestamp(stamp, dt.UTC).date()
    found = []
    for index, (number, last) in enumerate(rows):
        count, first = replies[2 * index], replies[2 * index + 1]
        entries = [e for k in [(number, False)] + [(p, True) for p in lookup_prefixes(number)]
                   for e in listings.get(k, []) if not e.expired(today)]
        found.append(Reported(
            number=number, reporters=int(count),
            first_reported=_at(float(first) if first is not None else last),
            last_reported=_at(last), entries=entries,
        ))
    cursor = (rows[-1][1], rows[-1][0]) if more and rows else None
    return found, cursor


def clear_reports(store: Store, number_digits: str) -> bool:
    """Take a number out of the reports queue and forget its reports (dismissed, or promoted
    to an entry). False when it was not in the queue."""
    keys = store.keys
    with translated_errors("clear a number's reports"):
        pipe = store.redis.pipeline(transaction=True)
        pipe.zrem(keys.reported, number_digits)
        pipe.hdel(keys.reported_first, number_digits)
        pipe.delete(keys.reports(number_digits))
        return bool(pipe.execute()[0])


def promote(store: Store, number_digits: str, category: Category, *, reason: str, actor: str,
            valid_until: dt.date | None = None, today: dt.date | None = None) -> Entry:
    """List a reported number by hand (a `manual` entry of `category`, replacing any manual
    entry it had) and take it out of the queue. Returns the entry."""
    entry = Entry(
        key=number_digits, is_prefix=False, category=category,
        applies_to=AppliesTo.default_for(category), source=MANUAL_SOURCE,
        reference=REPORTS_SOURCE, reason=reason,
        listed_at=today or dt.datetime.now(dt.UTC).date(), valid_until=valid_until,
        added_by=actor,
    )
    store.add_entries([entry])
    clear_reports(store, number_digits)
    return entry


def dismiss(store: Store, number_digits: str) -> tuple[bool, bool]:
    """Forget a number's reports, take it out of the queue and remove its `reports` listing:
    (whether it was in the queue, whether a listing was removed)."""
    queued = clear_reports(store, number_digits)
    removed = store.remove_entries(REPORTS_SOURCE, [(number_digits, False)]) > 0
    return queued, removed


def _at(stamp: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(stamp, dt.UTC)
