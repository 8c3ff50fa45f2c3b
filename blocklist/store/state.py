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
from collections.abc import Callable, Iterable, Iterator, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any, overload

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
            elif (f := key[:-4]) and key[0] != "0":  # `split`, inlined: more than 4 digits
                by_suffix[key[-4:]][f] = meta  # a defaultdict: one lookup per row
            else:
                bucket_id, f = split(key)
                by_suffix[f"{bucket_id:04d}"][f] = meta
        numbers = self.numbers
        for suffix, found in by_suffix.items():
            bucket_id = int(suffix)
            if bucket_id in numbers:
                numbers[bucket_id].update(found)
            else:
                numbers[bucket_id] = found

    @property
    def count(self) -> int:
        return sum(map(len, self.numbers.values())) + len(self.prefixes)

    def named(self) -> set[str]:
        """What `name` gave each distinct provenance gathered (with no `name`: their JSON):
        every value a key holds is one of these."""
        return set(self._by_provenance.values())


class KeyList(Sequence[EntryKey]):
    """Keys of a report (added, removed or changed), counted at once, listed when first read.

    A snapshot of a million new numbers says how many at once, and builds the million
    (digits, is_prefix) pairs only when someone reads them, after the apply: building them
    is a tenth of the apply's Python time. `defer` adds keys that
    way; `append` and `extend` add them at once. Compares equal to a list of the same keys.
    """

    __slots__ = ("_count", "_keys", "_pending")

    def __init__(self, keys: Iterable[EntryKey] = ()) -> None:
        self._keys = list(keys)
        self._pending: list[Callable[[], Iterable[EntryKey]]] = []
        self._count = len(self._keys)

    def defer(self, count: int, produce: Callable[[], Iterable[EntryKey]]) -> None:
        """`count` keys, which `produce` lists when they are first read."""
        if count:
            self._pending.append(produce)
            self._count += count

    def append(self, key: EntryKey) -> None:
        self._settled().append(key)
        self._count += 1

    def extend(self, keys: Iterable[EntryKey]) -> None:
        settled = self._settled()
        before = len(settled)
        settled.extend(keys)
        self._count += len(settled) - before

    def _settled(self) -> list[EntryKey]:
        if self._pending:
            pending, self._pending = self._pending, []
            for produce in pending:
                self._keys.extend(produce())
        return self._keys

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> EntryKey: ...
    @overload
    def __getitem__(self, index: slice) -> list[EntryKey]: ...
    def __getitem__(self, index: int | slice) -> EntryKey | list[EntryKey]:
        return self._settled()[index]

    def __iter__(self) -> Iterator[EntryKey]:
        return iter(self._settled())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, KeyList | list):
            return self._settled() == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable, like a list

    def __repr__(self) -> str:
        return f"KeyList({self._settled()!r})"


@dataclass(slots=True)
class ApplyReport:
    """What an apply (a snapshot, a delta) changed in one source, or would (`dry_run`)."""

    source: str
    added: KeyList = field(default_factory=KeyList)
    removed: KeyList = field(default_factory=KeyList)
    changed: KeyList = field(default_factory=KeyList)
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
        self._uniform: dict[str, str | None] = {}  # source -> the code of all its entries

    def declare(self, source: str, meta_ids: Iterable[str]) -> None:
        """Tell the merger that `source`'s fields, in every `listings` call, hold only these
        meta ids. When they all give one code (a feed of one category and no end dates: the
        common case), a key listed by that source alone gets it without a look at its id."""
        codes = {self.code(((source, i),)) for i in set(meta_ids)}
        if len(codes) == 1:
            self._uniform[source] = codes.pop()

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
        self, keys: AbstractSet[str], present: list[tuple[str, dict[str, str]]]
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
            mine = fields.keys() & keys  # a set, built iterating the smaller of the two
            if mine:
                if seen:
                    shared |= seen & mine
                seen |= mine
                listing.append((source, fields, mine))
        for source, fields, mine in listing:
            if shared:
                mine -= shared
            codes = self._single.get(source)
            if codes is None:
                codes = self._single[source] = {}
            if source in self._uniform:  # one listing for all of them, whatever the id
                distinct = {self._uniform[source]}
            else:
                ids = set(map(fields.__getitem__, mine))
                for meta_id in ids.difference(codes):
                    codes[meta_id] = self.code(((source, meta_id),))
                distinct = set(map(codes.__getitem__, ids))
            if len(distinct) == 1:  # one listing for all of them: the common case
                (code,) = distinct
                if code is None:
                    dels.extend(mine)
                elif sets:
                    sets.update(dict.fromkeys(mine, code))
                else:
                    sets = dict.fromkeys(mine, code)
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
            dels.extend(keys - sets.keys() - set(dels))
        return sets, dels
