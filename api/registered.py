"""`/v1/registered`: numbers and blocks registered for use from abroad (origin screening).

A registered number arriving on an international trunk passes origin screening
(`blocklist.origin`); it never bypasses the blocklist. Each registration has a reason and an
optional last day; every change is audited (`registered.add`, `registered.remove`).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Response
from pydantic import ConfigDict, Field, model_validator

from api.auth import Reader, Writer
from api.context import Context, get_context
from api.fields import KEY_PATTERN, kind, label, read_entry_key, read_path_key
from api.models import ONE_KEY, Body, NumberText, Out, PrefixText, Text, Until
from api.problems import Problem
from blocklist.store import registered

router = APIRouter(prefix="/v1/registered", tags=["registered"])
Ctx = Annotated[Context, Depends(get_context)]
KeyText = Annotated[str, Path(pattern=KEY_PATTERN, examples=["+31201234567", "+3120765*"],
                              description="`+` and digits; a block ends in `*`")]


class RegisteredCreate(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"number": "+31 20 123 4567", "reason": "contact centre in Lisbon, ticket 4711",
         "valid_until": "2027-12-31"},
    ], "oneOf": ONE_KEY})

    number: NumberText | None = None
    prefix: PrefixText | None = None
    reason: Text = ""
    valid_until: Until | None = Field(None, description="the last day the registration applies")

    @model_validator(mode="after")
    def _one_key(self) -> RegisteredCreate:
        if (self.number is None) == (self.prefix is None):
            raise ValueError("give exactly one of number or prefix")
        return self


class RegisteredOut(Out):
    key: str = Field(examples=["+31201234567"])
    kind: Literal["number", "prefix"]
    reason: str = ""
    valid_until: dt.date | None = None
    created_at: str = ""
    created_by: str = ""


class RegisteredList(Out):
    entries: list[RegisteredOut]


def _out(found: registered.Registration) -> RegisteredOut:
    return RegisteredOut(key=found.label, kind="prefix" if found.is_prefix else "number",
                         reason=found.reason, valid_until=found.valid_until,
                         created_at=found.created_at, created_by=found.created_by)


@router.get("", summary="List the registered numbers", response_model=RegisteredList)
def list_registered(context: Ctx, _key: Reader) -> RegisteredList:
    """Every registration, ordered by key."""
    return RegisteredList(entries=[_out(r) for r in registered.registrations(context.store)])


@router.post("", status_code=201, summary="Register a number or block for use from abroad",
             response_model=RegisteredOut,
             responses={422: {"description": "invalid or protected number, or a past date"}})
def add_registered(body: RegisteredCreate, context: Ctx, key: Writer) -> RegisteredOut:
    entry_key = read_entry_key(context.plan, body.number, body.prefix)
    try:
        made = registered.register(context.store, entry_key[0], entry_key[1], body.reason,
                                   body.valid_until, key.name)
    except ValueError as exc:  # the end date passed between validation and now (midnight)
        raise Problem(422, "invalid-date", str(exc)) from None
    context.audit(key, "registered.add", label(entry_key),
                  {"kind": kind(entry_key),
                   "valid_until": body.valid_until.isoformat() if body.valid_until else None},
                  body.reason)
    return _out(made)


@router.delete("/{entry_key}", status_code=204, summary="Remove a registration",
               responses={404: {"description": "not registered"}})
def remove_registered(entry_key: KeyText, context: Ctx, key: Writer,
                      reason: Text = "") -> Response:
    parsed = read_path_key(entry_key, "entry_key")
    if not registered.unregister(context.store, *parsed):
        raise Problem(404, "not-found", f"{label(parsed)} is not registered")
    context.audit(key, "registered.remove", label(parsed), {"kind": kind(parsed)}, reason)
    return Response(status_code=204)
