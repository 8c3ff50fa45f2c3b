"""The apply lock: one apply (a snapshot, a delta, a manual change, a rebuild) at a time, in
every process that shares the store.

    {cs}:lock:apply   a random token with an expiry of `ttl_s` (600 s): a process that dies
                      holding it frees it when it expires
    {cs}:dirty        set while an apply runs, deleted with the lock when it finishes: found
                      by the next apply, it means one was interrupted, and the merged listing
                      is rebuilt before anything else

While an apply runs, a thread renews the lock every third of its expiry, so a long apply keeps
it. The apply calls `Lease.check` before each chunk it writes: it raises `LockLostError` when
the lock is no longer ours (it expired while this process stood still, and another process may
have taken it), so an apply that lost its lock stops before writing more. A lock confirmed ours
within the last third of its expiry can't have expired, and only expiry frees it, so `check`
costs a round trip (a renewal) only when the last confirmation is older than that. What a
stopped apply wrote before is what a crash leaves (see `blocklist.store.admin`): stable keys
untouched, the dirty marker still set, so the next apply rebuilds.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

from blocklist.errors import LockLostError, StoreError
from blocklist.store import listing
from blocklist.store.layout import KeySpace
from blocklist.store.redis_boundary import (
    release_lock,
    renew_lock,
    take_lock,
    translated_errors,
)

APPLY_LOCK_S = 600.0
WAIT_POLL_S = 0.05


class Lease:
    """The apply lock while this process holds it, renewed by a thread until `stop`."""

    def __init__(self, client: Any, key: str, token: str, ttl_s: float) -> None:
        self.key = key
        self.token = token
        self._client = client
        self._ttl_s = ttl_s
        self._lost = False
        self._confirmed = time.monotonic()  # when the lock was last known ours
        self._stopping = threading.Event()
        self._renewer = threading.Thread(target=self._renew_every, name="apply-lock-renewal",
                                         daemon=True)

    def start(self) -> None:
        self._renewer.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._renewer.is_alive():
            self._renewer.join()

    def check(self) -> None:
        """LockLostError when the lock is no longer ours (write nothing more); renews it
        first when it was last confirmed ours more than a third of its expiry ago."""
        if not self._lost and time.monotonic() - self._confirmed >= self._ttl_s / 3:
            self._renew()
        if self._lost:
            raise LockLostError(
                f"lost the apply lock {self.key} (it expired, or another process took it)"
                " while applying; stopped before writing more, the next apply rebuilds"
            )

    def _renew(self) -> None:
        asked = time.monotonic()
        if renew_lock(self._client, self.key, self.token, self._ttl_s):
            self._confirmed = max(self._confirmed, asked)
        else:
            self._lost = True

    def _renew_every(self) -> None:
        while not self._stopping.wait(self._ttl_s / 3) and not self._lost:
            # Redis away for a moment: the next round tries again; `check` raises meanwhile.
            with contextlib.suppress(StoreError):
                self._renew()


class ApplyLock:
    """Serialises applies across processes (see the module docstring)."""

    def __init__(self, client: Any, keys: KeySpace, ttl_s: float = APPLY_LOCK_S) -> None:
        self._client = client
        self._keys = keys
        self.ttl_s = ttl_s
        # Tokens of our leases whose release failed (Redis away: a failover, say). The lock
        # was replicated, so the new primary has it: released at this process's next apply,
        # rather than blocking it until the lock expires.
        self._unreleased: list[str] = []

    @contextlib.contextmanager
    def hold(self) -> Iterator[Lease]:
        """Take the lock (waiting up to its expiry for another apply to finish), rebuild the
        listing if the last apply was interrupted, and hold it, renewed, for the block.
        StoreError when another apply holds it all that time; whatever the block raises
        leaves the dirty marker set."""
        client, keys = self._client, self._keys
        lease = Lease(client, keys.apply_lock, self._take(), self.ttl_s)
        lease.start()
        try:
            with translated_errors("mark an apply as running"):
                if client.exists(keys.dirty):
                    listing.rebuild(client, keys, lease.check)
                client.set(keys.dirty, lease.token)
            yield lease
        except BaseException:
            lease.stop()
            try:  # the dirty marker stays: the next apply rebuilds
                release_lock(client, keys.apply_lock, lease.token)
            except StoreError:
                self._unreleased.append(lease.token)
            raise
        lease.stop()
        # The lock and the dirty marker go together, only if the lock is still ours: if it
        # is not, the marker stays for the process holding it now (or the next) to rebuild.
        try:
            release_lock(client, keys.apply_lock, lease.token, keys.dirty)
        except StoreError:
            self._unreleased.append(lease.token)
            raise

    def _release_unreleased(self) -> None:
        for token in list(self._unreleased):
            with contextlib.suppress(StoreError):  # still away: tried again next time
                release_lock(self._client, self._keys.apply_lock, token)
                self._unreleased.remove(token)

    def _take(self) -> str:
        self._release_unreleased()
        deadline = time.monotonic() + self.ttl_s
        while (token := take_lock(self._client, self._keys.apply_lock, self.ttl_s)) is None:
            if time.monotonic() > deadline:
                raise StoreError(f"another apply has held {self._keys.apply_lock} too long")
            time.sleep(WAIT_POLL_S)
        return token

