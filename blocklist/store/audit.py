"""The audit trail: who changed what, when and why. Every change to the blocklist's contents,
allowlists, subscribers, API keys and feeds (syncs, forced syncs) is recorded here.

    {cs}:audit               stream  one event per change, fields `actor`, `action`, `target`,
                                     `detail` (JSON object), `reason`; the stream id is when.
                                     Trimmed to about `max_events` (XADD MAXLEN ~).

`record` is the one way in (the API, the CLI and the feed sync call it); `events` reads back,
newest first, with filters and a cursor (the id of the last event seen).

Actions are dotted nouns and verbs: `entry.create`, `entry.update`, `entry.delete`,
`entries.import`, `allowlist.add`, `allowlist.remove`, `subscriber.set`, `subscriber.delete`,
`subscriber.allow`, `subscriber.disallow`, `key.create`, `key.revoke`, `report.listed`,
`report.promote`, `report.dismiss`, `dispute.open`, `dispute.uphold`, `dispute.reject`,
`feed.*` (the feed sync's own).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from blocklist.store.admin import Store
from blocklist.store.redis_boundary import translated_errors

DEFAULT_MAX_EVENTS = 100_000
MAX_TEXT = 500  # actor, action, target and reason are cut here; the detail JSON at 8 KiB
MAX_DETAIL = 8192
_SCAN_BATCH = 500
STREAM_ID = re.compile(r"\d{1,20}-\d{1,20}")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
MAX_ID_PART = 2**64 - 1  # each half of a stream id is an unsigned 64-bit integer


@dataclass(frozen=True, slots=True)
class AuditEvent:
    id: str
    at: dt.datetime
    actor: str
    action: str
    target: str
    reason: str
    detail: dict[str, Any] = field(default_factory=dict)


def record(
    store: Store,
    actor: str,
    action: str,
    target: str,
    detail: Mapping[str, Any] | None = None,
    reason: str = "",
    *,
    max_events: int = DEFAULT_MAX_EVENTS,
) -> str:
    """Append one event; returns its id. Raises StoreError when Redis fails."""
    detail_json = json.dumps(dict(detail or {}), sort_keys=True, default=str, ensure_ascii=False)
    if len(detail_json) > MAX_DETAIL:
        detail_json = json.dumps({"truncated": detail_json[:MAX_DETAIL]})
    fields = {
        "actor": actor[:MAX_TEXT], "action": action[:MAX_TEXT], "target": target[:MAX_TEXT],
        "reason": reason[:MAX_TEXT], "detail": detail_json,
    }
    with translated_errors("append to the audit trail"):
        return str(store.redis.xadd(store.keys.audit, fields, maxlen=max_events,
                                    approximate=True))


def _millis(moment: dt.datetime) -> int:
    """Milliseconds since the epoch; any aware datetime (no OverflowError at year 1)."""
    return (moment - _EPOCH) // dt.timedelta(milliseconds=1)


def _order(event_id: str) -> tuple[int, int]:
    millis, _, seq = event_id.partition("-")
    return int(millis), int(seq or 0)


def _event(event_id: str, fields: Mapping[str, str]) -> AuditEvent:
    millis = int(event_id.split("-", 1)[0])
    try:
        detail = json.loads(fields.get("detail") or "{}")
    except ValueError:
        detail = {}
    return AuditEvent(
        id=event_id, at=dt.datetime.fromtimestamp(millis / 1000, dt.UTC),
        actor=fields.get("actor", ""), action=fields.get("action", ""),
        target=fields.get("target", ""), reason=fields.get("reason", ""),
        detail=detail if isinstance(detail, dict) else {"value": detail},
    )


def _wanted(event: AuditEvent, actor: str | None, action: str | None,
            target: str | None) -> bool:
    if actor is not None and event.actor != actor:
        return False
    if action is not None and event.action != action and not event.action.startswith(
        action + "."
    ):
        return False
    return target is None or event.target == target


def events(
    store: Store,
    *,
    actor: str | None = None,
    action: str | None = None,
    target: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    cursor: str | None = None,
    limit: int = 100,
) -> tuple[list[AuditEvent], str | None]:
    """Events newest first, filtered; and the cursor for the next page (None at the end).

    `action` matches exactly or as a dotted prefix (`entry` matches `entry.create`);
    `cursor` is the id of the last event of the previous page.
    """
    if cursor is not None:
        if not STREAM_ID.fullmatch(cursor) or max(_order(cursor)) > MAX_ID_PART:
            raise ValueError(f"cursor {cursor[:80]!r} is not an audit event id"
                             " (MILLISECONDS-SEQUENCE, each at most 2**64-1)")
        if _order(cursor) == (0, 0):
            return [], None  # nothing is older than the first possible id
    high = "+"
    if until is not None:
        until_ms = _millis(until)
        if until_ms < 0:
            return [], None  # before the first possible event
        high = f"{until_ms}-18446744073709551615"
    if cursor is not None and (high == "+" or _order(cursor) <= _order(high)):
        high = f"({cursor}"
    low = f"{max(0, _millis(since))}-0" if since is not None else "-"
    found: list[AuditEvent] = []
    with translated_errors("read the audit trail"):
        while len(found) < limit:
            batch = store.redis.xrevrange(store.keys.audit, max=high, min=low, count=_SCAN_BATCH)
            if not batch:
                return found, None
            for event_id, fields in batch:
                event = _event(event_id, fields)
                if _wanted(event, actor, action, target):
                    found.append(event)
                    if len(found) == limit:
                        return found, event.id
            last = batch[-1][0]
            high = f"({last}"
            if len(batch) < _SCAN_BATCH:
                return found, None
    return found, None
