"""Guard and apply (`blocklist.sync.apply`) of delta feeds on a real Redis: one atomic step,
and an outcome that lists what really changed."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from blocklist.entries import AppliesTo, Category, Entry
from blocklist.feeds import FeedFormatConfig, ParsedFeed, parse_feed
from blocklist.settings import Settings
from blocklist.store.admin import Store
from blocklist.sync.apply import guard_and_apply
from blocklist.sync.runner import plans_for

pytestmark = pytest.mark.redis


def delta(settings: Settings, records: list[dict[str, str]]) -> ParsedFeed:
    head = {"format": "screening-feed/v1", "source": "acm", "mode": "delta"}
    text = "\n".join(json.dumps(line) for line in [{"feed": head}, *records]) + "\n"
    return parse_feed(text.encode(), "screening-feed/v1", FeedFormatConfig.from_dict({}),
                      plan_for=plans_for(settings), today=dt.date(2026, 11, 1),
                      added_by="test")


def listed(key: str) -> Entry:
    return Entry(key=key, is_prefix=False, category=Category.REVOKED,
                 applies_to=AppliesTo.BOTH, source="acm", reference="r")


def one_listed_and_a_delta(store: Store, settings: Settings) -> ParsedFeed:
    """The source lists 31855550102; the delta adds 31855550101 and removes 31855550109
    (which it never listed) and 31855550102."""
    store.add_entries([listed("31855550102")])
    return delta(settings, [
        {"number": "+31855550101", "category": "fraud", "op": "add"},
        {"number": "+31855550109", "category": "fraud", "op": "remove"},
        {"number": "+31855550102", "category": "revoked", "op": "remove"},
    ])


def test_delta_outcome_lists_what_was_removed_not_what_was_asked(
    store: Store, settings: Settings
) -> None:
    """Of two removes, only the key the source had is reported removed; the add is added."""
    parsed = one_listed_and_a_delta(store, settings)
    outcome = guard_and_apply(store, parsed, "acm", max_removal_ratio=0.2)
    assert outcome.removed == [("31855550102", False)]
    assert outcome.added == [("31855550101", False)]
    assert outcome.counts()["removed"] == 1
    assert set(store.source_entries("acm")) == {("31855550101", False)}


def test_delta_dry_run_reports_the_same_and_writes_nothing(
    store: Store, settings: Settings
) -> None:
    """A dry run of a delta gives the outcome the real run gives, and changes nothing."""
    parsed = one_listed_and_a_delta(store, settings)
    before = {k: store.redis.dump(k) for k in store.redis.keys("*")}
    dry = guard_and_apply(store, parsed, "acm", max_removal_ratio=0.2, dry_run=True)
    assert {k: store.redis.dump(k) for k in store.redis.keys("*")} == before
    real = guard_and_apply(store, parsed, "acm", max_removal_ratio=0.2)
    assert (dry.added, dry.removed, dry.changed) == (real.added, real.removed, real.changed)
