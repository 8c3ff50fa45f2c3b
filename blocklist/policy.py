"""The decision: one pure function from what a screening knows to allow, warn or block.

Rules, in the order they are applied (the first that speaks decides):

1. a protected number                  -> allow  (`protected`), whatever any list says
2. no readable number                  -> allow  (`withheld` / `invalid-number`)
3. the subscriber opted out (`off`)    -> allow  (`opted-out`)
4. on the subscriber's own allowlist   -> allow  (`subscriber-allowlisted`)
5. on the global allowlist             -> allow  (`allowlisted`)
6. listed for this direction           -> the policy table's action; `strict` makes warn block
                                          (`listed`; `not-for-direction` when the table allows)
7. otherwise                           -> allow  (`not-listed`)

A protected number comes first: an emergency number or short code is not a number the plan
reads as E.164 (`112`), yet it must say `protected`, not `invalid-number`.

A store failure is not decided here: the caller builds `Decision.degraded_allow(...)` (fail
open; `blocklist.screening.Screener.screen` does it for the blocking paths).
"""

from __future__ import annotations

import re
from enum import StrEnum

from blocklist.entries import (
    Action,
    Category,
    Direction,
    Lookup,
    Match,
    Mode,
)
from blocklist.errors import ConfigError
from blocklist.numbers import Reading, Unreadable
from blocklist.values import value

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

    from blocklist.origin import OriginDecision

ACTION_RANK = {Action.ALLOW: 0, Action.WARN: 1, Action.WITHHOLD: 2, Action.BLOCK: 3}

DEFAULT_POLICY: Mapping[tuple[Category, Direction], Action] = {
    (Category.REVOKED, Direction.INBOUND): Action.BLOCK,
    (Category.REVOKED, Direction.OUTBOUND): Action.BLOCK,
    (Category.FRAUD, Direction.INBOUND): Action.BLOCK,
    (Category.FRAUD, Direction.OUTBOUND): Action.BLOCK,
    (Category.SUSPECTED, Direction.INBOUND): Action.WARN,
    (Category.SUSPECTED, Direction.OUTBOUND): Action.WARN,
    (Category.DNO, Direction.INBOUND): Action.BLOCK,
    (Category.DNO, Direction.OUTBOUND): Action.ALLOW,
}

PROMPT_LANGUAGES = ("en", "nl")

# SCREEN_LABEL: what the subscriber's phone shows as the caller's name before answering, on an
# inbound warn or withhold (CALLSCREEN_LABEL_WARN, CALLSCREEN_LABEL_WITHHOLD).
DEFAULT_LABELS: Mapping[tuple[Action, str], str] = {
    (Action.WARN, "en"): "Possible scam",
    (Action.WARN, "nl"): "Mogelijk oplichting",
    (Action.WITHHOLD, "en"): "Number hidden: abroad",
    (Action.WITHHOLD, "nl"): "Nummer verborgen: buitenland",
}
MAX_LABEL_CHARS = 40
# Letters of any script, digits, spaces and `.:!?-`. Never a comma, `|`, a quote, a bracket,
# a backslash or `$`: the label travels in an AGI command line and an MSet argument (which
# splits at commas and `|`), and the dialplan checks it with FILTER before it becomes the
# caller name (a bracket would end FILTER's argument list).
_LABEL = re.compile(r"[^\W_]|[ .:!?\-]")


class Reason(StrEnum):
    """The `SCREEN_REASON` codes: part of the dialplan contract."""

    WITHHELD = "withheld"
    INVALID_NUMBER = "invalid-number"
    PROTECTED = "protected"
    OPTED_OUT = "opted-out"
    SUBSCRIBER_ALLOWLISTED = "subscriber-allowlisted"
    ALLOWLISTED = "allowlisted"
    LISTED = "listed"
    NOT_FOR_DIRECTION = "not-for-direction"
    NOT_LISTED = "not-listed"
    STORE_UNAVAILABLE = "store-unavailable"
    STORE_TIMEOUT = "store-timeout"
    BAD_REQUEST = "bad-request"
    OVERLOADED = "overloaded"
    INTERNAL_ERROR = "internal-error"


