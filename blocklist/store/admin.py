"""The admin side's store: entries with provenance, snapshots, allowlists, subscribers.

Built on redis-py (the call path uses `blocklist.store.wire`). The key layout is in
`blocklist.store.layout`. Redis errors leave this module as `StoreError`.

How a change reaches the call path: each source keeps its own entries (`src:<s>:*`); the call
path reads the merged listing (`n:*`, `p`), recomputed for every key a change touches. Writes
are ordered so that a lookup never misses an entry that is in both the old and the new list
(stable keys are not touched; changed ones are overwritten in place), and so that a crash
mid-apply errs towards listing: new listings are written before a source's removals, and a
`dirty` marker left by an interrupted apply makes the next apply rebuild the merged tables.
Applies are serialised by a Redis lock with expiry.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import redis
from redis.exceptions import RedisError

from blocklist.entries import AppliesTo, Category, Entry, Mode, SubscriberSettings, merge
from blocklist.errors import StoreError, SyncRefusedError
from blocklist.store.layout import (
    BUCKETS,
    SCHEMA_VERSION,
    KeySpace,
    bucket,
    lookup_prefixes,
    pack,
    unbucket,
)

EntryKey = tuple[str, bool]  # (digits, is_prefix)
APPLY_LOCK_S = 600
CHUNK = 2000


@contextlib.contextmanager
def translated_errors(action: str) -> Iterator[None]:
    """Redis' exceptions become StoreError here, at the boundary."""
    try:
        yield
    except RedisError as exc:
        raise StoreError(f"Redis failed to {action}: {exc}") from exc


@dataclass(slots=True)
class ApplyReport:
    """What an apply changed, or would change (`dry_run`)."""

    source: str
    added: list[EntryKey] = field(default_factory=list)
    removed: list[EntryKey] = field(default_factory=list)
    changed: list[EntryKey] = field(default_factory=list)
    unchanged: int = 0
    before: int = 0
    after: int = 0
    dry_run: bool = False
    forced: bool = False
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        return {
            "source": self.source, "added": len(self.added), "removed": len(self.removed),
            "changed": len(self.changed), "unchanged": self.unchanged, "before": self.before,
            "after": self.after, "dry_run": self.dry_run, "forced": self.forced,
            "seconds": round(self.seconds, 3),
        }


def _meta_json(entry: Entry) -> str:
    return json.dumps(
        {
            "c": entry.category.value, "a": entry.applies_to.value, "ref": entry.reference,
            "why": entry.reason, "by": entry.added_by, "shadow": entry.shadow,
            "from": entry.listed_at.isoformat() if entry.listed_at else None,
            "until": entry.valid_until.isoformat() if entry.valid_until else None,
        },
        sort_keys=True, separators=(",", ":"), ensure_ascii=False,
    )


