"""Pure parts of the store's in-memory state: merging listings across sources."""

from __future__ import annotations

import datetime as dt

import pytest

from blocklist.entries import AppliesTo, Category, Entry, provenance_of
from blocklist.store.layout import pack
from blocklist.store.state import EntriesByBucket, KeyList, ListingMerger, provenance_json

TODAY = dt.date(2026, 11, 1)


def _meta(category: Category, until: dt.date | None = None) -> str:
    return provenance_json(provenance_of(Entry(
        key="31", is_prefix=False, category=category, applies_to=AppliesTo.BOTH, source="x",
        valid_until=until)))


METAS = {
    "a": {"1": _meta(Category.REVOKED), "2": _meta(Category.FRAUD),
          "9": _meta(Category.REVOKED, TODAY - dt.timedelta(days=1))},
    "b": {"1": _meta(Category.SUSPECTED)},
}


def _slow(keys: set[str], present: list[tuple[str, dict[str, str]]]) -> tuple[dict, set]:
    """The merge key by key, as the rules say it."""
    merger = ListingMerger(TODAY, METAS)
    sets, dels = {}, set()
    for key in keys:
        signature = tuple((s, f[key]) for s, f in present if key in f)
        code = merger.code(signature) if signature else None
        if code is None:
            dels.add(key)
        else:
            sets[key] = code
    return sets, dels


@pytest.mark.parametrize(("keys", "present"), [
    ({"10", "11"}, [("a", {"10": "1", "11": "1"})]),
    ({"10", "11"}, [("a", {"10": "1", "11": "2"})]),
    ({"10", "11", "12"}, [("a", {"10": "1", "11": "9"})]),
    ({"10", "11"}, [("a", {"10": "1"}), ("b", {"11": "1"})]),
    ({"10", "11"}, [("a", {"10": "2", "11": "1"}), ("b", {"11": "1", "12": "1"})]),
    ({"10"}, [("a", {"10": "9"}), ("b", {"10": "1"})]),
    ({"10", "11"}, []),
    (set(), [("a", {"10": "1"})]),
])
def test_listings_match_the_key_by_key_merge(keys, present) -> None:
    """Listings merged per source and meta id equal the merge of every key on its own."""
    sets, dels = ListingMerger(TODAY, METAS).listings(keys, present)
    assert (sets, set(dels)) == _slow(keys, present)
    assert len(dels) == len(set(dels))


def test_listings_of_a_source_are_that_entry_s_code() -> None:
    """A key listed by one source gets the packed listing of that source's entry."""
    sets, _ = ListingMerger(TODAY, METAS).listings({"10"}, [("a", {"10": "2"})])
    assert sets == {"10": str(pack(_listing_of(Category.FRAUD)))}


def _listing_of(category: Category):  # type: ignore[no-untyped-def]
    from blocklist.entries import merge

    return merge([Entry(key="31", is_prefix=False, category=category,
                        applies_to=AppliesTo.BOTH, source="a")], TODAY)


def test_grouped_keeps_the_last_entry_of_a_key() -> None:
    """Gathering entries: a later entry of the same key wins, provenance shared by JSON."""
    grouped = EntriesByBucket()
    entries = [Entry(key=k, is_prefix=p, category=c, applies_to=AppliesTo.BOTH, source="x")
               for k, p, c in [("31201234567", False, Category.REVOKED),
                               ("31201234568", False, Category.REVOKED),
                               ("31201234567", False, Category.FRAUD),
                               ("3190012", True, Category.REVOKED)]]
    grouped.add_all(entries)
    assert grouped.count == 3
    assert grouped.numbers[4567]["3120123"] == _meta(Category.FRAUD)
    assert grouped.numbers[4568]["3120123"] == _meta(Category.REVOKED)
    assert grouped.prefixes == {"3190012": _meta(Category.REVOKED)}
    assert list(grouped.metas) == [_meta(Category.REVOKED), _meta(Category.FRAUD)]


@pytest.mark.parametrize(("keys", "present"), [
    ({"10", "11"}, [("a", {"10": "1", "11": "1"})]),
    ({"10", "11", "12"}, [("a", {"10": "1", "11": "9"})]),
    ({"10", "11"}, [("a", {"10": "2", "11": "1"}), ("b", {"11": "1", "12": "1"})]),
])
def test_declared_meta_ids_give_the_key_by_key_merge(keys, present) -> None:
    """Declaring the ids a source's fields hold changes no listing, one code or several."""
    merger = ListingMerger(TODAY, METAS)
    for source, fields in present:
        merger.declare(source, fields.values())
    sets, dels = merger.listings(keys, present)
    assert (sets, set(dels)) == _slow(keys, present)


def test_key_list_counts_at_once_and_lists_when_read() -> None:
    """Deferred keys count before they are built, are built once, and compare as a list."""
    built = []

    def produce():
        built.append(1)
        return [("3185", False), ("3186", False)]

    keys = KeyList([("31", True)])
    keys.defer(2, produce)
    assert len(keys) == 3 and not built
    assert keys == [("31", True), ("3185", False), ("3186", False)]
    assert keys[1:] == [("3185", False), ("3186", False)] and built == [1]
    keys.append(("3187", False))
    assert len(keys) == 4 and keys[-1] == ("3187", False)
