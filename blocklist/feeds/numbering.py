"""Feed cells to blocklist keys: exact numbers, prefixes and ranges, under a feed's limits.

Every number goes through the rules of `NumberPlan.parse_exact` and `parse_prefix`. For exact
numbers we use `exact_key`, which is `parse_exact` made fast enough for a million rows:
`parse_exact` asks `phonenumbers.parse` and `is_valid_number` (about 38 us a number, 40 s for
a 1M-row feed). `exact_key` reads the number with `NumberPlan.read` as `parse_exact` does
(skipping that too when the cell is already canonical E.164) and answers validity with
`is_valid_international`, phonenumbers' own `is_valid_number` logic run on precompiled
patterns from its metadata (about 2 us). A test checks both agree on many numbers. A cell of
digits and spaces skips `read`'s cleaning and cache (`NumberPlan.read_cleaned`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache

from blocklist.errors import InvalidEntryError, InvalidNumberError, ProtectedNumberError
from blocklist.feeds.model import Limits
from blocklist.numbers import (
    MAX_INPUT_CHARS,
    NumberPlan,
    is_possible_international,
    split_country_code,
)
from blocklist.ranges import range_to_prefixes

_CANONICAL_E164 = re.compile(r"\+[1-9]\d{1,14}")


def cached_plans(
    protected: Mapping[str, tuple[str, ...]], shared: tuple[str, ...] = ()
) -> Callable[[str], NumberPlan]:
    """A `plan_for(region)` that builds each region's `NumberPlan` once.

    `protected` maps a region to its configured protected numbers (`settings.DEFAULT_PROTECTED`
    has the shape); `shared` are protected in every region (the operator's own, in
    international form); unknown regions raise `ConfigError` from `NumberPlan`.
    """

    @lru_cache(maxsize=64)
    def plan_for(region: str) -> NumberPlan:
        region = region.upper()
        return NumberPlan(region, tuple(protected.get(region, ())) + shared)

    return plan_for


def exact_key(plan: NumberPlan, text: str) -> str:
    """The international digits of one listable number: `parse_exact`, fast (see above).

    Raises `ProtectedNumberError` or `InvalidNumberError` with `parse_exact`'s messages.
    """
    if _CANONICAL_E164.fullmatch(text):
        # What `read` concludes for a canonical E.164 string, without its cleaning steps. A
        # valid number is always a possible one, so validity is asked first (the hot path).
        digits = text[1:]
        valid = is_valid_international(digits)
        number = digits if valid or is_possible_international(digits) else None
        protected = number is not None and plan.is_protected_digits(number)
    else:
        spaced = text.replace(" ", "")
        if spaced.isascii() and spaced.isdigit() and len(text) <= MAX_INPUT_CHARS:
            # Digits and spaces (`085 123 4567`, the common cell): what `read` cleans it to,
            # without its cleaning steps or its cache (a feed's numbers rarely repeat).
            reading = plan.read_cleaned(spaced)
        else:
            reading = plan.read(text)
        number = reading.e164[1:] if reading.e164 is not None else None
        protected = reading.protected
        valid = number is not None and not protected and is_valid_international(number)
    if protected:
        raise ProtectedNumberError(f"{text!r} is a protected number and can't be listed")
    if number is None:
        raise InvalidNumberError(f"{text!r} is not a phone number")
    if not valid:
        raise InvalidNumberError(f"{text!r} is not a valid number (+{number})")
    return number


def prefix_key(plan: NumberPlan, text: str, limits: Limits) -> str:
    """The international digits of a block (`0900 1234 5xx`), under the feed's limits."""
    return plan.parse_prefix(text, min_national_digits=limits.min_prefix_digits)


def complete_number(plan: NumberPlan, text: str) -> str | None:
    """The international digits of `text` when it is a whole (possible) number, else None.

    Range ends need only be possible numbers: a block may span numbers not yet assigned.
    """
    reading = plan.read(text)
    return reading.e164[1:] if reading.e164 is not None else None


