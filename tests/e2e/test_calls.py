"""Real SIP calls through Asterisk with the project's dialplan, each screened through the
FastAGI server and through the per-call script (the `calls` fixture runs every test twice).

What is checked comes from SIPp (responses, whether the far phone got an INVITE, the audio that
reached each side's RTP port) and from Asterisk's dialplan (the E2E-RESULT line it logs at
hangup), not from callscreen's own output.
"""

from __future__ import annotations

import time

import pytest
from callscreen_e2e.asterisk import Asterisk
from callscreen_e2e.calls import Calls, prompt_seconds
from callscreen_e2e.checks import (
    HEARD,
    REJECTED,
    SILENT_S,
    connected,
    rejected_before_ringing,
    screened,
)
from callscreen_e2e.seed import (
    CLEAN,
    EMERGENCY,
    EMERGENCY_BLOCK,
    OFF,
    REVOKED,
    REVOKED_NATIONAL,
    STRICT,
    SUBSCRIBER,
    SUSPECTED,
    SUSPECTED_NATIONAL,
)
from callscreen_e2e.services import Redis, callscreen
from callscreen_e2e.sipp import Sipp
from callscreen_e2e.system import HarnessError

pytestmark = pytest.mark.asterisk

def test_plain_call_without_screening(asterisk: Asterisk, sipp: Sipp) -> None:
    """Asterisk and SIPp alone: a call that does not go through callscreen connects."""
    o = Calls(asterisk, sipp, "plain").outbound(SUBSCRIBER, "plain")
    connected(o)
    assert o.result is not None and o.result["dialstatus"] == "ANSWER", f"{o}"


def test_inbound_clean_caller_connects(calls: Calls) -> None:
    """A caller on no list: the subscriber's phone rings and the call connects, no warning."""
    o = calls.inbound(CLEAN, SUBSCRIBER)
    connected(o)
    screened(o, "allow", dialstatus="ANSWER")
    assert o.callee_heard_s < SILENT_S, f"the subscriber heard something:{o}"


def test_inbound_revoked_caller_is_rejected(calls: Calls) -> None:
    """A revoked caller is rejected; the subscriber's phone never rings."""
    o = calls.inbound(REVOKED, SUBSCRIBER, expect_answer=False)
    rejected_before_ringing(o)
    screened(o, "block", category="revoked", number=REVOKED, cause="21")


def test_inbound_suspected_caller_is_announced(calls: Calls) -> None:
    """A suspected caller connects, and the subscriber hears the warning (in the subscriber's
    language, English here) after answering, before being connected."""
    o = calls.inbound(SUSPECTED, SUBSCRIBER)
    connected(o)
    prompt = "callscreen/en/warn-inbound"
    screened(o, "warn", category="suspected", prompt=prompt, dialstatus="ANSWER")
    assert o.callee_heard_s >= HEARD * prompt_seconds(prompt), f"warning not heard:{o}"


def test_outbound_to_revoked_number_is_announced_and_ended(calls: Calls) -> None:
    """Dialling a revoked number: the block announcement plays as early media, then the call
    ends; the trunk never sees it."""
    o = calls.outbound(SUBSCRIBER, REVOKED_NATIONAL, expect_answer=False)
    rejected_before_ringing(o)
    prompt = "callscreen/en/block-outbound"
    screened(o, "block", category="revoked", number=REVOKED, prompt=prompt)
    assert o.early_media, f"no 183 early media:{o}"
    assert o.caller_heard_s >= HEARD * prompt_seconds(prompt), f"announcement not heard:{o}"


def test_outbound_to_suspected_number_is_warned_then_connected(calls: Calls) -> None:
    """Dialling a suspected number: the warning plays as early media, then the trunk gets the
    call and it connects."""
    o = calls.outbound(SUBSCRIBER, SUSPECTED_NATIONAL)
    connected(o)
    prompt = "callscreen/en/warn-outbound"
    screened(o, "warn", category="suspected", prompt=prompt, dialstatus="ANSWER")
    assert o.early_media, f"no 183 early media:{o}"
    assert o.caller_heard_s >= HEARD * prompt_seconds(prompt), f"warning not heard:{o}"


