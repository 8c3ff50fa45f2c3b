"""`Screener.screen`: prepare, one pipeline, conclude; and its fail-open contract. And what a
caller ID dressed up with junk asks the store, and the decision from the answer (pure)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from blocklist.entries import (
    Action,
    AppliesTo,
    Category,
    Direction,
    Entry,
    Listing,
    Lookup,
    Match,
)
from blocklist.errors import StoreError, StoreTimeoutError
from blocklist.numbers import digits
from blocklist.origin import PRESETS, Attestation, Origin, Roaming
from blocklist.policy import Decision, Reason, decide
from blocklist.redis_server import free_port
from blocklist.screening import Screener, Screening
from blocklist.settings import Settings
from blocklist.store.admin import Store
from blocklist.store.registered import register
from blocklist.store.wire import BlockingConnection, RedisAddress
from blocklist.values import replace


def connection(url: str) -> BlockingConnection:
    return BlockingConnection(RedisAddress.from_url(url), 0.2)


def test_a_listed_number_is_decided_from_the_store(store: Store, settings: Settings) -> None:
    """The store's listing decides: a revoked caller is blocked, with its category."""
    store.add_entries([Entry(key="31851234567", is_prefix=False, category=Category.REVOKED,
                             applies_to=AppliesTo.BOTH, source="acm")])
    assert settings.redis_url
    decision = Screener(settings).screen(
        connection(settings.redis_url), Direction.INBOUND, "085 123 4567"
    )
    assert (decision.action, decision.reason, decision.category) == (
        Action.BLOCK, Reason.LISTED, Category.REVOKED
    )
    assert not decision.degraded


@pytest.mark.parametrize(("number", "reason"), [
    ("112", Reason.PROTECTED),
    ("anonymous", Reason.WITHHELD),
    ("not a number", Reason.INVALID_NUMBER),
])
def test_numbers_decided_without_the_store_never_ask_it(number: str, reason: Reason) -> None:
    """Protected and unreadable numbers are decided with no store at all (none listens)."""
    dead = connection(f"redis://127.0.0.1:{free_port()}/0")
    decision = Screener(Settings()).screen(dead, Direction.INBOUND, number)
    assert (decision.action, decision.reason, decision.degraded) == (Action.ALLOW, reason, False)


def test_a_store_that_does_not_answer_fails_open(silent_port: int) -> None:
    """With fail_open, a hanging store allows the call, degraded, and says why."""
    told: list[StoreError] = []
    decision = Screener(Settings()).screen(
        connection(f"redis://127.0.0.1:{silent_port}/0"), Direction.INBOUND, "+31851234567",
        fail_open=told.append,
    )
    assert (decision.action, decision.reason, decision.rule) == (
        Action.ALLOW, Reason.STORE_TIMEOUT, "fail-open"
    )
    assert decision.degraded and decision.e164 == "+31851234567"
    assert len(told) == 1 and isinstance(told[0], StoreTimeoutError)


def test_a_store_that_is_down_fails_open() -> None:
    """With fail_open, a refused connection allows the call, degraded (store-unavailable)."""
    told: list[StoreError] = []
    decision = Screener(Settings()).screen(
        connection(f"redis://127.0.0.1:{free_port()}/0"), Direction.OUTBOUND, "+31851234567",
        fail_open=told.append,
    )
    assert (decision.action, decision.reason, decision.degraded) == (
        Action.ALLOW, Reason.STORE_UNAVAILABLE, True
    )
    assert len(told) == 1


def test_without_fail_open_a_store_failure_raises(silent_port: int) -> None:
    """The admin side's explanation is not made without the store: StoreError propagates."""
    with pytest.raises(StoreTimeoutError):
        Screener(Settings()).screen(
            connection(f"redis://127.0.0.1:{silent_port}/0"), Direction.INBOUND, "+31851234567"
        )


# -- junk in caller ID: the store is asked the same, a revoked number stays blocked --------

SCREENER = Screener(Settings(region="NL"))
REVOKED = "+31855550101"
SUBSCRIBER = "+31301234567"
# Junk a caller can put after a number in the SIP From user (PJSIP decodes %0A and friends).
JUNK = ["\n\n", "\nHANGUP\n200 result=1", ",outbound,+31855550199", ";npdi;rn=+31855550199",
        "abc", "+31855550199", " +31855550199", ",0855550199", "#", "\x00\x1b[0m", "\r\n\r\n"]


def store_answer(screening: Screening) -> Lookup:
    """What a store holding only REVOKED (revoked, both ways) answers for this screening."""
    if screening.reading.e164 != REVOKED:
        return Lookup()
    listing = Listing(Category.REVOKED, Category.REVOKED)
    return Lookup(matches=(Match(digits(REVOKED), False, listing),))


def action(direction: Direction, number: str) -> Action:
    screening = SCREENER.prepare(direction, number, SUBSCRIBER)
    return decide(direction, screening.reading, store_answer(screening)).action


