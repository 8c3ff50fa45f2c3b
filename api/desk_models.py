"""The request and response bodies of the fraud desk's routes: `/v1/activity`,
`/v1/disputes` and the reports queue (pydantic, at the edge)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StringConstraints

from api.models import Body, EntryOut, NumberText, Out, Until
from blocklist.entries import Category, Direction

# Free text of several lines (a dispute's account): bounded, no control characters but line
# breaks and tabs, so it can't break a log line or an audit record either.
LongText = Annotated[str, StringConstraints(min_length=1, max_length=2000,
                                            pattern=r"^[^\x00-\x08\x0b-\x1f\x7f]*$")]
Contact = Annotated[str, StringConstraints(min_length=1, max_length=200,
                                           pattern=r"^[^\x00-\x1f\x7f]*$")]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=500,
                                          pattern=r"^[^\x00-\x1f\x7f]*$")]

# -- activity ------------------------------------------------------------------------------


class ActionHits(Out):
    allow: int
    warn: int
    block: int
    shadow: int = Field(description="a shadow entry matched (changed nothing)")


class Figures(Out):
    hits: int
    inbound: ActionHits = Field(description="the listed number called a subscriber")
    outbound: ActionHits = Field(description="a subscriber dialled the listed number")


class HourPoint(Out):
    hour: dt.datetime = Field(description="the clock hour's start (UTC)")
    inbound: int
    outbound: int


class KeyActivityOut(Out):
    key: str = Field(examples=["+31855550101", "+319005550*"])
    kind: Literal["number", "prefix"]
    hits: int
    inbound: ActionHits
    outbound: ActionHits
    last_seen: dt.datetime | None


class ActivityTop(Out):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "window": "day", "direction": None, "since": "2026-11-19T15:00:00Z",
        "entries": [{"key": "+31855550101", "kind": "number", "hits": 12,
                     "inbound": {"allow": 0, "warn": 0, "block": 12, "shadow": 0},
                     "outbound": {"allow": 0, "warn": 0, "block": 0, "shadow": 0},
                     "last_seen": "2026-11-20T14:29:55Z"}],
        "series": [{"hour": "2026-11-20T14:00:00Z", "inbound": 12, "outbound": 0}],
    }]})

    window: Literal["hour", "day", "30d"]
    direction: Direction | None
    since: dt.datetime = Field(description="where the window starts (it ends now)")
    entries: list[KeyActivityOut] = Field(description="most hits first")
    series: list[HourPoint] = Field(description="every key's hits per hour, oldest first")


class EntryActivityOut(Out):
    key: str = Field(examples=["+31855550101"])
    kind: Literal["number", "prefix"]
    last_seen: dt.datetime | None
    hour: Figures = Field(description="the last 60 minutes (in five-minute buckets)")
    day: Figures = Field(description="the last 24 clock hours")
    days_30: Figures = Field(description="the last 30 UTC days")
    series: list[HourPoint] = Field(description="hits per hour, oldest first")


# -- disputes ------------------------------------------------------------------------------

DisputeStatus = Literal["open", "upheld", "rejected"]


class DisputeCreate(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"number": "+31 20 555 0199", "contact": "fraud-line@bank.example, +31 20 555 0100",
         "text": "This is our bank's fraud line; customers are told to call it."},
    ]})

    number: NumberText = Field(description="the listed number, in any format")
    contact: Contact = Field(description="how to reach the owner (free text)")
    text: LongText = Field(description="why the owner says it is wrongly listed")


class DisputeDecision(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"reason": "confirmed with the bank's security desk"}]})

    reason: Reason


class DisputeOut(Out):
    id: int = Field(examples=[17])
    number: str = Field(examples=["+31205550199"])
    contact: str
    text: str
    status: DisputeStatus
    opened_at: dt.datetime
    opened_by: str
    decided_at: dt.datetime | None = None
    decided_by: str = ""
    reason: str = Field("", description="why it was upheld or rejected")
    removed: list[str] = Field([], description="upheld: the entries removed")
    allowlisted: bool = Field(False, description="upheld: the number was allowlisted")


class DisputePage(Out):
    disputes: list[DisputeOut] = Field(description="newest first")
    next_cursor: str | None = None


# -- the reports queue ---------------------------------------------------------------------


class ReportedOut(Out):
    number: str = Field(examples=["+31855550101"])
    reporters: int = Field(description="distinct reporters within the window")
    first_reported: dt.datetime
    last_reported: dt.datetime
    listed: bool = Field(description="listed now, by any source")
    entries: list[EntryOut] = Field(description="the entries listing it, any source")


class ReportedPage(Out):
    reports: list[ReportedOut] = Field(description="most recently reported first")
    next_cursor: str | None = None


class ReportPromotion(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"category": "fraud", "reason": "five reports, confirmed by a test call"}]})

    category: Literal[Category.FRAUD, Category.SUSPECTED]
    reason: Reason
    valid_until: Until | None = Field(None, description="the last day the entry applies"
                                      " (today or later)")


class ReportDismissal(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"reason": "a school's switchboard, reported by mistake"}]})

    reason: Reason


class ReportTriage(Out):
    number: str
    outcome: Literal["promoted", "dismissed"]
    entry: EntryOut | None = Field(description="promoted: the manual entry made")
    removed: list[str] = Field(description="dismissed: the reports listing removed, if any")

