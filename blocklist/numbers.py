"""Phone numbers: read what arrives (caller ID, dialled digits, feed cells) as E.164.

`NumberPlan.read_leading` is the call path's reader: it reads the number at the START of a
caller ID or dialled digits, so what a caller appends (`;` parameters, a comma and a second
number, letters, a line break) never hides a listed number; `NumberPlan.read` reads a whole
text as one number (the admin side's reading). Neither raises: garbage, `anonymous`,
`unknown`, `Restricted` and the empty string all become a `Reading` without a number. Both are
built on
phonenumbers' own metadata (country codes, international and trunk prefixes, number patterns,
emergency and short codes; see `_numbering_data`), but not on `phonenumbers.parse`: that costs
about 70 us per number, more than the FastAGI server's whole per-call budget, and importing
phonenumbers costs the per-call script about 24 ms of its 30. The admin side is stricter:
`NumberPlan.parse_exact` also asks phonenumbers whether the number is valid (docs/feeds.md: the rule
for listed numbers), `parse_prefix` reads number blocks.

Numbers are carried as E.164 strings (`"+31201234567"`); `digits()` drops the plus.

Protected numbers (docs/decisions.md: never warned, blocked or listed) are the region's emergency
and short codes, as phonenumbers knows them, and the operator's configured ones (helplines),
given as numbers or prefixes (`116`, `0800 0113`).
"""

from __future__ import annotations

import re
from enum import StrEnum
from functools import cache

from blocklist import _numbering_data as data
from blocklist.errors import ConfigError, ErrorCode, InvalidNumberError, ProtectedNumberError
from blocklist.values import value

MAX_INPUT_CHARS = 64
READ_CACHE_SIZE = 65_536
MAX_E164_DIGITS = 15
# What people and switches put between digits: spaces (also no-break), dots, dashes of every
# kind, slashes, brackets.
_FORMATTING = re.compile(r"[\s.\-\u2010-\u2015/()\[\]]+")
# "+31 (0)20 ..." and "0031 (0)20": a trunk zero written in brackets after the country code.
_BRACKETED_TRUNK = re.compile(r"^(\+|00)\s*(\d{1,3})\s*\(0\)")
_DIALLABLE = re.compile(r"\+?\d{1,20}")
_WILDCARD_TAIL = re.compile(r"(?:[xX]+|\*|\.{3}|…)$")
# The number a caller ID starts with: after blanks and control characters, an optional plus,
# then digits and formatting (spaces, dots, dashes, slashes, brackets). It ends at the first
# other character: a letter, `,`, `;`, `#`, `*`, a second `+`, a line break or any control
# character. Those are never formatting, so what follows them is never glued onto the number.
_LEADING = re.compile(r"[\x00-\x20\x7f]*(\+?[0-9 \u00a0\u202f.\-\u2010-\u2015/()\[\]]*)")
_DIGIT = re.compile(r"[0-9]")


class Unreadable(StrEnum):
    """Why a text gave no number to screen."""

    WITHHELD = "withheld"  # anonymous, restricted, unknown, unavailable, empty
    INVALID = "invalid-number"  # something, but not a number we can read


_WITHHELD_WORDS = frozenset(
    {"", "anonymous", "restricted", "unknown", "unavailable", "private", "withheld",
     "anonym", "onbekend", "unbekannt", "privé", "prive", "geheim", "none", "null"}
)


@value
class Reading:
    """The result of reading one text: an E.164 number, or why there is none.

    `protected` is true for emergency, short and configured protected numbers; such a reading
    may have no E.164 number (a short code like 112 has none) yet must always be allowed.
    """

    e164: str | None
    unreadable: Unreadable | None = None
    protected: bool = False


def digits(e164: str) -> str:
    """The digits of an E.164 number, without the plus."""
    return e164[1:] if e164.startswith("+") else e164


