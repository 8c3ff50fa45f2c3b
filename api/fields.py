"""Reading numbers, keys and cursors from requests, and writing entries into responses.

Numbers go through `NumberPlan.parse_exact` / `parse_prefix` (the rules every importer
follows): a bad one is a 422 problem naming the field and why. Cursors are opaque to
clients: URL-safe base64 of a small JSON array.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Sequence
from typing import Any

from api.models import EntryOut
from api.problems import Problem, field_problem
from blocklist.entries import Entry
from blocklist.errors import InvalidNumberError
from blocklist.numbers import NumberPlan, digits

EntryKey = tuple[str, bool]
_KEY = re.compile(r"\+?(\d{2,15})(\*?)")


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


def encode_cursor(position: Sequence[Any]) -> str:
    raw = json.dumps(list(position), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, length: int) -> list[Any]:
    """The position a cursor names; a 422 problem for anything we did not hand out."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        position = json.loads(raw)
    except (binascii.Error, ValueError):
        position = None
    if not isinstance(position, list) or len(position) != length:
        raise Problem(422, "invalid-request", f"cursor {cursor[:80]!r} is not one we handed out",
                      errors=[{"location": ["query", "cursor"], "message": "unknown cursor"}])
    return position
