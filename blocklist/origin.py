"""Origin screening: a home caller ID that arrives on an international trunk.

A call that comes in on an INTERNATIONAL interconnect yet shows one of our own (home) numbers
is almost always spoofed, unless its owner is a mobile subscriber roaming abroad, or an
enterprise that registered its numbers for use from abroad. This module decides such calls;
it is pure (no I/O): the dialplan says the origin, the store says whether the number is
registered, the roaming check says whether the subscriber roams, and `decide_origin` turns
those facts into an `OriginDecision`. `combine` then sets it beside the blocklist's decision:
the stronger action wins (block > withhold > warn > allow); an exception's allow gives a call
no list mentions its reason (`registered-abroad`, `roaming-verified`).

Rules, in order (docs/decisions.md, "Origin"), for an INBOUND call only:

1. a failed caller verification (`ATTESTATION=failed`)  -> `attestation-failed` policy (warn)
2. not from abroad, or not a home number                 -> nothing more to say
3. a protected number (112, short codes, helplines)      -> `protected` policy
4. a number the preset cuts off (DE: 0900, 0137)         -> block
   a type whose policy is allow                         -> allow (`national-cli-from-abroad`:
                                                            counted, no exception needed)
5. registered for use from abroad, or verified `A`       -> allow (`registered-abroad`),
                                                            unless the type has no exceptions
                                                            (IE: fixed numbers)
6. a mobile whose subscriber is verified as roaming      -> allow (`roaming-verified`)
7. otherwise                                             -> the policy of the number's type
                                                            (`national-cli-from-abroad`, or
                                                            `roaming-unverified` for a mobile
                                                            nobody could vouch for)

The number's type (`fixed`, `mobile`, `nongeo`, `protected`) comes from phonenumbers' own
metadata through `blocklist._numbering_data.TYPES`, so the call path never imports
phonenumbers. A home number of no known type counts as `fixed`: only a mobile can roam.
"""

from __future__ import annotations

import re
from enum import StrEnum
from functools import cache

from blocklist import _numbering_data as data
from blocklist.entries import Action, Direction
from blocklist.errors import ConfigError
from blocklist.numbers import Reading, digits, split_country_code
from blocklist.policy import ACTION_RANK, Decision, OriginReason, Reason, prompt_for
from blocklist.values import replace, value


class Origin(StrEnum):
    """Which kind of trunk an inbound call came on: the dialplan's 4th AGI argument."""

    NATIONAL = "national"
    INTERNATIONAL = "international"
    INTERNAL = "internal"


class Attestation(StrEnum):
    """The caller's STIR/SHAKEN attestation (or the carrier's verstat): the 5th argument."""

    A = "A"
    B = "B"
    C = "C"
    FAILED = "failed"


class NumberType(StrEnum):
    FIXED = "fixed"  # fixed line, and fixed-or-mobile
    MOBILE = "mobile"
    NONGEO = "nongeo"  # VoIP, location-independent, personal, shared cost, toll-free, premium
    PROTECTED = "protected"  # emergency, short codes, the configured helplines


class Roaming(StrEnum):
    """What the operator's roaming check said about a mobile home number."""

    VERIFIED = "verified"  # the subscriber is roaming: the call is genuine
    NOT_ROAMING = "not-roaming"  # the subscriber is at home: the caller ID is spoofed
    UNVERIFIED = "unverified"  # no check configured, no answer in time, or an error


POLICY_KEYS = ("fixed", "mobile", "nongeo", "protected", "attestation-failed")


@value
class OriginPolicy:
    """The action for a home caller ID from abroad, by number type, and the preset's extras.

    `cut_off`: international digit prefixes blocked from abroad whatever their type (DE's
    0900 and 0137); `fixed_exceptions`: whether registered numbers and `A` attestation may
    let a fixed number through (IE: fixed numbers are blocked without exception).
    """

    fixed: Action = Action.ALLOW
    mobile: Action = Action.ALLOW
    nongeo: Action = Action.ALLOW
    protected: Action = Action.ALLOW
    attestation_failed: Action = Action.WARN
    cut_off: tuple[str, ...] = ()
    fixed_exceptions: bool = True
    preset: str = "off"

    def action_for(self, kind: NumberType) -> Action:
        return {
            NumberType.FIXED: self.fixed, NumberType.MOBILE: self.mobile,
            NumberType.NONGEO: self.nongeo, NumberType.PROTECTED: self.protected,
        }[kind]


