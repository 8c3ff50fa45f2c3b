"""The admin side's store: entries with provenance, snapshots, allowlists, subscribers.

Built on redis-py (the call path uses `blocklist.store.wire`). The key layout is in
`blocklist.store.layout`. Redis errors leave this module as `StoreError`.

How a change reaches the call path: each source keeps its own entries (`src:<s>:*`); the call
path reads the merged listing (`n:*`, `p`), recomputed for every key a change touches. Writes
are ordered so that a lookup never misses an entry that is in both the old and the new list
(stable keys are not touched; changed ones are overwritten in place), and so that a crash
mid-apply errs towards listing: the merged listing's new and changed values are written
before its removals, and a `dirty` marker left by an interrupted apply makes the next apply
rebuild the merged tables. Applies are serialised by a Redis lock with expiry. Snapshots (the
bulk path) are applied by `blocklist.store.snapshot`, under the same rules.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

import redis
from redis.exceptions import RedisError

from blocklist.entries import Entry, Mode, Provenance, SubscriberSettings
from blocklist.errors import StoreError
from blocklist.store.bulk import command, decode_blob, encode_blob, hset_command, join, send, split
from blocklist.store.layout import BUCKETS, SCHEMA_VERSION, KeySpace, lookup_prefixes
from blocklist.store.snapshot import ApplyReport as ApplyReport
from blocklist.store.snapshot import apply_snapshot
from blocklist.store.state import (
    EntryKey,
    Grouped,
    Merger,
    State,
    entry_from_meta,
    touched_keys,
)

_entry_from_meta = entry_from_meta  # for callers that imported it from here
APPLY_LOCK_S = 600
CHUNK = 2000
# Delete a lock only if it still holds our token (KEYS[1] the lock, ARGV[1] the token).
RELEASE_LOCK_SCRIPT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@contextlib.contextmanager
def translated_errors(action: str) -> Iterator[None]:
    """Redis' exceptions become StoreError here, at the boundary."""
    try:
        yield
    except RedisError as exc:
        raise StoreError(f"Redis failed to {action}: {exc}") from exc


