"""Origin screening (docs/decisions.md, "Origin"): number types, presets, exceptions, combining."""

from __future__ import annotations

import pytest

from blocklist.entries import Action, Category, Direction, Listing, Lookup, Match
from blocklist.errors import ConfigError
from blocklist.numbers import NumberPlan
from blocklist.origin import (
    PRESETS,
    Attestation,
    NumberType,
    Origin,
    OriginFacts,
    OriginPolicy,
    Roaming,
    combine,
    decide_origin,
    needs_roaming_check,
    number_type,
    parse_home_countries,
    parse_origin_policy,
    preset_policy,
    read_attestation,
    read_origin,
)
from blocklist.policy import Decision, OriginReason, Reason, decide

NL = NumberPlan("NL", ("0800 0113", "116xxx"))
DE = NumberPlan("DE", ("116xxx",))
HOME_NL = ("31",)
ABROAD = OriginFacts(Origin.INTERNATIONAL)
B, H, W, A = Action.BLOCK, Action.WITHHOLD, Action.WARN, Action.ALLOW

FIXED, MOBILE, NONGEO = "+31201234567", "+31612345678", "+31851234567"


@pytest.mark.parametrize(("text", "home", "kind"), [
    ("+31201234567", HOME_NL, NumberType.FIXED),
    ("+31612345678", HOME_NL, NumberType.MOBILE),
    ("+31851234567", HOME_NL, NumberType.NONGEO),  # 085: location independent
    ("+31880001234", HOME_NL, NumberType.NONGEO),  # 088: company numbers
    ("+319001234567", HOME_NL, NumberType.NONGEO),  # premium
    ("+318001234", HOME_NL, NumberType.NONGEO),  # toll-free
    ("112", HOME_NL, NumberType.PROTECTED),
    ("+318000113", HOME_NL, NumberType.PROTECTED),  # a configured helpline
    ("+32470123456", HOME_NL, None),  # foreign: not ours
    ("+32470123456", ("31", "32"), NumberType.MOBILE),
    ("+4915112345678", ("49",), NumberType.MOBILE),
    ("+447911123456", ("44",), NumberType.MOBILE),
    ("+442079460000", ("44",), NumberType.FIXED),
    ("+31200000000", HOME_NL, NumberType.FIXED),  # possible, of no known type: fixed
    ("anonymous", HOME_NL, None),
])
def test_number_type(text: str, home: tuple[str, ...], kind: NumberType | None) -> None:
    """A home caller ID gets its type from phonenumbers' data; a foreign one gets none."""
    assert number_type(NL.read(text), home) is kind


# preset -> expected (fixed, mobile, nongeo, protected) for a home caller ID from abroad,
# no exception applying (the mobile unverified as roaming).
PRESET_TABLE = {
    "off": (A, A, A, A),
    "BE": (B, B, B, B), "ES": (B, B, B, B), "FI": (B, B, B, B),
    "IT": (B, B, B, B), "IE": (B, B, B, B),
    "CZ": (B, A, B, B), "UK": (B, A, B, B),  # the rule leaves mobile numbers out
    "DE": (H, H, H, B), "FR": (B, H, B, B), "NL": (W, W, W, B),
}
NUMBERS = {"fixed": FIXED, "mobile": MOBILE, "nongeo": NONGEO, "protected": "112"}


def test_every_preset_is_in_the_table() -> None:
    """The table below covers every preset there is."""
    assert set(PRESET_TABLE) == set(PRESETS)


@pytest.mark.parametrize(("preset", "kind"),
                         [(p, k) for p in PRESET_TABLE for k in NUMBERS])
def test_presets(preset: str, kind: str) -> None:
    """Each preset's action for each number type from abroad, as the README's table says."""
    policy = PRESETS[preset]
    decision = decide_origin(NL.read(NUMBERS[kind]), ABROAD, HOME_NL, policy)
    assert decision is not None
    expected = PRESET_TABLE[preset][list(NUMBERS).index(kind)]
    assert decision.action is expected
    reason = {
        "protected": OriginReason.PROTECTED_CLI_FROM_ABROAD,
        "mobile": OriginReason.ROAMING_UNVERIFIED if expected is not A
        else OriginReason.NATIONAL_CLI_FROM_ABROAD,
    }.get(kind, OriginReason.NATIONAL_CLI_FROM_ABROAD)
    assert decision.reason is reason


