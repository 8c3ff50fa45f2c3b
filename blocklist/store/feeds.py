"""Feed sync state in Redis: configurations, per-feed state, run history, sync locks.

The only module that knows these keys (all in the store's `{P}` slot):

    {cs}:feeds                  hash    feed id -> configuration JSON (as given, validated)
    {cs}:feed:<id>:state        hash    etag, last_modified, last_success, last_run
    {cs}:feed:<id>:runs         list    run records (JSON), newest first, capped
    {cs}:lock:feed:<id>         string  the sync lock: a token, with expiry

Redis errors leave as `StoreError`. Values are JSON written by us; a value we can't read is
reported as `StoreError`, not silently dropped.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

from blocklist.errors import StoreError
from blocklist.store.admin import RELEASE_LOCK_SCRIPT, Store, translated_errors

MAX_RUNS = 50
def _loads(raw: str, what: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        raise StoreError(f"stored {what} is not JSON: {raw[:80]!r}") from None


def save_config(store: Store, feed_id: str, config: Mapping[str, Any]) -> None:
    with translated_errors(f"save feed {feed_id!r}"):
        store.redis.hset(store.keys.key("feeds"), feed_id, json.dumps(dict(config),
                                                                       sort_keys=True))


def delete_config(store: Store, feed_id: str) -> bool:
    """Forget a feed's configuration, state and history (its entries stay until removed)."""
    with translated_errors(f"delete feed {feed_id!r}"):
        removed = store.redis.hdel(store.keys.key("feeds"), feed_id)
        store.redis.delete(store.keys.key(f"feed:{feed_id}:state"),
                           store.keys.key(f"feed:{feed_id}:runs"))
    return bool(removed)


def configs(store: Store) -> dict[str, dict[str, Any]]:
    """Every stored feed configuration, by id."""
    with translated_errors("read feed configurations"):
        raw: dict[str, str] = store.redis.hgetall(store.keys.key("feeds"))
    return {k: _loads(v, f"feed {k!r}") for k, v in sorted(raw.items())}


def config(store: Store, feed_id: str) -> dict[str, Any] | None:
    with translated_errors(f"read feed {feed_id!r}"):
        raw = store.redis.hget(store.keys.key("feeds"), feed_id)
    return None if raw is None else dict(_loads(raw, f"feed {feed_id!r}"))


def state(store: Store, feed_id: str) -> dict[str, str]:
    """etag, last_modified, last_success (Unix seconds), last_run (Unix seconds), ..."""
    with translated_errors(f"read the state of feed {feed_id!r}"):
        return dict(store.redis.hgetall(store.keys.key(f"feed:{feed_id}:state")))


def update_state(store: Store, feed_id: str, values: Mapping[str, str | None]) -> None:
    """Set the given fields; a None value removes the field."""
    key = store.keys.key(f"feed:{feed_id}:state")
    sets = {k: v for k, v in values.items() if v is not None}
    dels = [k for k, v in values.items() if v is None]
    with translated_errors(f"write the state of feed {feed_id!r}"):
        if sets:
            store.redis.hset(key, mapping=sets)
        if dels:
            store.redis.hdel(key, *dels)


def add_run(store: Store, feed_id: str, run: Mapping[str, Any], keep: int = MAX_RUNS) -> None:
    key = store.keys.key(f"feed:{feed_id}:runs")
    with translated_errors(f"record a run of feed {feed_id!r}"):
        pipe = store.redis.pipeline(transaction=True)
        pipe.lpush(key, json.dumps(dict(run), sort_keys=True, default=str))
        pipe.ltrim(key, 0, keep - 1)
        pipe.execute()


def runs(store: Store, feed_id: str, limit: int = MAX_RUNS) -> list[dict[str, Any]]:
    """A feed's run history, newest first."""
    with translated_errors(f"read the runs of feed {feed_id!r}"):
        raw: list[str] = store.redis.lrange(store.keys.key(f"feed:{feed_id}:runs"), 0,
                                            limit - 1)
    return [dict(_loads(r, "run record")) for r in raw]


def acquire_lock(store: Store, feed_id: str, ttl_s: float) -> str | None:
    """Take the feed's sync lock for `ttl_s` seconds; a token to release it, or None if held."""
    token = uuid.uuid4().hex
    with translated_errors(f"take the sync lock of feed {feed_id!r}"):
        taken = store.redis.set(store.keys.key(f"lock:feed:{feed_id}"), token, nx=True,
                                px=max(1, int(ttl_s * 1000)))
    return token if taken else None


def release_lock(store: Store, feed_id: str, token: str) -> None:
    """Release the lock if it is still ours (an expired lock may belong to another process)."""
    with translated_errors(f"release the sync lock of feed {feed_id!r}"):
        store.redis.eval(RELEASE_LOCK_SCRIPT, 1, store.keys.key(f"lock:feed:{feed_id}"), token)
