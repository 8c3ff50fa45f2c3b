"""Number cells as people write them: several items, blocks, ranges and formatting hyphens."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from blocklist.errors import InvalidNumberError, ProtectedNumberError
from blocklist.feeds.cells import item_keys, split_cell
from blocklist.feeds.model import Limits
from blocklist.numbers import NumberPlan


@pytest.mark.parametrize(
    ("region", "item", "expected"),
    [
        ("NL", "085-1234567", [("31851234567", False)]),
        ("NL", "020 123 4567", [("31201234567", False)]),
        ("NL", "0031 20 123 4567", [("31201234567", False)]),
        ("NL", "+31 (0)20 123 4567", [("31201234567", False)]),
        ("NL", "0909 1234 5xx", [("3190912345", True)]),
        ("NL", "0900123*", [("31900123", True)]),
        ("NL", "0900 1234 500 t/m 0900 1234 599", [("3190012345", True)]),
        ("NL", "0900 1234 500 tot en met 0900 1234 599", [("3190012345", True)]),
        ("NL", "0900 1234 500 T/M 0900 1234 599", [("3190012345", True)]),
        ("NL", "0900 1234 500 to 0900 1234 599", [("3190012345", True)]),
        ("NL", "0900 1234 500 - 0900 1234 599", [("3190012345", True)]),
        ("NL", "0900 1234 500 – 0900 1234 599", [("3190012345", True)]),
        ("NL", "0900-1234500-0900-1234599", [("3190012345", True)]),
        ("NL", "0900 1234 500 t/m 509", [("31900123450", True)]),
        ("DE", "0900 1234 50 bis 59", [("4990012345", True)]),
        ("DE", "0900 1234 5x", [("4990012345", True)]),
        ("DE", "09001234500-09001234599", [("4990012345", True)]),
        ("DE", "0900123*", [("49900123", True)]),
        ("DE", "+49 (0)221 1234567", [("492211234567", False)]),
        ("DE", "0221-1234567", [("492211234567", False)]),
    ],
)
def test_item_becomes_keys(
    plan_for: Callable[[str], NumberPlan], region: str, item: str,
    expected: list[tuple[str, bool]],
) -> None:
    """Numbers, wildcard blocks and ranges (words, hyphens, short right sides) become keys."""
    assert item_keys(plan_for(region), item, Limits()) == expected


@pytest.mark.parametrize(
    ("item", "error", "message"),
    [
        ("112", ProtectedNumberError, "'112' is a protected number"),
        ("116123", ProtectedNumberError, "protected"),
        ("0800 0113", ProtectedNumberError, "protected"),
        ("0800 011x", ProtectedNumberError, "covers a protected number"),
        ("0800 01xx", InvalidNumberError, "too short: 5 national digits"),
        ("085 123 456", InvalidNumberError, r"not a valid number \(\+3185123456\)"),
        ("06 0000 0000", InvalidNumberError, "not a valid number"),
        ("0900 1234 500 - 599", InvalidNumberError, "'0900 1234 500 - 599' is not a phone"),
        ("helpdesk", InvalidNumberError, "'helpdesk' is not a phone number"),
        ("0900 12 t/m 0900 1234 599", InvalidNumberError, "'0900 12' is not a complete number"),
    ],
)
def test_bad_items_are_refused_naming_them(
    plan_for: Callable[[str], NumberPlan], item: str, error: type[Exception], message: str
) -> None:
    """Protected numbers, blocks over them, short blocks and non-numbers raise with the item."""
    with pytest.raises(error, match=message):
        item_keys(plan_for("NL"), item, Limits())


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("0900 1234 567, 0900 1234 568", ["0900 1234 567", "0900 1234 568"]),
        ("0900 1234 567\r\n0900 1234 568\n", ["0900 1234 567", "0900 1234 568"]),
        ("0900 1234 567\r0900 1234 568", ["0900 1234 567", "0900 1234 568"]),
        (" , ,", []),
    ],
)
def test_cell_splits_on_commas_and_line_breaks(cell: str, expected: list[str]) -> None:
    """Several numbers in one cell are separated by commas or any kind of line break."""
    assert split_cell(cell) == expected