@pytest.mark.parametrize("origin", [None, Origin.NATIONAL, Origin.INTERNAL])
@pytest.mark.parametrize("number", [FIXED, MOBILE, NONGEO, "112"])
def test_not_from_abroad_says_nothing(origin: Origin | None, number: str) -> None:
    """A call on a national or internal trunk, or of unknown origin, gets no origin decision."""
    assert decide_origin(NL.read(number), OriginFacts(origin), HOME_NL, PRESETS["BE"]) is None


def test_a_foreign_number_from_abroad_says_nothing() -> None:
    """A Belgian number arriving from abroad at a Dutch operator is just a foreign call."""
    assert decide_origin(NL.read("+32470123456"), ABROAD, HOME_NL, PRESETS["BE"]) is None


# (preset, number, facts, action, reason): every exception and where it does not apply.
EXCEPTIONS = [
    ("BE", MOBILE, OriginFacts(Origin.INTERNATIONAL, roaming=Roaming.VERIFIED),
     A, OriginReason.ROAMING_VERIFIED),
    ("BE", MOBILE, OriginFacts(Origin.INTERNATIONAL, roaming=Roaming.NOT_ROAMING),
     B, OriginReason.NATIONAL_CLI_FROM_ABROAD),
    ("BE", MOBILE, OriginFacts(Origin.INTERNATIONAL, roaming=Roaming.UNVERIFIED),
     B, OriginReason.ROAMING_UNVERIFIED),
    ("DE", MOBILE, OriginFacts(Origin.INTERNATIONAL, roaming=Roaming.VERIFIED),
     A, OriginReason.ROAMING_VERIFIED),
    ("DE", MOBILE, OriginFacts(Origin.INTERNATIONAL), H, OriginReason.ROAMING_UNVERIFIED),
    # Only a mobile can roam: a fixed number "roaming" is still spoofed.
    ("BE", FIXED, OriginFacts(Origin.INTERNATIONAL, roaming=Roaming.VERIFIED),
     B, OriginReason.NATIONAL_CLI_FROM_ABROAD),
    ("BE", FIXED, OriginFacts(Origin.INTERNATIONAL, registered=True),
     A, OriginReason.REGISTERED_ABROAD),
    ("BE", NONGEO, OriginFacts(Origin.INTERNATIONAL, registered=True),
     A, OriginReason.REGISTERED_ABROAD),
    ("BE", MOBILE, OriginFacts(Origin.INTERNATIONAL, registered=True),
     A, OriginReason.REGISTERED_ABROAD),
    ("BE", FIXED, OriginFacts(Origin.INTERNATIONAL, Attestation.A),
     A, OriginReason.REGISTERED_ABROAD),
    ("BE", FIXED, OriginFacts(Origin.INTERNATIONAL, Attestation.B),
     B, OriginReason.NATIONAL_CLI_FROM_ABROAD),
    ("BE", FIXED, OriginFacts(Origin.INTERNATIONAL, Attestation.C),
     B, OriginReason.NATIONAL_CLI_FROM_ABROAD),
    # A type the policy allows needs no exception: the call is only named as from abroad.
    ("off", FIXED, OriginFacts(Origin.INTERNATIONAL, Attestation.A),
     A, OriginReason.NATIONAL_CLI_FROM_ABROAD),
    ("off", FIXED, OriginFacts(Origin.INTERNATIONAL, registered=True),
     A, OriginReason.NATIONAL_CLI_FROM_ABROAD),
    ("CZ", MOBILE, OriginFacts(Origin.INTERNATIONAL, roaming=Roaming.VERIFIED),
     A, OriginReason.NATIONAL_CLI_FROM_ABROAD),
    # IE: fixed numbers blocked without exception; its mobiles may still roam.
    ("IE", FIXED, OriginFacts(Origin.INTERNATIONAL, registered=True),
     B, OriginReason.NATIONAL_CLI_FROM_ABROAD),
    ("IE", FIXED, OriginFacts(Origin.INTERNATIONAL, Attestation.A),
     B, OriginReason.NATIONAL_CLI_FROM_ABROAD),
    ("IE", MOBILE, OriginFacts(Origin.INTERNATIONAL, roaming=Roaming.VERIFIED),
     A, OriginReason.ROAMING_VERIFIED),
    ("IE", NONGEO, OriginFacts(Origin.INTERNATIONAL, registered=True),
     A, OriginReason.REGISTERED_ABROAD),
    # A protected number from abroad is never registered, attested or roaming.
    ("BE", "112", OriginFacts(Origin.INTERNATIONAL, Attestation.A, registered=True),
     B, OriginReason.PROTECTED_CLI_FROM_ABROAD),
    ("BE", "+318000113", OriginFacts(Origin.INTERNATIONAL, registered=True),
     B, OriginReason.PROTECTED_CLI_FROM_ABROAD),
    # A failed verification: warn wherever the call came from, stronger policies still win.
    ("off", FIXED, OriginFacts(None, Attestation.FAILED), W, OriginReason.ATTESTATION_FAILED),
    ("off", FIXED, OriginFacts(Origin.NATIONAL, Attestation.FAILED),
     W, OriginReason.ATTESTATION_FAILED),
    ("off", "+32470123456", OriginFacts(Origin.INTERNATIONAL, Attestation.FAILED),
     W, OriginReason.ATTESTATION_FAILED),
    ("BE", FIXED, OriginFacts(Origin.INTERNATIONAL, Attestation.FAILED),
     B, OriginReason.NATIONAL_CLI_FROM_ABROAD),
    ("BE", FIXED, OriginFacts(Origin.INTERNATIONAL, Attestation.FAILED, registered=True),
     W, OriginReason.ATTESTATION_FAILED),
]


