"""The request and response bodies of `/v1/feeds` (pydantic, at the edge).

`FeedSpec` types the fields for the OpenAPI description; the rules (ranges, URL schemes, one
of `url`/`path`, the format sections) are `blocklist.sync.config.FeedConfig.from_dict`'s, so the
API, the CLI and the feeds file accept exactly the same configurations. A feed's auth header
is configured by the NAME of an environment variable (`auth_env`): its value is read when the
feed downloads, and is never stored or returned.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StringConstraints

from api.models import Out, Region, RowProblem
from blocklist.entries import AppliesTo, Category

FeedId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
FeedFormat = Literal["screening-feed/v1", "delimited", "bnetza", "plain"]
Outcome = Literal["ok", "unchanged", "dry-run", "refused", "failed"]
_EXAMPLE: dict[str, Any] = {
    "url": "https://lists.example.org/acm.csv", "format": "delimited", "region": "NL",
    "category": "revoked", "applies_to": "both", "interval_s": 3600,
    "auth_header": "Authorization", "auth_env": "ACM_FEED_TOKEN",
    "delimited": {"delimiter": ";", "columns": {"nummer": "number", "kenmerk": "reference"}},
    "max_removal_ratio": 0.2, "shadow": False, "enabled": True,
}


_H = "[0-9A-Fa-f]{1,4}"
IPV6 = "|".join((  # RFC 3986's IPv6address, without an embedded IPv4 address
    f"(?:{_H}:){{7}}{_H}", f"(?:{_H}:){{1,7}}:", f"(?:{_H}:){{1,6}}:{_H}",
    f"(?:{_H}:){{1,5}}(?::{_H}){{1,2}}", f"(?:{_H}:){{1,4}}(?::{_H}){{1,3}}",
    f"(?:{_H}:){{1,3}}(?::{_H}){{1,4}}", f"(?:{_H}:){{1,2}}(?::{_H}){{1,5}}",
    f"{_H}:(?::{_H}){{1,6}}", f":(?:(?::{_H}){{1,7}}|:)"))
URL_PATTERN = (rf"^https?://(?:[A-Za-z0-9._~-]+|\[(?:{IPV6})\])(?::[0-9]{{1,5}})?"
               r"(?:[/?#][!-~]*)?$")
TEXT_ENCODING = "text-encoding"  # a custom OpenAPI format: a Python codec name
RecordField = Literal["number", "prefix", "range_start", "range_end", "category",
                      "applies_to", "reason", "reference", "listed_at", "valid_until"]
def _json_number(value: object) -> object:
    # JSON Schema's integer includes 1.0; pydantic's strict int does not, and its lax int
    # also takes "1" and true, which the schema does not.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected a whole number, not {value!r:.40}")
    return value


# Bounds first: after the validator pydantic would write them as `ge`/`le`, not JSON Schema.
_NUMBER = BeforeValidator(_json_number)
Count = Annotated[int, Field(ge=1), _NUMBER]
Encoding = Annotated[str, Field(min_length=1, max_length=40,
                                json_schema_extra={"format": TEXT_ENCODING})]
Word = Annotated[str, StringConstraints(min_length=1, max_length=100)]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LimitsSpec(Section):
    """Per-feed limits; each a whole number above 0."""

    min_prefix_digits: Count | None = None
    max_range_numbers: Count | None = None
    max_range_prefixes: Count | None = None


class DelimitedSpec(Section):
    """CSV/TSV options (`blocklist.feeds.config.DelimitedFormat`)."""

    delimiter: Literal["auto", ",", ";", "\t", "|"] | None = None
    encoding: Encoding | None = None
    fallback_encoding: Encoding | None = None
    columns: dict[str, RecordField] | None = Field(
        None, description="header name (any case) -> record field")
    date_format: Annotated[str, StringConstraints(max_length=100)] | None = None
    separators: list[Word] | None = None
    range_words: list[Word] | None = None


class BnetzaSpec(Section):
    valid_for_years: Annotated[int, Field(ge=1, le=10), _NUMBER] | None = None


class Formatting(Section):
    """How to read a feed file (`blocklist.feeds.FeedFormatConfig`), but its source."""

    region: Region | None = Field(None, description="for national numbers; default the API's")
    mode: Literal["snapshot", "delta"] | None = None
    category: Category | None = Field(None, description="for rows that don't say; default"
                                      " revoked")
    applies_to: AppliesTo | None = None
    limits: LimitsSpec | None = Field(None, examples=[{"min_prefix_digits": 6}])
    delimited: DelimitedSpec | None = Field(None, examples=[{"delimiter": ";"}])
    bnetza: BnetzaSpec | None = Field(None, examples=[{"valid_for_years": 1}])


class FormatSpec(Formatting):
    """How to read an imported file: `POST /v1/entries/import`'s `config` (JSON)."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"delimited": {"delimiter": ";", "columns": {"nummer": "number"}}}]})

    source: FeedId | None = None


def _present(name: str, kind: str = "string") -> dict[str, Any]:
    return {"required": [name], "properties": {name: {"type": kind}}}


