"""Deltas and single changes (`blocklist.store.changes`) on a real Redis: one atomic write,
and a report of what really changed."""

from __future__ import annotations

import time

import pytest

from blocklist.entries import AppliesTo, Category, Entry
from blocklist.errors import StoreError
from blocklist.store import bulk
from blocklist.store.admin import Store
from blocklist.store.changes import apply_delta
from blocklist.store.state import EntriesByBucket

pytestmark = pytest.mark.redis


def entry(key: str, category: Category = Category.REVOKED, *, prefix: bool = False,
          source: str = "acm") -> Entry:
    return Entry(key=key, is_prefix=prefix, category=category, applies_to=AppliesTo.BOTH,
                 source=source, reference="r")


def everything(store: Store) -> dict[str, bytes]:
    """Every key's value, but the provenance ids a delta hands out before it writes."""
    return {k: store.redis.dump(k) for k in store.redis.keys("*")
            if not k.endswith((":meta", ":metaidx", ":metaseq"))}


def test_delta_report_says_what_really_changed(store: Store) -> None:
    """Added, changed, unchanged and removed as they happened: removing a key the source
    never had removes nothing, and is not reported as removed."""
    store.add_entries([entry("31851111111"), entry("31852222222"), entry("3190012", prefix=True)])
    report = store.apply_delta(
        "acm",
        [entry("31851111111"), entry("31852222222", Category.FRAUD), entry("31853333333")],
        [("3190012", True), ("31859999999", False), ("3190099", True)],
    )
    assert report.added == [("31853333333", False)]
    assert report.changed == [("31852222222", False)]
    assert report.unchanged == 1
    assert report.removed == [("3190012", True)]
    assert set(store.source_entries("acm")) == {
        ("31851111111", False), ("31852222222", False), ("31853333333", False)}


def test_delta_adds_then_removes(store: Store) -> None:
    """A key both added and removed in one delta ends up removed."""
    store.add_entries([entry("31851111111")])
    report = store.apply_delta("acm", [entry("31851111111", Category.FRAUD)],
                               [("31851111111", False)])
    assert report.removed == [("31851111111", False)] and report.changed == []
    assert store.source_entries("acm") == {}
    assert store.explain("31851111111") == []


def test_delta_dry_run_writes_nothing(store: Store) -> None:
    """A dry run reports the same changes and leaves every key as it was."""
    store.add_entries([entry("31851111111")])
    before = {k: store.redis.dump(k) for k in store.redis.keys("*")}
    report = store.apply_delta("acm", [entry("31853333333")], [("31851111111", False)],
                               dry_run=True)
    assert (report.added, report.removed, report.dry_run) == (
        [("31853333333", False)], [("31851111111", False)], True)
    assert {k: store.redis.dump(k) for k in store.redis.keys("*")} == before


class _StopsAfter:
    """A lease whose check fails after `calls` checks (as if Redis went away midway), once
    what was sent before it has reached Redis."""

    def __init__(self, store: Store, calls: int) -> None:
        self.store = store
        self.calls = calls
        self.before = everything(store)

    def check(self) -> None:
        self.calls -= 1
        if self.calls < 0:
            self._until_redis_has_some()
            raise StoreError("Redis went away")

    def _until_redis_has_some(self) -> None:
        """Until Redis holds some of what was sent: commands queued in a transaction (a
        client in MULTI), or keys changed (a write that is not one transaction). The
        sending thread may be slow to send (a loaded machine): waited for, not guessed."""
        deadline = time.monotonic() + 30
        while not (any(int(c["multi"]) > 0 for c in self.store.redis.client_list())
                   or everything(self.store) != self.before):
            assert time.monotonic() < deadline, "nothing sent reached Redis"
            time.sleep(0.01)


def test_a_delta_stopped_midway_writes_none_of_it(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The write stopped after some chunks went out: the transaction is discarded, the
    source and the call path's listing are exactly as before."""
    store.add_entries([entry(f"3185{n:07d}") for n in range(0, 400, 2)])
    before = everything(store)
    monkeypatch.setattr(bulk, "SEND_BYTES", 200)  # many chunks, one check before each
    adds = EntriesByBucket()
    adds.add_all(entry(f"3185{n:07d}", Category.FRAUD) for n in range(1, 400, 2))
    removes = [(f"3185{n:07d}", False) for n in range(0, 400, 4)]
    with pytest.raises(StoreError, match="went away"):
        apply_delta(store.redis, store.keys, _StopsAfter(store, 3),  # type: ignore[arg-type]
                    "acm", adds, removes)
    assert everything(store) == before
    assert store.redis.ping()


def test_remove_entries_counts_what_the_source_had(store: Store) -> None:
    """remove_entries returns how many of the keys the source listed."""
    store.add_entries([entry("31851111111"), entry("31852222222", source="other")])
    assert store.remove_entries("acm", [("31851111111", False), ("31852222222", False)]) == 1
    assert set(store.source_entries("other")) == {("31852222222", False)}
