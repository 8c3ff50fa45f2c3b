"""Console sessions, failed sign-ins and waiting uploads in Redis (`blocklist.store.sessions`)."""

from __future__ import annotations

from blocklist.store.admin import Store
from blocklist.store.apikeys import Role, create_key, revoke_key
from blocklist.store.sessions import (
    count_signin_attempt,
    create_session,
    drop_upload,
    end_session,
    read_session,
    refund_signin_attempt,
    stash_upload,
    stashed_upload,
)


def test_a_session_reads_back_with_its_key_and_stores_no_token(store: Store) -> None:
    """The token finds the session and its key; Redis holds only the token's hash."""
    key, _ = create_key(store, "desk", Role.WRITE, "tests")
    token, session = create_session(store, key, ttl_s=60)
    found = read_session(store, token)
    assert found is not None
    assert (found.key, found.csrf) == (key, session.csrf)
    assert all(token not in name for name in store.redis.keys("*"))
    assert 0 < store.redis.ttl(store.keys.session(session.token_hash)) <= 60


def test_unknown_ended_and_revoked_sessions_read_as_none(store: Store) -> None:
    """A made-up token, an ended session and a revoked key's session are no session."""
    key, _ = create_key(store, "desk", Role.READ, "tests")
    ended, ended_session = create_session(store, key, ttl_s=60)
    revoked, _ = create_session(store, key, ttl_s=60)
    end_session(store, ended_session)
    assert read_session(store, "made-up") is None
    assert read_session(store, "x" * 500) is None
    assert read_session(store, ended) is None
    assert read_session(store, revoked) is not None
    revoke_key(store, key.id)
    assert read_session(store, revoked) is None


def test_sign_in_attempts_count_per_client_within_the_window(store: Store) -> None:
    """Attempts add up per client address, and expire with the window."""
    assert [count_signin_attempt(store, "192.0.2.1", 60) for _ in range(3)] == [1, 2, 3]
    assert count_signin_attempt(store, "192.0.2.2", 60) == 1
    names = store.redis.keys("*signin-fail*")
    assert len(names) == 2
    assert all(0 < store.redis.ttl(name) <= 60 for name in names)


def test_a_refund_takes_back_one_attempt_and_never_outlives_the_window(store: Store) -> None:
    """A refund lowers that client's count by one only, and after the window (the key gone)
    creates nothing: no count without an expiry."""
    for _ in range(3):
        count_signin_attempt(store, "192.0.2.1", 60)
    count_signin_attempt(store, "192.0.2.2", 60)
    refund_signin_attempt(store, "192.0.2.1")
    assert count_signin_attempt(store, "192.0.2.1", 60) == 3
    assert count_signin_attempt(store, "192.0.2.2", 60) == 2
    store.redis.delete(*store.redis.keys("*signin-fail*"))  # the window ended
    refund_signin_attempt(store, "192.0.2.1")
    assert store.redis.keys("*signin-fail*") == []


def test_an_upload_waits_for_its_session_only(store: Store) -> None:
    """A stashed upload comes back byte for byte to its session, and goes when dropped or
    when the session ends."""
    key, _ = create_key(store, "desk", Role.WRITE, "tests")
    _, mine = create_session(store, key, ttl_s=60)
    _, other = create_session(store, key, ttl_s=60)
    data = b"number\n\xff\x00085 555 0101\n"
    stash_upload(store, mine, data, ttl_s=60)
    assert stashed_upload(store, mine) == data
    assert stashed_upload(store, other) is None
    drop_upload(store, mine)
    assert stashed_upload(store, mine) is None
    stash_upload(store, mine, data, ttl_s=60)
    end_session(store, mine)
    assert stashed_upload(store, mine) is None
