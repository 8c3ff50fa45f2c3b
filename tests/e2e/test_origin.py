"""Origin screening on a real Asterisk with SIPp: the same callers on the national trunk and on
an international one (the test dialplan's `from-abroad` passes ORIGIN=international), under DE's
rule with fixed lines blocked (tests/e2e/callscreen_e2e/services.py). Both AGI paths."""

from __future__ import annotations

import pytest
from callscreen_e2e.calls import Calls, Outcome
from callscreen_e2e.checks import connected, rejected_before_ringing, screened
from callscreen_e2e.seed import CLEAN, SUBSCRIBER, SUSPECTED
from callscreen_e2e.services import HANGS, ROAMER, Redis, callscreen

pytestmark = pytest.mark.asterisk

MOBILE = "+31612345678"  # a Dutch mobile on no list


def callee_from(o: Outcome) -> str:
    """The From header the called phone got."""
    invites = o.callee.trace.received("INVITE")
    assert invites, f"the called phone got no INVITE:{o}"
    return invites[0].header("From") or ""


def test_national_fixed_number_from_abroad_is_rejected(calls: Calls) -> None:
    """A Dutch landline number on the international trunk is rejected before ringing."""
    o = calls.inbound_abroad(CLEAN, SUBSCRIBER, expect_answer=False)
    rejected_before_ringing(o)
    screened(o, "block", reason="national-cli-from-abroad")


def test_the_same_caller_on_the_national_trunk_is_unchanged(calls: Calls) -> None:
    """The same number on the national trunk connects, showing its number, as before."""
    o = calls.inbound(CLEAN, SUBSCRIBER)
    connected(o)
    screened(o, "allow", reason="not-listed")
    assert o.callee_caller_id == CLEAN, f"{o}"


def test_national_mobile_from_abroad_connects_without_its_number(calls: Calls) -> None:
    """A Dutch mobile from abroad that is not roaming connects withheld: the phone gets no
    number, and the label says why. (The roaming endpoint says no, to both paths.)"""
    o = calls.inbound_abroad(MOBILE, SUBSCRIBER)
    connected(o)
    screened(o, "withhold", reason="national-cli-from-abroad")
    assert o.callee_caller_id == "anonymous", f"{o}"
    assert MOBILE.lstrip("+") not in callee_from(o), f"{o}"
    assert '"Number hidden: abroad"' in callee_from(o), f"{o}"


def test_112_presented_from_abroad_is_rejected(calls: Calls) -> None:
    """An emergency number presented as the caller from abroad is the spoofing case."""
    o = calls.inbound_abroad("112", SUBSCRIBER, expect_answer=False)
    rejected_before_ringing(o)
    screened(o, "block", reason="protected-cli-from-abroad")


def test_a_suspected_caller_rings_with_the_label(calls: Calls) -> None:
    """A suspected caller on the national trunk rings showing "Possible scam" and its
    number."""
    o = calls.inbound(SUSPECTED, SUBSCRIBER)
    connected(o)
    screened(o, "warn")
    assert '"Possible scam"' in callee_from(o), f"{o}"
    assert o.callee_caller_id == SUSPECTED, f"{o}"


def test_a_roaming_mobile_connects_with_its_number(calls: Calls) -> None:
    """The roaming endpoint says yes: on both paths the call connects showing the number,
    and the channel says why (roaming-verified)."""
    o = calls.inbound_abroad(ROAMER, SUBSCRIBER)
    connected(o)
    screened(o, "allow", reason="roaming-verified")
    assert o.callee_caller_id == ROAMER, f"{o}"


def test_a_hanging_roaming_endpoint_still_connects(calls: Calls) -> None:
    """The endpoint never answers: on both paths the call is decided within the budget
    (withheld, unverified, status ok) and connects."""
    o = calls.inbound_abroad(HANGS, SUBSCRIBER)
    connected(o)
    screened(o, "withhold", reason="roaming-unverified")


def test_a_registered_number_from_abroad_connects(calls: Calls, redis: Redis) -> None:
    """A number registered for use from abroad connects from the international trunk,
    showing its number, and the channel says why (registered-abroad)."""
    number = "+31612345609"
    callscreen(redis, "registered", "add", number, "--reason", "contact centre abroad")
    try:
        o = calls.inbound_abroad(number, SUBSCRIBER)
    finally:
        callscreen(redis, "registered", "remove", number)
    connected(o)
    screened(o, "allow", reason="registered-abroad")
    assert o.callee_caller_id == number, f"{o}"
