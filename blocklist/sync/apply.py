"""Guard, then apply a parsed feed to one source: shared by `callscreen import`, the API's
import upload and the sync.

The guard (docs/feeds.md) refuses, before anything is written: a feed with no valid row, a feed
whose own `record_count` or `sha256` disagrees with what arrived, a feed naming another source
than the one it is applied to, and (in `Store.apply_snapshot`) a snapshot removing more than
`max_removal_ratio` of the source's entries. `force` overrides all of them but the source
mismatch. Never, even forced: a snapshot of `manual` (entries people made one by one) or any
import into `reports` (kept by subscribers' reports). A refusal raises `SyncRefusedError`
and leaves the store exactly as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from blocklist.entries import MANUAL_SOURCE, Entry
from blocklist.errors import SyncRefusedError
from blocklist.feeds import FeedMode, Op, ParsedFeed, Records, RowError
from blocklist.store.admin import Store
from blocklist.store.reports import REPORTS_SOURCE
from blocklist.store.state import ApplyReport, EntryKey
from blocklist.values import replace


@dataclass(slots=True)
class Outcome:
    """What applying a parsed feed did (or would do, in a dry run)."""

    source: str
    mode: FeedMode
    rows_read: int
    accepted: int
    rejected: list[RowError]
    skipped_expired: int
    added: list[EntryKey] = field(default_factory=list)
    removed: list[EntryKey] = field(default_factory=list)
    changed: list[EntryKey] = field(default_factory=list)
    unchanged: int = 0
    dry_run: bool = False
    forced: bool = False
    overridden: list[str] = field(default_factory=list)  # guard reasons `force` overrode

    def counts(self) -> dict[str, int]:
        return {
            "read": self.rows_read, "accepted": self.accepted, "rejected": len(self.rejected),
            "skipped_expired": self.skipped_expired, "added": len(self.added),
            "removed": len(self.removed), "changed": len(self.changed),
            "unchanged": self.unchanged,
        }


def guard_and_apply(
    store: Store,
    parsed: ParsedFeed,
    source: str,
    *,
    max_removal_ratio: float,
    force: bool = False,
    dry_run: bool = False,
    shadow: bool = False,
    progress: Callable[[Iterable[Entry]], Iterable[Entry]] | None = None,
) -> Outcome:
    """Check `parsed` against the guard and apply it to `source`; see the module docstring."""
    outcome = Outcome(
        source=source, mode=parsed.header.mode, rows_read=parsed.rows_read,
        accepted=len(parsed.records), rejected=list(parsed.errors),
        skipped_expired=parsed.skipped_expired, dry_run=dry_run, forced=force,
    )
    if parsed.header.source != source:
        raise SyncRefusedError(
            f"the feed names source {parsed.header.source!r}, not {source!r}"
        )
    if source == REPORTS_SOURCE:
        raise SyncRefusedError(f"source {source!r} is kept by subscribers' reports only")
    if parsed.header.mode is FeedMode.SNAPSHOT and source == MANUAL_SOURCE:
        raise SyncRefusedError(
            f"a snapshot of {source!r} would replace entries people made; send a delta"
            " (records with op add/remove), or use another source"
        )
    problems = list(parsed.integrity_errors)
    if not parsed.records:
        problems.append(f"no valid rows ({parsed.rows_read} read, {len(parsed.errors)}"
                        f" rejected, {parsed.skipped_expired} expired)")
    if problems and not force:
        raise SyncRefusedError(f"feed {source!r}: {'; '.join(problems)} (force to override)")
    outcome.overridden = problems
    if (parsed.header.mode is FeedMode.SNAPSHOT and progress is None
            and isinstance(parsed.records, Records)):
        # The bulk path: rows, not an Entry per record.
        rows = parsed.records.rows()
        if shadow:
            rows = ((k, p, (*v[:5], True, *v[6:])) for k, p, v in rows)
        report = store.apply_snapshot_rows(source, rows, max_removal_ratio=max_removal_ratio,
                                           force=force, dry_run=dry_run)
        _take(outcome, report)
        return outcome
    entries: Iterable[Entry] = (r.entry for r in parsed.records if r.op is Op.ADD)
    if shadow:
        entries = (replace(e, shadow=True) for e in entries)
    if progress is not None:
        entries = progress(entries)
    if parsed.header.mode is FeedMode.SNAPSHOT:
        report = store.apply_snapshot(source, entries, max_removal_ratio=max_removal_ratio,
                                      force=force, dry_run=dry_run)
        _take(outcome, report)
        return outcome
    # A delta: its adds, then its removes, in one atomic write (or a dry run of it).
    adds = [e for e in entries if e.source == source]
    removes = [(r.entry.key, r.entry.is_prefix) for r in parsed.records if r.op is Op.REMOVE]
    _take(outcome, store.apply_delta(source, adds, removes, dry_run=dry_run))
    return outcome


def _take(outcome: Outcome, report: ApplyReport) -> None:
    # The report lists its keys when read (`KeyList`); an outcome's readers want lists.
    outcome.added, outcome.removed = list(report.added), list(report.removed)
    outcome.changed = list(report.changed)
    outcome.unchanged = report.unchanged
