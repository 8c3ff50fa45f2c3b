"""Activity: which listed numbers call our subscribers or are called by them. The top 20 of
a window (this hour, the last day, the last 30 days) by direction, with a chart of hits per
hour; one number's figures by direction and action over the three windows. The figures of
`/v1/activity` (`api.activity`), counted by the FastAGI server."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from api import activity
from api.console.charts import Bar, hourly_bars
from api.console.web import PREFIX, Reading, attempt, page, translate
from api.desk_models import HourPoint
from blocklist.entries import Direction
from blocklist.store.activity import Window

router = APIRouter(prefix=PREFIX, include_in_schema=False)
TOP = 20


def _chart(who: Reading, points: list[HourPoint], label_key: str) -> object:
    language = who.language
    return hourly_bars([Bar(p.hour, p.inbound, p.outbound) for p in points],
                       translate(language, label_key),
                       translate(language, "direction.inbound_short"),
                       translate(language, "direction.outbound_short"))


@router.get("/activity", response_class=HTMLResponse)
def activity_page(request: Request, who: Reading, window: str = "day", direction: str = "",
                  number: str = "") -> Response:
    chosen = Window(window) if window in set(Window) else Window.DAY
    way = Direction(direction) if direction in set(Direction) else None
    if number.strip():
        found, error = attempt(lambda: activity.read_entry_activity(
            number.strip()[:64], who.context, who.session.key, 48), who.language)
        return page(request, who, "activity.html", top=None, one=found, error=error,
                    window=chosen.value, direction=direction if way else "",
                    number=number[:64],
                    chart=_chart(who, found.series, "activity.chart_one") if found else None)
    top = activity.read_top(who.context, who.session.key, chosen, way, TOP)
    return page(request, who, "activity.html", top=top, one=None, error=None,
                window=chosen.value, direction=direction if way else "", number="",
                chart=_chart(who, top.series, "activity.chart_all"))
