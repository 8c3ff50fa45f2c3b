"""The decision policy (docs/decisions.md): the table, modes, allowlists, protected numbers."""

from __future__ import annotations

import pytest

from blocklist.entries import (
    Action,
    Category,
    Direction,
    Listing,
    Lookup,
    Match,
    Mode,
    SubscriberSettings,
)
from blocklist.errors import ConfigError
from blocklist.numbers import Reading, Unreadable
from blocklist.policy import (
    Reason,
    choose_language,
    decide,
    label_for,
    parse_labels,
    parse_policy,
)

NUMBER = Reading("+31851234567")
IN, OUT = Direction.INBOUND, Direction.OUTBOUND


def listed(category: Category, *, caller: bool = True, callee: bool = True,
           prefix: bool = False, shadow: bool = False) -> Lookup:
    listing = Listing(category if caller else None, category if callee else None, shadow=shadow)
    return Lookup(matches=(Match("3185123" if prefix else "31851234567", prefix, listing),))


TABLE = [
    (Category.REVOKED, IN, Action.BLOCK),
    (Category.REVOKED, OUT, Action.BLOCK),
    (Category.FRAUD, IN, Action.BLOCK),
    (Category.FRAUD, OUT, Action.BLOCK),
    (Category.SUSPECTED, IN, Action.WARN),
    (Category.SUSPECTED, OUT, Action.WARN),
    (Category.DNO, IN, Action.BLOCK),
    (Category.DNO, OUT, Action.ALLOW),
]


@pytest.mark.parametrize(("category", "direction", "action"), TABLE)
def test_policy_table(category: Category, direction: Direction, action: Action) -> None:
    """Each category and direction gets the default action of docs/decisions.md."""
    decision = decide(direction, NUMBER, listed(category))
    assert decision.action is action
    assert decision.category is category
    assert decision.e164 == "+31851234567"


def test_dno_is_never_blocked_as_destination() -> None:
    """A dno number is blocked as a caller, and allowed when dialled (victims call banks)."""
    lookup = listed(Category.DNO)
    assert decide(IN, NUMBER, lookup).action is Action.BLOCK
    outbound = decide(OUT, NUMBER, lookup)
    assert outbound.action is Action.ALLOW
    assert outbound.reason == Reason.NOT_FOR_DIRECTION


def test_applies_to_caller_only_is_ignored_outbound() -> None:
    """A caller-only entry does not touch outbound calls to that number, and says so."""
    lookup = listed(Category.REVOKED, callee=False)
    outbound = decide(OUT, NUMBER, lookup)
    assert (outbound.action, outbound.reason) == (Action.ALLOW, Reason.NOT_FOR_DIRECTION)
    assert outbound.rule == "applies-to:caller"
    assert decide(IN, NUMBER, lookup).action is Action.BLOCK


@pytest.mark.parametrize(
    ("mode", "category", "action"),
    [
        (Mode.STRICT, Category.SUSPECTED, Action.BLOCK),
        (Mode.STRICT, Category.REVOKED, Action.BLOCK),
        (Mode.STANDARD, Category.SUSPECTED, Action.WARN),
        (Mode.OFF, Category.REVOKED, Action.ALLOW),
        (Mode.OFF, Category.SUSPECTED, Action.ALLOW),
    ],
)
def test_subscriber_modes(mode: Mode, category: Category, action: Action) -> None:
    """strict turns warn into block; off allows everything (opted out)."""
    base = listed(category)
    lookup = Lookup(matches=base.matches, subscriber=SubscriberSettings(mode))
    decision = decide(OUT, NUMBER, lookup)
    assert decision.action is action
    if mode is Mode.OFF:
        assert decision.reason == Reason.OPTED_OUT


def test_personal_allowlist_beats_blocklist() -> None:
    """A subscriber's own allowlist entry beats a listed number."""
    lookup = Lookup(matches=listed(Category.FRAUD).matches, subscriber_allowlisted=True)
    decision = decide(IN, NUMBER, lookup)
    assert (decision.action, decision.reason) == (Action.ALLOW, Reason.SUBSCRIBER_ALLOWLISTED)


def test_global_allowlist_beats_blocklist() -> None:
    """The global allowlist beats a listed number."""
    lookup = Lookup(matches=listed(Category.REVOKED).matches, allowlisted=True)
    assert decide(OUT, NUMBER, lookup).reason == Reason.ALLOWLISTED


@pytest.mark.parametrize("mode", list(Mode))
def test_protected_beats_everything(mode: Mode) -> None:
    """A protected number is allowed whatever the lists and settings say."""
    lookup = Lookup(matches=listed(Category.FRAUD).matches,
                    subscriber=SubscriberSettings(mode))
    for direction in Direction:
        decision = decide(direction, Reading("+318000113", protected=True), lookup)
        assert (decision.action, decision.reason) == (Action.ALLOW, Reason.PROTECTED)


