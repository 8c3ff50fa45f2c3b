"""Look up: a number in any format, for a direction and optionally a subscriber, and the
decision as Asterisk would get it now (`api.numbers.explain_number`, the call path's own
screening), with the rule, every matching entry, the shadow matches and open disputes; from
there one click to allowlist the number, add an entry, change or remove a manual one, or
record a dispute."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api import numbers
from api.console.web import PREFIX, Reading, attempt, page
from blocklist.entries import Direction

router = APIRouter(prefix=PREFIX, include_in_schema=False)


@router.get("/lookup", response_class=HTMLResponse)
def lookup(request: Request, who: Reading, number: str = "", direction: str = "inbound",
           subscriber: str = "") -> HTMLResponse:
    chosen = Direction(direction) if direction in set(Direction) else Direction.INBOUND
    result, error = None, None
    if number.strip():
        result, error = attempt(lambda: numbers.explain_number(
            number.strip()[:64], who.context, who.session.key, chosen,
            subscriber.strip()[:64] or None), who.language)
    return page(request, who, "lookup.html", number=number[:64], direction=chosen.value,
                subscriber=subscriber[:64], result=result, error=error)