@pytest.mark.parametrize(("preset", "number", "facts", "action", "reason"), EXCEPTIONS)
def test_exceptions(preset: str, number: str, facts: OriginFacts, action: Action,
                    reason: Reason | OriginReason) -> None:
    """Registered numbers, `A` attestation and verified roamers pass; nothing else does."""
    decision = decide_origin(NL.read(number), facts, HOME_NL, PRESETS[preset])
    assert decision is not None
    assert (decision.action, decision.reason) == (action, reason)


@pytest.mark.parametrize(("number", "action"), [
    ("+499001234567", B),  # 0900 premium: cut off
    ("+491371234567", B),  # 0137 mass calling: cut off
    ("+498001234567", H),  # 0800 toll-free: suppressed like the rest
    ("+4930123456", H),
    ("110", B),  # police: protected
    ("112", B),
])
def test_the_german_preset_cuts_off_what_the_tkg_names(number: str, action: Action) -> None:
    """DE: numbers from abroad are suppressed; 110, 112, 0900 and 0137 are cut off."""
    registered = OriginFacts(Origin.INTERNATIONAL)
    decision = decide_origin(DE.read(number), registered, ("49",), PRESETS["DE"])
    assert decision is not None
    assert decision.action is action


def test_cut_off_numbers_are_cut_off_even_when_registered() -> None:
    """A registration does not reopen a number the preset cuts off."""
    facts = OriginFacts(Origin.INTERNATIONAL, registered=True)
    decision = decide_origin(DE.read("+499001234567"), facts, ("49",), PRESETS["DE"])
    assert decision is not None and decision.action is B


def test_roaming_is_asked_only_for_a_home_mobile_from_abroad() -> None:
    """The roaming endpoint is asked only when its answer could change the decision."""
    be = PRESETS["BE"]
    assert needs_roaming_check(NL.read(MOBILE), Origin.INTERNATIONAL, HOME_NL, be)
    assert not needs_roaming_check(NL.read(FIXED), Origin.INTERNATIONAL, HOME_NL, be)
    assert not needs_roaming_check(NL.read(MOBILE), Origin.NATIONAL, HOME_NL, be)
    assert not needs_roaming_check(NL.read(MOBILE), None, HOME_NL, be)
    assert not needs_roaming_check(NL.read("+32470123456"), Origin.INTERNATIONAL, HOME_NL, be)
    assert not needs_roaming_check(NL.read(MOBILE), Origin.INTERNATIONAL, HOME_NL,
                                   PRESETS["off"])


# -- combining with the blocklist -------------------------------------------------------------


def listed(category: Category) -> Lookup:
    return Lookup(matches=(Match(FIXED[1:], False, Listing(category, category)),))


@pytest.mark.parametrize(("listing", "preset", "action", "reason"), [
    (None, "BE", B, OriginReason.NATIONAL_CLI_FROM_ABROAD),
    (None, "DE", H, OriginReason.NATIONAL_CLI_FROM_ABROAD),
    (None, "NL", W, OriginReason.NATIONAL_CLI_FROM_ABROAD),
    (None, "off", A, Reason.NOT_LISTED),
    (Category.FRAUD, "DE", B, Reason.LISTED),  # block beats withhold
    (Category.SUSPECTED, "DE", H, OriginReason.NATIONAL_CLI_FROM_ABROAD),  # withhold beats warn
    (Category.SUSPECTED, "NL", W, Reason.LISTED),  # a tie: the blocklist's
    (Category.SUSPECTED, "off", W, Reason.LISTED),
    (Category.FRAUD, "BE", B, Reason.LISTED),
])
def test_the_stronger_decision_wins(listing: Category | None, preset: str, action: Action,
                                    reason: Reason | OriginReason) -> None:
    """block > withhold > warn > allow; on a tie the blocklist's decision stands (but see
    the allowed exceptions below)."""
    reading = NL.read(FIXED)
    blocklist = decide(Direction.INBOUND, reading, listed(listing) if listing else Lookup())
    origin = decide_origin(reading, ABROAD, HOME_NL, PRESETS[preset])
    decision = combine(blocklist, origin)
    assert (decision.action, decision.reason) == (action, reason)
    assert decision.origin == origin  # both are named in an explanation
    if decision.reason is not blocklist.reason:
        assert decision.overridden == blocklist


