"""Console sessions, failed sign-ins and waiting uploads in Redis (`blocklist.store.sessions`)."""

from __future__ import annotations

from blocklist.store.admin import Store
from blocklist.store.apikeys import Role, create_key, revoke_key
from blocklist.store.sessions import (
    create_session,
    drop_upload,
    end_session,
    failed_signins,
    note_failed_signin,
    read_session,
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


def test_failed_sign_ins_count_per_client_within_the_window(store: Store) -> None:
    """Failures add up per client address, and expire with the window."""
    assert [note_failed_signin(store, "192.0.2.1", 60) for _ in range(3)] == [1, 2, 3]
    assert failed_signins(store, "192.0.2.1") == 3
    assert failed_signins(store, "192.0.2.2") == 0
    assert 0 < store.redis.ttl(store.keys.signin_failures(
        store.redis.keys("*signin-fail*")[0].rsplit(":", 1)[1])) <= 60


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
