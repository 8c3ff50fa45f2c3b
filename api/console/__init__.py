"""The fraud desk's web console at `/console`: server-rendered pages on the admin API's own
functions, in the API's process, with the API's keys and roles.

Each screen is a module with its router; `web` holds what they share. The pages call the
store and the API's own handlers (never HTTP to the API), so a change made here is checked,
applied and audited exactly as through `/v1`. Assets (one stylesheet, one small script) are
in `static/`, templates in `templates/`, the strings in `catalog/<language>.json`.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from api.console import (
    activity_page,
    audit_page,
    desk_page,
    entries_page,
    feeds_page,
    imports_page,
    lists_page,
    lookup_page,
    signin,
)
from api.console.web import HERE, PREFIX, Refusal, SignInNeeded, page

IMPORT_PATH = imports_page.IMPORT_PATH
SCREENS = (signin, lookup_page, entries_page, imports_page, lists_page, desk_page, feeds_page,
           activity_page, audit_page)


def install(app: FastAPI) -> None:
    """Serve the console under `/console` in `app`."""
    app.mount(PREFIX + "/static", StaticFiles(directory=HERE / "static"), name="console-static")
    for screen in SCREENS:
        app.include_router(screen.router)

    async def on_sign_in_needed(request: Request, _exc: Exception) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.method != "GET":
            target = PREFIX + "/lookup"
        return RedirectResponse(f"{PREFIX}/signin?next={_quoted(target)}", status_code=303)

    async def on_refusal(request: Request, exc: Exception) -> HTMLResponse:
        assert isinstance(exc, Refusal)
        return page(request, None, "refused.html", status=exc.status,
                    message_key=exc.message_key, values=exc.values)

    app.add_exception_handler(SignInNeeded, on_sign_in_needed)
    app.add_exception_handler(Refusal, on_refusal)


def _quoted(path: str) -> str:
    from urllib.parse import quote

    return quote(path, safe="/")