def test_a_registered_number_never_bypasses_the_blocklist() -> None:
    """An exception allows from the origin's side only: a listed number is still blocked."""
    reading = NL.read(FIXED)
    blocklist = decide(Direction.INBOUND, reading, listed(Category.FRAUD))
    origin = decide_origin(reading, OriginFacts(Origin.INTERNATIONAL, registered=True),
                           HOME_NL, PRESETS["BE"])
    decision = combine(blocklist, origin)
    assert (decision.action, decision.reason) == (B, Reason.LISTED)
    assert origin is not None and origin.reason is OriginReason.REGISTERED_ABROAD


@pytest.mark.parametrize(("number", "facts", "reason", "rule"), [
    (FIXED, OriginFacts(Origin.INTERNATIONAL, registered=True),
     OriginReason.REGISTERED_ABROAD, "origin:registered"),
    (FIXED, OriginFacts(Origin.INTERNATIONAL, Attestation.A),
     OriginReason.REGISTERED_ABROAD, "origin:attestation-A"),
    (MOBILE, OriginFacts(Origin.INTERNATIONAL, roaming=Roaming.VERIFIED),
     OriginReason.ROAMING_VERIFIED, "origin:roaming"),
])
def test_an_allowed_exception_names_itself_when_no_list_spoke(
    number: str, facts: OriginFacts, reason: OriginReason, rule: str
) -> None:
    """A tie with the blocklist's plain `not-listed`: the call's reason and rule are the
    exception's, so the channel says why a call from abroad connected; both are kept."""
    reading = NL.read(number)
    blocklist = decide(Direction.INBOUND, reading, Lookup())
    assert blocklist.reason is Reason.NOT_LISTED
    origin = decide_origin(reading, facts, HOME_NL, PRESETS["BE"])
    decision = combine(blocklist, origin)
    assert (decision.action, decision.reason, decision.rule) == (A, reason, rule)
    assert (decision.origin, decision.overridden) == (origin, blocklist)
    assert (decision.e164, decision.prompt) == (number, "")


@pytest.mark.parametrize("reason", [
    Reason.ALLOWLISTED, Reason.SUBSCRIBER_ALLOWLISTED, Reason.PROTECTED,
    Reason.NOT_FOR_DIRECTION, Reason.OPTED_OUT,
])
def test_any_other_allow_of_the_blocklist_wins_the_tie(reason: Reason) -> None:
    """An allowlisting (or any allow but `not-listed`) stays the call's reason beside an
    exception's allow: the origin is only carried along."""
    blocklist = Decision(A, reason, f"rule-{reason}", e164=MOBILE)
    origin = decide_origin(NL.read(MOBILE), OriginFacts(Origin.INTERNATIONAL,
                           roaming=Roaming.VERIFIED), HOME_NL, PRESETS["BE"])
    decision = combine(blocklist, origin)
    assert (decision.reason, decision.rule) == (reason, f"rule-{reason}")
    assert (decision.origin, decision.overridden) == (origin, None)


def test_an_origin_allow_by_policy_leaves_not_listed() -> None:
    """Only an exception names itself: a policy that allows (preset off) says nothing."""
    reading = NL.read(FIXED)
    blocklist = decide(Direction.INBOUND, reading, Lookup())
    origin = decide_origin(reading, ABROAD, HOME_NL, PRESETS["off"])
    assert origin is not None and origin.reason is OriginReason.NATIONAL_CLI_FROM_ABROAD
    assert combine(blocklist, origin).reason is Reason.NOT_LISTED