class OriginReason(StrEnum):
    """The `SCREEN_REASON` codes of origin screening (`blocklist.origin`): also contract."""

    NATIONAL_CLI_FROM_ABROAD = "national-cli-from-abroad"
    PROTECTED_CLI_FROM_ABROAD = "protected-cli-from-abroad"
    REGISTERED_ABROAD = "registered-abroad"
    ROAMING_VERIFIED = "roaming-verified"
    ROAMING_UNVERIFIED = "roaming-unverified"
    ATTESTATION_FAILED = "attestation-failed"


@value
class Decision:
    """What to do with one call, and why.

    `rule` names the policy rule that chose the action (for explanations); `matched` is the
    listing that decided, if any; `shadow` lists shadow matches that changed nothing.
    `degraded` is true when the store could not be asked (the call is allowed: fail open).
    `origin` is what origin screening said (`blocklist.origin`), if it spoke; `overridden` is
    the blocklist's own decision when the origin's decided the call (a stronger action, or an
    exception's allow of a number no list mentions: `registered-abroad`, `roaming-verified`).
    """

    action: Action
    reason: Reason | OriginReason
    rule: str
    e164: str | None = None
    category: Category | None = None
    prompt: str = ""
    matched: Match | None = None
    shadow: tuple[Match, ...] = ()
    degraded: bool = False
    origin: OriginDecision | None = None
    overridden: Decision | None = None
    label: str = ""  # SCREEN_LABEL: the caller name the ringing phone shows (inbound)

    @classmethod
    def degraded_allow(cls, reason: Reason, e164: str | None) -> Decision:
        """Fail open: the store did not answer in time, or something else went wrong."""
        return cls(Action.ALLOW, reason, "fail-open", e164=e164, degraded=True)


def parse_policy(text: str) -> dict[tuple[Category, Direction], Action]:
    """Read an operator's overrides, `suspected.inbound=block,dno.outbound=allow`."""
    policy = dict(DEFAULT_POLICY)
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, _, value = item.partition("=")
        category, _, direction = key.strip().partition(".")
        try:
            action = Action(value.strip())
            if action is Action.WITHHOLD:
                raise ValueError(action)  # an origin action: a listing warns or blocks
            policy[(Category(category), Direction(direction))] = action
        except ValueError:
            raise ConfigError(
                f"policy rule {item!r}: expected CATEGORY.DIRECTION=ACTION, ACTION one of"
                " allow, warn, block (withhold is for origin screening), e.g."
                " suspected.inbound=block"
            ) from None
    return policy


def prompt_for(action: Action, direction: Direction, language: str) -> str:
    """The announcement for an action, as a sound name: `callscreen/nl/warn-outbound`."""
    if action in (Action.ALLOW, Action.WITHHOLD) or (
        action is Action.BLOCK and direction is Direction.INBOUND
    ):
        # Nothing to play: the call goes through (withheld: the label says why), or is
        # rejected before ringing.
        return ""
    return f"callscreen/{language}/{action.value}-{direction.value}"


