"""Where the admin side meets redis-py: its exceptions become ours, and the few Redis idioms
written once (token locks, chunked reads).

A leaf: it imports nothing of ours but `blocklist.errors`, so every other module of the store
can use it. Nothing else in callscreen catches `redis.exceptions` (httpx's
`map_httpcore_exceptions` does the same for httpcore):

    redis-py raises                                  callscreen raises
    ConnectionError, TimeoutError (no answer)        StoreError
    an error reply the server sends when it can't    StoreError
      serve now (READONLY after a failover, OOM,
      LOADING, BUSY, MISCONF, CLUSTERDOWN, ...)
    any other error reply (ERR ..., WRONGTYPE, ...)  StoreCommandError: the store is up and
                                                     refused this command (a bad argument)
    DataError (redis-py refused the argument)        StoreCommandError
    anything else of redis-py's                      StoreError

Locks are a random token under a key, with expiry (SET NX PX): only the holder's token renews
or releases one, each in one atomic script, so a process whose lock expired never renews or
deletes the lock another process took since.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

from redis import exceptions as redis_errors

from blocklist.errors import StoreCommandError, StoreError

READ_CHUNK = 2000  # keys per MGET: large enough to amortise the round trip, small enough
# that one reply never holds Redis up for long

# Error replies that say the server can't serve now, not that the command was wrong.
_UNAVAILABLE_REPLIES = (
    redis_errors.ReadOnlyError, redis_errors.OutOfMemoryError, redis_errors.ClusterDownError,
    redis_errors.TryAgainError, redis_errors.NoPermissionError,
)
_UNAVAILABLE_CODES = ("BUSY", "LOADING", "MISCONF", "MASTERDOWN", "NOREPLICAS", "READONLY",
                      "OOM", "CLUSTERDOWN", "TRYAGAIN")

# KEYS[1] the lock, ARGV[1] the token, ARGV[2] the new expiry in ms. 1 if still ours, else 0.
_RENEW_SCRIPT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
# KEYS[1] the lock, KEYS[2..] keys to delete with it, ARGV[1] the token. 1 if it was ours.
_RELEASE_SCRIPT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', unpack(KEYS)); return 1 end
return 0
"""


def translate(exc: redis_errors.RedisError, action: str) -> StoreError | StoreCommandError:
    """The callscreen error for a redis-py exception raised while trying to `action`."""
    if isinstance(exc, redis_errors.DataError) or (
        isinstance(exc, redis_errors.ResponseError) and not _unavailable(exc)
    ):
        return StoreCommandError(f"Redis refused to {action}: {exc}")
    return StoreError(f"Redis failed to {action}: {exc}")


def _unavailable(exc: redis_errors.ResponseError) -> bool:
    if isinstance(exc, _UNAVAILABLE_REPLIES):
        return True
    return str(exc).split(" ", 1)[0] in _UNAVAILABLE_CODES


@contextlib.contextmanager
def translated_errors(action: str) -> Iterator[None]:
    """Run the block; a redis-py exception leaves it as `translate(exc, action)`."""
    try:
        yield
    except redis_errors.RedisError as exc:
        raise translate(exc, action) from exc


def take_lock(client: Any, key: str, ttl_s: float) -> str | None:
    """Take the lock `key` for `ttl_s` seconds: its token, or None when another holds it."""
    token = uuid.uuid4().hex
    with translated_errors(f"take the lock {key}"):
        taken = client.set(key, token, nx=True, px=_ms(ttl_s))
    return token if taken else None


def renew_lock(client: Any, key: str, token: str, ttl_s: float) -> bool:
    """Extend the lock to `ttl_s` seconds from now if it still holds `token`; False if not."""
    with translated_errors(f"renew the lock {key}"):
        return bool(client.eval(_RENEW_SCRIPT, 1, key, token, str(_ms(ttl_s))))


def release_lock(client: Any, key: str, token: str, *also_delete: str) -> bool:
    """Delete the lock, and `also_delete` with it, if it still holds `token` (one atomic step:
    never another process's lock taken after ours expired). False when it was not ours."""
    with translated_errors(f"release the lock {key}"):
        return bool(client.eval(_RELEASE_SCRIPT, 1 + len(also_delete), key, *also_delete,
                                token))


def read_strings(client: Any, names: Sequence[str]) -> list[str | None]:
    """GET of every key in `names`, in order, READ_CHUNK keys per MGET."""
    values: list[str | None] = []
    with translated_errors("read keys"):
        for start in range(0, len(names), READ_CHUNK):
            values += client.mget(names[start:start + READ_CHUNK])
    return values


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))
