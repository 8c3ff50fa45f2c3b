"""The audit trail (`blocklist.store.audit`) on a real Redis: recorded, capped, filtered."""

from __future__ import annotations

import pytest

from blocklist.store import audit


def test_audit_stream_is_capped(store) -> None:
    """The stream is trimmed to about max_events, newest kept."""
    for n in range(300):
        audit.record(store, "t", "entry.create", str(n), max_events=100)
    assert store.redis.xlen(store.keys.audit) < 300
    newest, _ = audit.events(store, limit=1)
    assert newest[0].target == "299"


def test_events_filter_by_dotted_action_and_page_by_cursor(store) -> None:
    """`entry` matches `entry.create` but not `entries.import`; the cursor pages on."""
    for n in range(3):
        audit.record(store, "desk", "entry.create", f"e{n}", {"n": n})
    audit.record(store, "desk", "entries.import", "acm")
    first, cursor = audit.events(store, action="entry", limit=2)
    assert [e.target for e in first] == ["e2", "e1"] and cursor == first[-1].id
    rest, end = audit.events(store, action="entry", cursor=cursor, limit=2)
    assert [e.target for e in rest] == ["e0"] and end is None
    assert rest[0].detail == {"n": 0}


def test_a_cursor_that_is_no_event_id_is_refused_naming_it(store) -> None:
    """A malformed cursor is a ValueError naming it, not a Redis error."""
    with pytest.raises(ValueError, match="'nope'"):
        audit.events(store, cursor="nope")