def parse_labels(action: Action, text: str | None) -> dict[tuple[Action, str], str]:
    """An operator's labels for one action, `en=Possible scam,nl=Mogelijk oplichting`.

    None (unset) keeps the defaults; an empty text, or `off`, turns the labels off; a language
    not named keeps its default; a language with an empty label (`nl=`) has none, the others
    keep theirs. Raises ConfigError naming a bad item.
    """
    labels = {key: label for key, label in DEFAULT_LABELS.items() if key[0] is action}
    if text is None:
        return labels
    if text.strip().lower() in ("", "off"):
        return {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        language, sep, label = item.partition("=")
        language, label = language.strip().lower(), label.strip()
        if sep and language in PROMPT_LANGUAGES and not label:
            labels.pop((action, language), None)  # `nl=`: no label in this language
            continue
        if (not sep or language not in PROMPT_LANGUAGES
                or len(label) > MAX_LABEL_CHARS
                or not all(_LABEL.fullmatch(char) for char in label)):
            raise ConfigError(
                f"label {item!r}: expected LANGUAGE=LABEL, LANGUAGE one of"
                f" {', '.join(PROMPT_LANGUAGES)}, LABEL up to {MAX_LABEL_CHARS} letters, digits,"
                " spaces and .:!?- (empty: none in that language)"
            )
        labels[(action, language)] = label
    return labels


def label_for(action: Action, direction: Direction, language: str,
              labels: Mapping[tuple[Action, str], str]) -> str:
    """The SCREEN_LABEL of a decision: only inbound warn and withhold have one."""
    if direction is not Direction.INBOUND:
        return ""
    return labels.get((action, language), "")


def choose_language(subscriber: str | None, channel: str | None, default: str) -> str:
    """The subscriber's own setting, else the channel's language, else the default."""
    for candidate in (subscriber, channel):
        if candidate:
            short = candidate.split("_", 1)[0].lower()
            if short in PROMPT_LANGUAGES:
                return short
    return default


def decide(
    direction: Direction,
    reading: Reading,
    lookup: Lookup,
    *,
    policy: Mapping[tuple[Category, Direction], Action] = DEFAULT_POLICY,
    language: str = "en",
) -> Decision:
    """Decide one call. Pure: the same inputs always give the same decision."""
    e164 = reading.e164
    if reading.protected:
        return Decision(Action.ALLOW, Reason.PROTECTED, "protected-number", e164=e164)
    if e164 is None:
        reason = (
            Reason.WITHHELD if reading.unreadable is Unreadable.WITHHELD
            else Reason.INVALID_NUMBER
        )
        return Decision(Action.ALLOW, reason, "no-number")
    if lookup.subscriber.mode is Mode.OFF:
        return Decision(Action.ALLOW, Reason.OPTED_OUT, "subscriber-mode-off", e164=e164)
    if lookup.subscriber_allowlisted:
        return Decision(
            Action.ALLOW, Reason.SUBSCRIBER_ALLOWLISTED, "subscriber-allowlist", e164=e164
        )
    if lookup.allowlisted:
        return Decision(Action.ALLOW, Reason.ALLOWLISTED, "global-allowlist", e164=e164)

    live = [m for m in lookup.matches if not m.listing.shadow]
    shadow = tuple(m for m in lookup.matches if m.listing.shadow)
    best: tuple[Action, Match, Category] | None = None
    for match in live:
        category = match.listing.category_for(direction)
        if category is None:
            continue
        action = policy.get((category, direction), Action.ALLOW)
        if lookup.subscriber.mode is Mode.STRICT and action is Action.WARN:
            action = Action.BLOCK
        # Strongest action wins; on a tie the earlier match (exact, then longer prefix).
        if best is None or ACTION_RANK[action] > ACTION_RANK[best[0]]:
            best = (action, match, category)
    if best is None:
        if live:  # listed, but only for the other direction (a dno number being dialled)
            other = "callee" if direction is Direction.INBOUND else "caller"
            return Decision(Action.ALLOW, Reason.NOT_FOR_DIRECTION, f"applies-to:{other}",
                            e164=e164, matched=live[0], shadow=shadow)
        return Decision(Action.ALLOW, Reason.NOT_LISTED, "not-listed", e164=e164, shadow=shadow)
    action, match, category = best
    if action is Action.ALLOW:
        rule = f"policy:{category.value}.{direction.value}=allow"
        return Decision(
            Action.ALLOW, Reason.NOT_FOR_DIRECTION, rule, e164=e164, category=category,
            matched=match, shadow=shadow,
        )
    rule = f"policy:{category.value}.{direction.value}={action.value}"
    if lookup.subscriber.mode is Mode.STRICT:
        rule += ",strict"
    return Decision(
        action, Reason.LISTED, rule, e164=e164, category=category,
        prompt=prompt_for(action, direction, language), matched=match, shadow=shadow,
    )
