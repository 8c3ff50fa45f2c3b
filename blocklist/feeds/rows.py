"""The record rules every feed format shares: fields, free text, dates, entries.

Untrusted text stays data. Free text (`reason`, `reference`) may hold at most
`MAX_TEXT_CHARS` characters; tabs and line breaks become single spaces (spreadsheet cells
wrap), and any other control or bidirectional-formatting character refuses the row rather than
being silently dropped: such text was not written by a person for a person.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from functools import lru_cache
from typing import NamedTuple

from blocklist.entries import AppliesTo, Category, Entry, Provenance
from blocklist.errors import InvalidEntryError

MAX_TEXT_CHARS = 500
_WRAPPING = re.compile(r"[\t\r\n]+")
# Characters that reorder or hide text (Trojan Source) without being control characters.
_BIDI = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


class RowFields(NamedTuple):
    """What a row says about its number(s), apart from the numbers themselves.

    A named tuple, not a frozen dataclass: one is built per row, and a dataclass' `__init__`
    costs about 3 us of a 1M-row feed's budget of 10. Build it with `row_fields`.
    """

    category: Category
    applies_to: AppliesTo
    reference: str = ""
    reason: str = ""
    listed_at: dt.date | None = None
    valid_until: dt.date | None = None

    def expired(self, today: dt.date) -> bool:
        return self.valid_until is not None and self.valid_until < today

    def provenance(self, added_by: str) -> Provenance:
        """The provenance of this row's entries (`entries.Provenance`)."""
        return (self.category, self.applies_to, self.reference, self.reason, added_by, False,
                self.listed_at, self.valid_until)

    def entries(
        self, keys: list[tuple[str, bool]], *, source: str, added_by: str
    ) -> list[Entry]:
        return [
            Entry(
                key=key,
                is_prefix=is_prefix,
                category=self.category,
                applies_to=self.applies_to,
                source=source,
                reference=self.reference,
                reason=self.reason,
                listed_at=self.listed_at,
                valid_until=self.valid_until,
                added_by=added_by,
            )
            for key, is_prefix in keys
        ]


def row_fields(
    category: Category,
    applies_to: AppliesTo,
    reference: str = "",
    reason: str = "",
    listed_at: dt.date | None = None,
    valid_until: dt.date | None = None,
) -> RowFields:
    """`RowFields`, refusing an end date before the listing date."""
    if listed_at and valid_until and valid_until < listed_at:
        raise InvalidEntryError(f"valid_until {valid_until} is before listed_at {listed_at}")
    return RowFields(category, applies_to, reference, reason, listed_at, valid_until)


def clean_text(value: str, name: str) -> str:
    """Free text made safe to keep: see the module docstring. Raises `InvalidEntryError`."""
    if len(value) <= MAX_TEXT_CHARS and value.isprintable():  # the common case, fast
        return value.strip()
    text = _WRAPPING.sub(" ", value).strip()
    if len(text) > MAX_TEXT_CHARS:
        raise InvalidEntryError(
            f"{name} is {len(text)} characters long, at most {MAX_TEXT_CHARS} allowed"
        )
    if not text.isprintable():
        for char in text:
            if not char.isprintable() and char != " ":
                category = unicodedata.category(char)
                if category in ("Cc", "Cf", "Zl", "Zp", "Co", "Cs", "Cn") or char in _BIDI:
                    raise InvalidEntryError(
                        f"{name} holds control character U+{ord(char):04X}"
                    )
    return text


_CATEGORIES = {c.value: c for c in Category}
_DEFAULT_APPLIES_TO = {c: AppliesTo.default_for(c) for c in Category}


def parse_category(value: str) -> Category:
    found = _CATEGORIES.get(value)
    if found is not None:
        return found
    try:
        return Category(value.strip().lower())
    except ValueError:
        choices = ", ".join(c.value for c in Category)
        raise InvalidEntryError(f"category {value!r} is not one of {choices}") from None


def parse_applies_to(value: str | None, category: Category) -> AppliesTo:
    """The roles a row applies to; the category's default (docs/feeds.md) when not given."""
    if value is None or not value.strip():
        return _DEFAULT_APPLIES_TO[category]
    try:
        return AppliesTo(value.strip().lower())
    except ValueError:
        choices = ", ".join(a.value for a in AppliesTo)
        raise InvalidEntryError(f"applies_to {value!r} is not one of {choices}") from None


@lru_cache(maxsize=4096)  # feeds repeat a few dates many times
def parse_iso_date(value: str, name: str) -> dt.date:
    """An ISO 8601 date (`2027-10-30`), or the UTC date of an ISO 8601 date-time."""
    text = value.strip()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        pass
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise InvalidEntryError(f"{name} {value!r} is not an ISO 8601 date") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC)
    return moment.date()


def parse_formatted_date(value: str, date_format: str, name: str) -> dt.date:
    """A date in a configured `strptime` format (`%d.%m.%Y`)."""
    try:
        return dt.datetime.strptime(value.strip(), date_format).date()
    except ValueError:
        raise InvalidEntryError(
            f"{name} {value!r} does not match the date format {date_format!r}"
        ) from None