def _entry_from_meta(key: EntryKey, source: str, meta: str) -> Entry:
    data = json.loads(meta)
    return Entry(
        key=key[0], is_prefix=key[1], category=Category(data["c"]),
        applies_to=AppliesTo(data["a"]), source=source, reference=data.get("ref") or "",
        reason=data.get("why") or "", added_by=data.get("by") or "",
        listed_at=dt.date.fromisoformat(data["from"]) if data.get("from") else None,
        valid_until=dt.date.fromisoformat(data["until"]) if data.get("until") else None,
        shadow=bool(data.get("shadow")),
    )


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
        skeys = self.keys.source(source)
        with translated_errors(f"read source {source!r}"):
            metas: dict[str, str] = self.redis.hgetall(skeys.meta)
            out: dict[EntryKey, str] = {}
            for start in range(0, BUCKETS, CHUNK):
                pipe = self.redis.pipeline(transaction=False)
                for b in range(start, min(start + CHUNK, BUCKETS)):
                    pipe.hgetall(skeys.numbers(str(b)))
                for offset, fields in enumerate(pipe.execute()):
                    b_id = str(start + offset)
                    for f, meta_id in fields.items():
                        out[(unbucket(b_id, f), False)] = metas.get(meta_id, "{}")
            for prefix, meta_id in self.redis.hgetall(skeys.prefixes).items():
                out[(prefix, True)] = metas.get(meta_id, "{}")
        return out

    def _memberships(self, keys: list[EntryKey]) -> dict[EntryKey, list[tuple[str, str]]]:
        """For each key, the (source, meta id) pairs that list it: one HMGET per bucket."""
        result: dict[EntryKey, list[tuple[str, str]]] = {k: [] for k in keys}
        grouped: dict[str | None, list[tuple[EntryKey, str]]] = defaultdict(list)
        for key in keys:
            if key[1]:
                grouped[None].append((key, key[0]))
            else:
                b_id, f = bucket(key[0])
                grouped[b_id].append((key, f))
        for source in self.sources():
            skeys = self.keys.source(source)
            groups = list(grouped.items())
            for start in range(0, len(groups), CHUNK):
                chunk = groups[start:start + CHUNK]
                pipe = self.redis.pipeline(transaction=False)
                for group, members in chunk:
                    name = skeys.prefixes if group is None else skeys.numbers(group)
                    pipe.hmget(name, [f for _, f in members])
                for (_, members), ids in zip(chunk, pipe.execute(), strict=True):
                    for (key, _), meta_id in zip(members, ids, strict=True):
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
        by_source: dict[str, dict[EntryKey, Entry]] = defaultdict(dict)
        for entry in entries:
            by_source[entry.source][(entry.key, entry.is_prefix)] = entry
        with self._apply_lock():
            for source, items in by_source.items():
                self._write_source(source, items, [])
                self._recompute(list(items))
        return sum(len(v) for v in by_source.values())

    def remove_entries(self, source: str, keys: Iterable[EntryKey]) -> int:
        """Remove a source's entries; the merged listing falls back to other sources."""
        wanted = list(dict.fromkeys(keys))
        present = [k for k, found in self.entries_for(wanted).items()
                   if any(e.source == source for e in found)]
        with self._apply_lock():
            self._write_source(source, {}, present)
            self._recompute(present)
        return len(present)

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
        started = time.perf_counter()
        new: dict[EntryKey, Entry] = {}
        for entry in entries:
            new[(entry.key, entry.is_prefix)] = entry
        old = self.source_entries(source)
        report = ApplyReport(source, before=len(old), after=len(new), dry_run=dry_run,
                             forced=force)
        new_meta: dict[EntryKey, str] = {}
        for key, entry in new.items():
            meta = new_meta[key] = _meta_json(entry)
            previous = old.get(key)
            if previous is None:
                report.added.append(key)
            elif previous != meta:
                report.changed.append(key)
            else:
                report.unchanged += 1
        report.removed = [k for k in old if k not in new]
        if not force:
            if not new:
                raise SyncRefusedError(
                    f"snapshot of {source!r} has no entries; refusing to empty the list"
                    " (force to override)"
                )
            if old and len(report.removed) > max_removal_ratio * len(old):
                raise SyncRefusedError(
                    f"snapshot of {source!r} removes {len(report.removed)} of {len(old)}"
                    f" entries, more than {max_removal_ratio:.0%} (force to override)"
                )
        if not dry_run:
            upserts = {k: new[k] for k in (*report.added, *report.changed)}
            with self._apply_lock():
                self._write_source(source, upserts, report.removed, metas=new_meta)
                self._recompute([*upserts, *report.removed])
        report.seconds = time.perf_counter() - started
        return report

    # -- internals: writing a source and recomputing the merged listing ---------------------

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
                if self.redis.get(lock_key) == token:
                    self.redis.delete(lock_key)

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

    def _write_source(
        self,
        source: str,
        upserts: dict[EntryKey, Entry],
        removals: list[EntryKey],
        *,
        metas: dict[EntryKey, str] | None = None,
    ) -> None:
        skeys = self.keys.source(source)
        with translated_errors(f"write source {source!r}"):
            self.redis.sadd(self.keys.sources, source)
            meta_of = {k: (metas or {}).get(k) or _meta_json(e) for k, e in upserts.items()}
            ids = self._meta_ids(source, meta_of.values())
            sets: dict[str, dict[str, str]] = defaultdict(dict)
            for key, meta in meta_of.items():
                name, f = self._field(skeys.numbers, skeys.prefixes, key)
                sets[name][f] = ids[meta]
            dels: dict[str, list[str]] = defaultdict(list)
            for key in removals:
                name, f = self._field(skeys.numbers, skeys.prefixes, key)
                dels[name].append(f)
            self._flush(sets, dels)

    @staticmethod
    def _field(numbers: Any, prefixes: str, key: EntryKey) -> tuple[str, str]:
        digits_, is_prefix = key
        if is_prefix:
            return prefixes, digits_
        b_id, f = bucket(digits_)
        return numbers(b_id), f

    def _flush(self, sets: dict[str, dict[str, str]], dels: dict[str, list[str]]) -> None:
        pipe = self.redis.pipeline(transaction=False)
        pending = 0
        for name, mapping in sets.items():
            pipe.hset(name, mapping=mapping)
            pending += len(mapping)
            if pending >= 50_000:
                pipe.execute()
                pending = 0
        for name, fields in dels.items():
            pipe.hdel(name, *fields)
        pipe.execute()

    def _recompute(self, keys: list[EntryKey], today: dt.date | None = None) -> None:
        """Rewrite the merged listing of each key from every source's entries.

        Keys listed by the same set of (source, provenance) pairs share one merge, so a
        million-row snapshot costs a few thousand merges, not a million.
        """
        today = today or dt.datetime.now(dt.UTC).date()
        with translated_errors("update the call path's listing"):
            memberships = self._memberships(list(dict.fromkeys(keys)))
            metas = self._metas(p for pairs in memberships.values() for p in pairs)
            templates = {
                pair: _entry_from_meta(("0", False), pair[0], meta) for pair, meta in metas.items()
            }
            cache: dict[tuple[tuple[str, str], ...], str | None] = {}
            sets: dict[str, dict[str, str]] = defaultdict(dict)
            dels: dict[str, list[str]] = defaultdict(list)
            for key, pairs in memberships.items():
                signature = tuple(pairs)
                if signature not in cache:
                    listing = merge([templates[p] for p in pairs if p in templates], today)
                    cache[signature] = None if listing is None else str(pack(listing))
                code = cache[signature]
                name, f = self._field(self.keys.numbers, self.keys.prefixes, key)
                if code is None:
                    dels[name].append(f)
                else:
                    sets[name][f] = code
            # New and changed listings first, removals last (see the module docstring).
            self._flush(sets, {})
            self._flush({}, dels)

    def _rebuild_locked(self) -> None:
        keys: set[EntryKey] = set()
        for source in self.sources():
            keys.update(self.source_entries(source))
        with translated_errors("read the call path's listing"):
            for b in range(BUCKETS):
                for f in self.redis.hkeys(self.keys.numbers(str(b))):
                    keys.add((unbucket(str(b), f), False))
            keys.update((p, True) for p in self.redis.hkeys(self.keys.prefixes))
        self._recompute(sorted(keys))

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
