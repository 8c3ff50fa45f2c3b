"""callscreen's errors: one tree, so callers can catch as broadly or narrowly as they need.

    CallscreenError
    ├── ConfigError            a setting is missing or malformed
    ├── InvalidNumberError     text that is not a usable phone number or prefix
    │   └── ProtectedNumberError   an emergency, short or configured protected number
    ├── InvalidEntryError      an entry (or feed row) that breaks a rule
    ├── FeedError              a feed that cannot be read, or a sync the guard refuses
    │   └── SyncRefusedError       a snapshot that would wipe or shrink a list too much
    ├── StoreError             the store did not answer, or answered nonsense
    │   ├── StoreTimeoutError      it did not answer within the time budget
    │   ├── NotDurableError        a write reached the primary, but too few replicas confirmed
    │   │                          it: it may be lost if the primary fails now
    │   └── LockLostError          a lock expired or was taken while its holder still worked
    └── StoreCommandError      the store refused a command: an error reply to a bad argument
                               (a bug or bad input, not an outage: never "store unavailable")

Messages name the offending value. Redis' own exceptions never leave `blocklist.store`: they
become these at one boundary, `blocklist.store.redis_boundary`.
"""

from __future__ import annotations


class CallscreenError(Exception):
    """The root of every error callscreen raises on purpose."""


class ConfigError(CallscreenError):
    """A setting is missing or malformed."""


class InvalidNumberError(CallscreenError, ValueError):
    """Text that is not a usable phone number or prefix."""


class ProtectedNumberError(InvalidNumberError):
    """An emergency, short or configured protected number: it can never be listed."""


class InvalidEntryError(CallscreenError, ValueError):
    """An entry or feed row that breaks a rule (bad category, range too large, ...)."""


class FeedError(CallscreenError):
    """A feed that cannot be downloaded, decoded or parsed as a whole."""


class SyncRefusedError(FeedError):
    """The guard refused a snapshot: it would wipe or shrink a source's list too much."""


class StoreError(CallscreenError):
    """The store did not answer, or answered something we cannot read."""


class StoreTimeoutError(StoreError):
    """The store did not answer within the time budget."""


class NotDurableError(StoreError):
    """A write reached the primary but fewer replicas than required confirmed it in time
    (`CALLSCREEN_MIN_REPLICAS_ACK`): a failover now could lose it. It may well be there;
    repeating it is safe (every write of the store sets a state, it does not add to one)."""


class LockLostError(StoreError):
    """A lock expired or another process took it while its holder was still working; the
    holder stopped before writing more."""


class StoreCommandError(CallscreenError):
    """The store answered a command with an error reply (a bad argument, a key of the wrong
    type): the store is up, so retrying the same command does not help."""
