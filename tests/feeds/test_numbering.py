"""Numbers to keys: exact_key agrees with NumberPlan.parse_exact; ranges respect protection."""

from __future__ import annotations

import random
from collections.abc import Callable

import phonenumbers
import pytest

from blocklist import _numbering_data as data
from blocklist.errors import InvalidEntryError, InvalidNumberError, ProtectedNumberError
from blocklist.feeds.model import Limits
from blocklist.feeds.numbering import exact_key, is_valid_international, range_keys
from blocklist.numbers import NumberPlan, is_possible_international

TEXTS = [
    "+31 85 555 0101", "+31855550101", "085-1234567", "020 123 4567", "0900 1234 567",
    "0031 20 123 4567", "+49 (0)221 1234567", "0049 221 1234567", "+44 20 7946 0100",
    "+1 212 555 0100", "+12125550100", "112", "116123", "0800 0113", "08000113",
    "+31800 0113", "+31112", "anonymous", "", "abc", "+3120", "+999123456", "06 1234 5678",
    "+31612345678", "+316123456789", "+3161234567", "+390612345678", "+7 495 123 45 67",
]


@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize("region", ["NL", "DE", "GB"])
def test_exact_key_answers_like_parse_exact(
    plan_for: Callable[[str], NumberPlan], region: str, text: str
) -> None:
    """exact_key returns parse_exact's number, or raises its error with its message."""
    plan = plan_for(region)
    try:
        expected = plan.parse_exact(text)
    except InvalidNumberError as error:
        with pytest.raises(type(error)) as caught:
            exact_key(plan, text)
        assert str(caught.value) == str(error)
    else:
        assert exact_key(plan, text) == expected[1:]


def test_fast_validity_matches_phonenumbers_on_random_possible_numbers() -> None:
    """is_valid_international agrees with phonenumbers.is_valid_number for every country code."""
    rng = random.Random(20261102)
    codes = sorted(data.COUNTRIES)
    checked = 0
    while checked < 3000:
        cc = rng.choice(codes)
        national = "".join(rng.choice("0123456789") for _ in range(rng.randint(4, 15 - len(cc))))
        number = cc + national
        if not is_possible_international(number):
            continue
        checked += 1
        expected = phonenumbers.is_valid_number(phonenumbers.parse("+" + number, None))
        assert is_valid_international(number) is expected, number


@pytest.mark.parametrize(
    ("region", "start", "end", "expected"),
    [
        ("NL", "31855550100", "31855550199", [("318555501", True)]),
        ("NL", "31855550108", "31855550119",
         [("31855550108", False), ("31855550109", False), ("3185555011", True)]),
        ("GB", "442079460100", "442079460199", [("4420794601", True)]),
    ],
)
def test_range_keys_mix_prefixes_and_single_numbers(
    plan_for: Callable[[str], NumberPlan], region: str, start: str, end: str,
    expected: list[tuple[str, bool]],
) -> None:
    """A range's full-length parts are exact keys, the rest prefixes."""
    assert range_keys(plan_for(region), start, end, Limits()) == expected


@pytest.mark.parametrize(
    ("start", "end", "error", "message"),
    [
        ("318000112", "318000114", ProtectedNumberError, r"holds protected \+318000113"),
        ("3180001130", "3180001139", ProtectedNumberError, "covers a protected number"),
        ("318000110", "318000119", ProtectedNumberError, "covers a protected number"),
        ("318000100", "318000199", InvalidEntryError, "shorter than 6 national digits"),
        ("31116000", "31116999", InvalidEntryError, "shorter than 6"),
    ],
)
def test_range_holding_a_protected_number_is_refused(
    plan_for: Callable[[str], NumberPlan], start: str, end: str,
    error: type[Exception], message: str,
) -> None:
    """A range that holds a protected number (0800 0113) or needs a too short block is refused."""
    with pytest.raises(error, match=message):
        range_keys(plan_for("NL"), start, end, Limits())


def test_range_under_a_lower_prefix_limit_may_use_short_blocks(
    plan_for: Callable[[str], NumberPlan],
) -> None:
    """The minimum prefix length is the feed's limit, not a constant."""
    keys = range_keys(plan_for("NL"), "318550000", "318550999", Limits(min_prefix_digits=4))
    assert keys == [("318550", True)]