def _preset(name: str, fixed: Action, mobile: Action, nongeo: Action, protected: Action,
            *, cut_off: tuple[str, ...] = (), fixed_exceptions: bool = True) -> OriginPolicy:
    return OriginPolicy(fixed, mobile, nongeo, protected, Action.WARN, cut_off,
                        fixed_exceptions, name)


_B, _W, _H, _A = Action.BLOCK, Action.WARN, Action.WITHHOLD, Action.ALLOW

# docs/origin.md gives each preset's regulator, instrument, dates and sources. Roamers and
# registered numbers are exceptions in every preset (rules 5 and 6), except IE's fixed numbers.
PRESETS: dict[str, OriginPolicy] = {
    "off": OriginPolicy(),
    # Royal Decree of 12 May 2024: fixed and nongeo blocked, mobiles blocked unless roaming.
    "BE": _preset("BE", _B, _B, _B, _B),
    # ČTÚ, general authorisation VO-S/2/04.2024-1: fixed blocked; mobile numbers excluded.
    "CZ": _preset("CZ", _B, _A, _B, _B),
    # Orden TDF/149/2025: Spanish caller IDs from abroad blocked except roaming.
    "ES": _preset("ES", _B, _B, _B, _B),
    # Traficom regulation M28: Finnish caller IDs from abroad blocked except roaming.
    "FI": _preset("FI", _B, _B, _B, _B),
    # AGCOM delibera 106/25/CONS: fixed, then mobile numbers blocked except roaming.
    "IT": _preset("IT", _B, _B, _B, _B),
    # ComReg: fixed numbers blocked (without exception: not confirmed), mobiles unless roaming.
    "IE": _preset("IE", _B, _B, _B, _B, fixed_exceptions=False),
    # TKG: the number is suppressed; 110, 112 (protected), 0900 and 0137 are cut off.
    "DE": _preset("DE", _H, _H, _H, _B, cut_off=("49900", "49137")),
    # Ofcom CLI guidance (January 2025): UK caller IDs from abroad blocked, +447 mobiles exempt.
    "UK": _preset("UK", _B, _A, _B, _B),
    # Arcep: fixed and 09 numbers from abroad need authentication (2019), so are cut off
    # without it; unauthenticated mobiles are shown as "numéro masqué" (2026).
    "FR": _preset("FR", _B, _H, _B, _B),
    # No binding rule yet: the subscriber is warned, nothing is hidden or refused.
    "NL": _preset("NL", _W, _W, _W, _B),
}


def preset_policy(name: str) -> OriginPolicy:
    """A preset by name (`off`, `BE`, `de`...). Raises ConfigError naming an unknown one."""
    key = name.strip()
    key = key.lower() if key.lower() == "off" else key.upper()
    base = PRESETS.get(key)
    if base is None:
        raise ConfigError(f"origin preset {name!r}: use one of {', '.join(PRESETS)}")
    return base


def parse_origin_policy(base: OriginPolicy, text: str) -> OriginPolicy:
    """`base` (a preset) with an operator's overrides (`fixed=block,mobile=withhold`).

    Keys: `fixed`, `mobile`, `nongeo`, `protected`, `attestation-failed`; values `allow`,
    `warn`, `withhold`, `block`. Raises ConfigError naming the bad item.
    """
    fields = {
        "fixed": base.fixed, "mobile": base.mobile, "nongeo": base.nongeo,
        "protected": base.protected, "attestation-failed": base.attestation_failed,
    }
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, raw = item.partition("=")
        name = name.strip().lower()
        try:
            action = Action(raw.strip().lower())
        except ValueError:
            action = None
        if not sep or name not in fields or action is None:
            raise ConfigError(
                f"origin policy item {item!r}: expected TYPE=ACTION, TYPE one of"
                f" {', '.join(POLICY_KEYS)}, ACTION one of allow, warn, withhold, block"
            )
        fields[name] = action
    return OriginPolicy(
        fields["fixed"], fields["mobile"], fields["nongeo"], fields["protected"],
        fields["attestation-failed"], base.cut_off, base.fixed_exceptions, base.preset,
    )


