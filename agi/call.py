"""What the dialplan asked for, and what we answer: shared by both AGI front ends. Pure.

    AGI(agi://HOST:4573/screen,DIRECTION[,NUMBER[,SUBSCRIBER]])
    AGI(callscreen-agi,DIRECTION[,NUMBER[,SUBSCRIBER]])

`inbound` screens the caller (`CALLERID(num)`) for the called subscriber (`EXTEN`);
`outbound` screens the dialled `EXTEN` for the calling subscriber (`CALLERID(num)`).
"""

from __future__ import annotations

from agi.protocol import Environment, set_variable
from blocklist.entries import Direction
from blocklist.policy import Decision
from blocklist.values import value


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
    try:
        direction = Direction(args[0].strip().lower())
    except ValueError:
        raise BadRequestError(
            f"DIRECTION {args[0][:40]!r}: expected inbound or outbound"
        ) from None
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


def answer(decision: Decision) -> str:
    """The `SET VARIABLE` lines that carry a decision to the dialplan, in order."""
    return "".join(
        set_variable(name, value)
        for name, value in (
            ("SCREEN_ACTION", decision.action.value),
            ("SCREEN_CATEGORY", decision.category.value if decision.category else ""),
            ("SCREEN_NUMBER", decision.e164 or ""),
            ("SCREEN_PROMPT", decision.prompt),
            ("SCREEN_REASON", decision.reason),
            ("SCREEN_STATUS", "degraded" if decision.degraded else "ok"),
        )
    )


def answer_lines(decision: Decision) -> list[str]:
    """`answer` as one line per command (each ends in a newline)."""
    return answer(decision).splitlines(keepends=True)
