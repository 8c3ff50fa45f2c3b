"""`/v1/subscribers/{number}`: a subscriber's screening mode (`standard`, `strict`, `off`),
prompt language (`en`, `nl`) and personal allowlist. A subscriber without settings screens in
`standard` mode with the channel's language. Every change is audited."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Response

from api.auth import Reader, Writer
from api.context import Context, get_context
from api.fields import read_number
from api.models import PHONE_NUMBER, PersonalAllow, SubscriberChange, SubscriberOut
from api.problems import Problem

router = APIRouter(prefix="/v1/subscribers", tags=["subscribers"])
Ctx = Annotated[Context, Depends(get_context)]
Number = Annotated[str, Path(max_length=64, examples=["+31612345678"],
                             json_schema_extra={"format": PHONE_NUMBER})]
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "no settings for this subscriber"}}


def _subscriber(context: Context, digits_: str) -> SubscriberOut:
    found = context.store.subscriber(digits_)
    if found is None:
        raise Problem(404, "not-found", f"subscriber +{digits_} has no settings (standard mode)")
    settings, allowed = found
    return SubscriberOut(number="+" + digits_, mode=settings.mode, language=settings.language,
                         allowlist=["+" + n for n in allowed])


@router.get("/{number}", summary="Read a subscriber's settings", response_model=SubscriberOut,
            responses=NOT_FOUND)
def read_subscriber(number: Number, context: Ctx, _key: Reader) -> SubscriberOut:
    return _subscriber(context, read_number(context.plan, number, ["path", "number"]))


@router.put("/{number}", summary="Set a subscriber's mode and language",
            response_model=SubscriberOut)
def set_subscriber(number: Number, body: SubscriberChange, context: Ctx,
                   key: Writer) -> SubscriberOut:
    """Fields left out keep their value (a new subscriber starts in `standard` mode)."""
    sub = read_number(context.plan, number, ["path", "number"])
    context.store.set_subscriber(sub, mode=body.mode, language=body.language)
    context.audit(key, "subscriber.set", "+" + sub, body.model_dump(mode="json",
                                                                    exclude_none=True))
    return _subscriber(context, sub)


@router.delete("/{number}", status_code=204, summary="Forget a subscriber's settings",
               responses=NOT_FOUND)
def delete_subscriber(number: Number, context: Ctx, key: Writer) -> Response:
    sub = read_number(context.plan, number, ["path", "number"])
    if not context.store.delete_subscriber(sub):
        raise Problem(404, "not-found", f"subscriber +{sub} has no settings")
    context.audit(key, "subscriber.delete", "+" + sub)
    return Response(status_code=204)


@router.post("/{number}/allowlist", status_code=201, response_model=SubscriberOut,
             summary="Add a number to the subscriber's personal allowlist")
def personal_allow(number: Number, body: PersonalAllow, context: Ctx,
                   key: Writer) -> SubscriberOut:
    sub = read_number(context.plan, number, ["path", "number"])
    other = read_number(context.plan, body.number, ["body", "number"])
    context.store.personal_allow(sub, other, add=True)
    context.audit(key, "subscriber.allow", "+" + sub, {"number": "+" + other})
    return _subscriber(context, sub)


@router.delete("/{number}/allowlist/{other}", status_code=204, responses=NOT_FOUND,
               summary="Remove a number from the subscriber's personal allowlist")
def personal_disallow(number: Number, other: Number, context: Ctx, key: Writer) -> Response:
    sub = read_number(context.plan, number, ["path", "number"])
    other_digits = read_number(context.plan, other, ["path", "other"])
    if not context.store.personal_allow(sub, other_digits, add=False):
        raise Problem(404, "not-found", f"+{other_digits} is not on +{sub}'s allowlist")
    context.audit(key, "subscriber.disallow", "+" + sub, {"number": "+" + other_digits})
    return Response(status_code=204)

