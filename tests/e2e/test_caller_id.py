"""Caller ID dressed up to slip past the blocklist, sent as real SIP calls through the shipped
dialplan, on both AGI paths (the `calls` fixture runs every test twice).

SIPp writes the From user exactly as given: PJSIP decodes its `%0A` into a line break in
CALLERID(num), as a hostile network would deliver it. Asterisk writes caller ID raw into the
AGI environment, so the test also reads the environment Asterisk sent (`agi set debug on`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from callscreen_e2e.asterisk import Asterisk
from callscreen_e2e.calls import Calls, Outcome
from callscreen_e2e.checks import REJECTED, connected, rejected_before_ringing, screened
from callscreen_e2e.seed import REVOKED, STRICT, SUBSCRIBER, SUSPECTED, SUSPECTED_NATIONAL

pytestmark = pytest.mark.asterisk

# The revoked number as a caller can dress it up in a From user (URI escapes as sent), and the
# caller ID the AGI's environment holds: the raw one when it is printable, else the number the
# dialplan hands the AGI.
DRESSED_UP = [
    ("+31855550101%0A%0A", "+31855550101"),  # the environment used to end after agi_callerid
    ("+31855550101%0AHANGUP%0A200%20result=1%0A", "+31855550101"),  # fake AGI lines
    ("+31855550101,outbound,+31855550199", "+31855550101,outbound,+31855550199"),  # was glued
    ("+31855550101,0855550199", "+31855550101,0855550199"),
    ("+31855550101%3Bnpdi%3Brn=+31855550199", "+31855550101"),  # Asterisk drops ;parameters
    ("+31855550101abc", "+31855550101abc"),
    ("+31855550101%09%0D%0A%0D%0A", "+31855550101"),
    ("%0A%0A+31855550101", "+31855550101"),  # blank lines before the number
    ("+31%2085%20555%200101", "+31 85 555 0101"),  # plain formatting: one number
]

_ENV_LINE = re.compile(r"agi_[a-z0-9_]+: [ -~]*")


@pytest.fixture(scope="module", autouse=True)
def agi_debug(asterisk: Asterisk) -> Iterator[None]:
    """Asterisk logs every AGI line it sends, so a test can read the environment."""
    asterisk.cli("agi set debug on")
    yield
    asterisk.cli("agi set debug off")


def clean_environment(o: Outcome, callerid: str) -> None:
    """The AGI got one environment, every line a clean `agi_name: value`, with this caller ID
    (the number it screens: the dialplan replaced the raw caller ID while the AGI ran)."""
    assert len(o.agi_environments) == 1, f"AGI environments: {o.agi_environments}:{o}"
    lines = o.agi_environments[0]
    assert lines[-1] == "", f"environment not ended by an empty line: {lines}"
    broken = [line for line in lines[:-1] if not _ENV_LINE.fullmatch(line)]
    assert not broken, f"the AGI environment was broken by {broken}:{o}"
    assert f"agi_callerid: {callerid}" in lines, f"{lines}"


@pytest.mark.parametrize(("caller", "environment_callerid"), DRESSED_UP)
def test_revoked_caller_dressed_up_is_still_rejected(calls: Calls, caller: str,
                                                     environment_callerid: str) -> None:
    """Line breaks, fake AGI replies, commas, parameters or letters after the revoked number,
    or blank lines before it: the caller is rejected as revoked, the AGI conversation intact."""
    o = calls.inbound(caller, SUBSCRIBER, expect_answer=False)
    rejected_before_ringing(o)
    screened(o, "block", category="revoked", number=REVOKED, reason="listed",
             agistatus="SUCCESS", cause="21")
    clean_environment(o, environment_callerid)


# Garbage caller IDs; what the called phone is shown (Asterisk trims blanks at either end of a
# caller ID when the call arrives, and an empty one is sent without a From user); the caller
# ID in the AGI's environment (the dialplan's reading: "unknown" is Asterisk's word for none).
@pytest.mark.parametrize(
    ("caller", "reason", "presented", "environment_callerid"),
    [
        ("%0A%0AHANGUP%0A200%20result=1%0A", "invalid-number", "HANGUP\n200 result=1",
         "HANGUP"),
        ("%0A%0A", "withheld", None, "unknown"),
        ("HANGUP%0A%0A200%20result=1%20(+31855550101)", "invalid-number",
         "HANGUP\n\n200 result=1 (+31855550101)", "HANGUP"),
    ],
)
def test_garbage_caller_id_connects_cleanly(calls: Calls, caller: str, reason: str,
                                            presented: str | None,
                                            environment_callerid: str) -> None:
    """Garbage alone (line breaks, HANGUP, a fake `200 result=1`) is a clean allow, status
    ok, not an AGI failure; the called phone is shown the caller ID exactly as it came."""
    o = calls.inbound(caller, SUBSCRIBER)
    connected(o)
    screened(o, "allow", reason=reason, number="", agistatus="SUCCESS", dialstatus="ANSWER")
    assert o.callee_caller_id == presented, f"callee shown {o.callee_caller_id!r}:{o}"
    clean_environment(o, environment_callerid)


def test_dressed_up_caller_reaches_the_phone_unchanged(calls: Calls) -> None:
    """A clean caller with a line break appended connects, and the phone is shown the caller
    ID as it came (the dialplan restores it after the AGI)."""
    o = calls.inbound("+31201234567%0Ax", SUBSCRIBER)
    connected(o)
    screened(o, "allow", reason="not-listed", number="+31201234567", agistatus="SUCCESS")
    assert o.callee_caller_id == "+31201234567\nx", f"callee shown {o.callee_caller_id!r}:{o}"
    clean_environment(o, "+31201234567")


def test_subscriber_caller_id_with_line_breaks_is_still_read(calls: Calls) -> None:
    """Outbound, the subscriber is CALLERID(num): with line breaks after it the strict
    subscriber is still found, and the suspected number is blocked in Dutch."""
    o = calls.outbound(STRICT + "%0A%0A", SUSPECTED_NATIONAL, expect_answer=False)
    assert o.final == REJECTED, f"{o}"
    assert o.callee_invited == 0, f"the trunk got the call:{o}"
    screened(o, "block", category="suspected", prompt="callscreen/nl/block-outbound",
             agistatus="SUCCESS")
    clean_environment(o, STRICT)


def test_called_number_with_line_breaks_is_still_read(calls: Calls) -> None:
    """Inbound to the strict subscriber's number with line breaks after it (the Request-URI
    user, so EXTEN and DNID): the subscriber is still found, and the suspected caller is
    rejected as strict mode says; the environment's DNID line is clean."""
    o = calls.inbound(SUSPECTED, STRICT + "%0A%0A", expect_answer=False)
    rejected_before_ringing(o)
    screened(o, "block", category="suspected", agistatus="SUCCESS")
    clean_environment(o, SUSPECTED)
    assert f"agi_dnid: {STRICT}" in o.agi_environments[0], o.agi_environments[0]
