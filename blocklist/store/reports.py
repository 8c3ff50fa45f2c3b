"""Reports of scam numbers by subscribers (or the support desk on their behalf).

When at least `threshold` distinct reporters report one number within `window_s`, the number
is listed as `suspected` (source `reports`) until `listing_days` from the last report. A
reporter counts once per number however often they report, so one reporter can't list a
number alone (the threshold is at least 2). Reporters are kept only as a keyed hash.

    {cs}:reports:<digits>    sorted set  reporter hash -> when last reported (Unix seconds).
                                         Reports older than the window are dropped at each
                                         new report; the key expires a window after the last.
                                         (`KeySpace.reports`, `blocklist.store.layout`)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from dataclasses import dataclass

from blocklist.entries import AppliesTo, Category, Entry
from blocklist.store.admin import Store
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