@cache
def _country_pattern(cc: str) -> tuple[re.Pattern[str], frozenset[int]] | None:
    entry = data.COUNTRIES.get(cc)
    if entry is None:
        return None
    return re.compile(entry[0]), frozenset(entry[1])


def split_country_code(number_digits: str) -> tuple[str, str] | None:
    """Split international digits into (country code, national significant number)."""
    for size in (1, 2, 3):
        cc = number_digits[:size]
        if cc in data.COUNTRIES:
            return cc, number_digits[size:]
    return None


def is_possible_international(number_digits: str) -> bool:
    """True when the digits are a country code and a national number that fits its pattern."""
    if not number_digits or len(number_digits) > MAX_E164_DIGITS:
        return False
    split = split_country_code(number_digits)
    if split is None:
        return False
    cc, national = split
    compiled = _country_pattern(cc)
    if compiled is None:
        return False
    pattern, lengths = compiled
    return len(national) in lengths and pattern.fullmatch(national) is not None


class _ShortCodes:
    """A region's emergency numbers and short codes, from phonenumbers' short metadata."""

    def __init__(self, region: str) -> None:
        _, _, _, emergency, short_code, exact = data.REGIONS[region]
        self._emergency = re.compile(emergency) if emergency else None
        self._exact = exact
        self._short_code = re.compile(short_code) if short_code else None

    def emergency(self, national: str) -> bool:
        """phonenumbers' connects_to_emergency_number: a prefix match, except where the
        region's emergency numbers must match exactly."""
        if self._emergency is None:
            return False
        hit = self._emergency.fullmatch if self._exact else self._emergency.match
        return hit(national) is not None

    def matches(self, national: str) -> bool:
        if self.emergency(national):
            return True
        return self._short_code is not None and self._short_code.fullmatch(national) is not None


@cache
def _short_codes(region: str) -> _ShortCodes:
    return _ShortCodes(region)


@cache
def _regions_of(cc: str) -> tuple[str, ...]:
    return tuple(region for region, facts in data.REGIONS.items() if facts[0] == cc)


