"""Locks for background work that several API processes share one store for
(`{cs}:lock:<name>`: a random token, with expiry).

`acquire` takes a lock for `ttl_s` (SET NX PX, `blocklist.store.redis_boundary`). Held to its
expiry, a lock is a rate limit across processes: whoever takes `purge` for an hour is the one
process that purges this hour. (Feed sync locks, released after each sync, are
`blocklist.store.feeds`'; the apply lock is `blocklist.store.apply_lock`'s.) Redis errors
leave as `StoreError`.
"""

from __future__ import annotations

from blocklist.store.admin import Store
from blocklist.store.redis_boundary import take_lock


def acquire(store: Store, name: str, ttl_s: float) -> bool:
    """Take lock `name` for `ttl_s` seconds; False when another process holds it."""
    return take_lock(store.redis, store.keys.lock(name), ttl_s) is not None
