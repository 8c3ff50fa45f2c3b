"""What the dialplan asked for, and what we answer: shared by both AGI front ends. Pure.

    AGI(agi://HOST:4573/screen,DIRECTION[,NUMBER[,SUBSCRIBER]])
    AGI(callscreen-agi,DIRECTION[,NUMBER[,SUBSCRIBER]])

`inbound` screens the caller (`CALLERID(num)`) for the called subscriber (`EXTEN`);
`outbound` screens the dialled `EXTEN` for the calling subscriber (`CALLERID(num)`).
"""

from __future__ import annotations

import re

from agi.protocol import Environment, set_variable
from blocklist.entries import Direction
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
    return CallRequest(
        direction, number, subscriber or None, environment.get("language") or None
    )


VARIABLE_NAMES = (
    "SCREEN_ACTION", "SCREEN_CATEGORY", "SCREEN_NUMBER", "SCREEN_PROMPT", "SCREEN_REASON",
    "SCREEN_STATUS",
)
# The MSet line with a `%s` per value, built once: one C-level format per call.
_MSET_TEMPLATE = 'EXEC MSet "' + ",".join(f"{name}=%s" for name in VARIABLE_NAMES) + '"\n'


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
    """The SCREEN_* channel variables that carry a decision to the dialplan, in order."""
    return list(zip(VARIABLE_NAMES, _values(decision), strict=True))


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
    """
    values = _values(decision)
    # One match over all the values at once: the pattern is a character class, repeated.
    if _MSET_SAFE.fullmatch("".join(values)) is None:
        return None
    return _MSET_TEMPLATE % values


def answer_lines(decision: Decision) -> list[str]:
    """The lines to send, first choice first: one MSet, else one SET VARIABLE per variable."""
    line = mset_line(decision)
    return [line] if line is not None else set_variable_lines(decision)
