"""Writing entries as a `screening-feed/v1` snapshot: our export format.

The output reads back through `parse_feed(..., "screening-feed/v1", ...)` into the same
entries (source and added_by aside: the header names one source, the importer sets added_by).
Numbers are written as E.164 (`+31201234567`), blocks as `+3190012345*`. The header carries
`record_count` and `sha256` (computed as `screening_feed` documents), so the records are
built in memory before anything is written: about 150 bytes per entry.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from typing import IO, Any

from blocklist.entries import Entry
from blocklist.errors import InvalidEntryError
from blocklist.feeds.model import SOURCE_PATTERN
from blocklist.feeds.screening_feed import FORMAT


def write_screening_feed(
    entries: Iterable[Entry],
    source: str,
    out: IO[bytes],
    *,
    jsonl: bool,
    generated_at: dt.datetime | None = None,
) -> int:
    """Write a snapshot of `entries` as JSON Lines or one JSON document; returns the count."""
    if not SOURCE_PATTERN.fullmatch(source):
        raise InvalidEntryError(f"source {source!r}: expected 1-64 of A-Z a-z 0-9 _ . -")
    moment = generated_at or dt.datetime.now(dt.UTC)
    records = [record_of(entry) for entry in entries]
    header: dict[str, Any] = {
        "format": FORMAT,
        "source": source,
        "mode": "snapshot",
        "generated_at": moment.isoformat().replace("+00:00", "Z"),
        "record_count": len(records),
    }
    if jsonl:
        lines = [_dumps(record).encode() + b"\n" for record in records]
        digest = hashlib.sha256()
        for line in lines:
            digest.update(line)
        header["sha256"] = digest.hexdigest()
        out.write(_dumps({"feed": header}).encode() + b"\n")
        out.writelines(lines)
    else:
        canonical = json.dumps(records, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
        header["sha256"] = hashlib.sha256(canonical.encode()).hexdigest()
        out.write(_dumps({"feed": header, "records": records}).encode() + b"\n")
    return len(records)


def record_of(entry: Entry) -> dict[str, str]:
    """One entry as a screening-feed/v1 record."""
    record = {"prefix" if entry.is_prefix else "number": entry.label,
              "category": entry.category.value, "applies_to": entry.applies_to.value}
    for name in ("reference", "reason"):
        value = getattr(entry, name)
        if value:
            record[name] = value
    for name in ("listed_at", "valid_until"):
        day = getattr(entry, name)
        if day is not None:
            record[name] = day.isoformat()
    return record


def _dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