class Store:
    """The blocklist in Redis, for the admin side (CLI, API, feed sync)."""

    def __init__(self, client: redis.Redis, key_prefix: str = "cs") -> None:
        # Any: redis-py's types can't say that decode_responses=True makes every reply a str.
        self.redis: Any = client
        self.keys = KeySpace(key_prefix)

    @classmethod
    def from_url(cls, url: str, key_prefix: str = "cs") -> Store:
        client = redis.Redis.from_url(url, decode_responses=True, socket_timeout=30)
        return cls(client, key_prefix)

    def ping(self) -> None:
        with translated_errors("answer PING"):
            self.redis.ping()
            self.redis.hsetnx(self.keys.meta, "schema", SCHEMA_VERSION)

    def close(self) -> None:
        self.redis.close()

    # -- entries --------------------------------------------------------------------------

    def sources(self) -> list[str]:
        with translated_errors("list sources"):
            return sorted(self.redis.smembers(self.keys.sources))

    def source_entries(self, source: str) -> dict[EntryKey, str]:
        """Every entry of one source: key -> provenance JSON."""
        with translated_errors(f"read source {source!r}"):
            state = self._read_state(source, None, None)
            metas: dict[str, str] = self.redis.hgetall(self.keys.source(source).meta)
        out: dict[EntryKey, str] = {}
        for b_id, fields in state.numbers.items():
            for f, meta_id in fields.items():
                out[(join(b_id, f), False)] = metas.get(meta_id, "{}")
        for prefix, meta_id in state.prefixes.items():
            out[(prefix, True)] = metas.get(meta_id, "{}")
        return out

    def _memberships(self, keys: list[EntryKey]) -> dict[EntryKey, list[tuple[str, str]]]:
        """For each key, the (source, meta id) pairs that list it."""
        touched, touched_prefixes = touched_keys(keys)
        result: dict[EntryKey, list[tuple[str, str]]] = {k: [] for k in keys}
        for source in self.sources():
            state = self._read_state(source, touched, touched_prefixes)
            for key in keys:
                if key[1]:
                    meta_id = state.prefixes.get(key[0])
                else:
                    b_id, f = split(key[0])
                    meta_id = state.numbers.get(b_id, {}).get(f)
                if meta_id is not None:
                    result[key].append((source, meta_id))
        return result

    def _metas(self, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
        by_source: dict[str, set[str]] = defaultdict(set)
        for source, meta_id in pairs:
            by_source[source].add(meta_id)
        out: dict[tuple[str, str], str] = {}
        for source, ids in by_source.items():
            ordered = sorted(ids)
            values = self.redis.hmget(self.keys.source(source).meta, ordered)
            out.update({(source, i): v for i, v in zip(ordered, values, strict=True) if v})
        return out

    def entries_for(self, keys: Iterable[EntryKey]) -> dict[EntryKey, list[Entry]]:
        """Every source's entries for the given keys (the slow, explaining side)."""
        wanted = list(dict.fromkeys(keys))
        with translated_errors("read entries"):
            memberships = self._memberships(wanted)
            metas = self._metas(p for pairs in memberships.values() for p in pairs)
        return {
            key: [_entry_from_meta(key, s, metas[(s, i)]) for s, i in pairs if (s, i) in metas]
            for key, pairs in memberships.items()
        }

    def explain(self, number_digits: str) -> list[Entry]:
        """Every entry, from every source, matching a number exactly or by a prefix."""
        keys: list[EntryKey] = [(number_digits, False)]
        keys += [(p, True) for p in lookup_prefixes(number_digits)]
        found = self.entries_for(keys)
        return [e for k in keys for e in found[k]]

    def add_entries(self, entries: Iterable[Entry]) -> int:
        """Add or replace entries (manual entries, delta adds). Returns how many."""
        by_source: dict[str, Grouped] = {}
        for entry in entries:
            grouped = by_source.get(entry.source)
            if grouped is None:
                grouped = by_source[entry.source] = Grouped()
            grouped.add(entry)
        with self._apply_lock(), translated_errors("add entries"):
            for source, grouped in by_source.items():
                touched = {b: set(fields) for b, fields in grouped.numbers.items()}
                state = self._read_state(source, touched, set(grouped.prefixes))
                ids = self._meta_ids(source, grouped.metas)
                for b_id, fields in grouped.numbers.items():
                    state.numbers.setdefault(b_id, {}).update(
                        {f: ids[m] for f, m in fields.items()})
                prefix_ids = {p: ids[m] for p, m in grouped.prefixes.items()}
                self._write_state(source, state.numbers, prefix_ids, [])
                self._recompute(touched, set(grouped.prefixes))
        return sum(g.count for g in by_source.values())

    def remove_entries(self, source: str, keys: Iterable[EntryKey]) -> int:
        """Remove a source's entries; the merged listing falls back to other sources."""
        touched, touched_prefixes = touched_keys(dict.fromkeys(keys))
        with self._apply_lock(), translated_errors(f"remove entries of {source!r}"):
            state = self._read_state(source, touched, touched_prefixes)
            removed = 0
            changed: dict[int, dict[str, str]] = {}
            for b_id, fields in touched.items():
                current = state.numbers.get(b_id, {})
                gone = fields & current.keys()
                if gone:
                    removed += len(gone)
                    changed[b_id] = {f: i for f, i in current.items() if f not in gone}
            gone_prefixes = [p for p in touched_prefixes if p in state.prefixes]
            removed += len(gone_prefixes)
            if removed:
                self._write_state(source, changed, {}, gone_prefixes)
                self._recompute(touched, touched_prefixes)
        return removed

    # -- snapshots ------------------------------------------------------------------------

    def apply_snapshot(
        self,
        source: str,
        entries: Iterable[Entry],
        *,
        max_removal_ratio: float = 0.2,
        force: bool = False,
        dry_run: bool = False,
    ) -> ApplyReport:
        """Make `source`'s entries exactly `entries`, touching nothing of other sources.

        Refuses (SyncRefusedError, nothing written) a snapshot with no entries, or one that
        removes more than `max_removal_ratio` of the source's entries, unless `force`.
        """
        return apply_snapshot(self, source, lambda new: new.add_all(entries),
                              time.perf_counter(), max_removal_ratio=max_removal_ratio,
                              force=force, dry_run=dry_run)

    def apply_snapshot_rows(
        self,
        source: str,
        rows: Iterable[tuple[str, bool, Provenance]],
        *,
        max_removal_ratio: float = 0.2,
        force: bool = False,
        dry_run: bool = False,
    ) -> ApplyReport:
        """`apply_snapshot` of entries given as (key, is_prefix, provenance) rows: a feed's
        bulk path, without an `Entry` per row."""
        return apply_snapshot(self, source, lambda new: new.add_rows(rows),
                              time.perf_counter(), max_removal_ratio=max_removal_ratio,
                              force=force, dry_run=dry_run)

    # -- internals: a source's state, and the merged listing --------------------------------

    @contextlib.contextmanager
    def _apply_lock(self) -> Iterator[None]:
        lock_key = self.keys.key("lock:apply")
        token = uuid.uuid4().hex
        deadline = time.monotonic() + APPLY_LOCK_S
        with translated_errors("take the apply lock"):
            while not self.redis.set(lock_key, token, nx=True, ex=APPLY_LOCK_S):
                if time.monotonic() > deadline:
                    raise StoreError("another apply holds the lock for too long")
                time.sleep(0.05)
            if self.redis.exists(self.keys.key("dirty")):
                self._rebuild_locked()
            self.redis.set(self.keys.key("dirty"), token)
        try:
            yield
            with translated_errors("clear the dirty marker"):
                self.redis.delete(self.keys.key("dirty"))
        finally:
            with contextlib.suppress(RedisError):
                # Atomic compare-and-delete: never another process's lock taken after expiry.
                self.redis.eval(RELEASE_LOCK_SCRIPT, 1, lock_key, token)

    def _read_state(
        self, source: str, buckets: Iterable[int] | None, prefixes: Iterable[str] | None
    ) -> State:
        """A source's numbers in `buckets` and its `prefixes` (None: all of them)."""
        skeys = self.keys.source(source)
        wanted = list(range(BUCKETS) if buckets is None else buckets)
        numbers: dict[int, dict[str, str]] = {}
        for start in range(0, len(wanted), CHUNK):
            part = wanted[start:start + CHUNK]
            blobs = self.redis.mget([skeys.numbers(str(b)) for b in part])
            for b_id, blob in zip(part, blobs, strict=True):
                if blob:
                    numbers[b_id] = decode_blob(blob)
        if prefixes is None:
            found: dict[str, str] = self.redis.hgetall(skeys.prefixes)
        else:
            asked = list(prefixes)
            values = self.redis.hmget(skeys.prefixes, asked) if asked else []
            found = {p: i for p, i in zip(asked, values, strict=True) if i is not None}
        return State(numbers, found)

    def _write_state(
        self,
        source: str,
        numbers: dict[int, dict[str, str]],
        prefixes: dict[str, str],
        removed_prefixes: list[str],
    ) -> None:
        """Replace the given buckets of a source whole, upsert and remove prefixes."""
        skeys = self.keys.source(source)
        self.redis.sadd(self.keys.sources, source)
        commands: list[str] = []
        for b_id, fields in numbers.items():
            name = skeys.numbers(str(b_id))
            commands.append(command("SET", name, encode_blob(fields)) if fields
                            else command("DEL", name))
        if prefixes:
            commands.append(hset_command(skeys.prefixes, prefixes, {}))
        if removed_prefixes:
            commands.append(command("HDEL", skeys.prefixes, *removed_prefixes))
        send(self.redis, commands)

    def _meta_ids(self, source: str, metas: Iterable[str]) -> dict[str, str]:
        skeys = self.keys.source(source)
        unique = list(dict.fromkeys(metas))
        ids: dict[str, str] = {}
        known = self.redis.hmget(skeys.metaidx, unique) if unique else []
        missing = [m for m, i in zip(unique, known, strict=True) if i is None]
        ids.update({m: i for m, i in zip(unique, known, strict=True) if i is not None})
        if missing:
            last = int(self.redis.incrby(skeys.metaseq, len(missing)))
            fresh = {m: str(last - len(missing) + 1 + n) for n, m in enumerate(missing)}
            pipe = self.redis.pipeline(transaction=False)
            pipe.hset(skeys.meta, mapping={i: m for m, i in fresh.items()})
            pipe.hset(skeys.metaidx, mapping=fresh)
            pipe.execute()
            ids.update(fresh)
        return ids

    def _recompute(
        self,
        touched: dict[int, set[str]],
        touched_prefixes: set[str],
        known: dict[str, tuple[State, dict[str, str]]] | None = None,
        today: dt.date | None = None,
    ) -> None:
        """Rewrite the merged listing of each touched key from every source's entries.

        `known` holds sources whose state (and meta id -> JSON) the caller already has.
        Keys listed by the same (source, provenance) pairs share one merge, so a million-row
        snapshot costs a few merges, not a million.
        """
        today = today or dt.datetime.now(dt.UTC).date()
        known = known or {}
        states: list[tuple[str, State, dict[str, str]]] = []
        for source in sorted(set(self.sources()) | known.keys()):
            if source in known:
                state, metas = known[source]
            else:
                state = self._read_state(source, touched, touched_prefixes)
                ids = {i for fields in state.numbers.values() for i in fields.values()}
                ids.update(state.prefixes.values())
                metas = {i: m for (_, i), m in self._metas((source, i) for i in ids).items()}
            states.append((source, state, metas))
        merged = Merger(today, {s: metas for s, _, metas in states})
        sets: dict[int, dict[str, str]] = {}
        dels: dict[int, list[str]] = {}
        for b_id, fields in touched.items():
            present = [(s, found) for s, state, _ in states
                       if (found := state.numbers.get(b_id))]
            mapping, gone = merged.listings(fields, present)
            if mapping:
                sets[b_id] = mapping
            if gone:
                dels[b_id] = gone
        present_prefixes = [(s, state.prefixes) for s, state, _ in states if state.prefixes]
        prefix_sets, prefix_dels = merged.listings(touched_prefixes, present_prefixes)
        # New and changed listings first, removals last (see the module docstring); one
        # connection keeps that order.
        values: dict[str, str] = {}
        commands = [hset_command(self.keys.numbers(str(b)), m, values) for b, m in sets.items()]
        if prefix_sets:
            commands.append(hset_command(self.keys.prefixes, prefix_sets, values))
        commands += [command("HDEL", self.keys.numbers(str(b)), *fs) for b, fs in dels.items()]
        if prefix_dels:
            commands.append(command("HDEL", self.keys.prefixes, *prefix_dels))
        send(self.redis, commands)

    def _rebuild_locked(self) -> None:
        with translated_errors("rebuild the call path's listing"):
            known: dict[str, tuple[State, dict[str, str]]] = {}
            touched: dict[int, set[str]] = defaultdict(set)
            touched_prefixes: set[str] = set()
            for source in self.sources():
                state = self._read_state(source, None, None)
                metas: dict[str, str] = self.redis.hgetall(self.keys.source(source).meta)
                known[source] = (state, metas)
                for b_id, fields in state.numbers.items():
                    touched[b_id].update(fields)
                touched_prefixes.update(state.prefixes)
            for start in range(0, BUCKETS, CHUNK):
                pipe = self.redis.pipeline(transaction=False)
                for b in range(start, min(start + CHUNK, BUCKETS)):
                    pipe.hkeys(self.keys.numbers(str(b)))
                for offset, fields in enumerate(pipe.execute()):
                    if fields:
                        touched[start + offset].update(fields)
            touched_prefixes.update(self.redis.hkeys(self.keys.prefixes))
            self._recompute(dict(touched), touched_prefixes, known)

    def rebuild(self) -> None:
        """Recompute the whole call-path listing from the sources (after a crash, say)."""
        with self._apply_lock():
            self._rebuild_locked()

    def purge_expired(self, today: dt.date | None = None) -> int:
        """Remove entries past their `valid_until` from every source. Returns how many."""
        today = today or dt.datetime.now(dt.UTC).date()
        removed = 0
        for source in self.sources():
            stale = [k for k, meta in self.source_entries(source).items()
                     if (until := json.loads(meta).get("until"))
                     and dt.date.fromisoformat(until) < today]
            if stale:
                removed += self.remove_entries(source, stale)
        return removed

    # -- allowlist and subscribers --------------------------------------------------------

    def allow(self, key: EntryKey, note: dict[str, str]) -> None:
        with translated_errors("add to the allowlist"):
            self.redis.hset(self.keys.allow, ("p" if key[1] else "n") + key[0],
                            json.dumps(note, sort_keys=True))

    def disallow(self, key: EntryKey) -> bool:
        with translated_errors("remove from the allowlist"):
            return bool(self.redis.hdel(self.keys.allow, ("p" if key[1] else "n") + key[0]))

    def allowlist(self) -> dict[EntryKey, dict[str, str]]:
        with translated_errors("read the allowlist"):
            raw = self.redis.hgetall(self.keys.allow)
        return {(f[1:], f[0] == "p"): json.loads(v) for f, v in raw.items()}

    def subscriber(self, number_digits: str) -> tuple[SubscriberSettings, list[str]] | None:
        """A subscriber's settings and personal allowlist (digits), or None if unknown."""
        with translated_errors("read a subscriber"):
            raw = self.redis.hgetall(self.keys.subscriber(number_digits))
        if not raw:
            return None
        mode = raw.get("mode") or Mode.STANDARD.value
        settings = SubscriberSettings(Mode(mode), raw.get("lang") or None)
        return settings, sorted(f[1:] for f in raw if f.startswith("a"))

    def set_subscriber(
        self, number_digits: str, *, mode: Mode | None = None, language: str | None = None
    ) -> None:
        mapping = {}
        if mode is not None:
            mapping["mode"] = mode.value
        if language is not None:
            mapping["lang"] = language
        with translated_errors("write a subscriber"):
            key = self.keys.subscriber(number_digits)
            if mapping:
                self.redis.hset(key, mapping=mapping)
            else:
                self.redis.hsetnx(key, "mode", Mode.STANDARD.value)

    def delete_subscriber(self, number_digits: str) -> bool:
        with translated_errors("delete a subscriber"):
            return bool(self.redis.delete(self.keys.subscriber(number_digits)))

    def personal_allow(self, subscriber_digits: str, number_digits: str, *, add: bool) -> bool:
        key = self.keys.subscriber(subscriber_digits)
        with translated_errors("change a personal allowlist"):
            if add:
                self.redis.hsetnx(key, "mode", Mode.STANDARD.value)
                return bool(self.redis.hset(key, "a" + number_digits, str(int(time.time()))))
            return bool(self.redis.hdel(key, "a" + number_digits))

    # -- figures --------------------------------------------------------------------------

    def counts(self) -> dict[str, dict[str, int]]:
        """Entries by source and category."""
        out: dict[str, dict[str, int]] = {}
        for source in self.sources():
            tally: dict[str, int] = defaultdict(int)
            for meta in self.source_entries(source).values():
                tally[json.loads(meta).get("c", "?")] += 1
            out[source] = dict(tally)
        return out

