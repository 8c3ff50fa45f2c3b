"""A write is confirmed only once a replica has it: WAIT, so a failover can't lose it.

Redis replicates asynchronously: a primary that dies right after answering OK may take a
write with it, and the replica Sentinel promotes never saw it. `Durability.confirm` waits
(up to `ACK_TIMEOUT_S`) until at least `CALLSCREEN_MIN_REPLICAS_ACK` replicas acknowledge
everything written so far, else raises `NotDurableError`: the caller says the write may not
be durable (the API answers 503) rather than confirming it. Sentinel promotes the replica with
the most data, so a write one replica confirmed survives the primary's death.

Why a SET before WAIT, in one pipeline: WAIT waits for the replication offset of the last
write *on its own connection*, and redis-py's pool may hand out another connection than the
one that wrote. A write on the same connection as WAIT lifts that offset past every write
made before it, by any connection (the replication stream is one sequence).

How many replicas by default: with Sentinel, 1 (the topology has replicas by design);
with a plain URL, 1 once the primary has been seen with a replica, 0 before (a lone Redis
has nobody to confirm). `CALLSCREEN_MIN_REPLICAS_ACK` overrides both.
"""

from __future__ import annotations

import time
from typing import Any

from blocklist.errors import NotDurableError
from blocklist.store.layout import KeySpace
from blocklist.store.redis_boundary import translated_errors

ACK_TIMEOUT_S = 5.0  # a replica that is up acknowledges in milliseconds; a big apply's
# stream may take the replica a few seconds to take in


class Durability:
    """Confirms writes on one client. `required` None: decided by the topology (above)."""

    def __init__(self, client: Any, keys: KeySpace, required: int | None, *,
                 sentinel: bool = False, timeout_s: float = ACK_TIMEOUT_S) -> None:
        self._client = client
        self._keys = keys
        self._required = required if required is not None else (1 if sentinel else None)
        self._timeout_s = timeout_s

    def required(self) -> int:
        """How many replicas must have a write now."""
        if self._required is not None:
            return self._required
        with translated_errors("read INFO replication"):
            replicas = int(self._client.info("replication").get("connected_slaves", 0))
        if replicas:
            self._required = 1  # once it had replicas, a write needs one (they may be down)
        return 1 if replicas else 0

    def confirm(self, action: str) -> None:
        """Return once enough replicas have every write made so far; else NotDurableError
        naming `action`."""
        wanted = self.required()
        if wanted == 0:
            return
        with translated_errors(f"confirm that replicas have {action}"):
            pipe = self._client.pipeline(transaction=False)
            pipe.set(self._keys.durable, repr(time.time()))
            pipe.execute_command("WAIT", wanted, max(1, int(self._timeout_s * 1000)))
            _, acked = pipe.execute()
        if int(acked) < wanted:
            raise NotDurableError(
                f"{action}: written to the primary, but {acked} of the {wanted} replica(s)"
                f" required confirmed it within {self._timeout_s:g} s; it may not be durable"
                " (lost if the primary fails now): check, and repeat it if it is missing"
            )
