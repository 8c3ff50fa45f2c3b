"""Number cells of spreadsheets and regulator tables, as people write them.

One cell may hold several items separated by commas or line breaks; one item is

- a number: `085-1234567`, `+49 (0)221 1234567`, `0031 20 123 4567`;
- a block: `0909 1234 5xx`, `0900123*`, `0900 1234 5...`;
- a range of complete numbers: `0900 1234 500 t/m 0900 1234 599`, `09001234500-09001234599`,
  or with a short right side completed from the left one: `0900 1234 50 bis 59` is
  `0900 1234 50`..`0900 1234 59`.

Range words (`t/m`, `tot en met`, `bis`, `to`) always make a range. A hyphen or dash makes one
only when both sides are complete numbers of the same length; otherwise it is formatting
(`085-1234567`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import lru_cache

from blocklist.errors import CallscreenError, InvalidEntryError, InvalidNumberError
from blocklist.feeds.collector import Collector
from blocklist.feeds.model import Limits
from blocklist.feeds.numbering import complete_number, exact_key, prefix_key, range_keys
from blocklist.feeds.rows import RowFields, clean_text
from blocklist.numbers import NumberPlan

DEFAULT_SEPARATORS: tuple[str, ...] = (",", "\n")
DEFAULT_RANGE_WORDS: tuple[str, ...] = ("t/m", "tot en met", "bis", "to", "-", "–")
_DASHES = frozenset("-–—‐‑‒")
_WILDCARD_TAIL = re.compile(r"(?:[xX]+|\*|\.{3}|…)\s*$")
_NON_DIGITS = re.compile(r"\D")
_SHORT_SIDE = re.compile(r"\s*\d[\d\s]*")


def split_cell(text: str, separators: Sequence[str] = DEFAULT_SEPARATORS) -> list[str]:
    """The non-empty items of one cell. `\\n` stands for every kind of line break."""
    if "\r" not in text and not any(s in text for s in separators):  # one item: the common case
        item = text.strip()
        return [item] if item else []
    items = [text.replace("\r\n", "\n").replace("\r", "\n")]
    for separator in separators:
        items = [part for item in items for part in item.split(separator)]
    return [item.strip() for item in items if item.strip()]


def item_keys(
    plan: NumberPlan,
    item: str,
    limits: Limits,
    range_words: Sequence[str] = DEFAULT_RANGE_WORDS,
    *,
    block: bool = False,
) -> list[tuple[str, bool]]:
    """The keys `(digits, is_prefix)` of one item; raises with a reason naming the item.

    With `block`, an item that is not a range is a prefix even without a wildcard.
    """
    words, dashes, plain_is_number = _range_words(tuple(range_words))
    if plain_is_number and not block:
        spaced = item.replace(" ", "")
        if spaced.isascii() and spaced.isdigit():
            # Digits and spaces hold no range word, dash or wildcard: one number.
            return [(exact_key(plan, item), False)]
    if words is not None:
        parts = words.split(item, maxsplit=1)
        if len(parts) == 2:
            return _word_range(plan, item, parts[0], parts[1], limits)
    if dashes and not _DASHES.isdisjoint(item):
        found = _dash_range(plan, item)
        if found is not None:
            return range_keys(plan, found[0], found[1], limits)
    if block or _WILDCARD_TAIL.search(item):
        return [(prefix_key(plan, item, limits), True)]
    return [(exact_key(plan, item), False)]


@lru_cache(maxsize=64)
def _range_words(range_words: tuple[str, ...]) -> tuple[re.Pattern[str] | None, bool, bool]:
    """(one pattern for the range words that are not dashes, or None; whether a dash is one;
    whether an item of only digits and spaces can't hold any range word).

    Compiled once per configuration: building it per item cost more than reading the number.
    """
    words = [w for w in range_words if w and w not in _DASHES]
    pattern = None
    if words:
        joined = "|".join(_word_pattern(w) for w in sorted(words, key=len, reverse=True))
        pattern = re.compile(joined, re.IGNORECASE)
    plain_is_number = all(
        any(not c.isspace() and c not in "0123456789" for c in w) for w in range_words if w
    )
    return pattern, any(w in _DASHES for w in range_words), plain_is_number


def _word_pattern(word: str) -> str:
    escaped = r"\s+".join(re.escape(part) for part in word.split())
    # A word made of letters must stand alone: "to" is not the end of "foto".
    if word[:1].isalpha():
        escaped = r"(?<![^\W\d_])" + escaped
    if word[-1:].isalpha():
        escaped += r"(?![^\W\d_])"
    return r"\s*" + escaped + r"\s*"


def _word_range(
    plan: NumberPlan, item: str, left: str, right: str, limits: Limits
) -> list[tuple[str, bool]]:
    start = complete_number(plan, left)
    if start is None:
        raise InvalidNumberError(f"range {item!r}: {left.strip()!r} is not a complete number")
    written_left = _NON_DIGITS.sub("", left)
    written_right = _NON_DIGITS.sub("", right)
    if _SHORT_SIDE.fullmatch(right) and len(written_right) < len(written_left):
        # "0900 1234 50 bis 59": the right side replaces the last digits of the left one.
        end: str | None = start[: len(start) - len(written_right)] + written_right
    else:
        end = complete_number(plan, right)
    if end is None:
        raise InvalidNumberError(f"range {item!r}: {right.strip()!r} is not a complete number")
    if len(end) != len(start):
        raise InvalidEntryError(f"range {item!r}: the ends +{start} and +{end} differ in length")
    return range_keys(plan, start, end, limits)


def _dash_range(plan: NumberPlan, item: str) -> tuple[str, str] | None:
    """The two ends when some dash in `item` separates two complete numbers of one length."""
    for index, char in enumerate(item):
        if char not in _DASHES:
            continue
        left, right = item[:index], item[index + 1 :]
        if not left.strip() or not right.strip():
            continue
        start = complete_number(plan, left)
        end = complete_number(plan, right) if start is not None else None
        if start is not None and end is not None and len(start) == len(end):
            return start, end
    return None


def collect_cell(
    collector: Collector,
    line: int,
    plan: NumberPlan,
    cell: str,
    fields: RowFields,
    *,
    limits: Limits,
    separators: Sequence[str],
    range_words: Sequence[str],
    source: str,
    added_by: str,
    reference_for: Callable[[str], str] | None = None,
    blocks: bool = False,
) -> int:
    """Add the entries of every item in `cell`; a bad item is a row error, the rest count.

    `reference_for(item)` gives each item its own reference. Returns the number of items.
    """
    items = split_cell(cell, separators)
    for item in items:
        try:
            keys = item_keys(plan, item, limits, range_words, block=blocks)
            row = fields
            if reference_for is not None:
                row = fields._replace(reference=clean_text(reference_for(item), "reference"))
            collector.add_keys(line, keys, source, row.provenance(added_by))
        except CallscreenError as error:
            collector.error(line, str(error))
    return len(items)
