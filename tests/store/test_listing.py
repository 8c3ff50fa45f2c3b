"""The call path's merged listing (`blocklist.store.listing`) on a real Redis."""

from __future__ import annotations

import pytest

from blocklist.entries import AppliesTo, Category, Entry
from blocklist.store.admin import Store
from blocklist.store.layout import unpack

pytestmark = pytest.mark.redis


def entry(key: str, category: Category, source: str) -> Entry:
    return Entry(key=key, is_prefix=False, category=category, applies_to=AppliesTo.BOTH,
                 source=source)


def merged(store: Store) -> dict[str, dict[str, str]]:
    names = [*store.redis.keys("{cs}:n:*"), store.keys.prefixes]
    return {name: values for name in names if (values := store.redis.hgetall(name))}


def test_rebuild_restores_the_listing_from_the_sources(store: Store) -> None:
    """A lost, a wrong and a stray listing are all put right by a rebuild."""
    store.add_entries([entry("31851234567", Category.SUSPECTED, "a"),
                       entry("31851234567", Category.FRAUD, "b"),
                       entry("31857654321", Category.REVOKED, "a")])
    good = merged(store)
    store.redis.hdel(store.keys.numbers("4321"), "3185765")  # lost
    store.redis.hset(store.keys.numbers("4567"), "3185123", "1")  # wrong
    store.redis.hset(store.keys.numbers("1111"), "3185111", "1")  # listed by no source
    store.redis.hset(store.keys.prefixes, "3190", "1")  # listed by no source
    store.rebuild()
    assert merged(store) == good
    code = good[store.keys.numbers("4567")]["3185123"]
    assert unpack(int(code)).caller is Category.FRAUD  # the stronger entry of the two
