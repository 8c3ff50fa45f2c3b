"""Which entries list a number (`blocklist.store.explanations`) on a real Redis."""

from __future__ import annotations

import pytest

from blocklist.entries import AppliesTo, Category, Entry
from blocklist.store.admin import Store

pytestmark = pytest.mark.redis


def entry(key: str, source: str, *, prefix: bool = False) -> Entry:
    return Entry(key=key, is_prefix=prefix, category=Category.REVOKED,
                 applies_to=AppliesTo.BOTH, source=source, reference=f"{source}-{key}")


def test_explain_orders_exact_then_longest_prefix(store: Store) -> None:
    """The exact entries come first (by source), then blocks from the longest to the
    shortest."""
    store.add_entries([entry("3185", "a", prefix=True), entry("3185123", "b", prefix=True),
                       entry("31851234567", "c"), entry("31851234567", "a")])
    found = [(e.key, e.source) for e in store.explain("31851234567")]
    assert found == [("31851234567", "a"), ("31851234567", "c"), ("3185123", "b"),
                     ("3185", "a")]


def test_entries_for_gives_every_key_asked_even_unlisted(store: Store) -> None:
    """Each asked key is in the answer; unlisted ones with no entries."""
    store.add_entries([entry("31851234567", "a")])
    found = store.entries_for([("31851234567", False), ("31850000000", False)])
    assert [e.reference for e in found[("31851234567", False)]] == ["a-31851234567"]
    assert found[("31850000000", False)] == []
