"""The admin store against a real Redis: entries, snapshots, allowlists, subscribers."""

from __future__ import annotations

import datetime as dt

import pytest

from blocklist.entries import MANUAL_SOURCE, Action, AppliesTo, Category, Direction, Entry, Mode
from blocklist.errors import StoreError, SyncRefusedError
from blocklist.screening import Screener
from blocklist.settings import Settings
from blocklist.store.admin import Store
from blocklist.store.wire import BlockingConnection, RedisAddress


def entry(key: str, category: Category = Category.REVOKED, *, source: str = "acm",
          prefix: bool = False, until: dt.date | None = None, reason: str = "",
          applies_to: AppliesTo | None = None) -> Entry:
    return Entry(key=key, is_prefix=prefix, category=category,
                 applies_to=applies_to or AppliesTo.default_for(category), source=source,
                 reference=f"ref-{key}", reason=reason, valid_until=until, added_by="test")


def screen(settings: Settings, number: str, direction: Direction = Direction.INBOUND,
           subscriber: str | None = None):
    screener = Screener(settings)
    s = screener.prepare(direction, number, subscriber)
    assert settings.redis_url
    replies = BlockingConnection(RedisAddress.from_url(settings.redis_url), 1.0).run(s.commands)
    return screener.conclude(s, replies)


def test_listed_number_is_blocked_through_the_call_path(store: Store, settings: Settings) -> None:
    """An entry added on the admin side is what the call path's lookup finds."""
    store.add_entries([entry("31851234567")])
    decision = screen(settings, "085 123 4567")
    assert decision.action is Action.BLOCK
    assert decision.category is Category.REVOKED


def test_prefix_blocks_cover_their_numbers(store: Store, settings: Settings) -> None:
    """A block entry matches every number starting with it, and says it was a block."""
    store.add_entries([entry("3190012345", Category.SUSPECTED, prefix=True)])
    decision = screen(settings, "0900 1234 567", Direction.OUTBOUND)
    assert decision.action is Action.WARN
    assert decision.matched is not None and decision.matched.is_prefix


def test_snapshot_replaces_only_its_source(store: Store, settings: Settings) -> None:
    """A source's snapshot touches neither manual entries nor other sources nor allowlists."""
    store.add_entries([entry("31851111111", source=MANUAL_SOURCE),
                       entry("31852222222", source="other")])
    store.allow(("31853333333", False), {"reason": "bank"})
    store.set_subscriber("31201234567", mode=Mode.STRICT)
    store.apply_snapshot("acm", [entry("31854444444"), entry("31855555555")])
    report = store.apply_snapshot("acm", [entry("31854444444"), entry("31856666666")],
                                  max_removal_ratio=0.5)
    assert (len(report.added), len(report.removed), report.unchanged) == (1, 1, 1)
    for number in ("31851111111", "31852222222", "31854444444", "31856666666"):
        assert screen(settings, "+" + number).action is Action.BLOCK, number
    assert screen(settings, "+31855555555").action is Action.ALLOW
    assert ("31853333333", False) in store.allowlist()
    assert store.subscriber("31201234567") is not None


@pytest.mark.parametrize(
    ("new", "message"),
    [([], "no entries"), ([entry("31850000001")], "removes 10 of 10")],
)
def test_guard_refuses_and_leaves_list_exactly_as_it_was(
    store: Store, redis_client, new: list[Entry], message: str
) -> None:
    """An empty or shrinking snapshot is refused and the store is byte-for-byte unchanged."""
    store.apply_snapshot("acm", [entry(f"318512345{n:02d}") for n in range(10)])
    before = {k: redis_client.dump(k) for k in redis_client.keys("*") if "lock" not in k}
    with pytest.raises(SyncRefusedError, match=message):
        store.apply_snapshot("acm", new)
    after = {k: redis_client.dump(k) for k in redis_client.keys("*") if "lock" not in k}
    assert after == before


