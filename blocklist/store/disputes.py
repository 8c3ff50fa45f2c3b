"""Disputes: the owner of a listed number says it is wrongly listed, and the fraud desk decides.

A dispute goes `open` -> `upheld` or `rejected`, once. Upholding unlists the number: its
manual entry is removed, and when anything else still lists it (a feed's entry, a block,
the reports) the number is allowlisted, since a feed's entries change only through its sync.
Who opened and decided a dispute, and why, is kept here; the API also records each step in
the audit trail.

    {cs}:dispute:<id>          hash  `number` (digits), `contact`, `text`, `status`,
                                     `opened_at`, `opened_by`, `decided_at`, `decided_by`,
                                     `reason`, `removed` (JSON list of keys), `allowlisted`
    {cs}:disputes              zset  id -> id: every dispute, for paging newest first
    {cs}:disputes:seq          string  the last id handed out
    {cs}:disputes:n:<digits>   set   the number's open dispute ids
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Literal

from blocklist.entries import MANUAL_SOURCE
from blocklist.errors import CallscreenError
from blocklist.store.admin import Store
from blocklist.store.redis_boundary import translated_errors

Status = Literal["open", "upheld", "rejected"]
STATUSES: tuple[Status, ...] = ("open", "upheld", "rejected")
MAX_CONTACT = 200
MAX_TEXT = 2000
_PAGE_BATCH = 200

# KEYS[1] the dispute, KEYS[2] the number's open set. ARGV: id, status, then field/value
# pairs. Moves an open dispute on, in one step: 1, or 0 when it was not open (or is gone).
_DECIDE_SCRIPT = """
if redis.call('HGET', KEYS[1], 'status') ~= 'open' then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[2], unpack(ARGV, 3))
redis.call('SREM', KEYS[2], ARGV[1])
return 1
"""


class DisputeClosedError(CallscreenError):
    """A dispute that is no longer open was to be upheld or rejected."""


@dataclass(frozen=True, slots=True)
class Dispute:
    id: int
    number: str  # digits
    contact: str
    text: str
    status: Status
    opened_at: dt.datetime
    opened_by: str
    decided_at: dt.datetime | None = None
    decided_by: str = ""
    reason: str = ""
    removed: list[str] = field(default_factory=list)  # upheld: entry labels removed
    allowlisted: bool = False  # upheld: the number was allowlisted


def open_dispute(store: Store, number_digits: str, contact: str, text: str, actor: str, *,
                 now: dt.datetime | None = None) -> Dispute:
    """Record a new open dispute about a number. Raises ValueError for text over the bounds
    (the API checks them first, with field names)."""
    if not number_digits.isdigit():
        raise ValueError(f"number {number_digits!r} is not digits")
    if not 0 < len(contact) <= MAX_CONTACT or not 0 < len(text) <= MAX_TEXT:
        raise ValueError(f"a dispute needs a contact of 1-{MAX_CONTACT} characters and a text"
                         f" of 1-{MAX_TEXT}")
    at = (now or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds")
    keys = store.keys
    with translated_errors("open a dispute"):
        dispute_id = int(store.redis.incr(keys.disputes_seq))
        pipe = store.redis.pipeline(transaction=True)
        pipe.hset(keys.dispute(dispute_id), mapping={
            "number": number_digits, "contact": contact, "text": text, "status": "open",
            "opened_at": at, "opened_by": actor,
        })
        pipe.zadd(keys.disputes, {str(dispute_id): dispute_id})
        pipe.sadd(keys.number_disputes(number_digits), str(dispute_id))
        pipe.execute()
    store.confirm_durable(f"dispute {dispute_id}")
    found = get_dispute(store, dispute_id)
    assert found is not None
    return found


def get_dispute(store: Store, dispute_id: int) -> Dispute | None:
    with translated_errors("read a dispute"):
        return _dispute(dispute_id, store.redis.hgetall(store.keys.dispute(dispute_id)))


def list_disputes(store: Store, *, status: Status | None = None, before: int | None = None,
                  limit: int = 100) -> tuple[list[Dispute], int | None]:
    """Disputes newest first, of one status if given, with ids below `before` (the cursor);
    and the cursor for the next page (None at the end)."""
    found: list[Dispute] = []
    high = f"({before}" if before is not None else "+inf"
    with translated_errors("list disputes"):
        while True:
            ids = [int(i) for i in store.redis.zrevrangebyscore(
                store.keys.disputes, high, "-inf", start=0, num=_PAGE_BATCH)]
            if not ids:
                return found, None
            pipe = store.redis.pipeline(transaction=False)
            for dispute_id in ids:
                pipe.hgetall(store.keys.dispute(dispute_id))
            for dispute_id, stored in zip(ids, pipe.execute(), strict=True):
                dispute = _dispute(dispute_id, stored)
                if dispute is not None and (status is None or dispute.status == status):
                    found.append(dispute)
                    if len(found) == limit:
                        return found, dispute_id
            if len(ids) < _PAGE_BATCH:
                return found, None
            high = f"({ids[-1]}"


def open_disputes(store: Store, number_digits: str) -> list[Dispute]:
    """A number's open disputes, oldest first."""
    with translated_errors("read a number's disputes"):
        ids = sorted(int(i) for i in store.redis.smembers(store.keys.number_disputes(
            number_digits)))
    found = [get_dispute(store, i) for i in ids]
    return [d for d in found if d is not None and d.status == "open"]


