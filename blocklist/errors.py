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

The common errors a person can cause by typing (a bad or protected number, a block too short,
an expiry before the listing) also carry a `code` (an `ErrorCode`) and the `values` its
message names, so that a user interface can say the same in the reader's language. The
English message stays what it is: the API's `detail` and the CLI print it unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum


class ErrorCode(StrEnum):
    """Why a value was refused, machine-readable; the values each one names, in brackets."""

    NOT_A_NUMBER = "number.not_a_number"          # value: no phone number in it at all
    NUMBER_INVALID = "number.invalid"             # value, number: not a number in its plan
    PROTECTED_NUMBER = "number.protected"         # value: emergency, short or configured
    NOT_SCREENABLE = "number.not_screenable"      # value: looked up, the call path can't read it
    SUBSCRIBER_NOT_A_NUMBER = "subscriber.not_a_number"  # value
    NOT_A_PREFIX = "prefix.not_a_prefix"          # value
    PREFIX_UNKNOWN_COUNTRY = "prefix.unknown_country"    # value
    PREFIX_TOO_SHORT = "prefix.too_short"         # value, digits, needed
    PREFIX_TOO_LONG = "prefix.too_long"           # value
    PREFIX_PROTECTED = "prefix.protected"         # value: the block holds a protected number
    ENTRY_ENDS_BEFORE_LISTED = "entry.ends_before_listed"  # entry, valid_until, listed_at


class CallscreenError(Exception):
    """The root of every error callscreen raises on purpose.

    `code` and `values` (keywords, both optional) say why in a form a user interface can
    translate; `str(error)` is the English message alone, whatever they hold.
    """

    def __init__(self, *args: object, code: ErrorCode | None = None,
                 values: Mapping[str, str] | None = None) -> None:
        super().__init__(*args)
        self.code = code
        self.values: dict[str, str] = dict(values or {})


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
