"""`/v1/numbers/{number}`: the decision the call path would make now, and why.

The decision comes from the per-call script's own code: `Screener.screen` over the call path's
client (`BlockingConnection`), one pipeline. Only the time budget and the failure differ: the
call path fails open after `CALLSCREEN_LOOKUP_TIMEOUT_MS`; this endpoint waits longer and
answers 503 when the store does not answer, since an explanation without the store would
explain nothing.
The explanation adds every entry of every source that matches (`Store.explain`) and the
number's open disputes (`blocklist.store.disputes`).

Text that is not a number at all is a 422 saying why (the call path would allow it with the
reason `invalid-number`); withheld caller IDs and protected numbers get their decision.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from api.auth import Reader
from api.context import Context, get_context
from api.fields import entry_out
from api.models import (
    PHONE_NUMBER,
    DecisionOut,
    Explanation,
    MatchOut,
    NumberText,
    OpenDispute,
    OriginOut,
)
from api.problems import Problem
from blocklist.entries import Direction, Match
from blocklist.errors import ErrorCode
from blocklist.numbers import digits
from blocklist.origin import Attestation, Origin
from blocklist.policy import Decision, Reason
from blocklist.store.disputes import open_disputes
from blocklist.store.reads import FailoverConnection

router = APIRouter(prefix="/v1/numbers", tags=["numbers"])
Ctx = Annotated[Context, Depends(get_context)]
LOOKUP_TIMEOUT_S = 5.0


def _match_out(match: Match) -> MatchOut:
    return MatchOut(
        key="+" + match.key + ("*" if match.is_prefix else ""),
        kind="prefix" if match.is_prefix else "number",
        caller=match.listing.caller, callee=match.listing.callee,
        shadow=match.listing.shadow, valid_until=match.listing.valid_until,
    )


@router.get("/{number}", summary="Explain the decision for a number",
            response_model=Explanation,
            responses={422: {"description": "not a phone number (says why)"},
                       503: {"description": "the store did not answer"}})
def explain_number(
    number: Annotated[str, Path(max_length=64, examples=["+31855550101", "085 555 0101"],
                                json_schema_extra={"format": PHONE_NUMBER})],
    context: Ctx,
    _key: Reader,
    direction: Annotated[Direction, Query(description="inbound: screen the caller;"
                                          " outbound: screen the dialled number")],
    subscriber: Annotated[NumberText | None, Query(
        description="the subscriber whose settings apply", examples=["+31612345678"])] = None,
    origin: Annotated[Origin | None, Query(
        description="inbound: the trunk the call came on, as the dialplan's ORIGIN")] = None,
    attestation: Annotated[Attestation | None, Query(
        description="inbound: the caller's verification, as the dialplan's ATTESTATION")
    ] = None,
) -> Explanation:
    screener = context.screener
    subscriber_e164 = screener.plan.read(subscriber).e164 if subscriber is not None else None
    if subscriber is not None and subscriber_e164 is None:
        raise Problem(422, "invalid-number", f"subscriber {subscriber!r} is not a phone number",
                      code=ErrorCode.SUBSCRIBER_NOT_A_NUMBER, values={"value": subscriber},
                      errors=[{"location": ["query", "subscriber"],
                               "message": "not a phone number"}])
    connection = FailoverConnection(context.settings.redis, LOOKUP_TIMEOUT_S, primary=True)
    # Raises StoreError (a 503) when the store fails; an unreadable number never asks it.
    decision = screener.screen(connection, direction, number, subscriber, origin=origin,
                               attestation=attestation)
    if decision.reason is Reason.INVALID_NUMBER:
        raise Problem(422, "invalid-number",
                      f"{number!r} is not a phone number; the call path would allow the call"
                      " (reason invalid-number)",
                      code=ErrorCode.NOT_SCREENABLE, values={"value": number},
                      errors=[{"location": ["path", "number"], "message": "not a phone number"}])
    entries = context.store.explain(digits(decision.e164)) if decision.e164 else []
    disputes = open_disputes(context.store, digits(decision.e164)) if decision.e164 else []
    return Explanation(
        input=number, number=decision.e164, direction=direction,
        subscriber=subscriber_e164, action=decision.action, reason=decision.reason,
        rule=decision.rule, category=decision.category, prompt=decision.prompt,
        matched=_match_out(decision.matched) if decision.matched else None,
        shadow_matches=[_match_out(m) for m in decision.shadow],
        entries=[entry_out(e) for e in entries],
        disputes=[OpenDispute(id=d.id, contact=d.contact, text=d.text, opened_at=d.opened_at,
                              opened_by=d.opened_by) for d in disputes],
        label=decision.label, origin=_origin_out(decision),
    )


def _origin_out(decision: Decision) -> OriginOut | None:
    """Both decisions, when origin screening spoke: its own and the blocklist's."""
    said = decision.origin
    if said is None:
        return None
    blocklist = decision.overridden or decision
    return OriginOut(
        action=said.action, reason=said.reason, rule=said.rule,
        number_type=said.kind.value if said.kind else None,
        decided=decision.overridden is not None,
        blocklist=DecisionOut(action=blocklist.action, reason=blocklist.reason,
                              rule=blocklist.rule),
    )
