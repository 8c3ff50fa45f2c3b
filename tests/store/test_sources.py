"""Each source's stored entries (`blocklist.store.sources`) on a real Redis."""

from __future__ import annotations

import pytest

from blocklist.entries import AppliesTo, Category, Entry
from blocklist.store.admin import Store
from blocklist.store.sources import list_sources, meta_ids, read_state, source_entries

pytestmark = pytest.mark.redis


def entry(key: str, reference: str = "r", *, prefix: bool = False) -> Entry:
    return Entry(key=key, is_prefix=prefix, category=Category.REVOKED,
                 applies_to=AppliesTo.BOTH, source="acm", reference=reference)


def test_meta_ids_are_shared_by_provenance_and_handed_out_once(store: Store) -> None:
    """One id per distinct provenance; asking again gives the same ids, no new ones."""
    source_keys = store.keys.source("acm")
    first = meta_ids(store.redis, source_keys, ['{"a":1}', '{"b":2}', '{"a":1}'])
    assert first == {'{"a":1}': "1", '{"b":2}': "2"}
    assert meta_ids(store.redis, source_keys, ['{"b":2}', '{"c":3}']) == {
        '{"b":2}': "2", '{"c":3}': "3"}
    assert store.redis.hgetall(source_keys.meta) == {
        "1": '{"a":1}', "2": '{"b":2}', "3": '{"c":3}'}


def test_meta_ids_without_handing_out_write_nothing(store: Store) -> None:
    """A dry run's ids: known ones as stored, unknown ones a stand-in, nothing written."""
    source_keys = store.keys.source("acm")
    meta_ids(store.redis, source_keys, ['{"a":1}'])
    before = {k: store.redis.dump(k) for k in store.redis.keys("*")}
    ids = meta_ids(store.redis, source_keys, ['{"a":1}', '{"new":1}'], hand_out=False)
    assert ids == {'{"a":1}': "1", '{"new":1}': "new:0"}
    assert {k: store.redis.dump(k) for k in store.redis.keys("*")} == before


def test_read_state_reads_whole_buckets_and_asked_prefixes(store: Store) -> None:
    """Asked buckets come whole, other buckets not at all; only asked prefixes come."""
    store.add_entries([entry("31851234567"), entry("31859994567"), entry("31851230000"),
                       entry("3190012", prefix=True), entry("3190013", prefix=True)])
    state = read_state(store.redis, store.keys.source("acm"), [4567], ["3190012", "319"])
    assert set(state.numbers) == {4567}
    assert set(state.numbers[4567]) == {"3185123", "3185999"}
    assert set(state.prefixes) == {"3190012"}


def test_source_entries_and_list_sources(store: Store) -> None:
    """Every entry of a source comes back with its provenance; sources are listed sorted."""
    store.add_entries([entry("31851234567", "ref-1"), entry("3190012", "ref-2", prefix=True)])
    store.add_entries([Entry(key="31850000001", is_prefix=False, category=Category.FRAUD,
                             applies_to=AppliesTo.BOTH, source="a-first")])
    found = source_entries(store.redis, store.keys, "acm")
    assert set(found) == {("31851234567", False), ("3190012", True)}
    assert '"ref":"ref-2"' in found[("3190012", True)]
    assert list_sources(store.redis, store.keys) == ["a-first", "acm"]