def test_force_overrides_the_guard(store: Store) -> None:
    """force applies a snapshot the guard would refuse."""
    store.apply_snapshot("acm", [entry(f"318512345{n:02d}") for n in range(10)])
    report = store.apply_snapshot("acm", [], force=True)
    assert len(report.removed) == 10 and report.forced
    assert store.source_entries("acm") == {}


def test_dry_run_changes_nothing(store: Store, settings: Settings) -> None:
    """A dry run reports the diff and writes nothing."""
    report = store.apply_snapshot("acm", [entry("31851234567")], dry_run=True)
    assert len(report.added) == 1
    assert screen(settings, "+31851234567").action is Action.ALLOW


def test_merge_across_sources_and_fallback(store: Store, settings: Settings) -> None:
    """The strongest entry decides; removing it falls back to the other source's entry."""
    store.add_entries([entry("31851234567", Category.SUSPECTED, source="reports"),
                       entry("31851234567", Category.FRAUD, source=MANUAL_SOURCE)])
    assert screen(settings, "+31851234567", Direction.OUTBOUND).action is Action.BLOCK
    store.remove_entries(MANUAL_SOURCE, [("31851234567", False)])
    assert screen(settings, "+31851234567", Direction.OUTBOUND).action is Action.WARN


def test_expired_entries_never_match_and_are_purged(store: Store, settings: Settings) -> None:
    """An entry past valid_until is ignored by the call path and removed by purge."""
    yesterday = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    store.add_entries([entry("31851234567", until=yesterday)])
    assert screen(settings, "+31851234567").action is Action.ALLOW
    assert store.purge_expired() == 1
    assert store.source_entries("acm") == {}


def test_explain_lists_every_matching_entry(store: Store) -> None:
    """explain returns exact and prefix entries from every source, with provenance."""
    store.add_entries([entry("31851234567", reason="fake Microsoft helpdesk"),
                       entry("3185123", Category.SUSPECTED, prefix=True, source="reports")])
    found = store.explain("31851234567")
    assert {(e.key, e.source, e.reason) for e in found} == {
        ("31851234567", "acm", "fake Microsoft helpdesk"), ("3185123", "reports", "")}


def test_subscriber_settings_and_personal_allowlist(store: Store, settings: Settings) -> None:
    """A subscriber's mode and personal allowlist reach the call path."""
    store.add_entries([entry("31851234567", Category.SUSPECTED)])
    sub = "31201234567"
    store.set_subscriber(sub, mode=Mode.STRICT, language="nl")
    decision = screen(settings, "+31851234567", Direction.OUTBOUND, "+" + sub)
    assert decision.action is Action.BLOCK
    store.personal_allow(sub, "31851234567", add=True)
    decision = screen(settings, "+31851234567", Direction.OUTBOUND, "+" + sub)
    assert decision.reason == "subscriber-allowlisted"
    store.set_subscriber(sub, mode=Mode.OFF)
    assert screen(settings, "+31851234567", Direction.OUTBOUND, "+" + sub).reason == "opted-out"


def test_interrupted_apply_is_rebuilt(store: Store, redis_client, settings: Settings) -> None:
    """A dirty marker left by a crashed apply makes the next apply rebuild the listing."""
    store.add_entries([entry("31851234567")])
    # Simulate a crash that lost the call path's listing after the source was written.
    for key in redis_client.keys("{cs}:n:*"):
        redis_client.delete(key)
    redis_client.set("{cs}:dirty", "crashed")
    assert screen(settings, "+31851234567").action is Action.ALLOW
    store.add_entries([entry("31859999999", source="other")])
    assert screen(settings, "+31851234567").action is Action.BLOCK


def test_redis_errors_become_store_errors() -> None:
    """A Redis that is not there gives StoreError, not redis-py's exception."""
    dead = Store.from_url("redis://127.0.0.1:1/0")
    with pytest.raises(StoreError, match="Redis failed"):
        dead.ping()
