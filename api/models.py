"""The API's request and response bodies (pydantic lives here, at the edge, and nowhere else).

Request bodies forbid unknown fields; a text field takes only a string, a date only
`YYYY-MM-DD`. Free
text (reasons, references, notes) is bounded and may not hold control characters, so it can
never break a log line, an audit record or an export.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import phonenumbers
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    StringConstraints,
    model_validator,
)

from blocklist.entries import Action, AppliesTo, Category, Direction, Mode
from blocklist.store.apikeys import Role

Text = Annotated[str, StringConstraints(max_length=500, pattern=r"^[^\x00-\x1f\x7f]*$")]
# Custom OpenAPI formats (the description of `create_app` says what they accept): whether
# text is a valid phone number depends on the numbering plan, which no pattern can say.
PHONE_NUMBER = "phone-number"
PHONE_PREFIX = "phone-prefix"
NumberText = Annotated[str, StringConstraints(min_length=1, max_length=64),
                      Field(json_schema_extra={"format": PHONE_NUMBER})]
PrefixText = Annotated[str, StringConstraints(min_length=1, max_length=64),
                       Field(json_schema_extra={"format": PHONE_PREFIX})]
# Exactly one of `number` and `prefix` (a body's model validator checks it; this says it).
ONE_KEY: list[JsonValue] = [{"required": [name], "properties": {name: {"type": "string"}}}
                             for name in ("number", "prefix")]
Language = Literal["en", "nl"]
REGION_CODES = sorted(phonenumbers.SUPPORTED_REGIONS)  # the numbering plans we can read


def _known_region(value: str) -> str:
    if value not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"{value!r} is not a region code with a numbering plan (ISO 3166"
                         " alpha-2, upper case: NL, DE, ...)")
    return value


Region = Annotated[str, AfterValidator(_known_region),
                  Field(json_schema_extra={"enum": REGION_CODES})]


def _iso_date_text(value: object) -> object:
    if not isinstance(value, str | dt.date):
        raise ValueError("expected a date as YYYY-MM-DD")
    return value


DATE_NOT_PAST = "date-not-past"  # a custom format: YYYY-MM-DD, today (UTC) or later
Day = Annotated[dt.date, BeforeValidator(_iso_date_text)]
Until = Annotated[dt.date, BeforeValidator(_iso_date_text),
                  Field(json_schema_extra={"format": DATE_NOT_PAST})]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- entries -------------------------------------------------------------------------------


class EntryOut(Out):
    key: str = Field(description="`+` and digits; a block ends in `*`",
                     examples=["+31855550101", "+319005550*"])
    kind: Literal["number", "prefix"]
    category: Category
    applies_to: AppliesTo
    source: str = Field(examples=["manual"])
    reference: str = ""
    reason: str = ""
    added_by: str = ""
    listed_at: dt.date | None = None
    valid_until: dt.date | None = None
    shadow: bool = False


class EntryPage(Out):
    entries: list[EntryOut]
    next_cursor: str | None = Field(None, description="pass as `cursor` for the next page")


class EntryCreate(Body):
    """A manual entry: exactly one of `number` (one number) or `prefix` (a block)."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"number": "+31 85 555 0101", "category": "fraud", "reason": "fake Microsoft helpdesk",
         "reference": "TICKET-4711", "valid_until": "2027-10-30"},
        {"prefix": "0900 5550 1xx", "category": "revoked", "applies_to": "both"},
    ], "oneOf": ONE_KEY})

    number: NumberText | None = Field(None, description="E.164, or national in the region")
    prefix: PrefixText | None = Field(None, description="a block: `0900 5550 1xx`, `+3190055501*`")
    category: Category
    applies_to: AppliesTo | None = Field(None, description="default: caller for dno, else both")
    reason: Text = ""
    reference: Text = ""
    valid_until: Until | None = Field(None, description="the last day the entry applies")

    @model_validator(mode="after")
    def _one_key(self) -> EntryCreate:
        if (self.number is None) == (self.prefix is None):
            raise ValueError("give exactly one of number or prefix")
        return self


