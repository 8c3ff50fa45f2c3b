"""Applying a snapshot to one source: diff it against what the source holds, guard, then write
the source's buckets and the call path's merged listing in one stream.

The order of work is what makes a million rows take about two seconds (bench/sync.py):

1. Read the source (its buckets, prefixes and meta ids) and gather the snapshot, naming each
   distinct provenance by its meta id while gathering: ids the source never had are
   predicted from its meta sequence, so no entry's id is swapped afterwards (unless another
   process handed out ids in between: then they are swapped, correctly, at a cost).
2. Diff bucket by bucket, counting only; the guard decides. Nothing is written before this.
   A bucket stored byte for byte as the snapshot has it (an unchanged feed in its usual
   order) is neither decoded nor written.
3. Under the apply lock: hand out the new meta ids, read other sources only where they list
   a touched key, then stream, bucket by bucket, the source's new bucket and the merged
   listing's new values; the merged listing's removals go last. A thread sends while this
   thread computes, so Python and Redis (a separate process, another core) work together.
   The report counts the keys at once and lists them only when read (`KeyList`).

Where Redis' own work is the floor: inserting a field into a bucket's listpack scans it, so a
million new fields into buckets that already hold another million cost Redis about a second
of CPU. Writing prebuilt listpacks with RESTORE would skip that, but a DUMP payload needs its
CRC-64, which pure Python computes at about 12 MB/s: more Python time than Redis saves.

Crash safety and the no-miss rule are `blocklist.store.admin`'s (see its docstring): stable
keys are never touched, changed ones are overwritten in place, removals from the merged
listing come after every new listing, and the `dirty` marker set under the lock makes the
next apply rebuild whatever a crash left half-written. The lock is checked (and renewed)
before each chunk is sent: an apply that lost it stops there, as if it had crashed
(`blocklist.store.apply_lock`).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable, Iterator
from collections.abc import Set as AbstractSet
from functools import partial
from itertools import repeat
from operator import add
from typing import Any, NamedTuple

from blocklist.errors import SyncRefusedError
from blocklist.store.apply_lock import ApplyLock, Lease
from blocklist.store.bulk import Sender, command, decode_blob, encode_blob, hset_command, join
from blocklist.store.layout import BUCKETS, KeySpace
from blocklist.store.redis_boundary import translated_errors
from blocklist.store.sources import list_sources, meta_ids, read_buckets
from blocklist.store.state import (
    ApplyReport,
    EntriesByBucket,
    EntryKey,
    ListingMerger,
    diff_prefixes,
)


class Change(NamedTuple):
    """One bucket of the source that the snapshot changes."""

    bucket_id: int
    before: dict[str, str]  # field -> meta id, as the source holds it
    after: dict[str, str]  # as the snapshot has it
    blob: str  # `after` as stored (`encode_blob`); empty: the bucket goes
    fresh: AbstractSet[str]  # fields added, or given another meta id
    gone: AbstractSet[str]  # fields removed


def _change(bucket_id: int, before: dict[str, str], after: dict[str, str],
            blob: str | None = None) -> Change:
    blob = encode_blob(after) if blob is None else blob
    if not before:  # a new bucket: every field is fresh, no set built
        return Change(bucket_id, before, after, blob, after.keys(), frozenset())
    return Change(bucket_id, before, after, blob, {f for f, _ in after.items() - before.items()},
                  before.keys() - after.keys())

# Another source's (numbers by bucket, prefixes, meta id -> provenance JSON) where it lists a
# touched key
OtherSource = tuple[dict[int, dict[str, str]], dict[str, str], dict[str, str]]


def apply_snapshot(
    client: Any, keys: KeySpace, lock: ApplyLock, source: str,
    gather: Callable[[EntriesByBucket], None], started: float, *,
    max_removal_ratio: float, force: bool, dry_run: bool,
) -> ApplyReport:
    """Make `source`'s entries exactly what `gather` puts in an `EntriesByBucket`; see the
    module docstring. Raises SyncRefusedError (nothing written) when the guard refuses."""
    source_keys = keys.source(source)
    with translated_errors(f"read source {source!r}"):
        old_blobs = read_buckets(client, source_keys, range(BUCKETS))
        old_prefixes: dict[str, str] = client.hgetall(source_keys.prefixes)
        # HGETALL, not HMGET on the index: a lookup in a big hash moves Redis' incremental
        # rehashing on, and a refused snapshot must leave every key byte-for-byte as it was.
        known = {m: i for i, m in client.hgetall(source_keys.meta).items()}
        last_id = int(client.get(source_keys.metaseq) or 0)
    fresh: dict[str, str] = {}  # JSON -> predicted id, for provenances the source never had

    def name(meta: str) -> str:
        found = known.get(meta) or fresh.get(meta)
        if found is None:
            found = fresh[meta] = str(last_id + 1 + len(fresh))
        return found

    new = EntriesByBucket(name=name)
    gather(new)
    report = ApplyReport(source, after=new.count, dry_run=dry_run, forced=force)
    changes: list[Change] = []
    before_count = removed = 0
    for bucket_id in old_blobs.keys() | new.numbers.keys():
        after = new.numbers.get(bucket_id, {})
        old_blob = old_blobs.get(bucket_id)
        if old_blob is None:
            changes.append(_change(bucket_id, {}, after))
            continue
        blob = encode_blob(after)
        if blob == old_blob:
            # As stored, byte for byte (a feed that did not change, in its usual order):
            # nothing decoded, nothing written.
            before_count += len(after)
            report.unchanged += len(after)
            continue
        before = decode_blob(old_blob)
        before_count += len(before)
        if before == after:  # the same entries in another order: nothing to write
            report.unchanged += len(after)
            continue
        change = _change(bucket_id, before, after, blob)
        removed += len(change.gone)
        changes.append(change)
    report.before = before_count + len(old_prefixes)
    touched_prefixes = diff_prefixes(report, old_prefixes, new.prefixes)
    _guard(source, report, removed + len(report.removed), new.count, max_removal_ratio, force)
    if dry_run or not (changes or touched_prefixes):
        _list_changes(report, changes)
        report.seconds = time.perf_counter() - started
        return report
    with lock.hold() as lease, translated_errors(f"apply a snapshot of {source!r}"):
        real = meta_ids(client, source_keys, fresh)
        named = new.named()
        if any(real[m] != i for m, i in fresh.items()):  # ids handed out meanwhile
            swap = {fresh[m]: i for m, i in real.items()}
            changes = [_change(c.bucket_id, c.before,
                               {f: swap.get(i, i) for f, i in c.after.items()})
                       for c in changes]
            new.prefixes = {p: swap.get(i, i) for p, i in new.prefixes.items()}
            named = {swap.get(i, i) for i in named}
        metas = {i: m for m, i in known.items()} | {i: m for m, i in real.items()}
        _write(client, keys, lease, source, changes, new.prefixes, touched_prefixes, metas,
               named, report)
    report.seconds = time.perf_counter() - started
    return report


def _guard(
    source: str, report: ApplyReport, removed: int, count: int, max_removal_ratio: float,
    force: bool,
) -> None:
    if force:
        return
    if not count:
        raise SyncRefusedError(
            f"snapshot of {source!r} has no entries; refusing to empty the list"
            " (force to override)"
        )
    if report.before and removed > max_removal_ratio * report.before:
        raise SyncRefusedError(
            f"snapshot of {source!r} removes {removed} of {report.before}"
            f" entries, more than {max_removal_ratio:.0%} (force to override)"
        )


def _write(
    client: Any, keys: KeySpace, lease: Lease, source: str, changes: list[Change],
    prefixes: dict[str, str], touched_prefixes: set[str], metas: dict[str, str],
    named: set[str], report: ApplyReport,
) -> None:
    """Stream the changed buckets and their merged listings; `named`: every meta id the
    snapshot's entries hold."""
    source_keys = keys.source(source)
    today = dt.datetime.now(dt.UTC).date()
    # The fields of each bucket whose merged listing may change.
    touched = [c.fresh | c.gone if c.gone else c.fresh for c in changes]
    others = _other_sources(client, keys, source, changes, touched, touched_prefixes)
    merger = ListingMerger(today, {source: metas} | {s: m for s, (_, _, m) in others.items()})
    merger.declare(source, named)
    values: dict[str, str] = {}
    dels: list[str] = []
    # The lease is checked (and renewed) before each chunk goes out: an apply that lost the
    # apply lock stops there.
    with Sender(client, lease.check) as sender:
        sender.put([command("SADD", keys.sources, source)])
        for change, fields in zip(changes, touched, strict=True):
            bucket_id = change.bucket_id
            name = source_keys.numbers(str(bucket_id))
            present = [(source, change.after)]
            present += [(s, found[bucket_id]) for s, (found, _, _) in others.items()
                        if bucket_id in found]
            sets, gone = merger.listings(fields, present)
            sender.put([command("SET", name, change.blob) if change.blob
                        else command("DEL", name)])
            if sets:
                sender.put([hset_command(keys.numbers(str(bucket_id)), sets, values)])
            if gone:
                dels.append(command("HDEL", keys.numbers(str(bucket_id)), *gone))
        if touched_prefixes:
            present = [(source, prefixes)]
            present += [(s, found) for s, (_, found, _) in others.items() if found]
            sets, gone = merger.listings(touched_prefixes, present)
            commands = [hset_command(source_keys.prefixes, prefixes, {})] if prefixes else []
            if removed := [p for p in touched_prefixes if p not in prefixes]:
                commands.append(command("HDEL", source_keys.prefixes, *removed))
            if sets:
                commands.append(hset_command(keys.prefixes, sets, values))
            if gone:
                dels.append(command("HDEL", keys.prefixes, *gone))
            sender.put(commands)
        sender.put(dels)  # removals from the merged listing last (see the module docstring)
        _list_changes(report, changes)