@pytest.mark.parametrize(
    ("reading", "reason"),
    [(Reading(None, Unreadable.WITHHELD), Reason.WITHHELD),
     (Reading(None, Unreadable.INVALID), Reason.INVALID_NUMBER)],
)
def test_no_number_is_allowed(reading: Reading, reason: Reason) -> None:
    """Withheld and unreadable numbers are allowed, saying why."""
    decision = decide(IN, reading, Lookup())
    assert (decision.action, decision.reason, decision.e164) == (Action.ALLOW, reason, None)


def test_protected_is_checked_before_an_unreadable_number() -> None:
    """An emergency number has no E.164 reading, yet is `protected`, not `invalid-number`."""
    decision = decide(IN, Reading(None, protected=True), Lookup())
    assert (decision.action, decision.reason, decision.rule) == (
        Action.ALLOW, Reason.PROTECTED, "protected-number"
    )


def test_reason_codes_are_the_dialplan_contract() -> None:
    """`Reason` is a StrEnum like `Unreadable`; its values are the SCREEN_REASON codes."""
    assert {str(reason) for reason in Reason} == {
        "withheld", "invalid-number", "protected", "opted-out", "subscriber-allowlisted",
        "allowlisted", "listed", "not-for-direction", "not-listed", "store-unavailable",
        "store-timeout", "bad-request", "overloaded", "internal-error",
    }
    assert f"{Reason.STORE_TIMEOUT}" == "store-timeout"  # as the AGI variable is written


def test_strongest_match_wins() -> None:
    """With an exact and a prefix match, the stronger action decides, and says which."""
    exact = Match("31851234567", False, Listing(Category.SUSPECTED, Category.SUSPECTED))
    block = Match("3185123", True, Listing(Category.REVOKED, Category.REVOKED))
    decision = decide(OUT, NUMBER, Lookup(matches=(exact, block)))
    assert decision.action is Action.BLOCK
    assert decision.matched == block
    assert decision.rule == "policy:revoked.outbound=block"


def test_shadow_matches_change_nothing() -> None:
    """A shadow listing is reported but changes no action."""
    decision = decide(IN, NUMBER, listed(Category.FRAUD, shadow=True))
    assert decision.action is Action.ALLOW
    assert decision.reason == Reason.NOT_LISTED
    assert len(decision.shadow) == 1


@pytest.mark.parametrize(
    ("action", "direction", "prompt"),
    [(Category.SUSPECTED, OUT, "callscreen/nl/warn-outbound"),
     (Category.SUSPECTED, IN, "callscreen/nl/warn-inbound"),
     (Category.REVOKED, OUT, "callscreen/nl/block-outbound"),
     (Category.REVOKED, IN, "")],
)
def test_prompts(action: Category, direction: Direction, prompt: str) -> None:
    """The prompt names the action, direction and language; an inbound block plays none."""
    assert decide(direction, NUMBER, listed(action), language="nl").prompt == prompt


def test_operator_policy_overrides() -> None:
    """An operator can change a cell of the table."""
    policy = parse_policy("suspected.inbound=block, dno.outbound=warn")
    assert decide(IN, NUMBER, listed(Category.SUSPECTED), policy=policy).action is Action.BLOCK
    assert decide(OUT, NUMBER, listed(Category.DNO), policy=policy).action is Action.WARN


@pytest.mark.parametrize("text", ["suspected=block", "nope.inbound=block", "fraud.inbound=kill"])
def test_bad_policy_is_a_config_error(text: str) -> None:
    """A malformed policy override is refused, naming it."""
    with pytest.raises(ConfigError, match="policy rule"):
        parse_policy(text)


@pytest.mark.parametrize(
    ("subscriber", "channel", "expected"),
    [("nl", "en", "nl"), (None, "nl_NL", "nl"), (None, "fr", "en"), ("de", None, "en"),
     (None, None, "en")],
)
def test_language_choice(subscriber: str | None, channel: str | None, expected: str) -> None:
    """Subscriber setting, then channel language, then the default; only languages we have."""
    assert choose_language(subscriber, channel, "en") == expected


def test_a_label_turned_off_in_one_language_only() -> None:
    """`nl=` gives the Dutch subscriber no label for that action; English keeps its default,
    and the empty text still turns every language off."""
    labels = parse_labels(Action.WITHHOLD, "nl=")
    assert label_for(Action.WITHHOLD, Direction.INBOUND, "nl", labels) == ""
    assert label_for(Action.WITHHOLD, Direction.INBOUND, "en", labels) == "Number hidden: abroad"
    assert parse_labels(Action.WITHHOLD, "en=Hidden: abroad,nl=") == {
        (Action.WITHHOLD, "en"): "Hidden: abroad"}
    assert parse_labels(Action.WITHHOLD, "") == {}
    assert parse_labels(Action.WITHHOLD, "off") == {}
