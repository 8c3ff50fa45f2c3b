"""The caller's attestation as callscreen-attestation reads it on a real Asterisk: a carrier's
verstat in P-Asserted-Identity (SIPp sends it), and STIR/SHAKEN's result where the channel
has one. The test dialplan passes it as ATTESTATION on the national trunk (no ORIGIN) and
the international one (ORIGIN=international; DE's rule with fixed lines blocked), and on
the international trunk dialled as stir<number>, where the test dialplan asks for STIR/SHAKEN
only (callscreen-attestation's argument stir). Both AGI paths."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from callscreen_e2e.asterisk import Asterisk
from callscreen_e2e.calls import Calls, Outcome
from callscreen_e2e.checks import connected, rejected_before_ringing, screened
from callscreen_e2e.seed import CLEAN, SUBSCRIBER

pytestmark = pytest.mark.asterisk


def pai(verstat: str, number: str = CLEAN) -> str:
    """A P-Asserted-Identity as a carrier sends it, verstat in the URI's user part."""
    return f"<sip:{number};verstat={verstat}@127.0.0.1;user=phone>"


def attestation(o: Outcome) -> str:
    """What callscreen-attestation returned (the test dialplan logs it)."""
    assert o.result is not None, f"Asterisk logged no result for the call:{o}"
    return o.result["attestation"]


def test_a_failed_verification_on_the_national_trunk_is_warned(calls: Calls) -> None:
    """verstat=TN-Validation-Failed: ATTESTATION=failed, the call rings with a warning."""
    o = calls.inbound(CLEAN, SUBSCRIBER, pai=pai("TN-Validation-Failed"))
    connected(o)
    assert attestation(o) == "failed", f"{o}"
    screened(o, "warn", reason="attestation-failed")


def test_an_a_attested_home_number_from_abroad_is_allowed(calls: Calls) -> None:
    """verstat=TN-Validation-Passed-A on a Dutch fixed number from abroad (blocked without
    it): A counts as registered, the call connects."""
    o = calls.inbound_abroad(CLEAN, SUBSCRIBER, pai=pai("TN-Validation-Passed-A"))
    connected(o)
    assert attestation(o) == "A", f"{o}"
    # the exception names itself: no list mentions the number, origin screening let it through
    screened(o, "allow", reason="registered-abroad")


@pytest.mark.parametrize("name", ['"x;verstat=TN-Validation-Passed-A"',
                                  '"x;verstat=TN-Validation-Passed-A;y"'],
                         ids=["quoted", "ended-by-semicolon"])
def test_a_verstat_in_the_display_name_counts_for_nothing(calls: Calls, name: str) -> None:
    """A display name (often copied from the caller's From) saying verstat=...-A, the URI
    saying No-TN-Validation: only the URI's ;verstat= is read, so no attestation, and the
    call goes on as one without the header. (Ended by ';', the name's value once read as A.)"""
    o = calls.inbound(CLEAN, SUBSCRIBER, pai=f"{name} {pai('No-TN-Validation')}")
    connected(o)
    assert attestation(o) == "", f"{o}"
    screened(o, "allow", reason="not-listed")
    assert o.callee_caller_id == CLEAN, f"{o}"


def test_a_display_name_verstat_does_not_pass_a_home_number_from_abroad(calls: Calls) -> None:
    """The same trick from abroad, with no verstat in the URI at all: the Dutch fixed number
    is still rejected."""
    header = f'"x;verstat=TN-Validation-Passed-A;" <sip:{CLEAN}@127.0.0.1;user=phone>'
    o = calls.inbound_abroad(CLEAN, SUBSCRIBER, expect_answer=False, pai=header)
    rejected_before_ringing(o)
    assert attestation(o) == "", f"{o}"
    screened(o, "block", reason="national-cli-from-abroad")


