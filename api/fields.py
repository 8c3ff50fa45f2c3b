"""Reading numbers, keys and cursors from requests, and writing entries into responses.

Numbers go through `NumberPlan.parse_exact` / `parse_prefix` (the rules every importer
follows): a bad one is a 422 problem naming the field and why. A cursor is the position
after which the next page starts: the last key of a page (`+31205550199`), with its source for
entries (`manual/+31855550101`); clients pass `next_cursor` back as it is.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from api.models import EntryOut
from api.problems import Problem, field_problem
from blocklist.entries import Entry
from blocklist.errors import InvalidNumberError
from blocklist.numbers import NumberPlan, digits

EntryKey = tuple[str, bool]
_KEY = re.compile(r"\+?(\d{2,15})(\*?)")
KEY_PATTERN = r"^\+?\d{2,15}\*?$"  # an entry key in a path, as `read_path_key` reads it
SOURCE_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"
# Cursors are positions, readable and checkable: the last key of the previous page (and its
# source, for entries). Any key is a position, listed or not; what follows it is the page.
KEY_CURSOR_PATTERN = r"^\+\d{1,15}\*?$"
ENTRY_CURSOR_PATTERN = r"^[A-Za-z0-9_.-]{1,64}/\+\d{1,15}\*?$"
_KEY_CURSOR = re.compile(r"\+(\d{1,15})(\*?)")
_SOURCE = re.compile(SOURCE_PATTERN[1:-1])


def label(key: EntryKey) -> str:
    return "+" + key[0] + ("*" if key[1] else "")


def kind(key: EntryKey) -> str:
    return "prefix" if key[1] else "number"


def entry_out(entry: Entry) -> EntryOut:
    return EntryOut(
        key=entry.label, kind="prefix" if entry.is_prefix else "number",
        category=entry.category, applies_to=entry.applies_to, source=entry.source,
        reference=entry.reference, reason=entry.reason, added_by=entry.added_by,
        listed_at=entry.listed_at, valid_until=entry.valid_until, shadow=entry.shadow,
    )


def read_number(plan: NumberPlan, text: str, location: Sequence[str | int]) -> str:
    """The digits of a number that may be listed, or a 422 problem saying why not."""
    try:
        return digits(plan.parse_exact(text))
    except InvalidNumberError as error:
        raise field_problem(location, error) from None


def read_prefix(plan: NumberPlan, text: str, location: Sequence[str | int]) -> str:
    try:
        return plan.parse_prefix(text)
    except InvalidNumberError as error:
        raise field_problem(location, error) from None


def read_entry_key(
    plan: NumberPlan, number: str | None, prefix: str | None
) -> EntryKey:
    """The key of a body holding exactly one of `number` / `prefix` (checked by the model)."""
    if number is not None:
        return read_number(plan, number, ["body", "number"]), False
    assert prefix is not None
    return read_prefix(plan, prefix, ["body", "prefix"]), True


def read_path_key(text: str, location: str = "key") -> EntryKey:
    """A key as the API writes it: `+31855550101`, or `+319005550*` for a block."""
    match = _KEY.fullmatch(text)
    if match is None:
        raise field_problem(["path", location], InvalidNumberError(
            f"{text!r} is not an entry key: + and 2-15 digits, ending in * for a block"
        ))
    return match.group(1), bool(match.group(2))


def key_after(cursor: str) -> EntryKey:
    """The entry key an allowlist cursor (`+31205550199`, `+3120555*`) names; the query
    parameter's pattern already refused anything else."""
    match = _KEY_CURSOR.fullmatch(cursor)
    if match is None:
        raise _bad_cursor(cursor)
    return match.group(1), bool(match.group(2))


def entry_after(cursor: str) -> tuple[str, str, bool]:
    """The (source, key digits, is block) position an entry cursor names:
    `manual/+31855550101`, the path of the last entry of the previous page."""
    source, _, key = cursor.partition("/")
    if not _SOURCE.fullmatch(source):
        raise _bad_cursor(cursor)
    digits_, is_prefix = key_after(key)
    return source, digits_, is_prefix


def entry_cursor(position: tuple[str, str, bool]) -> str:
    return f"{position[0]}/{label((position[1], position[2]))}"


def _bad_cursor(cursor: str) -> Problem:
    message = f"cursor {cursor[:80]!r} is not a position: pass a next_cursor back as it is"
    return Problem(422, "invalid-request", message,
                   errors=[{"location": ["query", "cursor"], "message": message}])