class EntryChange(Body):
    """Fields to change on a manual entry; omitted ones stay as they are."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"category": "revoked", "valid_until": "2027-12-31", "reason": "confirmed by ACM"},
    ]})

    category: Category | None = None
    applies_to: AppliesTo | None = None
    reason: Text | None = None
    reference: Text | None = None
    valid_until: Until | None = None


class RowProblem(Out):
    line: int
    reason: str


class ImportReport(Out):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"source": "acm", "mode": "snapshot", "dry_run": False, "forced": False, "added": 2,
         "removed": 0, "changed": 0, "unchanged": 0, "rows_read": 3, "skipped_expired": 0,
         "rejected_count": 1, "rejected": [{"line": 4, "reason": "'112' is protected"}],
         "integrity_errors": []},
    ]})

    source: str
    mode: str
    dry_run: bool
    forced: bool
    added: int
    removed: int
    changed: int
    unchanged: int
    rows_read: int
    skipped_expired: int
    rejected_count: int
    rejected: list[RowProblem] = Field(description="the first 1000 refused rows")
    integrity_errors: list[str]


# -- numbers -------------------------------------------------------------------------------


class MatchOut(Out):
    key: str = Field(examples=["+31855550101"])
    kind: Literal["number", "prefix"]
    caller: Category | None
    callee: Category | None
    shadow: bool
    valid_until: dt.date | None


class OpenDispute(Out):
    """An open dispute about the number (`/v1/disputes`)."""

    id: int
    contact: str
    text: str
    opened_at: dt.datetime
    opened_by: str


class Explanation(Out):
    """What the call path would decide for this number now, and why."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"input": "085 555 0101", "number": "+31855550101", "direction": "outbound",
         "subscriber": None, "action": "block", "reason": "listed",
         "rule": "policy:fraud.outbound=block", "category": "fraud",
         "prompt": "callscreen/en/block-outbound",
         "matched": {"key": "+31855550101", "kind": "number", "caller": "fraud",
                     "callee": "fraud", "shadow": False, "valid_until": None},
         "shadow_matches": [], "entries": [], "disputes": []},
    ]})

    input: str
    number: str | None = Field(description="E.164, when the input was a number")
    direction: Direction
    subscriber: str | None
    action: Action
    reason: str = Field(description="the SCREEN_REASON code")
    rule: str = Field(description="the policy rule that chose the action")
    category: Category | None
    prompt: str
    matched: MatchOut | None
    shadow_matches: list[MatchOut]
    entries: list[EntryOut] = Field(description="every entry matching the number, any source")
    disputes: list[OpenDispute] = Field([], description="open disputes about the number")
    label: str = Field("", description="SCREEN_LABEL: the caller name the phone would show")
    origin: OriginOut | None = Field(None, description="origin screening's decision, when"
                                     " `origin` or `attestation` was given and it spoke")


class DecisionOut(Out):
    action: Action
    reason: str
    rule: str


class OriginOut(Out):
    action: Action
    reason: str = Field(description="the SCREEN_REASON code origin screening gave")
    rule: str
    number_type: str | None = Field(description="fixed, mobile, nongeo or protected, for a"
                                    " home number")
    decided: bool = Field(description="true when origin screening decided the call: its action"
                          " was the stronger, or its exception named a call no list mentions")
    blocklist: DecisionOut = Field(description="the blocklist's own decision")


# -- allowlist and subscribers -------------------------------------------------------------


class AllowCreate(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"number": "+31 20 555 0199", "reason": "bank's fraud line, wrongly reported"},
    ], "oneOf": ONE_KEY})

    number: NumberText | None = None
    prefix: PrefixText | None = None
    reason: Text = ""

    @model_validator(mode="after")
    def _one_key(self) -> AllowCreate:
        if (self.number is None) == (self.prefix is None):
            raise ValueError("give exactly one of number or prefix")
        return self


class AllowOut(Out):
    key: str = Field(examples=["+31205550199"])
    kind: Literal["number", "prefix"]
    reason: str = ""
    added_by: str = ""
    added_at: str = ""


class AllowPage(Out):
    entries: list[AllowOut]
    next_cursor: str | None = None


class SubscriberChange(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [{"mode": "strict",
                                                               "language": "nl"}]})

    mode: Mode | None = None
    language: Language | None = None


class SubscriberOut(Out):
    number: str = Field(examples=["+31612345678"])
    mode: Mode
    language: str | None
    allowlist: list[str] = Field(description="the personal allowlist, E.164")


class PersonalAllow(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [{"number": "+31 20 555 0199"}]})

    number: NumberText


# -- reports, keys, audit -------------------------------------------------------------------


class ReportCreate(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"number": "+31 85 555 0101", "reporter": "+31 6 1234 5678",
         "note": "said he was from Microsoft"},
    ]})

    number: NumberText = Field(description="the number reported")
    reporter: NumberText = Field(description="the reporting subscriber's number")
    note: Text = ""


class ReportOut(Out):
    number: str
    reporters: int = Field(description="distinct reporters within the window")
    threshold: int
    window_hours: float
    listed: bool = Field(description="listed as suspected (source reports)")
    valid_until: dt.date | None


class KeyCreate(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "fraud-desk",
                                                               "role": "write"}]})

    name: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.@:-]{1,64}$")]
    role: Role


class KeyOut(Out):
    id: str = Field(examples=["3f2a9c1e0b7d"])
    name: str
    role: Role
    created_at: str
    created_by: str


class KeyCreated(KeyOut):
    key: str = Field(description="the key itself: shown this once, never again")


class AuditEventOut(Out):
    id: str = Field(examples=["1767225600000-0"])
    at: dt.datetime
    actor: str
    action: str = Field(examples=["entry.create"])
    target: str
    reason: str
    detail: dict[str, object]


class AuditPage(Out):
    events: list[AuditEventOut]
    next_cursor: str | None = None


class Status(Out):
    status: str = Field(examples=["ok"])