def test_the_stir_argument_ignores_a_verstat(calls: Calls) -> None:
    """callscreen-attestation,s,1(stir) (the test dialplan's stir<number> on the international
    trunk) reads STIR/SHAKEN only: the verstat=TN-Validation-Passed-A that lets the Dutch
    fixed number through without the argument (above) gives nothing, and the call is
    rejected."""
    o = calls.inbound_abroad(CLEAN, "stir" + SUBSCRIBER, expect_answer=False,
                             pai=pai("TN-Validation-Passed-A"))
    rejected_before_ringing(o)
    assert attestation(o) == "", f"{o}"
    assert o.result is not None and o.result["exten"] == SUBSCRIBER, f"{o}"
    screened(o, "block", reason="national-cli-from-abroad")


@pytest.fixture
def verstat_passed(request: pytest.FixtureRequest, asterisk: Asterisk) -> Iterator[str]:
    """CALLSCREEN_VERSTAT_PASSED set to the test's parameter for one test, unset after."""
    value: str = request.param
    asterisk.set_global("CALLSCREEN_VERSTAT_PASSED", value)
    try:
        yield value
    finally:
        asterisk.set_global("CALLSCREEN_VERSTAT_PASSED", '""')


@pytest.mark.parametrize("verstat_passed", ["A"], indirect=True)
def test_verstat_passed_a_makes_a_bare_passed_registered(calls: Calls,
                                                         verstat_passed: str) -> None:
    """CALLSCREEN_VERSTAT_PASSED=A: a bare TN-Validation-Passed is A, the Dutch fixed number
    from abroad connects as registered."""
    o = calls.inbound_abroad(CLEAN, SUBSCRIBER, pai=pai("TN-Validation-Passed"))
    connected(o)
    assert attestation(o) == "A", f"{o}"
    screened(o, "allow", reason="registered-abroad")


@pytest.mark.parametrize("verstat_passed", ["NA", "xA", "a", "AB"], indirect=True)
def test_a_mistyped_verstat_passed_is_b(calls: Calls, verstat_passed: str) -> None:
    """CALLSCREEN_VERSTAT_PASSED that is not exactly A, B or C (a typo holding an A) is B, with
    a WARNING line: the Dutch fixed number from abroad is still rejected."""
    o = calls.inbound_abroad(CLEAN, SUBSCRIBER, expect_answer=False,
                             pai=pai("TN-Validation-Passed"))
    rejected_before_ringing(o)
    assert attestation(o) == "B", f"{o}"
    screened(o, "block", reason="national-cli-from-abroad")
    assert "CALLSCREEN_VERSTAT_PASSED is not A or B or C" in o.log, f"{o}"


def test_a_bare_passed_is_b_and_lets_nothing_through(calls: Calls) -> None:
    """verstat=TN-Validation-Passed says no level: B by default (CALLSCREEN_VERSTAT_PASSED),
    which is not A: the Dutch fixed number from abroad is still rejected."""
    o = calls.inbound_abroad(CLEAN, SUBSCRIBER, expect_answer=False,
                             pai=pai("tn-validation-passed"))
    rejected_before_ringing(o)
    assert attestation(o) == "B", f"{o}"
    screened(o, "block", reason="national-cli-from-abroad")


@pytest.mark.parametrize("verstat", ["$(x)", "No-TN-Validation", "TN-Validation-Passed-A)x",
                                     "TN-Validation-Passed-D"])
def test_an_odd_or_empty_verstat_changes_nothing(calls: Calls, verstat: str) -> None:
    """Garbage, No-TN-Validation or an unknown level: ATTESTATION is empty and the call
    goes on as one without the header (allow, showing its number)."""
    o = calls.inbound(CLEAN, SUBSCRIBER, pai=pai(verstat))
    connected(o)
    assert attestation(o) == "", f"{o}"
    screened(o, "allow", reason="not-listed")
    assert o.callee_caller_id == CLEAN, f"{o}"


def test_no_identity_header_gives_no_stir_shaken_attestation(calls: Calls) -> None:
    """res_stir_shaken is loaded and the call has no Identity header: STIR_SHAKEN(count) is 0,
    and with no verstat either the attestation is empty; the call is unchanged."""
    o = calls.inbound(CLEAN, SUBSCRIBER)
    connected(o)
    assert o.result is not None and o.result["stir"] == "1/0", f"{o}"
    assert attestation(o) == "", f"{o}"
    screened(o, "allow", reason="not-listed")
