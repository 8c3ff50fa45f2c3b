"""A source's entries in memory, shaped like the store keeps them. Pure: no I/O.

Numbers are held per bucket (`bucket -> field -> meta id`, `blocklist.store.layout`), so a
snapshot of a million rows is diffed and written bucket by bucket, and every entry's
provenance is turned into JSON once per distinct provenance, not once per row. Also here:
what an apply changed (`ApplyReport`), and the merge of every source's entries into the call
path's packed listings (`ListingMerger`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

from blocklist.entries import (
    PROVENANCE_FIELDS,
    AppliesTo,
    Category,
    Entry,
    Provenance,
    merge,
)
from blocklist.store.bulk import split
from blocklist.store.layout import pack

EntryKey = tuple[str, bool]  # (digits, is_prefix)
_KEY_AND_PROVENANCE = attrgetter("key", "is_prefix", *PROVENANCE_FIELDS)


def provenance_json(provenance: Provenance) -> str:
    category, applies_to, reference, reason, added_by, shadow, listed_at, until = provenance
    return json.dumps(
        {
            "c": category.value, "a": applies_to.value, "ref": reference,
            "why": reason, "by": added_by, "shadow": shadow,
            "from": listed_at.isoformat() if listed_at else None,
            "until": until.isoformat() if until else None,
        },
        sort_keys=True, separators=(",", ":"), ensure_ascii=False,
    )


def entry_from_meta(key: EntryKey, source: str, meta: str) -> Entry:
    data = json.loads(meta)
    return Entry(
        key=key[0], is_prefix=key[1], category=Category(data["c"]),
        applies_to=AppliesTo(data["a"]), source=source, reference=data.get("ref") or "",
        reason=data.get("why") or "", added_by=data.get("by") or "",
        listed_at=dt.date.fromisoformat(data["from"]) if data.get("from") else None,
        valid_until=dt.date.fromisoformat(data["until"]) if data.get("until") else None,
        shadow=bool(data.get("shadow")),
    )


@dataclass(slots=True)
class SourceState:
    """What one source lists: numbers by bucket, and prefixes, each to a meta id."""

    numbers: dict[int, dict[str, str]]
    prefixes: dict[str, str]


@dataclass(slots=True)
class EntriesByBucket:
    """Entries gathered by bucket, each with its provenance JSON; a later one of a key wins.

    With `name`, each key holds `name(JSON)` instead of the JSON (a snapshot names each
    distinct provenance by its meta id once, instead of swapping ids entry by entry after).
    """

    numbers: dict[int, dict[str, str]] = field(default_factory=dict)
    prefixes: dict[str, str] = field(default_factory=dict)
    metas: dict[str, None] = field(default_factory=dict)  # ordered set of distinct JSON
    name: Callable[[str], str] | None = None
    _by_provenance: dict[tuple[Any, ...], str] = field(default_factory=dict)

    def add(self, entry: Entry) -> None:
        self.add_all((entry,))

    def add_all(self, entries: Iterable[Entry]) -> None:
        """Gather entries."""
        flat = map(_KEY_AND_PROVENANCE, entries)  # C-level attribute reads
        self.add_rows((row[0], row[1], row[2:]) for row in flat)

    def add_rows(self, rows: Iterable[tuple[str, bool, Provenance]]) -> None:
        """Gather entries given as (key, is_prefix, provenance). The hot loop of a million-row
        snapshot: kept flat on purpose."""
        by_provenance, metas, prefixes = self._by_provenance, self.metas, self.prefixes
        name = self.name
        # Grouped by the last four digits as text while looping (cheaper than int() per row),
        # by bucket number after.
        by_suffix: defaultdict[str, dict[str, str]] = defaultdict(dict)
        last: tuple[Any, ...] = ()
        meta = ""
        for key, is_prefix, provenance in rows:
            # Rows of one decision come together: comparing with the last provenance (by
            # identity, mostly) is cheaper than hashing it, enums hash in Python.
            if provenance is not last and provenance != last:
                last = provenance
                cached = by_provenance.get(provenance)
                if cached is None:
                    text = provenance_json(provenance)
                    metas[text] = None
                    cached = by_provenance[provenance] = name(text) if name else text
                meta = cached
            if is_prefix:
                prefixes[key] = meta
                continue
            if len(key) > 4 and key[0] != "0":  # `split`, inlined
                suffix, f = key[-4:], key[:-4]
            else:
                bucket_id, f = split(key)
                suffix = f"{bucket_id:04d}"
            by_suffix[suffix][f] = meta  # a defaultdict: one lookup per row
        numbers = self.numbers
        for suffix, found in by_suffix.items():
            bucket_id = int(suffix)
            if bucket_id in numbers:
                numbers[bucket_id].update(found)
            else:
                numbers[bucket_id] = found

    @property
    def count(self) -> int:
        return sum(len(f) for f in self.numbers.values()) + len(self.prefixes)


@dataclass(slots=True)
class ApplyReport:
    """What an apply (a snapshot, a delta) changed in one source, or would (`dry_run`)."""

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


def diff_prefixes(report: ApplyReport, before: dict[str, str], after: dict[str, str]) -> set[str]:
    touched = set()
    for p, meta_id in after.items():
        old = before.get(p)
        if old is None:
            report.added.append((p, True))
        elif old != meta_id:
            report.changed.append((p, True))
        else:
            report.unchanged += 1
            continue
        touched.add(p)
    gone = before.keys() - after.keys()
    report.removed.extend([(p, True) for p in gone])
    return touched | gone


def touched_keys(keys: Iterable[EntryKey]) -> tuple[dict[int, set[str]], set[str]]:
    """Keys as (bucket -> fields, prefixes)."""
    numbers: dict[int, set[str]] = {}
    prefixes: set[str] = set()
    for digits, is_prefix in keys:
        if is_prefix:
            prefixes.add(digits)
        else:
            bucket_id, f = split(digits)
            numbers.setdefault(bucket_id, set()).add(f)
    return numbers, prefixes


class ListingMerger:
    """Merged listings (packed codes) for keys, from every source that lists them."""

    def __init__(self, today: dt.date, metas: dict[str, dict[str, str]]) -> None:
        self.today = today
        self.metas = metas  # source -> meta id -> JSON
        self._codes: dict[tuple[tuple[str, str], ...], str | None] = {}
        self._single: dict[str, dict[str, str | None]] = {}  # source -> meta id -> code
        self._by_meta: dict[str, str | None] = {}  # JSON -> code of that entry alone
        self._by_terms: dict[tuple[Any, ...], str | None] = {}

    def code(self, signature: tuple[tuple[str, str], ...]) -> str | None:
        """The packed listing for keys listed by these (source, meta id) pairs, or None."""
        found = self._codes.get(signature, "")
        if found != "":
            return found
        if len(signature) == 1:
            meta = self.metas.get(signature[0][0], {}).get(signature[0][1])
            code = None if meta is None else self.meta_code(meta)
        else:
            entries = []
            for source, meta_id in signature:
                meta = self.metas.get(source, {}).get(meta_id)
                if meta is not None:
                    entries.append(entry_from_meta(("0", False), source, meta))
            listing = merge(entries, self.today)
            code = None if listing is None else str(pack(listing))
        self._codes[signature] = code
        return code

    def meta_code(self, meta: str) -> str | None:
        """The packed listing of one entry with this provenance JSON, or None (expired).

        Only the category, roles, shadow flag and end date count, so a feed with a decision
        reference per hundred numbers costs a JSON parse per reference, not a merge.
        """
        code = self._by_meta.get(meta, "")
        if code != "":
            return code
        data = json.loads(meta)
        terms = (data.get("c"), data.get("a"), bool(data.get("shadow")), data.get("until"))
        code = self._by_terms.get(terms, "")
        if code == "":
            listing = merge([entry_from_meta(("0", False), "", meta)], self.today)
            code = self._by_terms[terms] = None if listing is None else str(pack(listing))
        self._by_meta[meta] = code
        return code

    def listings(
        self, keys: set[str], present: list[tuple[str, dict[str, str]]]
    ) -> tuple[dict[str, str], list[str]]:
        """(key -> code to set, keys to delete) for keys of one bucket (or the prefixes),
        given each source's fields there."""
        sets: dict[str, str] = {}
        dels: list[str] = []
        # Keys listed by one source only (the common case: sources rarely list the same
        # numbers) are merged per meta id, with set operations; the rest key by key.
        listing: list[tuple[str, dict[str, str], set[str]]] = []
        shared: set[str] = set()
        seen: set[str] = set()
        for source, fields in present:
            mine = keys & fields.keys() if len(keys) < len(fields) else fields.keys() & keys
            if mine:
                if seen:
                    shared |= seen & mine
                seen |= mine
                listing.append((source, fields, mine))
        for source, fields, mine in listing:
            codes = self._single.get(source)
            if codes is None:
                codes = self._single[source] = {}
            if shared:
                mine -= shared
            ids = {fields[key] for key in mine}
            for meta_id in ids.difference(codes):
                codes[meta_id] = self.code(((source, meta_id),))
            distinct = {codes[i] for i in ids}
            if len(distinct) == 1:  # one listing for all of them: the common case
                (code,) = distinct
                if code is None:
                    dels.extend(mine)
                else:
                    sets.update(dict.fromkeys(mine, code))
                continue
            found = {key: codes[fields[key]] for key in mine}
            if None in found.values():  # expired entries: their keys go
                dels.extend([key for key, code in found.items() if code is None])
                found = {key: code for key, code in found.items() if code is not None}
            sets.update(found)  # type: ignore[arg-type]  # None filtered out above
        for key in shared:
            signature = tuple((s, f[key]) for s, f in present if key in f)
            code = self.code(signature)
            if code is None:
                dels.append(key)
            else:
                sets[key] = code
        if len(sets) + len(dels) < len(keys):  # listed by no source any more
            dels.extend(keys.difference(sets, dels))
        return sets, dels