class NumberPlan:
    """How numbers are written in one region, and which ones are protected there.

    Build one at start-up (it compiles a few patterns) and share it: `read` is safe to call
    from any thread or task.
    """

    def __init__(self, region: str, protected: tuple[str, ...] = ()) -> None:
        region = region.upper()
        facts = data.REGIONS.get(region)
        if facts is None:
            raise ConfigError(f"unknown region {region!r}: expected an ISO 3166 alpha-2 code")
        cc, intl, trunk = facts[0], facts[1], facts[2]
        self.region = region
        self.country_code = cc
        self._intl = re.compile(intl) if intl else None
        self._trunk = re.compile(trunk) if trunk else None
        exact: set[str] = set()
        prefixes: list[str] = []
        for text in protected:
            body = text.strip()
            if not body:
                continue
            if _WILDCARD_TAIL.search(body):
                prefixes.append(self._to_international(_WILDCARD_TAIL.sub("", body)))
            else:
                exact.add(self._to_international(body))
        self._cache: dict[str, Reading] = {}
        self._protected_exact = frozenset(exact)
        self._protected_prefixes = tuple(sorted(prefixes))

    # -- the call path -------------------------------------------------------------------

    def read(self, text: str) -> Reading:
        """Read caller ID or dialled digits. Never raises; see the module docstring.

        Readings are cached (bounded): subscribers and frequent callers repeat.
        """
        cache = self._cache
        reading = cache.get(text)
        if reading is None:
            if len(cache) >= READ_CACHE_SIZE:
                cache.clear()  # cheaper than LRU bookkeeping on every call
            reading = cache[text] = self._read(text)
        return reading

    def read_leading(self, text: str) -> Reading:
        """Read the number at the start of caller ID or dialled digits; the call path's
        reading. Never raises.

        `+31855550101;npdi`, `+31855550101,outbound,+31855550199`, `+31855550101abc` and
        `+31855550101` followed by a line break and anything at all all read as
        +31855550101: junk after a number never turns a listed number into another or into
        none. Digits joined only by formatting are one number (`+31 85 555 0101 5` is
        +318555501015, as a person would read it). A text that starts with no digit is read
        whole (`anonymous` is withheld, `HANGUP` is an invalid number).
        """
        if text.isascii() and (text.isdigit() or (text[:1] == "+" and text[1:].isdigit())):
            return self.read(text)  # the common case, without the pattern: only the number
        match = _LEADING.match(text)
        head = match.group(1) if match is not None else ""
        if head == text or _DIGIT.search(head) is None:
            return self.read(text)
        return self.read(head)

    def _read(self, text: str) -> Reading:
        if len(text) > MAX_INPUT_CHARS:
            return Reading(None, Unreadable.INVALID)
        stripped = text.strip()
        if stripped.lower() in _WITHHELD_WORDS:
            return Reading(None, Unreadable.WITHHELD)
        return self.read_cleaned(self._clean(stripped))

    def read_cleaned(self, cleaned: str) -> Reading:
        """`read` of a text already stripped of formatting (`_clean`); not cached.

        The bulk path of a feed: its numbers rarely repeat, so caching them only costs.
        """
        if _DIALLABLE.fullmatch(cleaned) is None:
            return Reading(None, Unreadable.INVALID)
        international = self._international_digits(cleaned)
        if international is None:
            # Dialled in national form: emergency and short codes live here, not in E.164.
            if self.is_short_code(cleaned):
                return Reading(None, protected=True)
            number = self._national_to_international(cleaned)
            if number is None:
                return Reading(None, Unreadable.INVALID)
        else:
            number = international
            if not is_possible_international(number):
                return Reading(None, Unreadable.INVALID)
        return Reading("+" + number, protected=self.is_protected_digits(number))

    def is_short_code(self, national: str) -> bool:
        """True for the region's emergency numbers and short codes (112, 116123, 1400...)."""
        return _short_codes(self.region).matches(national)

    def is_protected_digits(self, number_digits: str) -> bool:
        """True when international digits are a configured protected number or in a block."""
        if number_digits in self._protected_exact:
            return True
        return number_digits.startswith(self._protected_prefixes)

    def covers_protected(self, prefix_digits: str) -> bool:
        """True when a block of numbers starting with these digits holds a protected number:
        a configured one (helplines), or an emergency number of the block's country written
        after its country code (`+31 112...`, matched as phonenumbers' emergency matching
        does). Other short codes are dialled nationally and read as protected before they
        could ever become E.164, so a block can't cover them; checking them here would refuse
        ordinary blocks such as a US NPA-NXX (`+1 212 555`, also a valid US SMS short code)."""
        if any(p.startswith(prefix_digits) or prefix_digits.startswith(p)
               for p in self._protected_prefixes):
            return True
        if any(n.startswith(prefix_digits) for n in self._protected_exact):
            return True
        split = split_country_code(prefix_digits)
        if split is None:
            return False
        cc, national = split
        return any(_short_codes(region).emergency(national) for region in _regions_of(cc))

    def protected_international(self) -> tuple[str, ...]:
        """The configured protected numbers in international form (`+318000113`,
        `+31116*`): the same numbers, readable by any region's plan."""
        return (tuple("+" + n for n in sorted(self._protected_exact))
                + tuple("+" + p + "*" for p in self._protected_prefixes))

    # -- the admin side ------------------------------------------------------------------

    def parse_exact(self, text: str) -> str:
        """The E.164 form of one number that may be listed, or an error saying why not.

        Stricter than `read`: phonenumbers must call the number valid, and a protected number
        raises `ProtectedNumberError`.
        """
        reading = self.read(text)
        if reading.protected:
            raise ProtectedNumberError(f"{text!r} is a protected number and can't be listed",
                                       code=ErrorCode.PROTECTED_NUMBER, values={"value": text})
        if reading.e164 is None:
            raise InvalidNumberError(f"{text!r} is not a phone number",
                                     code=ErrorCode.NOT_A_NUMBER, values={"value": text})
        if not _is_valid_number(reading.e164):
            raise InvalidNumberError(f"{text!r} is not a valid number ({reading.e164})",
                                     code=ErrorCode.NUMBER_INVALID,
                                     values={"value": text, "number": reading.e164})
        return reading.e164

    def parse_prefix(self, text: str, *, min_national_digits: int = 6) -> str:
        """The international digits of a number block (`0900 1234 5xx`, `+31900123*`).

        The block must hold at least `min_national_digits` digits after the country code and
        may not cover a protected number.
        """
        body = self._clean(_WILDCARD_TAIL.sub("", text.strip()))
        body = _WILDCARD_TAIL.sub("", body)
        if _DIALLABLE.fullmatch(body) is None:
            raise InvalidNumberError(f"{text!r} is not a number prefix",
                                     code=ErrorCode.NOT_A_PREFIX, values={"value": text})
        number = self._international_digits(body)
        if number is None:
            number = self._national_prefix_to_international(body)
        split = split_country_code(number)
        if split is None:
            raise InvalidNumberError(f"{text!r} has no known country code",
                                     code=ErrorCode.PREFIX_UNKNOWN_COUNTRY,
                                     values={"value": text})
        if len(split[1]) < min_national_digits:
            raise InvalidNumberError(
                f"prefix {text!r} is too short: {len(split[1])} national digits,"
                f" at least {min_national_digits} needed",
                code=ErrorCode.PREFIX_TOO_SHORT,
                values={"value": text, "digits": str(len(split[1])),
                        "needed": str(min_national_digits)},
            )
        if len(number) > MAX_E164_DIGITS:
            raise InvalidNumberError(f"prefix {text!r} is longer than any number",
                                     code=ErrorCode.PREFIX_TOO_LONG, values={"value": text})
        if self.covers_protected(number):
            raise ProtectedNumberError(f"prefix {text!r} covers a protected number",
                                       code=ErrorCode.PREFIX_PROTECTED, values={"value": text})
        return number

    # -- reading helpers -----------------------------------------------------------------

    @staticmethod
    def _clean(text: str) -> str:
        text = _BRACKETED_TRUNK.sub(r"\1\2", text)
        return _FORMATTING.sub("", text)

    def _international_digits(self, cleaned: str) -> str | None:
        """Digits after `+` or the region's international prefix; None when national."""
        if cleaned.startswith("+"):
            return cleaned[1:]
        if self._intl is not None:
            hit = self._intl.match(cleaned)
            if hit is not None and hit.end() > 0:
                return cleaned[hit.end():]
        return None

    def _national_to_international(self, national: str) -> str | None:
        candidates = []
        if self._trunk is not None:
            hit = self._trunk.match(national)
            if hit is not None and hit.end() > 0:
                candidates.append(self.country_code + national[hit.end():])
        candidates.append(self.country_code + national)
        # Some switches send international digits without the plus ("31201234567").
        candidates.append(national)
        for candidate in candidates:
            if is_possible_international(candidate):
                return candidate
        return None

    def _national_prefix_to_international(self, national: str) -> str:
        if self._trunk is not None:
            hit = self._trunk.match(national)
            if hit is not None and hit.end() > 0:
                return self.country_code + national[hit.end():]
        return self.country_code + national

    def _to_international(self, text: str) -> str:
        cleaned = self._clean(text)
        if _DIALLABLE.fullmatch(cleaned) is None:
            raise ConfigError(f"protected number {text!r} is not a number")
        number = self._international_digits(cleaned)
        return number if number is not None else self._national_prefix_to_international(cleaned)


def _is_valid_number(e164: str) -> bool:
    import phonenumbers  # the admin side only: about 24 ms to import

    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return False
    return bool(phonenumbers.is_valid_number(parsed))
