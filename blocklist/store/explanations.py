"""Which entries, from which sources, list a number: the slow, explaining side (`callscreen
check`, the API's lookups), not the call path's one round trip."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from blocklist.entries import Entry
from blocklist.store.bulk import split
from blocklist.store.layout import KeySpace, lookup_prefixes
from blocklist.store.sources import list_sources, provenances, read_state
from blocklist.store.state import EntryKey, entry_from_meta, touched_keys


def entries_for(client: Any, keys: KeySpace, wanted: Iterable[EntryKey]
                ) -> dict[EntryKey, list[Entry]]:
    """Every source's entry for each key in `wanted`."""
    ordered = list(dict.fromkeys(wanted))
    memberships = _memberships(client, keys, ordered)
    metas = provenances(client, keys, (p for pairs in memberships.values() for p in pairs))
    return {
        key: [entry_from_meta(key, s, metas[(s, i)]) for s, i in pairs if (s, i) in metas]
        for key, pairs in memberships.items()
    }


def explain(client: Any, keys: KeySpace, number_digits: str) -> list[Entry]:
    """Every entry, from every source, matching a number exactly or by a prefix: the exact
    ones first, then by prefix, longest first."""
    wanted: list[EntryKey] = [(number_digits, False)]
    wanted += [(p, True) for p in lookup_prefixes(number_digits)]
    found = entries_for(client, keys, wanted)
    return [e for k in wanted for e in found[k]]


def _memberships(client: Any, keys: KeySpace, wanted: list[EntryKey]
                 ) -> dict[EntryKey, list[tuple[str, str]]]:
    """For each key, the (source, meta id) pairs that list it."""
    touched, touched_prefixes = touched_keys(wanted)
    result: dict[EntryKey, list[tuple[str, str]]] = {k: [] for k in wanted}
    for source in list_sources(client, keys):
        state = read_state(client, keys.source(source), touched, touched_prefixes)
        for key in wanted:
            if key[1]:
                meta_id = state.prefixes.get(key[0])
            else:
                bucket_id, f = split(key[0])
                meta_id = state.numbers.get(bucket_id, {}).get(f)
            if meta_id is not None:
                result[key].append((source, meta_id))
    return result