def range_keys(
    plan: NumberPlan, start: str, end: str, limits: Limits
) -> list[tuple[str, bool]]:
    """The keys `(digits, is_prefix)` that cover `start`..`end` exactly.

    The ends are international digits of equal length. A part of the range that is a single
    number becomes an exact key. Refuses (naming the values) a range over the limits, a block
    shorter than `limits.min_prefix_digits` national digits, and a range holding a protected
    number.
    """
    prefixes = range_to_prefixes(
        start,
        end,
        max_numbers=limits.max_range_numbers,
        max_prefixes=limits.max_range_prefixes,
    )
    keys: list[tuple[str, bool]] = []
    for prefix in prefixes:
        if len(prefix) == len(start):
            if plan.is_protected_digits(prefix):
                raise ProtectedNumberError(f"range +{start}..+{end} holds protected +{prefix}")
            keys.append((prefix, False))
            continue
        split = split_country_code(prefix)
        if split is None:
            raise InvalidEntryError(f"range +{start}..+{end} has no known country code")
        if len(split[1]) < limits.min_prefix_digits:
            raise InvalidEntryError(
                f"range +{start}..+{end} needs block +{prefix}*, shorter than"
                f" {limits.min_prefix_digits} national digits"
            )
        if plan.covers_protected(prefix):
            raise ProtectedNumberError(
                f"range +{start}..+{end} covers a protected number (block +{prefix}*)"
            )
        keys.append((prefix, True))
    return keys


# -- phonenumbers' is_valid_number on precompiled patterns ---------------------------------


@dataclass(frozen=True, slots=True)
class _Desc:
    lengths: frozenset[int]  # empty: any length the general description allows
    pattern: str


@dataclass(frozen=True, slots=True)
class _RegionRule:
    """One region's validity test: its general description and any number type, in one regex.

    Per national number length, the type patterns that allow that length are joined into one
    alternation behind a lookahead for the general pattern, so one `fullmatch` answers what
    phonenumbers asks in up to eleven.
    """

    leading: re.Pattern[str] | None
    by_length: dict[int, re.Pattern[str]]

    def valid(self, national: str) -> bool:
        pattern = self.by_length.get(len(national))
        return pattern is not None and pattern.fullmatch(national) is not None


_TYPE_FIELDS = ("premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager",
                "uan", "voicemail", "fixed_line", "mobile")


def _desc(desc: object) -> _Desc | None:
    pattern = getattr(desc, "national_number_pattern", None)
    if not pattern:
        return None
    lengths = getattr(desc, "possible_length", None) or ()
    return _Desc(frozenset(int(n) for n in lengths), pattern)


@cache
def _rules(country_code: str) -> tuple[_RegionRule, ...]:
    import phonenumbers  # the admin side only: about 24 ms to import

    cc = int(country_code)
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(cc, ())
    rules = []
    for region in regions:
        metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(cc, region)
        general = _desc(metadata.general_desc) if metadata is not None else None
        if metadata is None or general is None:
            continue
        leading = metadata.leading_digits
        types = [d for d in (_desc(getattr(metadata, f)) for f in _TYPE_FIELDS) if d]
        by_length: dict[int, re.Pattern[str]] = {}
        for size in range(1, 18):
            if general.lengths and size not in general.lengths:
                continue
            fitting = [t.pattern for t in types if not t.lengths or size in t.lengths]
            if fitting:
                alternatives = "|".join(f"(?:{p})" for p in fitting)
                by_length[size] = re.compile(f"(?=(?:{general.pattern})$)(?:{alternatives})")
        # With one region, phonenumbers picks it without looking at its leading digits.
        use_leading = re.compile(leading) if leading and len(regions) > 1 else None
        rules.append(_RegionRule(use_leading, by_length))
    return tuple(rules)


def is_valid_international(number_digits: str) -> bool:
    """`phonenumbers.is_valid_number` for international digits (no plus), without parsing.

    Mirrors phonenumbers: the first region of the country code whose leading digits match
    decides; regions without leading digits claim the number when it is valid there.
    """
    split = split_country_code(number_digits)
    if split is None:
        return False
    cc, national = split
    for rule in _rules(cc):
        if rule.leading is not None:
            if rule.leading.match(national):
                return rule.valid(national)
        elif rule.valid(national):
            return True
    return False
