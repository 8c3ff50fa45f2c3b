"""The admin API's store modules on a real Redis: API keys, reports, the audit stream."""

from __future__ import annotations

import datetime as dt

import pytest

from blocklist.store import audit
from blocklist.store.apikeys import Role, authenticate, create_key, list_keys, revoke_key
from blocklist.store.reports import add_report, count_reporters

T0 = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)


def test_key_authenticates_only_whole(store) -> None:
    """A key authenticates as itself; a changed secret, or a made-up id, does not."""
    key, token = create_key(store, "desk", Role.WRITE, created_by="tests")
    assert authenticate(store, token) == key
    assert authenticate(store, token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert authenticate(store, "csk_000000000000_" + token.split("_", 2)[2]) is None
    assert authenticate(store, "garbage") is None
    assert [k.id for k in list_keys(store)] == [key.id]
    assert revoke_key(store, key.id) == key
    assert authenticate(store, token) is None


@pytest.mark.parametrize(("held", "needed", "allowed"), [
    (Role.READ, Role.READ, True), (Role.READ, Role.WRITE, False),
    (Role.WRITE, Role.READ, True), (Role.WRITE, Role.ADMIN, False),
    (Role.ADMIN, Role.WRITE, True),
])
def test_roles_rank(held, needed, allowed) -> None:
    """read < write < admin."""
    assert held.allows(needed) is allowed


def test_reports_outside_the_window_do_not_count(store) -> None:
    """Reports older than the window are dropped; only recent distinct reporters list."""
    common = {"threshold": 2, "window_s": 3600, "listing_days": 10}
    add_report(store, "31855550101", "+31612345678", now=T0, **common)
    late = add_report(store, "31855550101", "+31612345679",
                      now=T0 + dt.timedelta(hours=2), **common)
    assert (late.reporters, late.entry) == (1, None)
    listed = add_report(store, "31855550101", "+31612345670",
                        now=T0 + dt.timedelta(hours=2, minutes=5), **common)
    assert listed.newly_listed and listed.entry is not None
    assert listed.entry.valid_until == (T0 + dt.timedelta(days=10)).date()
    assert count_reporters(store, "31855550101", window_s=3600,
                           now=T0 + dt.timedelta(hours=2, minutes=5)) == 2
    again = add_report(store, "31855550101", "+31612345671",
                       now=T0 + dt.timedelta(hours=2, minutes=6), **common)
    assert not again.newly_listed


def test_threshold_below_two_is_refused(store) -> None:
    """A threshold of one would let one reporter list a number: refused."""
    with pytest.raises(ValueError, match="at least 2"):
        add_report(store, "31855550101", "x", threshold=1, window_s=60, listing_days=1)


def test_audit_stream_is_capped(store) -> None:
    """The stream is trimmed to about max_events, newest kept."""
    for n in range(300):
        audit.record(store, "t", "entry.create", str(n), max_events=100)
    assert store.redis.xlen(store.keys.audit) < 300
    newest, _ = audit.events(store, limit=1)
    assert newest[0].target == "299"
