"""What the called phone is shown of a screened caller, on a real Asterisk with SIPp: the
withheld number (with a label, and without one: restricted presentation), and the warning
label in the subscriber's language. The suite turns the Dutch withhold label off
(services.py: CALLSCREEN_LABEL_WITHHOLD=en=...,nl=); DE's rule withholds home mobiles from
abroad that are not roaming. Both AGI paths."""

from __future__ import annotations

import pytest
from callscreen_e2e.calls import Calls, Outcome
from callscreen_e2e.checks import connected, screened
from callscreen_e2e.seed import DUTCH, SUBSCRIBER, SUSPECTED
from callscreen_e2e.sipp import Message

pytestmark = pytest.mark.asterisk

MOBILE = "+31687654321"  # a Dutch mobile on no list, not roaming (the endpoint says no)
ANONYMOUS_FROM = '"Anonymous" <sip:anonymous@anonymous.invalid>'


def invite_to_callee(o: Outcome) -> Message:
    """The INVITE the called phone got."""
    invites = o.callee.trace.received("INVITE")
    assert len(invites) == 1, f"the called phone got {len(invites)} INVITEs:{o}"
    return invites[0]


def assert_number_nowhere(invite: Message, number: str, o: Outcome) -> None:
    """No form of `number` (E.164 with or without '+', national with 0, the bare subscriber
    digits) appears in any header or in the body of the INVITE."""
    national = number[len("+31"):]  # 687654321: inside every other form
    assert national not in invite.text, f"the number reached the phone:\n{invite.text}{o}"


def test_withheld_without_a_label_arrives_anonymous(calls: Calls) -> None:
    """The Dutch subscriber has no withhold label: the call connects with an anonymous From
    (restricted presentation), and the number is in no header and not in the body."""
    o = calls.inbound_abroad(MOBILE, DUTCH)
    connected(o)
    screened(o, "withhold")
    invite = invite_to_callee(o)
    assert (invite.header("From") or "").startswith(ANONYMOUS_FROM), f"{invite.text}{o}"
    assert_number_nowhere(invite, MOBILE, o)


def test_withheld_with_a_label_shows_why_and_no_number(calls: Calls) -> None:
    """The English subscriber's phone shows "Number hidden: abroad" as the caller name, with
    `anonymous` for the number, and the number is in no header and not in the body."""
    o = calls.inbound_abroad(MOBILE, SUBSCRIBER)
    connected(o)
    screened(o, "withhold")
    invite = invite_to_callee(o)
    assert (invite.header("From") or "").startswith('"Number hidden: abroad" <sip:anonymous@'), (
        f"{invite.text}{o}")
    assert_number_nowhere(invite, MOBILE, o)


@pytest.mark.parametrize("subscriber", [DUTCH, SUBSCRIBER], ids=["unlabelled", "labelled"])
def test_the_channel_keeps_the_withheld_number_only_for_records(calls: Calls,
                                                                subscriber: str) -> None:
    """After the Gosub the caller's channel shows `anonymous` as caller ID and as ANI number
    (which chan_pjsip filled from the caller ID): nothing after Dial can show the number;
    CALLSCREEN_WITHHELD_NUMBER holds it in E.164 for the operator's records."""
    o = calls.inbound_abroad(MOBILE, subscriber)
    connected(o)
    assert o.result is not None, f"{o}"
    assert o.result["caller"] == "anonymous", f"{o}"
    assert o.result["ani"] == "anonymous", f"{o}"
    assert o.result["withheld"] == MOBILE, f"{o}"


def test_a_suspected_caller_rings_with_the_dutch_label(calls: Calls) -> None:
    """A suspected caller to a Dutch standard-mode subscriber rings showing "Mogelijk
    oplichting" as the name, and keeps its number (nothing withheld)."""
    o = calls.inbound(SUSPECTED, DUTCH)
    connected(o)
    screened(o, "warn")
    invite = invite_to_callee(o)
    assert (invite.header("From") or "").startswith('"Mogelijk oplichting" <sip:'), (
        f"{invite.text}{o}")
    assert o.callee_caller_id == SUSPECTED, f"{o}"
    assert o.result is not None and o.result["withheld"] == "", f"{o}"
    assert o.result["ani"] == SUSPECTED, f"{o}"  # the ANI number: the caller ID as it came