def test_outbound_emergency_code_reaches_trunk_at_once(calls: Calls, redis: Redis) -> None:
    """112 goes out at once, unannounced, although a block covering it is on the list.

    The importer refuses such a block (a prefix that covers a protected number), so the test
    writes it into the store directly, as a list that somehow holds it anyway would look.
    """
    _list_covering_block(redis)
    o = calls.outbound(STRICT, EMERGENCY)
    connected(o)
    screened(o, "allow", dialstatus="ANSWER")
    assert not o.early_media and o.caller_heard_s < SILENT_S, f"something was played:{o}"


def test_strict_subscriber_gets_suspected_caller_blocked(calls: Calls) -> None:
    """Strict mode: a suspected caller, only warned for others, is rejected."""
    o = calls.inbound(SUSPECTED, STRICT, expect_answer=False)
    rejected_before_ringing(o)
    screened(o, "block", category="suspected")


def test_strict_subscriber_dialling_suspected_number_is_blocked(calls: Calls) -> None:
    """Strict mode: dialling a suspected number plays the block announcement in Dutch."""
    o = calls.outbound(STRICT, SUSPECTED_NATIONAL, expect_answer=False)
    rejected_before_ringing(o)
    prompt = "callscreen/nl/block-outbound"
    screened(o, "block", category="suspected", prompt=prompt)
    assert o.caller_heard_s >= HEARD * prompt_seconds(prompt), f"announcement not heard:{o}"


def test_subscriber_who_opted_out_gets_every_call(calls: Calls) -> None:
    """Mode off: even a revoked caller connects, unannounced."""
    o = calls.inbound(REVOKED, OFF)
    connected(o)
    screened(o, "allow")
    assert o.callee_heard_s < SILENT_S, f"the subscriber heard something:{o}"


def test_redis_down_calls_connect_degraded_then_screening_resumes(
    calls: Calls, redis: Redis
) -> None:
    """With Redis stopped, calls still connect (allow, degraded); once Redis is back, the
    revoked caller is rejected again."""
    redis.stop()
    try:
        o = calls.inbound(REVOKED, SUBSCRIBER)
        connected(o)
        screened(o, "allow", status="degraded")
        o = calls.outbound(SUBSCRIBER, REVOKED_NATIONAL)
        connected(o)
        screened(o, "allow", status="degraded")
    finally:
        redis.start()
    screening_resumes(calls)


def test_redis_hanging_calls_connect_degraded_then_screening_resumes(
    calls: Calls, redis: Redis
) -> None:
    """With Redis hanging (SIGSTOP: it accepts connections and never answers), calls still
    connect, decided within the lookup budget as allow, degraded; after SIGCONT the revoked
    caller is rejected again."""
    redis.freeze()
    try:
        o = calls.inbound(REVOKED, SUBSCRIBER)
        connected(o)
        screened(o, "allow", status="degraded")
    finally:
        redis.thaw()
    screening_resumes(calls)


def _list_covering_block(redis: Redis) -> None:
    from blocklist.entries import AppliesTo, Category, Entry
    from blocklist.store.admin import Store

    with pytest.raises(HarnessError, match="exited with"):
        callscreen(redis, "entry", "add", "+31 112 345", "--prefix", "--category", "revoked")
    store = Store.from_url(redis.url)
    try:
        store.add_entries([Entry(key=EMERGENCY_BLOCK, is_prefix=True, category=Category.REVOKED,
                                 applies_to=AppliesTo.BOTH, source="e2e-injected",
                                 reference="E2E-COVERING-112")])
    finally:
        store.close()


def screening_resumes(calls: Calls) -> None:
    """Within 15 s of Redis coming back, the revoked caller is rejected again."""
    deadline = time.monotonic() + 15
    while True:
        o = calls.inbound(REVOKED, SUBSCRIBER, expect_answer=False)
        if o.final == REJECTED or time.monotonic() > deadline:
            break
        time.sleep(1)
    rejected_before_ringing(o)
    screened(o, "block", category="revoked")