def reject(store: Store, dispute_id: int, actor: str, reason: str, *,
           now: dt.datetime | None = None) -> Dispute:
    """Close an open dispute as rejected: the listing stays. Raises DisputeClosedError when it
    is not open, KeyError when there is no such dispute."""
    return _decide(store, dispute_id, "rejected", actor, reason, now, [], allowlisted=False)


def uphold(store: Store, dispute_id: int, actor: str, reason: str, *,
           now: dt.datetime | None = None) -> Dispute:
    """Close an open dispute as upheld and unlist the number: its manual entry is removed,
    and if any entry still matches it (a feed's, a block, the reports) the number is
    allowlisted. Raises DisputeClosedError when it is not open, KeyError when there is none.

    The dispute is closed first, so two people upholding at once unlist it once; if
    unlisting then fails (the store went away), the dispute is opened again and the error
    raised.
    """
    dispute = _require_open(store, dispute_id)
    at = now or dt.datetime.now(dt.UTC)
    _decide(store, dispute_id, "upheld", actor, reason, at, [], allowlisted=False)
    digits = dispute.number
    try:
        removed = store.remove_entries(MANUAL_SOURCE, [(digits, False)])
        remaining = [e for e in store.explain(digits) if not e.expired(at.date())]
        if remaining:
            store.allow((digits, False), {
                "reason": f"dispute {dispute_id} upheld: {reason}"[:500], "by": actor,
                "at": at.isoformat(timespec="seconds"),
            })
    except Exception:
        with translated_errors("reopen a dispute"):
            pipe = store.redis.pipeline(transaction=True)
            pipe.hset(store.keys.dispute(dispute_id), "status", "open")
            pipe.hdel(store.keys.dispute(dispute_id), "decided_at", "decided_by", "reason",
                      "removed", "allowlisted")
            pipe.sadd(store.keys.number_disputes(digits), str(dispute_id))
            pipe.execute()
        raise
    labels = ["+" + digits] if removed else []
    with translated_errors("record a dispute's outcome"):
        store.redis.hset(store.keys.dispute(dispute_id), mapping={
            "removed": json.dumps(labels), "allowlisted": "1" if remaining else "0"})
    found = get_dispute(store, dispute_id)
    assert found is not None
    return found


def _require_open(store: Store, dispute_id: int) -> Dispute:
    dispute = get_dispute(store, dispute_id)
    if dispute is None:
        raise KeyError(dispute_id)
    if dispute.status != "open":
        raise DisputeClosedError(f"dispute {dispute_id} is already {dispute.status}")
    return dispute


def _decide(store: Store, dispute_id: int, status: Status, actor: str, reason: str,
            now: dt.datetime | None, removed: list[str], *, allowlisted: bool) -> Dispute:
    dispute = _require_open(store, dispute_id)
    at = (now or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds")
    keys = store.keys
    with translated_errors("decide a dispute"):
        changed = store.redis.eval(
            _DECIDE_SCRIPT, 2, keys.dispute(dispute_id), keys.number_disputes(dispute.number),
            str(dispute_id), status, "decided_at", at, "decided_by", actor, "reason", reason,
            "removed", json.dumps(removed), "allowlisted", "1" if allowlisted else "0",
        )
    if not changed:
        raise DisputeClosedError(f"dispute {dispute_id} was decided meanwhile")
    store.confirm_durable(f"the decision on dispute {dispute_id}")
    found = get_dispute(store, dispute_id)
    assert found is not None
    return found


def _dispute(dispute_id: int, stored: dict[str, str]) -> Dispute | None:
    if not stored:
        return None
    status = stored.get("status", "open")
    decided = stored.get("decided_at")
    try:
        removed = json.loads(stored.get("removed") or "[]")
    except ValueError:
        removed = []
    return Dispute(
        id=dispute_id, number=stored.get("number", ""), contact=stored.get("contact", ""),
        text=stored.get("text", ""),
        status=status if status in STATUSES else "open",
        opened_at=dt.datetime.fromisoformat(stored["opened_at"]),
        opened_by=stored.get("opened_by", ""),
        decided_at=dt.datetime.fromisoformat(decided) if decided else None,
        decided_by=stored.get("decided_by", ""), reason=stored.get("reason", ""),
        removed=[str(r) for r in removed] if isinstance(removed, list) else [],
        allowlisted=stored.get("allowlisted") == "1",
    )
