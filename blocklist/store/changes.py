"""Changing some of a source's entries: a delta feed, manual entries, removals, reports.

`apply_delta` is the one way: under the apply lock, it reads the source's touched buckets and
prefixes, works out their new contents and the merged listing of every touched key, and writes
both in one MULTI/EXEC transaction. A lookup sees the source and the listing before the delta
or after it, never half of it; an apply that stops midway (its lock lost, Redis gone) writes
nothing of it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from blocklist.store.apply_lock import Lease
from blocklist.store.bulk import join, send
from blocklist.store.layout import KeySpace
from blocklist.store.listing import listing_commands
from blocklist.store.sources import meta_ids, provenances, read_state, state_commands
from blocklist.store.state import ApplyReport, EntriesByBucket, EntryKey, touched_keys


def apply_delta(
    client: Any, keys: KeySpace, lease: Lease | None, source: str, adds: EntriesByBucket,
    removes: Iterable[EntryKey],
) -> ApplyReport:
    """Add (or replace) `adds`, then remove `removes`, in `source`, as one atomic write.

    `adds` holds provenance JSON per key (an `EntriesByBucket` without `name`). The report
    lists what changed: `added` keys the source did not have, `changed` keys whose provenance
    changed, `removed` keys it had and no longer has (a removal of a key it never had is not
    in it). The caller holds the apply lock (`lease`); without one, this is a dry run: the
    report of what it would do, nothing written.
    """
    removed_numbers, removed_prefixes = touched_keys(removes)
    touched = {b: set(fields) for b, fields in adds.numbers.items()}
    for bucket_id, fields in removed_numbers.items():
        touched.setdefault(bucket_id, set()).update(fields)
    touched_prefixes = set(adds.prefixes) | removed_prefixes
    source_keys = keys.source(source)
    state = read_state(client, source_keys, touched, touched_prefixes)
    ids = meta_ids(client, source_keys, adds.metas, hand_out=lease is not None)
    report = ApplyReport(source, dry_run=lease is None)
    new_numbers: dict[int, dict[str, str]] = {}
    for bucket_id, fields in touched.items():
        before = state.numbers.get(bucket_id, {})
        after = before | {f: ids[m] for f, m in adds.numbers.get(bucket_id, {}).items()}
        for f in removed_numbers.get(bucket_id, ()):
            after.pop(f, None)
        for f in fields:
            _record(report, (join(bucket_id, f), False), before.get(f), after.get(f))
        if after != before:
            new_numbers[bucket_id] = state.numbers[bucket_id] = after
    before_prefixes = state.prefixes
    after_prefixes = before_prefixes | {p: ids[m] for p, m in adds.prefixes.items()}
    for p in removed_prefixes:
        after_prefixes.pop(p, None)
    for p in touched_prefixes:
        _record(report, (p, True), before_prefixes.get(p), after_prefixes.get(p))
    state.prefixes = after_prefixes
    if lease is None or not (new_numbers or report.added or report.changed or report.removed):
        return report
    used = {i for fields in state.numbers.values() for i in fields.values()}
    used.update(after_prefixes.values())
    metas = {i: m for (_, i), m in provenances(client, keys,
                                               ((source, i) for i in used)).items()}
    set_prefixes = {p: i for p, i in after_prefixes.items() if before_prefixes.get(p) != i}
    gone_prefixes = before_prefixes.keys() - after_prefixes.keys()
    commands = state_commands(keys, source, new_numbers, set_prefixes, gone_prefixes)
    commands += listing_commands(client, keys, touched, touched_prefixes,
                                 known={source: (state, metas)})
    send(client, commands, lease.check, atomic=True)
    return report


def _record(report: ApplyReport, key: EntryKey, old: str | None, new: str | None) -> None:
    """Count one touched key in the report, by its meta id before and after."""
    if old == new:
        if new is not None:
            report.unchanged += 1
    elif old is None:
        report.added.append(key)
    elif new is None:
        report.removed.append(key)
    else:
        report.changed.append(key)