class FeedSpec(Formatting):
    """A feed's configuration (`PUT /v1/feeds/{feed_id}` replaces it whole)."""

    # Rules across fields, as FeedConfig.from_dict applies them: exactly one of url and
    # path; auth_header and auth_env together or not at all.
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [
            _EXAMPLE,
            {"url": "https://www.bundesnetzagentur.de/massnahmen.csv", "format": "bnetza",
             "region": "DE", "interval_s": 86400, "shadow": True},
        ],
        "allOf": [
            {"oneOf": [_present("url"), _present("path")]},
            {"anyOf": [
                {"required": ["auth_header", "auth_env"], "properties": {
                    "auth_header": {"type": "string"}, "auth_env": {"type": "string"}}},
                {"properties": {"auth_header": {"type": "null"}, "auth_env": {"type": "null"}}},
            ]},
        ],
    })

    id: FeedId | None = Field(None, description="the path's id, if given at all")
    url: Annotated[str, StringConstraints(
        max_length=2000, pattern=URL_PATTERN,
    )] | None = Field(None, description="http:// or https://; exactly one of url, path")
    path: Annotated[str, StringConstraints(min_length=1, max_length=4096)] | None = Field(
        None, description="a file on the API's host (admin role)")
    format: FeedFormat
    interval_s: float | None = Field(None, strict=True, ge=1, le=366 * 86400,
                                     description="seconds between syncs (1 .. 366 days)")
    auth_header: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{1,64}$")] | None = (
        Field(None, description="the header to send, e.g. Authorization"))
    auth_env: Annotated[str, StringConstraints(
        pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")] | None = Field(
        None, description="the environment variable holding the header's value (admin"
                          " role); the value is never stored")
    timeout_s: float | None = Field(None, strict=True, ge=0.1, le=3600)
    max_bytes: Annotated[int, Field(ge=1, le=1 << 40), _NUMBER] | None = Field(None,
                                  description="the body cap, after decompression")
    retries: Annotated[int, Field(ge=0, le=10), _NUMBER] | None = None
    max_removal_ratio: float | None = Field(None, strict=True, ge=0, le=1, description=(
        "the guard: the largest share of the list one sync may remove"))
    shadow: StrictBool | None = Field(None, description="match and count, change no action")
    enabled: StrictBool | None = Field(None, description="synced on its interval")


class FeedRunOut(Out):
    """One sync of a feed, as kept in its history."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"feed": "acm", "outcome": "ok", "reason": "", "started_at": "2026-01-05T10:00:00+00:00",
         "finished_at": "2026-01-05T10:00:02+00:00", "seconds": 1.8, "forced": False,
         "actor": "scheduler", "counts": {"read": 120, "accepted": 119, "rejected": 1,
                                          "added": 3, "removed": 1, "changed": 0},
         "rejected_rows": [{"line": 7, "reason": "'112' is protected"}]},
    ]})

    feed: str
    outcome: Outcome
    reason: str = Field(description="why it failed or was refused; what force overrode")
    started_at: dt.datetime
    finished_at: dt.datetime
    seconds: float
    forced: bool
    actor: str = Field(description="`scheduler`, or the API key's name")
    counts: dict[str, int]
    rejected_rows: list[RowProblem] = Field(description="the first refused rows")


class FeedStateOut(Out):
    last_run: dt.datetime | None = None
    last_success: dt.datetime | None = Field(None, description="applied, or unchanged (304)")
    etag: str | None = None
    last_modified: str | None = None


class FeedOut(Out):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"id": "acm", "config": {"id": "acm", **_EXAMPLE},
         "state": {"last_run": "2026-01-05T10:00:00Z", "last_success": "2026-01-05T10:00:02Z",
                   "etag": '"5f1c"', "last_modified": None},
         "last_run": None},
    ]})

    id: str = Field(examples=["acm"])
    config: dict[str, Any] = Field(description="as stored: auth_env names the variable,"
                                   " no header value is ever stored")
    state: FeedStateOut
    last_run: FeedRunOut | None


class FeedList(Out):
    feeds: list[FeedOut]


class FeedRuns(Out):
    runs: list[FeedRunOut] = Field(description="newest first")


class SyncDiff(Out):
    """What a dry run would change: the first 1000 keys of each list."""

    added: list[str] = Field(examples=[["+31855550101", "+319005550*"]])
    removed: list[str]
    changed: list[str]
    rejected: list[RowProblem]


class SyncOut(Out):
    """The run (its outcome says whether it applied); the diff for a dry run."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"run": {"feed": "acm", "outcome": "dry-run", "reason": "",
                 "started_at": "2026-01-05T10:00:00Z", "finished_at": "2026-01-05T10:00:01Z",
                 "seconds": 0.4, "forced": False, "actor": "fraud-desk",
                 "counts": {"read": 3, "accepted": 2, "rejected": 1, "added": 1, "removed": 0,
                            "changed": 1, "unchanged": 0, "skipped_expired": 0},
                 "rejected_rows": [{"line": 4, "reason": "'112' is protected"}]},
         "diff": {"added": ["+31855550101"], "removed": [], "changed": ["+31855550102"],
                  "rejected": [{"line": 4, "reason": "'112' is protected"}]}},
    ]})

    run: FeedRunOut
    diff: SyncDiff | None = Field(None, description="dry runs only")
