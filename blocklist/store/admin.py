"""The admin side's store: entries with provenance, snapshots, allowlists, subscribers.

Built on redis-py (the call path uses `blocklist.store.wire`). `Store` is the front door; the
work is done by the modules named below. Redis errors leave as `StoreError` or
`StoreCommandError` (`blocklist.store.redis_boundary`).

How a change reaches the call path: each source keeps its own entries (`src:<s>:*`,
`blocklist.store.sources`); the call path reads the merged listing (`n:*`, `p`,
`blocklist.store.listing`), recomputed for every key a change touches. Writes are ordered so
that a lookup never misses an entry that is in both the old and the new list (stable keys are
not touched; changed ones are overwritten in place), and so that a crash mid-apply errs
towards listing: the merged listing's new and changed values are written before its removals,
and a `dirty` marker left by an interrupted apply makes the next apply rebuild the merged
tables. Applies are serialised by the apply lock (`blocklist.store.apply_lock`), renewed while
they run; one that loses it stops writing. Snapshots (the bulk path) are applied by
`blocklist.store.snapshot`, deltas and single changes by `blocklist.store.changes` (one
transaction each).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import redis

from blocklist.entries import Entry, Mode, Provenance, SubscriberSettings
from blocklist.store import explanations, sources, subscribers
from blocklist.store.apply_lock import APPLY_LOCK_S, ApplyLock
from blocklist.store.bulk import split
from blocklist.store.changes import apply_delta
from blocklist.store.connection import client_for, primary_address
from blocklist.store.durability import Durability
from blocklist.store.layout import SCHEMA_VERSION, KeySpace
from blocklist.store.listing import rebuild
from blocklist.store.redis_boundary import translated_errors
from blocklist.store.snapshot import apply_snapshot
from blocklist.store.state import ApplyReport, EntriesByBucket, EntryKey

TYPE_CHECKING = False
if TYPE_CHECKING:
    from blocklist.settings import RedisLocation

__all__ = ["ApplyReport", "Store"]


class Store:
    """The blocklist in Redis, for the admin side (CLI, API, feed sync)."""

    def __init__(self, client: redis.Redis, key_prefix: str = "cs", *,
                 apply_lock_s: float = APPLY_LOCK_S, min_replicas_ack: int | None = None,
                 sentinel: bool = False) -> None:
        """`min_replicas_ack`, `sentinel`: how many replicas confirm a write
        (`blocklist.store.durability`)."""
        # Any: redis-py's types can't say that decode_responses=True makes every reply a str.
        self.redis: Any = client
        self.keys = KeySpace(key_prefix)
        self.apply_lock = ApplyLock(self.redis, self.keys, apply_lock_s)
        self.durability = Durability(self.redis, self.keys, min_replicas_ack, sentinel=sentinel)

    @classmethod
    def from_url(cls, url: str, key_prefix: str = "cs", *,
                 min_replicas_ack: int | None = None) -> Store:
        """A store on `url`: redis://, rediss://, unix://, or a Sentinel URL (the primary the
        Sentinels name, followed across failovers: `blocklist.store.connection`)."""
        return cls(client_for(url), key_prefix, min_replicas_ack=min_replicas_ack,
                   sentinel="+sentinel://" in url)

    @classmethod
    def from_location(cls, location: RedisLocation, key_prefix: str = "cs") -> Store:
        """The store of callscreen's commands and servers, where the settings say."""
        return cls.from_url(location.service_url(), key_prefix,
                            min_replicas_ack=location.min_replicas_ack)

    def confirm_durable(self, action: str) -> None:
        """Return once enough replicas have every write so far, else NotDurableError."""
        self.durability.confirm(action)

    def primary(self) -> str | None:
        """host:port of the primary the Sentinels name now (None without Sentinel)."""
        with translated_errors("ask the Sentinels for the primary"):
            return primary_address(self.redis)

    def check_primary(self) -> None:
        """Raise StoreError unless the primary (the one the Sentinels name, when there are)
        takes a write now. Replicas are not waited for: this says whether writes can be
        made, not whether they are durable."""
        with translated_errors("write to the primary"):
            self.redis.set(self.keys.durable, repr(time.time()))

    def ping(self) -> None:
        with translated_errors("answer PING"):
            self.redis.ping()
            self.redis.hsetnx(self.keys.meta, "schema", SCHEMA_VERSION)

    def close(self) -> None:
        self.redis.close()

    # -- entries --------------------------------------------------------------------------

    def sources(self) -> list[str]:
        with translated_errors("list sources"):
            return sources.list_sources(self.redis, self.keys)

    def source_entries(self, source: str) -> dict[EntryKey, str]:
        """Every entry of one source: key -> provenance JSON."""
        with translated_errors(f"read source {source!r}"):
            return sources.source_entries(self.redis, self.keys, source)

    def entries_for(self, keys: Iterable[EntryKey]) -> dict[EntryKey, list[Entry]]:
        """Every source's entries for the given keys (the slow, explaining side)."""
        with translated_errors("read entries"):
            return explanations.entries_for(self.redis, self.keys, keys)

    def explain(self, number_digits: str) -> list[Entry]:
        """Every entry, from every source, matching a number exactly or by a prefix."""
        with translated_errors("read entries"):
            return explanations.explain(self.redis, self.keys, number_digits)

    def add_entries(self, entries: Iterable[Entry]) -> int:
        """Add or replace entries (manual entries, reports), each source's in one
        transaction. Returns how many were given."""
        by_source: dict[str, EntriesByBucket] = defaultdict(EntriesByBucket)
        for entry in entries:
            by_source[entry.source].add(entry)
        with self.apply_lock.hold() as lease, translated_errors("add entries"):
            for source, adds in by_source.items():
                apply_delta(self.redis, self.keys, lease, source, adds, ())
        self.confirm_durable("the added entries")
        return sum(g.count for g in by_source.values())

    def add_new_entry(self, entry: Entry) -> bool:
        """Add `entry` unless its source already lists its key: then False, and nothing
        changes. The check and the write happen under the apply lock, which every write to
        the entries holds, so of two processes creating the same entry at once exactly one
        gets True (a check, then a separate write, would let the last one win silently)."""
        adds = EntriesByBucket()
        adds.add(entry)
        bucket_id, field = split(entry.key)
        source_keys = self.keys.source(entry.source)
        with self.apply_lock.hold() as lease, translated_errors(f"add entry {entry.label}"):
            if entry.is_prefix:
                listed = entry.key in sources.read_state(
                    self.redis, source_keys, (), [entry.key]).prefixes
            else:
                listed = field in sources.read_state(
                    self.redis, source_keys, [bucket_id], ()).numbers.get(bucket_id, {})
            if listed:
                return False
            apply_delta(self.redis, self.keys, lease, entry.source, adds, ())
        self.confirm_durable(f"entry {entry.label}")
        return True

    def remove_entries(self, source: str, keys: Iterable[EntryKey]) -> int:
        """Remove a source's entries; the merged listing falls back to other sources.
        Returns how many the source had."""
        return len(self.apply_delta(source, (), keys).removed)

    def apply_delta(
        self, source: str, adds: Iterable[Entry], removes: Iterable[EntryKey], *,
        dry_run: bool = False,
    ) -> ApplyReport:
        """Add (or replace) `adds`, then remove `removes`, in `source`: one atomic write, so
        a failure applies none of it. The report says what was really added, changed and
        removed (a removal of a key the source did not have is not in `removed`); a dry run
        says what would be, and writes nothing."""
        gathered = EntriesByBucket()
        gathered.add_all(adds)
        wanted = list(removes)
        started = time.perf_counter()
        action = f"apply a delta of {source!r}"
        if dry_run:
            with translated_errors(action):
                report = apply_delta(self.redis, self.keys, None, source, gathered, wanted)
        else:
            with self.apply_lock.hold() as lease, translated_errors(action):
                report = apply_delta(self.redis, self.keys, lease, source, gathered, wanted)
            self.confirm_durable(action)
        report.seconds = time.perf_counter() - started
        return report

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
        report = apply_snapshot(self.redis, self.keys, self.apply_lock, source,
                                lambda new: new.add_all(entries), time.perf_counter(),
                                max_removal_ratio=max_removal_ratio, force=force,
                                dry_run=dry_run)
        if not dry_run:
            self.confirm_durable(f"the snapshot of {source!r}")
        return report

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
        report = apply_snapshot(self.redis, self.keys, self.apply_lock, source,
                                lambda new: new.add_rows(rows), time.perf_counter(),
                                max_removal_ratio=max_removal_ratio, force=force,
                                dry_run=dry_run)
        if not dry_run:
            self.confirm_durable(f"the snapshot of {source!r}")
        return report

    # -- upkeep ---------------------------------------------------------------------------

    def rebuild(self) -> None:
        """Recompute the whole call-path listing from the sources (after a crash, say)."""
        with self.apply_lock.hold() as lease, translated_errors("rebuild the listing"):
            rebuild(self.redis, self.keys, lease.check)
        self.confirm_durable("the rebuilt listing")

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

    def counts(self) -> dict[str, dict[str, int]]:
        """Entries by source and category."""
        out: dict[str, dict[str, int]] = {}
        for source in self.sources():
            tally: dict[str, int] = defaultdict(int)
            for meta in self.source_entries(source).values():
                tally[json.loads(meta).get("c", "?")] += 1
            out[source] = dict(tally)
        return out

    # -- allowlist and subscribers (`blocklist.store.subscribers`) --------------------------

    def allow(self, key: EntryKey, note: dict[str, str]) -> None:
        with translated_errors("add to the allowlist"):
            subscribers.allow(self.redis, self.keys, key, note)
        self.confirm_durable("the allowlist entry")

    def disallow(self, key: EntryKey) -> bool:
        with translated_errors("remove from the allowlist"):
            removed = subscribers.disallow(self.redis, self.keys, key)
        self.confirm_durable("the allowlist removal")
        return removed

    def allowlist(self) -> dict[EntryKey, dict[str, str]]:
        with translated_errors("read the allowlist"):
            return subscribers.allowlist(self.redis, self.keys)

    def subscriber(self, number_digits: str) -> tuple[SubscriberSettings, list[str]] | None:
        """A subscriber's settings and personal allowlist (digits), or None if unknown."""
        with translated_errors("read a subscriber"):
            return subscribers.subscriber(self.redis, self.keys, number_digits)

    def set_subscriber(
        self, number_digits: str, *, mode: Mode | None = None, language: str | None = None
    ) -> None:
        with translated_errors("write a subscriber"):
            subscribers.set_subscriber(self.redis, self.keys, number_digits, mode, language)
        self.confirm_durable("the subscriber's settings")

    def delete_subscriber(self, number_digits: str) -> bool:
        with translated_errors("delete a subscriber"):
            deleted = bool(self.redis.delete(self.keys.subscriber(number_digits)))
        self.confirm_durable("the subscriber's deletion")
        return deleted

    def personal_allow(self, subscriber_digits: str, number_digits: str, *, add: bool) -> bool:
        with translated_errors("change a personal allowlist"):
            changed = subscribers.personal_allow(self.redis, self.keys, subscriber_digits,
                                                 number_digits, add=add)
        self.confirm_durable("the personal allowlist change")
        return changed
