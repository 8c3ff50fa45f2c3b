"""Errors in the viewer's language: a core or API error with a code (`ErrorCode`) shows the
catalogue's `problem.<code>` text, naming the value; one without a code shows the API's
English detail, led in Dutch by "De API meldt:". The English messages themselves, the API's
problem documents and so the CLI stay as they were."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Callable

import httpx
import pytest

from api.console.web import attempt, catalog, error_text
from api.problems import Problem, field_problem
from blocklist.entries import AppliesTo, Category, Entry
from blocklist.errors import CallscreenError, ErrorCode, FeedError, InvalidNumberError
from blocklist.numbers import NumberPlan
from tests.api.conftest import Api
from tests.api.test_console import signed_in

NL = NumberPlan("NL", ("0800 0113", "116xxx"))


def _late_entry() -> Entry:
    return Entry(key="31855550101", is_prefix=False, category=Category.FRAUD,
                 applies_to=AppliesTo.BOTH, source="manual",
                 listed_at=dt.date(2026, 5, 2), valid_until=dt.date(2026, 5, 1))


# The core's coded errors: what raises each, the value its text must name, and the English
# message it has always had (the API's detail and the CLI's output).
RAISED: dict[ErrorCode, tuple[Callable[[], object], str, str]] = {
    ErrorCode.NOT_A_NUMBER: (lambda: NL.parse_exact("abc"), "abc",
                             "'abc' is not a phone number"),
    ErrorCode.NUMBER_INVALID: (lambda: NL.parse_exact("088 123 45678"), "088 123 45678",
                               "'088 123 45678' is not a valid number (+318812345678)"),
    ErrorCode.PROTECTED_NUMBER: (lambda: NL.parse_exact("112"), "112",
                                 "'112' is a protected number and can't be listed"),
    ErrorCode.NOT_A_PREFIX: (lambda: NL.parse_prefix("abc*"), "abc*",
                             "'abc*' is not a number prefix"),
    ErrorCode.PREFIX_UNKNOWN_COUNTRY: (lambda: NL.parse_prefix("+999123*"), "+999123*",
                                       "'+999123*' has no known country code"),
    ErrorCode.PREFIX_TOO_SHORT: (lambda: NL.parse_prefix("0900 1*"), "0900 1*",
                                 "prefix '0900 1*' is too short: 4 national digits,"
                                 " at least 6 needed"),
    ErrorCode.PREFIX_TOO_LONG: (lambda: NL.parse_prefix("+31900123456789012*"),
                                "+31900123456789012*",
                                "prefix '+31900123456789012*' is longer than any number"),
    ErrorCode.PREFIX_PROTECTED: (lambda: NL.parse_prefix("116 123*"), "116 123*",
                                 "prefix '116 123*' covers a protected number"),
    ErrorCode.ENTRY_ENDS_BEFORE_LISTED: (_late_entry, "+31855550101",
                                         "entry +31855550101: valid_until 2026-05-01 is"
                                         " before listed_at 2026-05-02"),
}
# Raised by the API's look-up (`api.numbers`), not the core: tested over HTTP below.
API_ONLY = {ErrorCode.NOT_SCREENABLE, ErrorCode.SUBSCRIBER_NOT_A_NUMBER}


def raised(code: ErrorCode) -> CallscreenError:
    call = RAISED[code][0]
    with pytest.raises(CallscreenError) as caught:
        call()
    return caught.value


def test_every_code_is_tested_and_in_both_catalogues() -> None:
    """Each code has its text in English and Dutch, and one of these tests raises it."""
    assert set(RAISED) | API_ONLY == set(ErrorCode)
    for language in ("en", "nl"):
        assert {f"problem.{code}" for code in ErrorCode} <= set(catalog(language)), language


@pytest.mark.parametrize("code", sorted(RAISED))
def test_a_coded_error_keeps_its_english_message_and_names_its_value(code: ErrorCode) -> None:
    """The error carries its code; its message is the English one callers always had."""
    error = raised(code)
    _, value, message = RAISED[code]
    assert (error.code, str(error)) == (code, message)
    assert value in error.values.values()


@pytest.mark.parametrize("code", sorted(RAISED))
def test_a_coded_error_reads_in_each_language_filled_with_its_values(code: ErrorCode) -> None:
    """The console's text for it is the catalogue's, every placeholder filled, naming the
    value; the Dutch differs from the English."""
    error = raised(code)
    value = RAISED[code][1]
    shown = {language: attempt(RAISED[code][0], language)[1] for language in ("en", "nl")}
    for language, text in shown.items():
        assert text == catalog(language)[f"problem.{code}"].format(**error.values)
        assert value in text and "{" not in text
    assert shown["en"] != shown["nl"]


def test_dutch_names_the_bad_number() -> None:
    """The example the desk sees most: not a number at all."""
    _, shown = attempt(lambda: NL.parse_exact("085 555"), "nl")
    assert shown == "Geen geldig telefoonnummer: '085 555'."


def test_the_api_carries_the_code_through_its_problem_but_not_into_the_document() -> None:
    """A 422 made from a coded error keeps code and values for the console; its document
    (`extra`) is what it was: the location and the English message."""
    problem = field_problem(["body", "number"], raised(ErrorCode.PROTECTED_NUMBER))
    assert (problem.code, problem.values) == (ErrorCode.PROTECTED_NUMBER, {"value": "112"})
    assert problem.extra == {"errors": [{"location": ["body", "number"],
                                         "message": "'112' is a protected number and can't"
                                                    " be listed"}]}
    _, shown = attempt(_fail(problem), "nl")
    assert shown == "'112' is een beschermd nummer (alarmnummer, kort nummer of extra beschermd)" \
                    " en kan niet vermeld worden."


def _fail(error: Exception) -> Callable[[], None]:
    def call() -> None:
        raise error
    return call


@pytest.mark.parametrize("error", [
    Problem(409, "conflict", "a manual entry for +31855550101 exists; change it with PATCH"),
    FeedError("CSV file: empty, no header row"),
    InvalidNumberError("'x' is not an entry key"),
])
def test_an_error_without_a_code_is_the_api_detail_led_in_dutch(error: Exception) -> None:
    """No code: English viewers get the detail as it is, Dutch ones "De API meldt: " first."""
    detail = error.detail if isinstance(error, Problem) else str(error)
    assert attempt(_fail(error), "en") == (None, detail)
    assert attempt(_fail(error), "nl") == (None, f"De API meldt: {detail}")


def test_a_code_whose_values_miss_a_placeholder_falls_back_to_the_detail() -> None:
    """A code raised without the values its text needs never shows a half-filled text."""
    assert error_text("nl", "'0900' is bad", ErrorCode.PREFIX_TOO_SHORT,
                      {"value": "0900"}) == "De API meldt: '0900' is bad"


def test_a_pydantic_error_falls_back_too() -> None:
    """The model's own messages (English, from pydantic) are led in Dutch as well."""
    from api.models import EntryCreate

    _, shown = attempt(lambda: EntryCreate.model_validate({"number": "1"}), "nl")
    assert shown is not None and shown.startswith("De API meldt: category: ")


