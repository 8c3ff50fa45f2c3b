"""Reading numbers: caller ID, dialled digits and feed cells, as E.164."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from blocklist.errors import ConfigError, InvalidNumberError, ProtectedNumberError
from blocklist.numbers import NumberPlan, Unreadable

NL = NumberPlan("NL", ("0800 0113", "116xxx"))

READS = [
    # (region, text, e164 or None, protected)
    ("NL", "020 123 4567", "+31201234567", False),
    ("NL", "+31 (0)20-123 4567", "+31201234567", False),
    ("NL", "0031 20 123 4567", "+31201234567", False),
    ("NL", "31201234567", "+31201234567", False),  # international digits without the plus
    ("NL", "085-1234567", "+31851234567", False),
    ("NL", "06.12.34.56.78", "+31612345678", False),
    ("NL", "0900 1234 567", "+319001234567", False),
    ("NL", "+44 20 7946 0100", "+442079460100", False),
    ("NL", "  +1 (212) 555-1234 ", "+12125551234", False),
    ("DE", "0221 1234567", "+492211234567", False),
    ("DE", "+49 (0)221 1234567", "+492211234567", False),
    ("DE", "0049 221 1234567", "+492211234567", False),
    ("GB", "020 7946 0100", "+442079460100", False),
    ("GB", "07700 900123", "+447700900123", False),
    ("US", "(212) 555-1234", "+12125551234", False),
    ("US", "1-212-555-1234", "+12125551234", False),
    ("US", "011 31 20 123 4567", "+31201234567", False),
    # protected: emergency and short codes, configured helplines
    ("NL", "112", None, True),
    ("NL", "116123", None, True),
    ("NL", "0800 0113", "+318000113", True),
    ("NL", "+318000113", "+318000113", True),
    ("DE", "110", None, True),
    ("GB", "999", None, True),
    ("US", "911", None, True),
]


@pytest.mark.parametrize(("region", "text", "e164", "protected"), READS)
def test_read_gives_e164_and_protection(region: str, text: str, e164: str | None,
                                         protected: bool) -> None:
    """National, international and formatted forms read to the same E.164 number."""
    plan = NumberPlan(region, ("0800 0113", "116xxx") if region == "NL" else ())
    reading = plan.read(text)
    assert reading.e164 == e164
    assert reading.protected is protected


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("anonymous", Unreadable.WITHHELD),
        ("Restricted", Unreadable.WITHHELD),
        ("unknown", Unreadable.WITHHELD),
        ("", Unreadable.WITHHELD),
        ("   ", Unreadable.WITHHELD),
        ("abc", Unreadable.INVALID),
        ("12", Unreadable.INVALID),
        ("+31 12", Unreadable.INVALID),
        ("0201234567\nEXEC Dial", Unreadable.INVALID),
        ('"; HANGUP', Unreadable.INVALID),
        ("+999 1234567", Unreadable.INVALID),
        ("1" * 40, Unreadable.INVALID),
        ("9" * 5000, Unreadable.INVALID),
        ("\x00\xff\ufffd", Unreadable.INVALID),
        ("sip:+31201234567@evil", Unreadable.INVALID),
    ],
)
def test_garbage_is_no_usable_number(text: str, why: Unreadable) -> None:
    """Garbage and withheld caller IDs give no number and never raise."""
    reading = NL.read(text)
    assert reading.e164 is None
    assert reading.unreadable is why
    assert not reading.protected


LEADING = [
    # (caller ID as it arrives, the number read from it)
    ("+31855550101", "+31855550101"),
    ("+31855550101\n\n", "+31855550101"),
    ("+31855550101\nHANGUP\n200 result=1", "+31855550101"),
    ("+31855550101,outbound,+31855550199", "+31855550101"),
    ("+31855550101,0855550199", "+31855550101"),
    ("+31855550101;npdi;rn=+31855550199", "+31855550101"),
    ("+31855550101;ext=12", "+31855550101"),
    ("+31855550101abc", "+31855550101"),
    ("+31855550101+31855550199", "+31855550101"),
    ("+31855550101 +31855550199", "+31855550101"),
    ("+31855550101#", "+31855550101"),
    ("+31855550101*5", "+31855550101"),
    ("+31855550101\x00\x07\x1b[0m", "+31855550101"),
    ("+31855550101\u202e1010555558", "+31855550101"),
    ("+31855550101\u00b2", "+31855550101"),  # a superscript two is a digit to str.isdigit
    ("+31 (0)85 555 0101, the helpdesk", "+31855550101"),
    ("085-555 0101;foo", "+31855550101"),
    ("0031855550101@evil", "+31855550101"),
    ("\n\t +31855550101", "+31855550101"),
    ("0201234567\nEXEC Dial", "+31201234567"),
    # formatting joins digits: one (longer) number, as a person would read it
    ("+31 85 555 0101 5", "+318555501015"),
]


@pytest.mark.parametrize(("text", "e164"), LEADING)
def test_read_leading_reads_the_number_a_caller_id_starts_with(text: str, e164: str) -> None:
    """The call path reads the number at the start; nothing appended changes or hides it."""
    assert NL.read_leading(text).e164 == e164


@pytest.mark.parametrize(
    ("text", "why"),
    [("", Unreadable.WITHHELD), ("\n\n", Unreadable.WITHHELD),
     ("anonymous", Unreadable.WITHHELD), (" Restricted\n", Unreadable.WITHHELD),
     ("\n\nHANGUP\n200 result=1\n", Unreadable.INVALID), ("HANGUP", Unreadable.INVALID),
     ("200 result=1 (+31855550101)", Unreadable.INVALID), (",+31855550101", Unreadable.INVALID),
     ("sip:+31855550101@evil", Unreadable.INVALID), ("+", Unreadable.INVALID),
     ("+31 12;x", Unreadable.INVALID), ("1" * 70 + ";x", Unreadable.INVALID)],
)
def test_read_leading_of_garbage_is_no_number(text: str, why: Unreadable) -> None:
    """A caller ID that starts with no number reads as withheld or invalid, never raises."""
    reading = NL.read_leading(text)
    assert (reading.e164, reading.unreadable, reading.protected) == (None, why, False)


@pytest.mark.parametrize("text", ["112", "112\n\n", "112;x", "112,+31855550101", "116123abc"])
def test_read_leading_keeps_emergency_numbers_protected(text: str) -> None:
    """An emergency or short code with junk after it is still protected."""
    assert NL.read_leading(text).protected


def test_whole_text_reading_stays_strict() -> None:
    """`read` (the admin side's reading) still refuses a number with junk after it."""
    assert NL.read("+31855550101;npdi").e164 is None
    with pytest.raises(InvalidNumberError, match="npdi"):
        NL.parse_exact("+31855550101;npdi")


# Listed numbers as a switch may present them, and what may follow them: a first character
# that can't continue a number (not a digit, not formatting), then anything at all.
_LISTED = ["+31855550101", "0855550101", "+31 85 555 0101", "0031 85 5550101",
           "+31 (0)85-555 01 01", "+44 20 7946 0100", "06 12345678", "+1 (212) 555-1234"]
_FORMATTING = " \u00a0\u202f.-/()[]\u2010\u2011\u2012\u2013\u2014\u2015"
_ENDS_A_NUMBER = st.characters(
    exclude_characters=set("0123456789" + _FORMATTING), exclude_categories=("Cs",))
_JUNK = st.tuples(st.text(alphabet=_FORMATTING, max_size=3), _ENDS_A_NUMBER,
                  st.text(max_size=40)).map("".join)
_BLANKS = st.text(alphabet="".join(map(chr, range(0x21))) + "\x7f", max_size=4)


@given(st.sampled_from(_LISTED), _JUNK, _BLANKS)
@settings(max_examples=500)
def test_junk_around_a_listed_number_never_hides_it(number: str, junk: str,
                                                    blanks: str) -> None:
    """Blanks or control characters before a number and junk after it read as the number."""
    expected = NL.read_leading(number)
    assert expected.e164 is not None
    assert NL.read_leading(blanks + number + junk) == expected


@given(st.text(max_size=80))
@settings(max_examples=400)
def test_read_never_raises(text: str) -> None:
    """Any text at all reads without an exception."""
    reading = NL.read(text)
    assert reading.e164 is None or reading.e164.startswith("+")


@pytest.mark.parametrize(
    ("region", "example_region"),
    [("NL", "NL"), ("NL", "DE"), ("NL", "GB"), ("NL", "US"), ("DE", "DE"), ("US", "US"),
     ("GB", "GB"), ("NL", "BE"), ("NL", "FR")],
)
def test_read_agrees_with_phonenumbers(region: str, example_region: str) -> None:
    """For phonenumbers' own example numbers, our reading equals phonenumbers' E.164."""
    plan = NumberPlan(region)
    for kind in (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE,
                 phonenumbers.PhoneNumberType.TOLL_FREE, phonenumbers.PhoneNumberType.PREMIUM_RATE):
        example = phonenumbers.example_number_for_type(example_region, kind)
        if example is None:
            continue
        e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
        intl = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        assert plan.read(intl).e164 == e164
        if example_region == region:
            national = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL)
            assert plan.read(national).e164 == e164


