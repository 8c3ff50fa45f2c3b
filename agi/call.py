"""What the dialplan asked for, and what we answer: shared by both AGI front ends. Pure.

    AGI(agi://HOST:4573/screen,DIRECTION[,NUMBER[,SUBSCRIBER[,ORIGIN[,ATTESTATION]]]])
    AGI(callscreen-agi,DIRECTION[,NUMBER[,SUBSCRIBER[,ORIGIN[,ATTESTATION]]]])

`inbound` screens the caller (`CALLERID(num)`) for the called subscriber (`EXTEN`);
`outbound` screens the dialled `EXTEN` for the calling subscriber (`CALLERID(num)`).
ORIGIN (`national`, `international`, `internal`, or empty: unknown) and ATTESTATION (`A`,
`B`, `C`, `failed`, or empty) feed origin screening (`blocklist.origin`). A value of either
that we can't read is screened as empty (exactly the behaviour without it) and reported in
`CallRequest.warning`, so a dialplan typo never costs the blocklist's screening.
"""

from __future__ import annotations

import re

from agi.protocol import Environment, set_variable
from blocklist.entries import Direction
from blocklist.origin import Attestation, Origin, read_attestation, read_origin
from blocklist.policy import Decision
from blocklist.values import value

_MSET_SAFE = re.compile(r"[A-Za-z0-9+/_.-]*")
_DIRECTIONS = {direction.value: direction for direction in Direction}


class BadRequestError(ValueError):
    """The dialplan called us with arguments we can't use."""


@value
class CallRequest:
    direction: Direction
    number: str
    subscriber: str | None
    language: str | None
    origin: Origin | None = None
    attestation: Attestation | None = None
    warning: str | None = None  # an argument we ignored, and why (for the log)


def request_from(environment: Environment, args: list[str] | None = None) -> CallRequest:
    """The screening the dialplan asked for; `args` overrides `agi_arg_N` (plain AGI argv)."""
    args = environment.args if args is None else args
    if not args:
        raise BadRequestError("no DIRECTION argument: expected inbound or outbound")
    direction = _DIRECTIONS.get(args[0].strip().lower())  # a dict: Direction(...) costs more
    if direction is None:
        raise BadRequestError(f"DIRECTION {args[0][:40]!r}: expected inbound or outbound")
    callerid = environment.get("callerid")
    extension = environment.get("extension")
    if direction is Direction.INBOUND:
        number, subscriber = callerid, extension
    else:
        number, subscriber = extension, callerid
    if len(args) > 1 and args[1].strip():
        number = args[1]
    if len(args) > 2 and args[2].strip():
        subscriber = args[2]
    origin = attestation = None
    warning = None
    if len(args) > 3 and args[3].strip():
        try:
            origin = read_origin(args[3])
        except ValueError:
            warning = (f"ORIGIN {args[3][:40]!r}: expected national, international or"
                       " internal; screened as unknown")
    if len(args) > 4 and args[4].strip():
        try:
            attestation = read_attestation(args[4])
        except ValueError:
            warning = (f"ATTESTATION {args[4][:40]!r}: expected A, B, C or failed;"
                       " screened as none")
    return CallRequest(
        direction, number, subscriber or None, environment.get("language") or None,
        origin, attestation, warning,
    )


VARIABLE_NAMES = (
    "SCREEN_ACTION", "SCREEN_CATEGORY", "SCREEN_NUMBER", "SCREEN_PROMPT", "SCREEN_REASON",
    "SCREEN_STATUS",
)
LABEL_NAME = "SCREEN_LABEL"  # sent only with a label: inbound warn and withhold
# The MSet line with a `%s` per value, built once: one C-level format per call.
_MSET_TEMPLATE = 'EXEC MSet "' + ",".join(f"{name}=%s" for name in VARIABLE_NAMES) + '"\n'
_MSET_LABELLED = _MSET_TEMPLATE[:-2] + f',{LABEL_NAME}=%s"\n'
# A label's characters (blocklist.policy.parse_labels allows no others): safe in MSet too.
_LABEL_SAFE = re.compile(r"[^\W_]|[ .:!?\-]")


def _values(decision: Decision) -> tuple[str, ...]:
    """The values of VARIABLE_NAMES, in order (a StrEnum is its value: no `.value` lookup)."""
    return (
        decision.action,
        decision.category or "",
        decision.e164 or "",
        decision.prompt,
        decision.reason,
        "degraded" if decision.degraded else "ok",
    )


def variables(decision: Decision) -> list[tuple[str, str]]:
    """The SCREEN_* channel variables that carry a decision to the dialplan, in order;
    SCREEN_LABEL last, only when the decision has a label."""
    pairs = list(zip(VARIABLE_NAMES, _values(decision), strict=True))
    if decision.label:
        pairs.append((LABEL_NAME, decision.label))
    return pairs


def set_variable_lines(decision: Decision) -> list[str]:
    """One `SET VARIABLE` line per variable: the fallback answer, a round trip each."""
    return [set_variable(name, value) for name, value in variables(decision)]


def mset_line(decision: Decision) -> str | None:
    """All the variables in one `EXEC MSet` line (one round trip instead of one per
    variable), or None when a value holds anything but the characters our values are made of.

    MSet (Asterisk 13.8 and newer) splits its argument at commas and `|` and strips double
    quotes, so it is used only for values of `[A-Za-z0-9+/_.-]`: codes, E.164 numbers and
    sound names, which is every value callscreen produces. Anything else takes the
    SET VARIABLE path, whose quoting is exact. Those characters need no quoting escapes.
    SCREEN_LABEL, last, may also hold letters of any script, spaces and `.:!?-`: none of
    them splits MSet's argument or ends the quoted AGI argument.
    """
    values = _values(decision)
    # One match over all the values at once: the pattern is a character class, repeated.
    if _MSET_SAFE.fullmatch("".join(values)) is None:
        return None
    label = decision.label
    if not label:
        return _MSET_TEMPLATE % values
    if not all(_LABEL_SAFE.fullmatch(char) for char in label):
        return None
    return _MSET_LABELLED % (*values, label)


def answer_lines(decision: Decision) -> list[str]:
    """The lines to send, first choice first: one MSet, else one SET VARIABLE per variable."""
    line = mset_line(decision)
    return [line] if line is not None else set_variable_lines(decision)