def _dutch(client: httpx.Client) -> httpx.Client:
    client.cookies.set("cs_lang", "nl")
    return client


@pytest.mark.parametrize(("query", "expected"), [
    ("number=abc", "Geen geldig telefoonnummer: 'abc'. Een gesprek met dit nummer zou worden"
                   " doorgelaten (reden invalid-number)."),
    ("number=0855550101&subscriber=xyz", "Abonnee 'xyz' is geen telefoonnummer."),
])
def test_the_lookup_page_says_the_api_refusal_in_dutch(api: Api, query: str,
                                                       expected: str) -> None:
    """The look-up's own refusals (raised by the API, not the core) read in Dutch, while the
    API answers the same question with its English problem document."""
    client, _ = signed_in(api, "read")
    page = _dutch(client).get(f"/console/lookup?{query}")
    shown = re.search(r'role="alert">([^<]*)<', page.text)
    assert shown is not None and html.unescape(shown.group(1)) == expected
    number, _, rest = query.partition("&")
    answer = api.client("read").get(f"/v1/numbers/{number.split('=')[1]}",
                                     params={"direction": "inbound",
                                             **dict([rest.split("=")] if rest else [])})
    assert answer.status_code == 422
    assert set(answer.json()) == {"type", "title", "status", "detail", "instance", "errors"}
    assert "is not a phone number" in answer.json()["detail"]
