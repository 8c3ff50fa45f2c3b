"""`/v1/activity`: which listed numbers and blocks calls matched, by direction and action,
over the last hour, day and 30 days (`blocklist.store.activity`; counted by the FastAGI
server, flushed every `CALLSCREEN_ACTIVITY_FLUSH_S`). No subscriber's number is kept.

Windows are whole buckets and say where they start: `hour` is the last 60 minutes (twelve
five-minute buckets, the current one included), `day` the last 24 clock hours, `30d` the last
30 UTC days.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from api.auth import Reader
from api.context import Context, get_context
from api.desk_models import (
    ActionHits,
    ActivityTop,
    EntryActivityOut,
    Figures,
    HourPoint,
    KeyActivityOut,
)
from api.fields import read_number, read_path_key
from api.models import PHONE_NUMBER
from blocklist.entries import Direction
from blocklist.store import activity
from blocklist.store.activity import MAX_SERIES_HOURS, Window

router = APIRouter(prefix="/v1/activity", tags=["activity"])
Ctx = Annotated[Context, Depends(get_context)]
_WINDOW_HOURS = {Window.HOUR: 2, Window.DAY: 24, Window.DAYS_30: MAX_SERIES_HOURS}


def _figures(figures: activity.Figures) -> Figures:
    return Figures(hits=figures.total, inbound=ActionHits(**figures.inbound),
                   outbound=ActionHits(**figures.outbound))


def _series(points: list[activity.HourHits]) -> list[HourPoint]:
    return [HourPoint(hour=p.hour, inbound=p.inbound, outbound=p.outbound) for p in points]


def _label(key: str) -> str:
    return "+" + key


@router.get("", summary="The most active listed numbers", response_model=ActivityTop)
def read_top(
    context: Ctx,
    _key: Reader,
    window: Annotated[Window, Query(description="hour: the last 60 minutes; day: the last 24"
                                    " clock hours; 30d: the last 30 days")] = Window.DAY,
    direction: Annotated[Direction | None, Query(
        description="inbound: listed numbers calling subscribers; outbound: being called"
    )] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> ActivityTop:
    """The listed numbers and blocks calls matched most in the window, with every key's
    hits per hour over it (the chart)."""
    now = dt.datetime.now(dt.UTC)
    found = activity.top(context.store, window, direction=direction, limit=limit, now=now)
    return ActivityTop(
        window=window.value, direction=direction, since=activity.window_start(window, now),
        entries=[KeyActivityOut(key=_label(a.key), kind="prefix" if a.key.endswith("*")
                                else "number", hits=a.figures.total,
                                inbound=ActionHits(**a.figures.inbound),
                                outbound=ActionHits(**a.figures.outbound),
                                last_seen=a.last_seen) for a in found],
        series=_series(activity.hourly(context.store, None, _WINDOW_HOURS[window], now=now)),
    )


@router.get("/{number}", summary="One listed number's activity",
            response_model=EntryActivityOut,
            responses={422: {"description": "not a number or a block key"}})
def read_entry_activity(
    number: Annotated[str, Path(max_length=64, examples=["+31855550101", "+319005550*"],
                                description="a number in any format, or a block's key"
                                " ending in `*`",
                                json_schema_extra={"format": PHONE_NUMBER})],
    context: Ctx,
    _key: Reader,
    hours: Annotated[int, Query(ge=1, le=MAX_SERIES_HOURS,
                                description="how many hours the series covers")] = 48,
) -> EntryActivityOut:
    """Hits over the last hour, day and 30 days by direction and action, when a call last
    matched, and hits per hour (all zero for a key no call matched)."""
    if number.endswith("*"):
        key = read_path_key(number, "number")[0] + "*"
    else:
        key = read_number(context.plan, number, ["path", "number"])
    now = dt.datetime.now(dt.UTC)
    found = activity.entry_activity(context.store, key, now=now)
    return EntryActivityOut(
        key=_label(key), kind="prefix" if key.endswith("*") else "number",
        last_seen=found.last_seen, hour=_figures(found.windows[Window.HOUR]),
        day=_figures(found.windows[Window.DAY]), days_30=_figures(found.windows[Window.DAYS_30]),
        series=_series(activity.hourly(context.store, key, hours, now=now)),
    )
