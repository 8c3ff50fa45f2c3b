"""Number ranges: an inclusive block of complete numbers, stored as the fewest prefixes.

`range_to_prefixes("31201234500", "31201234599")` is `["312012345"]`: every number of that
length starting with those digits is in the range, and nothing else is. A range that does not
start and end on a round boundary needs several: `3120123450`..`3120123469` is
`["312012345", "312012346"]`, and `3120123455`..`3120123461` is seven single numbers
(a prefix `312012346` would also cover `...62`..`...69`).

The limits (docs/feeds.md: at most 10,000 numbers, at most 100 prefixes) are checked before any
prefix is built, so a hostile range costs little.
"""

from __future__ import annotations

from blocklist.errors import InvalidEntryError

DEFAULT_MAX_NUMBERS = 10_000
DEFAULT_MAX_PREFIXES = 100


def range_to_prefixes(
    start_digits: str,
    end_digits: str,
    *,
    max_numbers: int = DEFAULT_MAX_NUMBERS,
    max_prefixes: int = DEFAULT_MAX_PREFIXES,
) -> list[str]:
    """The fewest prefixes that together cover exactly the numbers `start`..`end` (inclusive).

    Both ends are digit strings of equal length; a prefix of full length is one number.
    Raises `InvalidEntryError` naming the values for unequal lengths, non-digits, a start
    after the end, more than `max_numbers` numbers or more than `max_prefixes` prefixes.
    """
    for name, value in (("start", start_digits), ("end", end_digits)):
        if not value or not (value.isascii() and value.isdigit()):
            raise InvalidEntryError(f"range {name} {value!r} is not a string of digits")
    width = len(start_digits)
    if len(end_digits) != width:
        raise InvalidEntryError(
            f"range {start_digits}..{end_digits}: the ends have different lengths"
            f" ({width} and {len(end_digits)} digits)"
        )
    start, end = int(start_digits), int(end_digits)
    if start > end:
        raise InvalidEntryError(f"range {start_digits}..{end_digits}: start is after end")
    count = end - start + 1
    if count > max_numbers:
        raise InvalidEntryError(
            f"range {start_digits}..{end_digits} holds {count} numbers, at most {max_numbers}"
            " allowed"
        )
    prefixes: list[str] = []
    current = start
    while current <= end:
        # The largest block 10**k that starts at `current` and ends inside the range; a
        # prefix keeps at least one digit.
        k = 0
        while k + 1 < width:
            size = 10 ** (k + 1)
            if current % size or current + size - 1 > end:
                break
            k += 1
        prefixes.append(str(current).zfill(width)[: width - k])
        if len(prefixes) > max_prefixes:
            raise InvalidEntryError(
                f"range {start_digits}..{end_digits} needs more than {max_prefixes} prefixes"
            )
        current += 10**k
    return prefixes