def _other_sources(
    client: Any, keys: KeySpace, source: str, changes: list[Change],
    touched: list[AbstractSet[str]], touched_prefixes: set[str],
) -> dict[str, OtherSource]:
    """Each other source's fields in the touched buckets (only buckets where it lists a
    touched key), its touched prefixes, and the provenance JSON of their meta ids."""
    out = {}
    wanted = {c.bucket_id: fields for c, fields in zip(changes, touched, strict=True)}
    for other in list_sources(client, keys):
        if other == source:
            continue
        source_keys = keys.source(other)
        blobs = read_buckets(client, source_keys, wanted)
        found: dict[int, dict[str, str]] = {}
        for bucket_id, blob in blobs.items():
            parts = blob.split(",")
            names = parts[::2]
            if not wanted[bucket_id].isdisjoint(names):
                found[bucket_id] = dict(zip(names, parts[1::2], strict=True))
        asked = list(touched_prefixes)
        values = client.hmget(source_keys.prefixes, asked) if asked else []
        prefixes = {p: i for p, i in zip(asked, values, strict=True) if i is not None}
        if not found and not prefixes:
            continue
        ids = {found[b][f] for b, fs in found.items() for f in wanted[b] if f in fs}
        ids.update(prefixes.values())
        ordered = sorted(ids)
        metas = client.hmget(source_keys.meta, ordered) if ordered else []
        out[other] = (found, prefixes, {i: m for i, m in zip(ordered, metas, strict=True) if m})
    return out