def parse_home_countries(text: str) -> tuple[str, ...]:
    """Country calling codes (`31`, `+32`) or ISO codes (`NL`, `UK`) as calling codes.

    Raises ConfigError naming a code that is neither.
    """
    codes: list[str] = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        code = item.lstrip("+")
        if code.isascii() and code.isdigit():
            if code not in data.COUNTRIES:
                raise ConfigError(f"home country {item!r} is not a country calling code")
        else:
            region = "GB" if code.upper() == "UK" else code.upper()
            facts = data.REGIONS.get(region)
            if facts is None:
                raise ConfigError(
                    f"home country {item!r}: expected a calling code (31) or ISO code (NL)"
                )
            code = facts[0]
        if code not in codes:
            codes.append(code)
    if not codes:
        raise ConfigError(f"home countries {text!r}: name at least one")
    return tuple(codes)


def read_origin(text: str) -> Origin | None:
    """The dialplan's ORIGIN; empty means unknown (None). Raises ValueError otherwise."""
    body = text.strip().lower()
    return Origin(body) if body else None


def read_attestation(text: str) -> Attestation | None:
    """The dialplan's ATTESTATION (`A`, `B`, `C`, `failed`); empty is None. Raises
    ValueError on anything else."""
    body = text.strip()
    if not body:
        return None
    return Attestation(body.lower() if body.lower() == "failed" else body.upper())


@cache
def _type_patterns(cc: str) -> tuple[tuple[NumberType, re.Pattern[str]], ...]:
    found = data.TYPES.get(cc, {})
    # The order phonenumbers asks in: a pattern that is fixed and mobile at once is fixed.
    return tuple((NumberType(kind), re.compile(found[kind]))
                 for kind in ("nongeo", "fixed", "mobile") if kind in found)


def number_type(reading: Reading, home: tuple[str, ...]) -> NumberType | None:
    """The type of a presented caller ID if it is a home number, else None.

    Protected readings are protected wherever they come from (a short code like 112 has no
    E.164 form: it can only be ours).
    """
    if reading.protected:
        return NumberType.PROTECTED
    if reading.e164 is None:
        return None
    split = split_country_code(digits(reading.e164))
    if split is None or split[0] not in home:
        return None
    cc, national = split
    for kind, pattern in _type_patterns(cc):
        if pattern.fullmatch(national) is not None:
            return kind
    return NumberType.FIXED


@value
class OriginDecision:
    """What the origin says about one call, and why; `kind` is the number's type, if home."""

    action: Action
    reason: OriginReason
    rule: str
    kind: NumberType | None = None


@value
class OriginFacts:
    """What a screening knows about where a call came from."""

    origin: Origin | None = None
    attestation: Attestation | None = None
    registered: bool = False  # registered for use from abroad (the store's answer)
    roaming: Roaming = Roaming.UNVERIFIED


def needs_registration_check(
    reading: Reading, origin: Origin | None, home: tuple[str, ...], policy: OriginPolicy
) -> bool:
    """True when the store should say whether the number is registered for use from abroad
    (asked in the screening's one round trip): a home number from abroad, not protected,
    whose policy is not allow."""
    if origin is not Origin.INTERNATIONAL:
        return False
    kind = number_type(reading, home)
    return (kind is not None and kind is not NumberType.PROTECTED
            and policy.action_for(kind) is not Action.ALLOW)


def needs_roaming_check(
    reading: Reading, origin: Origin | None, home: tuple[str, ...], policy: OriginPolicy
) -> bool:
    """True when a roaming answer could change the decision: a mobile home number from
    abroad whose policy is not allow. Only then is the roaming endpoint asked."""
    return (
        origin is Origin.INTERNATIONAL
        and policy.mobile is not Action.ALLOW
        and number_type(reading, home) is NumberType.MOBILE
    )


def stronger(first: OriginDecision | None, second: OriginDecision | None
             ) -> OriginDecision | None:
    """The decision with the stronger action; on a tie, the first."""
    if first is None:
        return second
    if second is None:
        return first
    return second if ACTION_RANK[second.action] > ACTION_RANK[first.action] else first


