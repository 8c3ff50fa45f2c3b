"""The apply lock (`blocklist.store.apply_lock`) on a real Redis: renewed while an apply
runs, and an apply that lost it stops before writing more."""

from __future__ import annotations

import time

import pytest

from blocklist.entries import AppliesTo, Category, Entry
from blocklist.errors import LockLostError
from blocklist.store.admin import Store

pytestmark = pytest.mark.redis


def entry(key: str, source: str = "acm", category: Category = Category.REVOKED) -> Entry:
    return Entry(key=key, is_prefix=False, category=category, applies_to=AppliesTo.BOTH,
                 source=source, reference="r")


def listing(store: Store) -> dict[str, dict[str, str]]:
    """The call path's merged listing, every key of it."""
    names = [*store.redis.keys("{cs}:n:*"), store.keys.prefixes]
    return {name: store.redis.hgetall(name) for name in names}


def test_renewal_keeps_a_long_apply_s_lock(redis_client) -> None:
    """Held for several times its expiry, the lock is still ours, and released at the end."""
    # An expiry long enough that a loaded machine still runs the renewal thread in time.
    store = Store(redis_client, apply_lock_s=1.0)
    with store.apply_lock.hold() as lease:
        time.sleep(3.5)  # several expiries: only renewal keeps it
        assert redis_client.get(store.keys.apply_lock) == lease.token
        lease.check()
    assert redis_client.get(store.keys.apply_lock) is None
    assert redis_client.get(store.keys.dirty) is None


def lose_the_lock(store: Store, how: str = "taken") -> None:
    """As if this process stood still past the lock's expiry: the lock expired, or expired
    and another process took it; and a third of the expiry passed, so `check` asks Redis."""
    if how == "taken":
        store.redis.set(store.keys.apply_lock, "another-process")
    else:
        store.redis.delete(store.keys.apply_lock)
    time.sleep(store.apply_lock.ttl_s / 2)


@pytest.mark.parametrize("how", ["taken", "expired"])
def test_a_lost_lock_is_reported_and_left_alone(redis_client, how: str) -> None:
    """Taken by another process, or expired: check raises LockLostError, the other
    process's lock stays, and the dirty marker stays for the next apply to rebuild."""
    store = Store(redis_client, apply_lock_s=0.3)
    with pytest.raises(LockLostError, match="lost the apply lock"), \
            store.apply_lock.hold() as lease:
        lose_the_lock(store, how)
        lease.check()
    expected = "another-process" if how == "taken" else None
    assert redis_client.get(store.keys.apply_lock) == expected
    assert redis_client.get(store.keys.dirty) is not None


def test_a_recently_confirmed_lock_is_checked_without_asking_redis(redis_client) -> None:
    """Within a third of its expiry since it was confirmed ours, check trusts the lock (only
    expiry frees it): no round trip per chunk written."""
    store = Store(redis_client)
    with store.apply_lock.hold() as lease:
        redis_client.set(store.keys.apply_lock, "another-process")  # not how locks go
        lease.check()
        redis_client.set(store.keys.apply_lock, lease.token)


def test_apply_never_releases_a_lock_it_no_longer_holds(store: Store, redis_client) -> None:
    """If the apply lock expired and another process took it, finishing an apply leaves
    that process's lock alone (release compares the token and deletes atomically)."""
    with store.apply_lock.hold():
        redis_client.set(store.keys.apply_lock, "someone-else")  # ours expired; theirs now
    assert redis_client.get(store.keys.apply_lock) == "someone-else"


def _steal_the_lock_once_held(store: Store, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make the first SMEMBERS asked while the apply lock is held lose the lock to another
    process first (as if ours had expired while this one stood still)."""
    stolen: list[str] = []
    smembers = store.redis.smembers

    def stealing(name: str) -> object:
        if not stolen and store.redis.get(store.keys.apply_lock) is not None:
            lose_the_lock(store)
            stolen.append(name)
        return smembers(name)

    monkeypatch.setattr(store.redis, "smembers", stealing)
    return stolen


def test_a_snapshot_that_lost_its_lock_stops_before_writing(
    redis_client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lock taken mid-apply: LockLostError, the source and the listing as they were,
    the dirty marker set; once the other process is done, the next apply completes."""
    store = Store(redis_client, apply_lock_s=0.3)
    store.apply_snapshot("acm", [entry("31851234567"), entry("31851234568")])
    store.add_entries([entry("31859999999", source="other")])
    before_source, before_listing = store.source_entries("acm"), listing(store)
    stolen = _steal_the_lock_once_held(store, monkeypatch)
    with pytest.raises(LockLostError):
        store.apply_snapshot("acm", [entry("31851234567"), entry("31857777777")],
                             max_removal_ratio=0.5)
    assert stolen
    assert store.source_entries("acm") == before_source
    assert listing(store) == before_listing
    assert store.redis.get(store.keys.dirty) is not None
    store.redis.delete(store.keys.apply_lock)  # the other process finished
    # A fresh store with the default expiry: this apply must not depend on how fast a
    # loaded machine runs the short-lived lock's renewal thread.
    report = Store(redis_client).apply_snapshot("acm", [entry("31851234567"), entry("31857777777")],
                                  max_removal_ratio=0.5)
    assert (report.added, report.removed) == ([("31857777777", False)],
                                              [("31851234568", False)])
    assert store.redis.get(store.keys.dirty) is None


def test_a_delta_that_lost_its_lock_writes_nothing(
    redis_client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lock taken mid-delta: LockLostError, and none of the delta is written."""
    store = Store(redis_client, apply_lock_s=0.3)
    store.add_entries([entry("31851234567")])
    before_source, before_listing = store.source_entries("acm"), listing(store)
    _steal_the_lock_once_held(store, monkeypatch)
    with pytest.raises(LockLostError):
        store.apply_delta("acm", [entry("31857777777")], [("31851234567", False)])
    assert store.source_entries("acm") == before_source
    assert listing(store) == before_listing