def test_parse_exact_requires_a_valid_number() -> None:
    """An entry's number must be valid per phonenumbers, not merely number-shaped."""
    assert NL.parse_exact("020 123 4567") == "+31201234567"
    with pytest.raises(InvalidNumberError, match="not a phone number"):
        NL.parse_exact("anonymous")
    with pytest.raises(InvalidNumberError, match="'\\+31 12'"):
        NL.parse_exact("+31 12")


@pytest.mark.parametrize("text", ["112", "116123", "0800 0113", "+318000113"])
def test_protected_numbers_cannot_be_listed(text: str) -> None:
    """Emergency, short and configured protected numbers are refused as entries."""
    with pytest.raises(ProtectedNumberError):
        NL.parse_exact(text)


@pytest.mark.parametrize(
    ("text", "digits"),
    [("0900 1234 5xx", "3190012345"), ("0900123*", "31900123"), ("+31 900 123...", "31900123"),
     ("0909 1234 5XX", "3190912345")],
)
def test_parse_prefix(text: str, digits: str) -> None:
    """Number blocks in national patterns read to international digits."""
    assert NL.parse_prefix(text) == digits


@pytest.mark.parametrize(
    ("text", "error", "message"),
    [
        ("0900 12x", InvalidNumberError, "too short"),
        ("0800 011x", ProtectedNumberError, "covers a protected"),
        ("+31 1123 45*", ProtectedNumberError, "covers a protected"),
        ("hello*", InvalidNumberError, "not a number prefix"),
    ],
)
def test_bad_prefixes_are_refused(text: str, error: type[Exception], message: str) -> None:
    """Too short, protected-covering and non-numeric blocks are refused, naming the value."""
    with pytest.raises(error, match=message):
        NL.parse_prefix(text)


def test_unknown_region_is_a_config_error() -> None:
    """A region phonenumbers does not know is refused at start-up."""
    with pytest.raises(ConfigError, match="'XX'"):
        NumberPlan("XX")


@pytest.mark.parametrize(
    ("region", "text", "digits"),
    [("US", "+1 212 555 xxxx", "1212555"), ("US", "+1 212 555 1xxx", "12125551"),
     ("GB", "+44 20 7946 0xxx", "4420794600"[:9])],
)
def test_ordinary_blocks_are_accepted(region: str, text: str, digits: str) -> None:
    """NPA-NXX and other ordinary blocks are not mistaken for short codes."""
    assert NumberPlan(region).parse_prefix(text, min_national_digits=6) == digits


def test_foreign_emergency_block_is_refused() -> None:
    """A block starting with another country's emergency number is refused, too."""
    with pytest.raises(ProtectedNumberError):
        NL.parse_prefix("+44 999 123x")