@pytest.mark.parametrize("direction", list(Direction))
@pytest.mark.parametrize("junk", JUNK)
def test_junk_after_a_revoked_number_is_still_blocked(direction: Direction, junk: str) -> None:
    """A revoked number with junk after it asks the store the same and is still blocked."""
    alone = SCREENER.prepare(direction, REVOKED, SUBSCRIBER)
    assert SCREENER.prepare(direction, REVOKED + junk, SUBSCRIBER).commands == alone.commands
    assert action(direction, REVOKED + junk) is Action.BLOCK


_FORMATTING = " .-/()[]\u00a0"
_JUNK = st.tuples(
    st.text(alphabet=_FORMATTING, max_size=2),
    st.characters(exclude_characters=set("0123456789" + _FORMATTING),
                  exclude_categories=("Cs",)),
    st.text(max_size=40),
).map("".join)


@given(st.sampled_from(list(Direction)),
       st.sampled_from([REVOKED, "0855550101", "+31 85 555 0101", "0031855550101"]), _JUNK)
@hypothesis_settings(max_examples=300)
def test_no_junk_turns_block_into_allow(direction: Direction, number: str, junk: str) -> None:
    """Whatever follows a revoked number (after a character that ends a number), it blocks."""
    assert action(direction, number + junk) is Action.BLOCK


@pytest.mark.parametrize("caller", ["\n\n", "\n\nHANGUP\n200 result=1\n", "HANGUP",
                                    "anonymous\n", ",,,"])
def test_garbage_alone_is_allowed_without_asking_the_store(caller: str) -> None:
    """A caller ID with no number in it is allowed as withheld or invalid; no store round trip."""
    screening = SCREENER.prepare(Direction.INBOUND, caller, SUBSCRIBER)
    assert screening.commands == ()
    decision = decide(Direction.INBOUND, screening.reading, Lookup())
    assert decision.action is Action.ALLOW and not decision.degraded
    assert decision.reason in ("withheld", "invalid-number")


# -- the roaming check `screen` asks (the per-call script's) ----------------------------------


class Recorder:
    """A roaming check that says `answer` and records what it was asked, with how long."""

    def __init__(self, answer: Roaming) -> None:
        self.answer = answer
        self.asked: list[tuple[str, float]] = []

    def __call__(self, e164: str, timeout_s: float) -> Roaming:
        self.asked.append((e164, timeout_s))
        return self.answer


def be_screen(settings: Settings, number: str, roaming: Recorder | None,
              attestation: Attestation | None = None) -> Decision:
    be = replace(settings, origin_policy=PRESETS["BE"])
    assert be.redis_url
    return Screener(be).screen(connection(be.redis_url), Direction.INBOUND, number,
                               origin=Origin.INTERNATIONAL, attestation=attestation,
                               roaming=roaming)


@pytest.mark.parametrize(("answer", "reason"), [
    (Roaming.VERIFIED, "roaming-verified"),
    (Roaming.NOT_ROAMING, "national-cli-from-abroad"),
    (Roaming.UNVERIFIED, "roaming-unverified"),
])
def test_a_mobile_from_abroad_asks_the_roaming_check_with_what_is_left(
    store: Store, settings: Settings, answer: Roaming, reason: str
) -> None:
    """A mobile home number from abroad: the check is asked once, after the store, with
    what is left of the call's budget, and its answer decides."""
    check = Recorder(answer)
    decision = be_screen(settings, "+31612345678", check)
    assert decision.reason == reason
    [(e164, left)] = check.asked
    assert e164 == "+31612345678"
    assert 0 < left < settings.lookup_timeout_s


@pytest.mark.parametrize(("number", "attestation"), [
    ("+31201234567", None),  # fixed: only mobiles roam
    ("+32470123456", None),  # foreign
    ("+31612345678", Attestation.A),  # attested A: already allowed as registered
])
def test_the_roaming_check_is_asked_only_when_it_matters(
    store: Store, settings: Settings, number: str, attestation: Attestation | None
) -> None:
    """Nothing to change, nothing asked."""
    check = Recorder(Roaming.VERIFIED)
    be_screen(settings, number, check, attestation)
    assert check.asked == []


def test_a_registered_mobile_is_not_checked(store: Store, settings: Settings) -> None:
    """The store already said registered: allowed as registered-abroad, nothing asked."""
    register(store, "31612345679", False, "roams a lot", None, "test")
    check = Recorder(Roaming.NOT_ROAMING)
    assert be_screen(settings, "+31612345679", check).reason == "registered-abroad"
    assert check.asked == []


def test_without_a_roaming_check_a_mobile_stays_unverified(
    store: Store, settings: Settings
) -> None:
    """`callscreen check` and the API give none: the mobile is roaming-unverified."""
    assert be_screen(settings, "+31612345678", None).reason == "roaming-unverified"
