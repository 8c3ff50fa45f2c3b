"""The blocklist's domain values: what an entry is, and what a lookup finds.

An `Entry` is one listed number or number block with its provenance; it lives in one source
(a feed id, or `manual`). The call path never sees entries: it sees a `Listing`, the merge of
every source's entries for one number or prefix, kept compact in Redis (see `blocklist.store`).
"""

from __future__ import annotations

from enum import StrEnum

from blocklist.errors import ErrorCode, InvalidEntryError
from blocklist.values import value

TYPE_CHECKING = False  # datetime and typing cost the per-call script; only types use them
if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Iterable
    from typing import TypeAlias

MANUAL_SOURCE = "manual"


class Category(StrEnum):
    REVOKED = "revoked"  # withdrawn by a regulator
    FRAUD = "fraud"  # confirmed fraud
    SUSPECTED = "suspected"  # reports, third parties
    DNO = "dno"  # inbound-only number: never a genuine caller


class AppliesTo(StrEnum):
    CALLER = "caller"
    CALLEE = "callee"
    BOTH = "both"

    @classmethod
    def default_for(cls, category: Category) -> AppliesTo:
        """docs/feeds.md: `caller` for `dno`, else `both`."""
        return cls.CALLER if category is Category.DNO else cls.BOTH


class Direction(StrEnum):
    INBOUND = "inbound"  # screen the caller
    OUTBOUND = "outbound"  # screen the dialled number


class Action(StrEnum):
    ALLOW = "allow"
    WARN = "warn"
    WITHHOLD = "withhold"  # inbound, origin screening only: connect with the number hidden
    BLOCK = "block"


class Mode(StrEnum):
    """A subscriber's screening mode."""

    STANDARD = "standard"
    STRICT = "strict"  # warn becomes block
    OFF = "off"  # no screening: the subscriber opted out


# Which category wins when several sources list one number for the same role: the order
# in which the default policy would act on them.
SEVERITY: dict[Category, int] = {
    Category.FRAUD: 4,
    Category.REVOKED: 3,
    Category.DNO: 2,
    Category.SUSPECTED: 1,
}


@value
class Entry:
    """One listed number or block, with where it came from.

    `key` is the international digits of the number (`is_prefix` false) or of the block's
    common prefix (`is_prefix` true). `valid_until` is the last day (UTC) the entry applies.
    """

    key: str
    is_prefix: bool
    category: Category
    applies_to: AppliesTo
    source: str
    reference: str = ""
    reason: str = ""
    listed_at: dt.date | None = None
    valid_until: dt.date | None = None
    added_by: str = ""
    shadow: bool = False

    def __post_init__(self) -> None:
        if not self.key.isdigit():
            raise InvalidEntryError(f"entry key {self.key!r} must be international digits")
        if self.listed_at and self.valid_until and self.valid_until < self.listed_at:
            raise InvalidEntryError(
                f"entry {self.label}: valid_until {self.valid_until} is before"
                f" listed_at {self.listed_at}",
                code=ErrorCode.ENTRY_ENDS_BEFORE_LISTED,
                values={"entry": self.label, "valid_until": self.valid_until.isoformat(),
                        "listed_at": self.listed_at.isoformat()},
            )

    @property
    def label(self) -> str:
        """How people write it: `+31201234567`, or `+31900123*` for a block."""
        return "+" + self.key + ("*" if self.is_prefix else "")

    def expired(self, today: dt.date) -> bool:
        return self.valid_until is not None and self.valid_until < today

    def applies_as(self, role: AppliesTo) -> bool:
        return self.applies_to is AppliesTo.BOTH or self.applies_to is role


# An entry's provenance (everything but its key and source) as a plain tuple: the bulk path
# of a feed carries rows as (key, is_prefix, provenance) and builds an `Entry` only where one
# is asked for (a million `Entry` objects cost seconds).
if TYPE_CHECKING:
    Provenance: TypeAlias = tuple[
        Category, AppliesTo, str, str, str, bool, dt.date | None, dt.date | None
    ]
else:
    Provenance = tuple
PROVENANCE_FIELDS = ("category", "applies_to", "reference", "reason", "added_by", "shadow",
                     "listed_at", "valid_until")


def provenance_of(entry: Entry) -> Provenance:
    return (entry.category, entry.applies_to, entry.reference, entry.reason, entry.added_by,
            entry.shadow, entry.listed_at, entry.valid_until)


def entry_with(key: str, is_prefix: bool, source: str, provenance: Provenance) -> Entry:
    """The `Entry` of a row: its key, source and provenance (in `PROVENANCE_FIELDS` order)."""
    category, applies_to, reference, reason, added_by, shadow, listed_at, until = provenance
    return Entry(key, is_prefix, category, applies_to, source, reference, reason, listed_at,
                 until, added_by, shadow)


@value
class Listing:
    """What the call path knows about one number or prefix: the merge of its entries.

    `caller` / `callee` is the category that applies when the number calls / is called, or
    None. A listing made only of shadow entries has `shadow` set: it is counted and explained
    but changes no action.
    """

    caller: Category | None
    callee: Category | None
    shadow: bool = False
    valid_until: dt.date | None = None

    def category_for(self, direction: Direction) -> Category | None:
        return self.caller if direction is Direction.INBOUND else self.callee

    def expired(self, today: dt.date) -> bool:
        return self.valid_until is not None and self.valid_until < today


def merge(entries: list[Entry] | tuple[Entry, ...], today: dt.date) -> Listing | None:
    """The listing for one key from every source's entries; None when nothing applies.

    Live entries beat shadow entries; per role the most severe category wins; the listing
    lasts as long as the longest of the entries chosen.
    """
    current = [e for e in entries if not e.expired(today)]
    live = [e for e in current if not e.shadow]
    chosen = live or current
    if not chosen:
        return None
    caller = _strongest(e.category for e in chosen if e.applies_as(AppliesTo.CALLER))
    callee = _strongest(e.category for e in chosen if e.applies_as(AppliesTo.CALLEE))
    ends = [e.valid_until for e in chosen]
    valid_until = None if any(d is None for d in ends) else max(d for d in ends if d)
    return Listing(caller, callee, shadow=not live, valid_until=valid_until)


def _strongest(categories: Iterable[Category]) -> Category | None:
    best: Category | None = None
    for category in categories:
        if best is None or SEVERITY[category] > SEVERITY[best]:
            best = category
    return best


@value
class Match:
    """A listing the store found for a screened number: by the number itself or a prefix."""

    key: str
    is_prefix: bool
    listing: Listing


@value
class SubscriberSettings:
    mode: Mode = Mode.STANDARD
    language: str | None = None


@value
class Lookup:
    """Everything one screening needs from the store, fetched in one round trip.

    `matches` holds unexpired listings, the exact number first, then prefixes longest first.
    `registered_abroad`: the number is registered for use from abroad (origin screening;
    asked only for a home number arriving from abroad).
    """

    matches: tuple[Match, ...] = ()
    allowlisted: bool = False
    subscriber_allowlisted: bool = False
    subscriber: SubscriberSettings = SubscriberSettings()
    registered_abroad: bool = False
