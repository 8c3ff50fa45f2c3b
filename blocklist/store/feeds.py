"""Feed sync state in Redis: configurations, per-feed state, run history, sync locks.

Its keys (named in `blocklist.store.layout`): `feeds` (feed id -> configuration JSON, as
given, validated), `feed:<id>:state` (etag, last_modified, last_success, last_run),
`feed:<id>:runs` (run records as JSON, newest first, capped at `MAX_RUNS`) and
`lock:feed:<id>` (the sync lock: a token, with expiry).

Redis errors leave as `StoreError` (`blocklist.store.redis_boundary`). Values are JSON written
by us; a value we can't read is reported as `StoreError`, not silently dropped.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from blocklist.errors import StoreError
from blocklist.store import redis_boundary
from blocklist.store.admin import Store
from blocklist.store.redis_boundary import translated_errors

MAX_RUNS = 50


def _loads(raw: str, what: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        raise StoreError(f"stored {what} is not JSON: {raw[:80]!r}") from None


def save_config(store: Store, feed_id: str, config: Mapping[str, Any]) -> None:
    with translated_errors(f"save feed {feed_id!r}"):
        store.redis.hset(store.keys.feeds, feed_id, json.dumps(dict(config), sort_keys=True))
    store.confirm_durable(f"feed {feed_id!r}")


def delete_config(store: Store, feed_id: str) -> bool:
    """Forget a feed's configuration, state and history (its entries stay until removed)."""
    with translated_errors(f"delete feed {feed_id!r}"):
        removed = store.redis.hdel(store.keys.feeds, feed_id)
        store.redis.delete(store.keys.feed_state(feed_id), store.keys.feed_runs(feed_id))
    store.confirm_durable(f"the deletion of feed {feed_id!r}")
    return bool(removed)


def configs(store: Store) -> dict[str, dict[str, Any]]:
    """Every stored feed configuration, by id."""
    with translated_errors("read feed configurations"):
        raw: dict[str, str] = store.redis.hgetall(store.keys.feeds)
    return {k: _loads(v, f"feed {k!r}") for k, v in sorted(raw.items())}


def config(store: Store, feed_id: str) -> dict[str, Any] | None:
    with translated_errors(f"read feed {feed_id!r}"):
        raw = store.redis.hget(store.keys.feeds, feed_id)
    return None if raw is None else dict(_loads(raw, f"feed {feed_id!r}"))


def state(store: Store, feed_id: str) -> dict[str, str]:
    """etag, last_modified, last_success (Unix seconds), last_run (Unix seconds), ..."""
    with translated_errors(f"read the state of feed {feed_id!r}"):
        return dict(store.redis.hgetall(store.keys.feed_state(feed_id)))


def update_state(store: Store, feed_id: str, values: Mapping[str, str | None]) -> None:
    """Set the given fields; a None value removes the field."""
    key = store.keys.feed_state(feed_id)
    sets = {k: v for k, v in values.items() if v is not None}
    dels = [k for k, v in values.items() if v is None]
    with translated_errors(f"write the state of feed {feed_id!r}"):
        if sets:
            store.redis.hset(key, mapping=sets)
        if dels:
            store.redis.hdel(key, *dels)


def add_run(store: Store, feed_id: str, run: Mapping[str, Any], keep: int = MAX_RUNS) -> None:
    key = store.keys.feed_runs(feed_id)
    with translated_errors(f"record a run of feed {feed_id!r}"):
        pipe = store.redis.pipeline(transaction=True)
        pipe.lpush(key, json.dumps(dict(run), sort_keys=True, default=str))
        pipe.ltrim(key, 0, keep - 1)
        pipe.execute()


def runs(store: Store, feed_id: str, limit: int = MAX_RUNS) -> list[dict[str, Any]]:
    """A feed's run history, newest first."""
    with translated_errors(f"read the runs of feed {feed_id!r}"):
        raw: list[str] = store.redis.lrange(store.keys.feed_runs(feed_id), 0, limit - 1)
    return [dict(_loads(r, "run record")) for r in raw]


def acquire_lock(store: Store, feed_id: str, ttl_s: float) -> str | None:
    """Take the feed's sync lock for `ttl_s` seconds; a token to release it, or None if held."""
    return redis_boundary.take_lock(store.redis, store.keys.feed_lock(feed_id), ttl_s)


def release_lock(store: Store, feed_id: str, token: str) -> None:
    """Release the lock if it is still ours (an expired lock may belong to another process)."""
    redis_boundary.release_lock(store.redis, store.keys.feed_lock(feed_id), token)
