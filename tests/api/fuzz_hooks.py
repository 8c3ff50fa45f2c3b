"""Schemathesis hooks for `test_fuzz.py`: strategies for the API's custom string formats
(`phone-number`, `phone-prefix`, `date-not-past`, `text-encoding`; `create_app`'s
description says what they accept). Loaded by the `st` CLI through SCHEMATHESIS_HOOKS.

Without them schemathesis would draw any string for these formats, and a string that is not
a valid phone number is rightly refused. Every drawn value is checked with the API's own
NumberPlan (region NL, the test server's), so the strategies can't drift from the rules.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import schemathesis
from hypothesis import strategies as st

from blocklist.errors import InvalidNumberError
from blocklist.numbers import NumberPlan
from blocklist.settings import DEFAULT_PROTECTED

PLAN = NumberPlan("NL", DEFAULT_PROTECTED["NL"])
# A national or international start, then digits drawn to complete a number of that range.
NUMBER_STARTS = [("+31 85 555 ", 4), ("085 555 ", 4), ("+31 20 555 ", 4), ("06 ", 8),
                 ("+49 30 ", 8), ("+44 20 7946 ", 4), ("+1 212 555 ", 4)]
PREFIX_STARTS = [("+31 85 555 ", 2), ("0900 5550 ", 1), ("+49 30 123 ", 2)]


def _accepted(read: Callable[[str], object], text: str) -> bool:
    try:
        read(text)
    except InvalidNumberError:
        return False
    return True


def _completed(starts: list[tuple[str, int]], tail: str) -> st.SearchStrategy[str]:
    return st.sampled_from(starts).flatmap(
        lambda start: st.text("0123456789", min_size=start[1], max_size=start[1]).map(
            lambda digits: start[0] + digits + tail))


phone_numbers = _completed(NUMBER_STARTS, "").filter(
    lambda text: _accepted(PLAN.parse_exact, text))
phone_prefixes = _completed(PREFIX_STARTS, "*").filter(
    lambda text: _accepted(PLAN.parse_prefix, text))

today = dt.datetime.now(dt.UTC).date()
dates_not_past = st.dates(min_value=today, max_value=today + dt.timedelta(days=3650)).map(
    dt.date.isoformat)
text_encodings = st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "latin-1", "utf-16"])

schemathesis.openapi.format("phone-number", phone_numbers)
schemathesis.openapi.format("phone-prefix", phone_prefixes)
schemathesis.openapi.format("date-not-past", dates_not_past)
schemathesis.openapi.format("text-encoding", text_encodings)
