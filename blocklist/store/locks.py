"""Locks for background work that several API processes share one store for:

    {cs}:lock:<name>    string  a random token, with expiry

`acquire` takes a lock for `ttl_s` (SET NX PX). Held to its expiry, a lock is a rate limit
across processes: whoever takes `purge` for an hour is the one process that purges this
hour. (Feed sync locks, released after each sync, are `blocklist.store.feeds`'.) Redis
errors leave as `StoreError`.
"""

from __future__ import annotations

import uuid

from blocklist.store.admin import Store, translated_errors


def acquire(store: Store, name: str, ttl_s: float) -> bool:
    """Take lock `name` for `ttl_s` seconds; False when another process holds it."""
    with translated_errors(f"take the lock {name!r}"):
        return bool(store.redis.set(store.keys.key(f"lock:{name}"), uuid.uuid4().hex, nx=True,
                                    px=max(1, int(ttl_s * 1000))))
