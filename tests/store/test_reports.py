"""Subscribers' reports (`blocklist.store.reports`) on a real Redis: the window, the threshold,
the `reports` listing."""

from __future__ import annotations

import datetime as dt

import pytest

from blocklist.entries import Category
from blocklist.store.reports import (
    REPORTS_SOURCE,
    add_report,
    clear_reports,
    count_reporters,
    dismiss,
    promote,
    reported,
)

T0 = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)
COMMON = {"threshold": 2, "window_s": 3600, "listing_days": 10}


def test_reports_outside_the_window_do_not_count(store) -> None:
    """Reports older than the window are dropped; only recent distinct reporters list."""
    add_report(store, "31855550101", "+31612345678", now=T0, **COMMON)
    late = add_report(store, "31855550101", "+31612345679",
                      now=T0 + dt.timedelta(hours=2), **COMMON)
    assert (late.reporters, late.entry) == (1, None)
    listed = add_report(store, "31855550101", "+31612345670",
                        now=T0 + dt.timedelta(hours=2, minutes=5), **COMMON)
    assert listed.newly_listed and listed.entry is not None
    assert listed.entry.valid_until == (T0 + dt.timedelta(days=10)).date()
    assert count_reporters(store, "31855550101", window_s=3600,
                           now=T0 + dt.timedelta(hours=2, minutes=5)) == 2
    again = add_report(store, "31855550101", "+31612345671",
                       now=T0 + dt.timedelta(hours=2, minutes=6), **COMMON)
    assert not again.newly_listed


def test_one_reporter_counts_once(store) -> None:
    """The same reporter reporting again does not add a reporter, so never lists alone."""
    for minutes in range(3):
        outcome = add_report(store, "31855550101", "+31612345678",
                             now=T0 + dt.timedelta(minutes=minutes), **COMMON)
    assert (outcome.reporters, outcome.entry) == (1, None)
    assert store.source_entries(REPORTS_SOURCE) == {}


def test_reporters_are_kept_only_as_a_hash(store) -> None:
    """The reporter's number is nowhere in the stored report."""
    add_report(store, "31855550101", "+31612345678", now=T0, **COMMON)
    stored = store.redis.zrange(store.keys.reports("31855550101"), 0, -1)
    assert len(stored) == 1 and "612345678" not in stored[0]


def test_threshold_below_two_is_refused(store) -> None:
    """A threshold of one would let one reporter list a number: refused."""
    with pytest.raises(ValueError, match="at least 2"):
        add_report(store, "31855550101", "x", threshold=1, window_s=60, listing_days=1)


def test_queue_lists_reported_numbers_and_drops_old_ones(store) -> None:
    """The queue has every number reported in the window, most recent first, with reporters,
    first and last report and its entries; numbers past the window leave it."""
    add_report(store, "31855550101", "+31612345678", now=T0, **COMMON)
    add_report(store, "31855550102", "+31612345678", now=T0 + dt.timedelta(minutes=1),
               **COMMON)
    add_report(store, "31855550101", "+31612345679", now=T0 + dt.timedelta(minutes=2),
               **COMMON)
    page, cursor = reported(store, window_s=3600, limit=1, now=T0 + dt.timedelta(minutes=3))
    assert [(r.number, r.reporters, r.first_reported, r.last_reported) for r in page] == [
        ("31855550101", 2, T0, T0 + dt.timedelta(minutes=2))]
    assert [e.source for e in page[0].entries] == [REPORTS_SOURCE]
    rest, end = reported(store, window_s=3600, after=cursor, now=T0 + dt.timedelta(minutes=3))
    assert ([(r.number, r.entries) for r in rest], end) == ([("31855550102", [])], None)
    later, _ = reported(store, window_s=3600, now=T0 + dt.timedelta(minutes=61, seconds=30))
    assert [r.number for r in later] == ["31855550101"]
    assert store.redis.hkeys(store.keys.reported_first) == ["31855550101"]


def test_clear_reports_takes_a_number_out(store) -> None:
    """Clearing forgets the number's reports and takes it out of the queue, once."""
    add_report(store, "31855550101", "+31612345678", now=T0, **COMMON)
    assert clear_reports(store, "31855550101")
    assert not clear_reports(store, "31855550101")
    assert reported(store, window_s=3600, now=T0)[0] == []
    assert count_reporters(store, "31855550101", window_s=3600, now=T0) == 0


def test_promote_lists_by_hand_and_dismiss_unlists(store) -> None:
    """Promoting makes a manual entry and dequeues; dismissing removes the reports listing."""
    add_report(store, "31855550101", "+31612345678", now=T0, **COMMON)
    entry = promote(store, "31855550101", Category.FRAUD, reason="confirmed", actor="desk",
                    today=T0.date())
    assert (entry.source, entry.category, entry.added_by) == ("manual", Category.FRAUD, "desk")
    assert [e.source for e in store.explain("31855550101")] == ["manual"]
    assert reported(store, window_s=3600, now=T0)[0] == []
    for reporter in ("+31612345678", "+31612345679"):
        add_report(store, "31855550102", reporter, now=T0, **COMMON)
    assert dismiss(store, "31855550102") == (True, True)
    assert store.explain("31855550102") == []
    assert dismiss(store, "31855550102") == (False, False)
