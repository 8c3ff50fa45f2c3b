"""Applying a snapshot given as rows (a feed's bulk path) does what applying entries does."""

from __future__ import annotations

import datetime as dt

import pytest

from blocklist.entries import AppliesTo, Category, Entry, provenance_of
from blocklist.store.admin import Store

pytestmark = pytest.mark.redis


def _entries(source: str) -> list[Entry]:
    return [Entry(key=k, is_prefix=p, category=c, applies_to=AppliesTo.BOTH, source=source,
                  reference=r, valid_until=dt.date(2030, 1, 1))
            for k, p, c, r in [("31201234567", False, Category.REVOKED, "a"),
                               ("31201234568", False, Category.FRAUD, "a"),
                               ("3190012", True, Category.SUSPECTED, "b")]]


def test_rows_and_entries_apply_alike(store: Store) -> None:
    """Same report, same source entries, same call-path listing."""
    by_entries = store.apply_snapshot("one", _entries("one"))
    listing = {k: store.redis.hgetall(k) for k in store.redis.keys("{cs}:n:*")}
    listing[store.keys.prefixes] = store.redis.hgetall(store.keys.prefixes)
    by_rows = store.apply_snapshot_rows(
        "two", [(e.key, e.is_prefix, provenance_of(e)) for e in _entries("two")])
    assert by_rows.added == by_entries.added and by_rows.after == by_entries.after == 3
    assert store.source_entries("two") == store.source_entries("one")
    again = {k: store.redis.hgetall(k) for k in store.redis.keys("{cs}:n:*")}
    again[store.keys.prefixes] = store.redis.hgetall(store.keys.prefixes)
    assert again == listing