def decide_origin(
    reading: Reading, facts: OriginFacts, home: tuple[str, ...], policy: OriginPolicy
) -> OriginDecision | None:
    """Decide the origin of one INBOUND call (the rules above). Pure. None: nothing to say."""
    verified = None
    if facts.attestation is Attestation.FAILED:
        action = policy.attestation_failed
        verified = OriginDecision(action, OriginReason.ATTESTATION_FAILED,
                                  f"attestation:failed={action.value}")
    if facts.origin is not Origin.INTERNATIONAL:
        return verified
    kind = number_type(reading, home)
    if kind is None:
        return verified
    return stronger(_from_abroad(reading, kind, facts, policy), verified)


def _from_abroad(
    reading: Reading, kind: NumberType, facts: OriginFacts, policy: OriginPolicy
) -> OriginDecision:
    action = policy.action_for(kind)
    if kind is NumberType.PROTECTED:
        return OriginDecision(action, OriginReason.PROTECTED_CLI_FROM_ABROAD,
                              f"origin:protected={action.value}", kind)
    number = digits(reading.e164 or "")
    if policy.cut_off and number.startswith(policy.cut_off):
        return OriginDecision(Action.BLOCK, OriginReason.NATIONAL_CLI_FROM_ABROAD,
                              f"origin:preset-{policy.preset}-cut-off", kind)
    rule = f"origin:{kind.value}={action.value}"
    if action is Action.ALLOW:
        # Nothing to except from: the call is only counted as a home number from abroad, and
        # an exception never names a call the policy lets through anyway (preset off).
        return OriginDecision(action, OriginReason.NATIONAL_CLI_FROM_ABROAD, rule, kind)
    if kind is not NumberType.FIXED or policy.fixed_exceptions:
        if facts.registered:
            return OriginDecision(Action.ALLOW, OriginReason.REGISTERED_ABROAD,
                                  "origin:registered", kind)
        if facts.attestation is Attestation.A:
            return OriginDecision(Action.ALLOW, OriginReason.REGISTERED_ABROAD,
                                  "origin:attestation-A", kind)
    if kind is NumberType.MOBILE:
        if facts.roaming is Roaming.VERIFIED:
            return OriginDecision(Action.ALLOW, OriginReason.ROAMING_VERIFIED,
                                  "origin:roaming", kind)
        if facts.roaming is Roaming.UNVERIFIED:
            return OriginDecision(action, OriginReason.ROAMING_UNVERIFIED, rule, kind)
    return OriginDecision(action, OriginReason.NATIONAL_CLI_FROM_ABROAD, rule, kind)


# The origin's allows that are exceptions (a genuine caller from abroad): on a tie with the
# blocklist's plain allow they give the call its reason, so the channel says why it connected.
ALLOWED_EXCEPTIONS = frozenset({OriginReason.REGISTERED_ABROAD, OriginReason.ROAMING_VERIFIED})


def combine(
    blocklist: Decision, origin: OriginDecision | None, language: str = "en"
) -> Decision:
    """The call's decision: the blocklist's, or the origin's when its action is stronger
    (block > withhold > warn > allow). On a tie the blocklist's stands (so an allow by an
    exception never hides an allowlisting, a protected number or a listing), except when the
    blocklist only said `not-listed` and the origin allowed an exception: then the call's
    reason and rule are the origin's (`registered-abroad`, `roaming-verified`). Either way
    the result carries both (`origin`, and `overridden` for the blocklist's decision when the
    origin's decided), so an explanation can name them.
    """
    if origin is None:
        return blocklist
    if ACTION_RANK[origin.action] <= ACTION_RANK[blocklist.action]:
        if (origin.reason in ALLOWED_EXCEPTIONS and blocklist.action is Action.ALLOW
                and blocklist.reason is Reason.NOT_LISTED):
            return replace(blocklist, reason=origin.reason, rule=origin.rule, origin=origin,
                           overridden=blocklist)
        return replace(blocklist, origin=origin)
    return Decision(
        origin.action, origin.reason, origin.rule, e164=blocklist.e164,
        prompt=prompt_for(origin.action, Direction.INBOUND, language),
        shadow=blocklist.shadow, origin=origin, overridden=blocklist,
    )