def _list_changes(report: ApplyReport, changes: list[Change]) -> None:
    """The report's added, changed and removed keys (prefixes were listed by the diff):
    counted now, listed when read (`KeyList`)."""
    added = changed = removed = 0
    for c in changes:
        new = len(c.fresh - c.before.keys()) if c.before else len(c.fresh)
        added += new
        changed += len(c.fresh) - new
        removed += len(c.gone)
    report.added.defer(added, partial(_keys, changes, _added))
    report.changed.defer(changed, partial(_keys, changes, _changed))
    report.removed.defer(removed, partial(_keys, changes, _removed))
    report.unchanged += sum(len(c.after) for c in changes) - added - changed


def _added(c: Change) -> AbstractSet[str]:
    return c.fresh - c.before.keys() if c.before else c.fresh


def _changed(c: Change) -> AbstractSet[str]:
    return c.fresh & c.before.keys() if c.before else frozenset()


def _removed(c: Change) -> AbstractSet[str]:
    return c.gone


def _keys(changes: list[Change], fields_of: Callable[[Change], AbstractSet[str]]
          ) -> Iterator[EntryKey]:
    for c in changes:
        yield from _bucket_keys(c.bucket_id, fields_of(c))


def _bucket_keys(bucket_id: int, fields: AbstractSet[str]) -> Iterable[EntryKey]:
    if "0" in fields:  # the bucket's own number (below 10,000): `join` says how it reads
        return [(join(bucket_id, f), False) for f in fields]
    return zip(map(add, fields, repeat(f"{bucket_id:04d}")), repeat(False))
