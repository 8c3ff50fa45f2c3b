"""API keys (`blocklist.store.apikeys`) on a real Redis: made, authenticated, revoked."""

from __future__ import annotations

import pytest

from blocklist.errors import InvalidEntryError
from blocklist.store.apikeys import Role, authenticate, create_key, list_keys, revoke_key


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


def test_only_the_hash_of_a_key_is_stored(store) -> None:
    """The token is in none of the stored values, only its SHA-256."""
    _, token = create_key(store, "desk", Role.READ, created_by="tests")
    stored = store.redis.hgetall(store.keys.apikeys)
    assert len(stored) == 1 and token not in repr(stored)


def test_bad_key_name_is_refused_naming_it(store) -> None:
    """A name outside the allowed characters is refused with the name in the message."""
    with pytest.raises(InvalidEntryError, match="'bad name!'"):
        create_key(store, "bad name!", Role.READ, created_by="tests")
    assert list_keys(store) == []


def test_revoking_an_unknown_key_says_so(store) -> None:
    """Revoking an id that is no key returns None and changes nothing."""
    assert revoke_key(store, "000000000000") is None


@pytest.mark.parametrize(("held", "needed", "allowed"), [
    (Role.READ, Role.READ, True), (Role.READ, Role.WRITE, False),
    (Role.WRITE, Role.READ, True), (Role.WRITE, Role.ADMIN, False),
    (Role.ADMIN, Role.WRITE, True),
])
def test_roles_rank(held, needed, allowed) -> None:
    """read < write < admin."""
    assert held.allows(needed) is allowed
