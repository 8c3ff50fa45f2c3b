"""Snapshots (`blocklist.store.snapshot`) against a real Redis: merging with other sources,
meta ids."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from blocklist.entries import AppliesTo, Category, Entry, provenance_of
from blocklist.store.admin import Store
from blocklist.store.layout import pack, unpack
from blocklist.store.state import ListingMerger, provenance_json

pytestmark = pytest.mark.redis


def entry(key: str, category: Category, source: str, reference: str = "r",
          until: dt.date | None = None, shadow: bool = False) -> Entry:
    return Entry(key=key, is_prefix=False, category=category, applies_to=AppliesTo.BOTH,
                 source=source, reference=reference, valid_until=until, shadow=shadow)


def listed(store: Store, number: str) -> Category | None:
    value = store.redis.hget(store.keys.numbers(str(int(number) % 10000)),
                             str(int(number) // 10000))
    return None if value is None else unpack(int(value)).caller


def test_snapshot_merges_with_other_sources_and_falls_back(store: Store) -> None:
    """The strongest entry decides across sources; a snapshot dropping it falls back."""
    store.apply_snapshot("other", [entry("31851234567", Category.SUSPECTED, "other"),
                                   entry("31851230000", Category.FRAUD, "other")])
    store.apply_snapshot("feed", [entry("31851234567", Category.FRAUD, "feed"),
                                  entry("31851230000", Category.SUSPECTED, "feed"),
                                  entry("31857654321", Category.REVOKED, "feed")])
    assert listed(store, "31851234567") is Category.FRAUD
    assert listed(store, "31851230000") is Category.FRAUD
    store.apply_snapshot("feed", [entry("31857654321", Category.REVOKED, "feed")], force=True)
    assert listed(store, "31851234567") is Category.SUSPECTED
    assert listed(store, "31851230000") is Category.FRAUD
    assert listed(store, "31857654321") is Category.REVOKED


def test_meta_ids_handed_out_meanwhile_are_swapped_in(store: Store) -> None:
    """Ids are predicted before the lock; when another apply took them, the real ones win."""
    store.apply_snapshot("feed", [entry("31851234567", Category.FRAUD, "feed", "a")])
    seq = store.keys.source("feed").metaseq

    def entries() -> Iterator[Entry]:
        store.redis.incrby(seq, 5)  # as if another process handed out five ids meanwhile
        yield entry("31851234567", Category.FRAUD, "feed", "a")
        yield entry("31851234568", Category.REVOKED, "feed", "b")

    store.apply_snapshot("feed", entries())
    found = store.source_entries("feed")
    assert '"ref":"b"' in found[("31851234568", False)]
    assert '"ref":"a"' in found[("31851234567", False)]
    assert store.redis.hget(store.keys.source("feed").meta, "7") == found[("31851234568", False)]
    assert listed(store, "31851234568") is Category.REVOKED


@pytest.mark.parametrize("terms", [
    {"category": Category.FRAUD},
    {"category": Category.DNO, "applies_to": AppliesTo.CALLER},
    {"category": Category.SUSPECTED, "shadow": True},
    {"category": Category.REVOKED, "valid_until": dt.date(2026, 10, 31)},
    {"category": Category.REVOKED, "valid_until": dt.date(2026, 11, 2)},
])
def test_a_single_entry_s_code_is_its_merge(terms: dict[str, object]) -> None:
    """The per-provenance shortcut gives what merging the one entry gives."""
    from blocklist.entries import merge

    today = dt.date(2026, 11, 1)
    one = Entry(key="31", is_prefix=False, source="x", reference="ref",
                **{"applies_to": AppliesTo.BOTH, **terms})  # type: ignore[arg-type]
    listing = merge([one], today)
    expected = None if listing is None else str(pack(listing))
    assert ListingMerger(today, {}).meta_code(provenance_json(provenance_of(one))) == expected
