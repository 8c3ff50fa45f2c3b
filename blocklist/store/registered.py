"""Numbers registered for use from abroad: origin screening's first exception.

An enterprise whose contact centre abroad calls with its Dutch numbers registers them (a
number, or a block), with a reason and an end date. A home caller ID arriving from abroad
that is registered is allowed by origin screening (`blocklist.origin`, rule 5); it never
bypasses the blocklist: a listed registered number is still warned or blocked.

    {cs}:registered          hash  `n<digits>` (number) or `p<digits>` (block) -> the last
                                   valid day as days since 1970 (0: no end). The call path
                                   reads it in the screening's one round trip.
    {cs}:registered:meta     hash  the same fields -> JSON {reason, valid_until, created_at,
                                   created_by}

Both hashes change together (one transaction). An expired registration stops counting on
the day after its end date, as a listing does; `purge_expired` drops it. The API and the CLI
record each change in the audit trail (`registered.add`, `registered.remove`).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from blocklist.store.admin import Store
from blocklist.store.layout import day_number
from blocklist.store.redis_boundary import translated_errors

MAX_REASON = 500


@dataclass(frozen=True, slots=True)
class Registration:
    """One registered number (`is_prefix` false) or block, as stored."""

    key: str  # international digits
    is_prefix: bool
    reason: str
    valid_until: dt.date | None
    created_at: str
    created_by: str

    @property
    def label(self) -> str:
        """`+31201234567`, or `+3120123*` for a block."""
        return "+" + self.key + ("*" if self.is_prefix else "")


def _field(key: str, is_prefix: bool) -> str:
    return ("p" if is_prefix else "n") + key


def register(store: Store, key: str, is_prefix: bool, reason: str,
             valid_until: dt.date | None, actor: str, *,
             now: dt.datetime | None = None) -> Registration:
    """Register (or re-register, replacing its reason and end date) a number or block.

    `key` is international digits, already read and checked by the caller (the plan's
    `parse_exact` or `parse_prefix`: never a protected number). Raises ValueError for a
    reason over MAX_REASON characters or an end date already past.
    """
    if not key.isdigit():
        raise ValueError(f"key {key!r} is not digits")
    if len(reason) > MAX_REASON:
        raise ValueError(f"reason is {len(reason)} characters, at most {MAX_REASON}")
    at = now or dt.datetime.now(dt.UTC)
    if valid_until is not None and valid_until < at.date():
        raise ValueError(f"valid_until {valid_until.isoformat()} is in the past")
    registration = Registration(key, is_prefix, reason, valid_until,
                                at.isoformat(timespec="seconds"), actor)
    meta = {"reason": reason, "valid_until": valid_until.isoformat() if valid_until else None,
            "created_at": registration.created_at, "created_by": actor}
    name = _field(key, is_prefix)
    days = day_number(valid_until) if valid_until is not None else 0
    with translated_errors("register a number for use from abroad"):
        pipe = store.redis.pipeline(transaction=True)
        pipe.hset(store.keys.registered, name, str(days))
        pipe.hset(store.keys.registered_meta, name, json.dumps(meta, sort_keys=True))
        pipe.execute()
    return registration


def unregister(store: Store, key: str, is_prefix: bool) -> bool:
    """Remove a registration; False when there was none."""
    name = _field(key, is_prefix)
    with translated_errors("remove a registration"):
        pipe = store.redis.pipeline(transaction=True)
        pipe.hdel(store.keys.registered, name)
        pipe.hdel(store.keys.registered_meta, name)
        removed, _ = pipe.execute()
    return bool(removed)


def registrations(store: Store) -> list[Registration]:
    """Every registration, numbers and blocks, in key order."""
    with translated_errors("list registrations"):
        raw = store.redis.hgetall(store.keys.registered_meta)
    found = []
    for name, text in raw.items():
        meta = json.loads(text)
        until = meta.get("valid_until")
        found.append(Registration(
            name[1:], name[0] == "p", meta.get("reason", ""),
            dt.date.fromisoformat(until) if until else None,
            meta.get("created_at", ""), meta.get("created_by", ""),
        ))
    return sorted(found, key=lambda r: (r.key, r.is_prefix))


def purge_expired(store: Store, today: dt.date | None = None) -> int:
    """Drop registrations whose end date has passed; returns how many."""
    day = today or dt.datetime.now(dt.UTC).date()
    gone = [r for r in registrations(store) if r.valid_until is not None and r.valid_until < day]
    for registration in gone:
        unregister(store, registration.key, registration.is_prefix)
    return len(gone)
