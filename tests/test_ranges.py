"""range_to_prefixes: an inclusive block of numbers as the fewest prefixes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from blocklist.errors import InvalidEntryError
from blocklist.ranges import range_to_prefixes


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ("31201234500", "31201234599", ["312012345"]),
        ("3120123450", "3120123469", ["312012345", "312012346"]),
        ("3120123455", "3120123461", [f"31201234{n}" for n in range(55, 62)]),
        ("31201234500", "31201234500", ["31201234500"]),
        ("4990012345000", "4990012345999", ["4990012345"]),
        ("31201234590", "31201234619", ["3120123459", "3120123460", "3120123461"]),
        ("31201234500", "31201234609", ["312012345", "3120123460"]),
        ("31201234000", "31201243999", [f"3120123{n}" for n in range(4, 10)]
         + [f"3120124{n}" for n in range(0, 4)]),
        ("0000", "0999", ["0"]),
    ],
)
def test_range_becomes_fewest_prefixes(start: str, end: str, expected: list[str]) -> None:
    """A range is stored as the fewest prefixes that cover exactly its numbers."""
    assert range_to_prefixes(start, end) == expected


@pytest.mark.parametrize(
    ("start", "end", "kwargs", "message"),
    [
        ("3120123450", "31201234599", {}, "different lengths"),
        ("31201234599", "31201234500", {}, "start is after end"),
        ("31200000000", "31200099999", {}, "holds 100000 numbers, at most 10000"),
        ("3120123450", "3120123469", {"max_numbers": 10}, "holds 20 numbers, at most 10"),
        ("31201234501", "31201234698", {"max_prefixes": 20}, "more than 20 prefixes"),
        ("+3120123450", "+3120123469", {}, "not a string of digits"),
        ("", "", {}, "not a string of digits"),
        ("３１２", "３１３", {}, "not a string of digits"),
    ],
)
def test_bad_ranges_are_refused_naming_the_values(
    start: str, end: str, kwargs: dict[str, int], message: str
) -> None:
    """Unequal lengths, reversed ends, too many numbers or prefixes raise InvalidEntryError."""
    with pytest.raises(InvalidEntryError, match=message) as caught:
        range_to_prefixes(start, end, **kwargs)
    assert start in str(caught.value) or repr(start) in str(caught.value)


@st.composite
def ranges(draw: st.DrawFn) -> tuple[str, str]:
    width = draw(st.integers(min_value=1, max_value=12))
    start = draw(st.integers(min_value=0, max_value=10**width - 1))
    end = draw(st.integers(min_value=start, max_value=min(10**width - 1, start + 3000)))
    return str(start).zfill(width), str(end).zfill(width)


def _covered(prefixes: list[str], width: int) -> set[int]:
    numbers: set[int] = set()
    for prefix in prefixes:
        base = int(prefix) * 10 ** (width - len(prefix))
        numbers.update(range(base, base + 10 ** (width - len(prefix))))
    return numbers


@given(ranges())
def test_prefixes_cover_exactly_the_range(bounds: tuple[str, str]) -> None:
    """Every number of the range is under exactly one prefix, and no other number is."""
    start, end = bounds
    prefixes = range_to_prefixes(start, end, max_prefixes=1000)
    width = len(start)
    assert _covered(prefixes, width) == set(range(int(start), int(end) + 1))
    total = sum(10 ** (width - len(p)) for p in prefixes)
    assert total == int(end) - int(start) + 1  # no overlaps
    assert all(p and len(p) <= width for p in prefixes)
    # Fewest: no ten sibling prefixes could have been one shorter prefix.
    siblings: dict[str, int] = {}
    for p in prefixes:
        if len(p) > 1:
            siblings[p[:-1]] = siblings.get(p[:-1], 0) + 1
    assert all(count < 10 for count in siblings.values())