def test_a_protected_caller_from_abroad_follows_the_protected_policy() -> None:
    """112 from abroad is spoofing: blocked though the blocklist allows protected numbers."""
    reading = NL.read("112")
    blocklist = decide(Direction.INBOUND, reading, Lookup())
    assert blocklist.reason is Reason.PROTECTED
    decision = combine(blocklist, decide_origin(reading, ABROAD, HOME_NL, PRESETS["BE"]))
    assert (decision.action, decision.reason) == (B, OriginReason.PROTECTED_CLI_FROM_ABROAD)


def test_withhold_and_warn_from_the_origin_carry_their_prompts() -> None:
    """An origin warn plays the warning; a withhold plays nothing (its label says why)."""
    reading = NL.read(FIXED)
    blocklist = decide(Direction.INBOUND, reading, Lookup())
    warned = combine(blocklist, decide_origin(reading, ABROAD, HOME_NL, PRESETS["NL"]), "nl")
    withheld = combine(blocklist, decide_origin(reading, ABROAD, HOME_NL, PRESETS["DE"]))
    assert warned.prompt == "callscreen/nl/warn-inbound"
    assert withheld.prompt == ""


# -- configuration ----------------------------------------------------------------------------


def test_explicit_policy_values_override_the_preset() -> None:
    """`mobile=withhold` over BE changes only the mobile action; the rest stays BE's."""
    policy = parse_origin_policy(preset_policy("be"), "mobile=withhold, attestation-failed=block")
    assert (policy.fixed, policy.mobile, policy.nongeo, policy.protected) == (B, H, B, B)
    assert policy.attestation_failed is B
    assert policy.preset == "BE"


def test_the_default_is_off() -> None:
    """With no preset and no policy, origin screening allows everything it sees."""
    policy = parse_origin_policy(preset_policy("off"), "")
    assert policy == OriginPolicy()
    assert (policy.fixed, policy.mobile, policy.nongeo, policy.protected) == (A, A, A, A)


@pytest.mark.parametrize(("text", "says"), [
    ("fixed", "'fixed': expected TYPE=ACTION"),
    ("fixed=drop", "'fixed=drop'"),
    ("landline=block", "'landline=block'"),
    ("=block", "'=block'"),
])
def test_a_bad_origin_policy_item_is_named(text: str, says: str) -> None:
    """A malformed policy item is a ConfigError naming the item."""
    with pytest.raises(ConfigError, match=says):
        parse_origin_policy(OriginPolicy(), text)


@pytest.mark.parametrize(("text", "codes"), [
    ("NL", ("31",)), ("31", ("31",)), ("+31", ("31",)), ("nl, BE", ("31", "32")),
    ("UK", ("44",)), ("GB,44", ("44",)),
])
def test_home_countries(text: str, codes: tuple[str, ...]) -> None:
    """Home countries are calling codes or ISO codes (UK for GB), without repeats."""
    assert parse_home_countries(text) == codes


@pytest.mark.parametrize("text", ["XX", "999", "Netherlands", ",", "3 1"])
def test_bad_home_countries_are_named(text: str) -> None:
    """A code that is neither a calling code nor an ISO code is refused."""
    with pytest.raises(ConfigError, match="home countr"):
        parse_home_countries(text)


def test_origin_reason_codes_are_the_dialplan_contract() -> None:
    """The origin's SCREEN_REASON codes are the ones the README lists."""
    assert {str(reason) for reason in OriginReason} == {
        "national-cli-from-abroad", "protected-cli-from-abroad", "registered-abroad",
        "roaming-verified", "roaming-unverified", "attestation-failed",
    }


@pytest.mark.parametrize(("text", "origin"), [
    ("", None), ("national", Origin.NATIONAL), ("International", Origin.INTERNATIONAL),
    (" internal ", Origin.INTERNAL),
])
def test_read_origin(text: str, origin: Origin | None) -> None:
    """The dialplan's ORIGIN: empty is unknown."""
    assert read_origin(text) is origin


@pytest.mark.parametrize(("text", "attestation"), [
    ("", None), ("A", Attestation.A), ("b", Attestation.B), ("C", Attestation.C),
    ("failed", Attestation.FAILED), ("FAILED", Attestation.FAILED),
])
def test_read_attestation(text: str, attestation: Attestation | None) -> None:
    """The dialplan's ATTESTATION: A, B, C, failed, or empty."""
    assert read_attestation(text) is attestation


@pytest.mark.parametrize("text", ["abroad", "D", "ok;SET VARIABLE"])
def test_garbage_origin_and_attestation_raise(text: str) -> None:
    """Anything else is refused (the call path then screens as if it were empty)."""
    with pytest.raises(ValueError):
        read_origin(text)
    with pytest.raises(ValueError):
        read_attestation(text)
