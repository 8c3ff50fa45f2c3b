"""The boundary with redis-py (`blocklist.store.redis_boundary`): which of its exceptions
become which of ours, token locks and chunked reads (a real Redis where one is needed)."""

from __future__ import annotations

import pytest
from redis import exceptions as redis_errors

from blocklist.errors import StoreCommandError, StoreError
from blocklist.store.redis_boundary import (
    READ_CHUNK,
    read_strings,
    release_lock,
    renew_lock,
    take_lock,
    translate,
    translated_errors,
)


@pytest.mark.parametrize(("raised", "expected"), [
    (redis_errors.ResponseError("invalid end ID for the interval"), StoreCommandError),
    (redis_errors.ResponseError("WRONGTYPE Operation against a key holding the wrong kind"),
     StoreCommandError),
    (redis_errors.DataError("Invalid input of type: 'NoneType'"), StoreCommandError),
    (redis_errors.ConnectionError("Connection refused"), StoreError),
    (redis_errors.TimeoutError("Timeout reading from socket"), StoreError),
    (redis_errors.BusyLoadingError("Redis is loading the dataset in memory"), StoreError),
    (redis_errors.ReadOnlyError("You can't write against a read only replica."), StoreError),
    (redis_errors.OutOfMemoryError("command not allowed when used memory > 'maxmemory'"),
     StoreError),
    (redis_errors.ResponseError("BUSY Redis is busy running a script"), StoreError),
    (redis_errors.ResponseError("MISCONF Redis is configured to save RDB snapshots"),
     StoreError),
])
def test_redis_errors_become_ours(raised: redis_errors.RedisError, expected: type) -> None:
    """An error reply to a bad command is StoreCommandError; a store that can't serve now
    is StoreError (the two are distinct: one is never 'store unavailable')."""
    error = translate(raised, "do a thing")
    assert type(error) is expected
    assert "do a thing" in str(error) and str(raised) in str(error)


def test_a_command_error_is_not_a_store_error() -> None:
    """Whoever answers StoreError with 'store unavailable' never catches a refused command."""
    assert not issubclass(StoreCommandError, StoreError)


def test_an_error_reply_from_a_real_redis_is_a_command_error(redis_client) -> None:
    """XREVRANGE with an impossible range: Redis refuses it, StoreCommandError says so."""
    redis_client.xadd("{cs}:stream", {"a": "1"})
    with pytest.raises(StoreCommandError, match=r"read the stream.*invalid end ID"), \
            translated_errors("read the stream"):
        redis_client.xrevrange("{cs}:stream", max="(0-0", min="-")


def test_a_store_method_on_a_wrongly_typed_key_is_a_command_error(store) -> None:
    """A key of the wrong type answers WRONGTYPE: StoreCommandError, not StoreError."""
    store.redis.set(store.keys.allow, "not a hash")
    with pytest.raises(StoreCommandError, match="read the allowlist"):
        store.allowlist()


def test_a_lock_is_taken_once_and_released_only_by_its_token(redis_client) -> None:
    """A second take fails; a wrong token neither renews nor releases; the right one does."""
    token = take_lock(redis_client, "{cs}:lock:x", 60)
    assert token is not None
    assert take_lock(redis_client, "{cs}:lock:x", 60) is None
    assert not renew_lock(redis_client, "{cs}:lock:x", "not-the-token", 60)
    assert not release_lock(redis_client, "{cs}:lock:x", "not-the-token")
    assert redis_client.get("{cs}:lock:x") == token
    assert release_lock(redis_client, "{cs}:lock:x", token)
    assert redis_client.get("{cs}:lock:x") is None


def test_renewing_a_lock_extends_its_expiry(redis_client) -> None:
    """Renewal sets the expiry to the new time to live."""
    token = take_lock(redis_client, "{cs}:lock:x", 1)
    assert token is not None and redis_client.pttl("{cs}:lock:x") <= 1000
    assert renew_lock(redis_client, "{cs}:lock:x", token, 60)
    assert redis_client.pttl("{cs}:lock:x") > 1000


def test_releasing_a_lock_deletes_its_companions_only_when_it_is_ours(redis_client) -> None:
    """The keys released with a lock go with it, atomically, and stay when it is not ours."""
    token = take_lock(redis_client, "{cs}:lock:x", 60)
    assert token is not None
    redis_client.set("{cs}:marker", "1")
    assert not release_lock(redis_client, "{cs}:lock:x", "other", "{cs}:marker")
    assert redis_client.get("{cs}:marker") == "1"
    assert release_lock(redis_client, "{cs}:lock:x", token, "{cs}:marker")
    assert redis_client.mget("{cs}:lock:x", "{cs}:marker") == [None, None]


def test_read_strings_reads_more_than_a_chunk_in_order(redis_client) -> None:
    """Keys past one MGET's worth come back in the order asked, missing ones as None."""
    count = READ_CHUNK * 2 + 7
    redis_client.mset({f"{{cs}}:k{n}": str(n) for n in range(0, count, 2)})
    values = read_strings(redis_client, [f"{{cs}}:k{n}" for n in range(count)])
    assert values == [str(n) if n % 2 == 0 else None for n in range(count)]


def test_a_dead_redis_is_store_error() -> None:
    """No Redis at the address: StoreError naming the action."""
    import redis

    dead = redis.Redis.from_url("redis://127.0.0.1:1/0")
    with pytest.raises(StoreError, match="take the lock"):
        take_lock(dead, "{cs}:lock:x", 1)


def test_only_the_boundary_touches_redis_py_s_exceptions(repo_root) -> None:
    """No module of ours but redis_boundary imports or names redis-py's exceptions."""
    import ast

    users = set()
    for package in ("blocklist", "agi", "api"):
        for path in (repo_root / package).rglob("*.py"):
            tree = ast.parse(path.read_text(), str(path))
            for node in ast.walk(tree):
                names = []
                if isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
                elif isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.Attribute) and node.attr == "exceptions":
                    names = [ast.unparse(node)]
                if any(n.startswith("redis.exceptions") for n in names):
                    users.add(str(path.relative_to(repo_root)))
    assert users == {"blocklist/store/redis_boundary.py"}
