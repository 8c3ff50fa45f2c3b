"""The call path's merged listing (`{cs}:n:*`, `{cs}:p`), computed from every source's
entries (`blocklist.store.sources`).

A key's merged listing is the merge of every source's entry for it (`ListingMerger`). Commands
come out in the order that keeps the no-miss rule (see `blocklist.store.admin`): new and
changed listings first, removals last.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from blocklist.store.bulk import command, hset_command, send
from blocklist.store.layout import BUCKETS, KeySpace
from blocklist.store.sources import list_sources, provenances, read_state
from blocklist.store.state import ListingMerger, SourceState

# A source's state and its meta id -> provenance JSON, when the caller has them already.
Known = dict[str, tuple[SourceState, dict[str, str]]]
HKEYS_BATCH = 2000  # buckets' HKEYS per pipeline while rebuilding


def listing_commands(
    client: Any, keys: KeySpace, touched: dict[int, set[str]], touched_prefixes: set[str],
    known: Known | None = None, today: dt.date | None = None,
) -> list[str]:
    """The commands that rewrite the merged listing of each touched key from every source.

    Sources in `known` are taken as given (a source about to be written, say), the others
    are read. Keys listed by the same (source, provenance) pairs share one merge, so a
    million-row change costs a few merges, not a million.
    """
    today = today or dt.datetime.now(dt.UTC).date()
    known = known or {}
    states: list[tuple[str, SourceState, dict[str, str]]] = []
    for source in sorted(set(list_sources(client, keys)) | known.keys()):
        if source in known:
            state, metas = known[source]
        else:
            state = read_state(client, keys.source(source), touched, touched_prefixes)
            ids = {i for fields in state.numbers.values() for i in fields.values()}
            ids.update(state.prefixes.values())
            metas = {i: m for (_, i), m in provenances(client, keys,
                                                       ((source, i) for i in ids)).items()}
        states.append((source, state, metas))
    merger = ListingMerger(today, {s: metas for s, _, metas in states})
    sets: dict[int, dict[str, str]] = {}
    dels: dict[int, list[str]] = {}
    for bucket_id, fields in touched.items():
        present = [(s, found) for s, state, _ in states
                   if (found := state.numbers.get(bucket_id))]
        mapping, gone = merger.listings(fields, present)
        if mapping:
            sets[bucket_id] = mapping
        if gone:
            dels[bucket_id] = gone
    present_prefixes = [(s, state.prefixes) for s, state, _ in states if state.prefixes]
    prefix_sets, prefix_dels = merger.listings(touched_prefixes, present_prefixes)
    values: dict[str, str] = {}
    commands = [hset_command(keys.numbers(str(b)), m, values) for b, m in sets.items()]
    if prefix_sets:
        commands.append(hset_command(keys.prefixes, prefix_sets, values))
    commands += [command("HDEL", keys.numbers(str(b)), *fs) for b, fs in dels.items()]
    if prefix_dels:
        commands.append(command("HDEL", keys.prefixes, *prefix_dels))
    return commands


def rebuild(client: Any, keys: KeySpace, checkpoint: Callable[[], None]) -> None:
    """Recompute the whole merged listing from the sources: every key a source lists, and
    every key listed now (so listings no source backs any more go). The caller holds the
    apply lock; `checkpoint` (the lock's check) runs before each chunk is written."""
    known: Known = {}
    touched: dict[int, set[str]] = defaultdict(set)
    touched_prefixes: set[str] = set()
    for source in list_sources(client, keys):
        state = read_state(client, keys.source(source), None, None)
        metas: dict[str, str] = client.hgetall(keys.source(source).meta)
        known[source] = (state, metas)
        for bucket_id, fields in state.numbers.items():
            touched[bucket_id].update(fields)
        touched_prefixes.update(state.prefixes)
    for start in range(0, BUCKETS, HKEYS_BATCH):
        pipe = client.pipeline(transaction=False)
        for bucket_id in range(start, min(start + HKEYS_BATCH, BUCKETS)):
            pipe.hkeys(keys.numbers(str(bucket_id)))
        for offset, fields in enumerate(pipe.execute()):
            if fields:
                touched[start + offset].update(fields)
    touched_prefixes.update(client.hkeys(keys.prefixes))
    send(client, listing_commands(client, keys, dict(touched), touched_prefixes, known),
         checkpoint)
