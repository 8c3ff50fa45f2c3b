"""The admin API application: `create_app(settings)` builds it; `callscreen api` serves it.
Its lifespan runs the background work (`api.background`: feed scheduler, purge of expired
entries).

Handlers are plain functions (FastAPI runs them in its thread pool): the store is redis-py,
blocking. The app owns the store it makes and closes it at shutdown; a store handed in
(tests, embedding) stays the caller's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api import (
    activity,
    allowlist,
    audit,
    background,
    bulk,
    console,
    disputes,
    docs_page,
    entries,
    feeds,
    health,
    keys,
    numbers,
    openapi,
    problems,
    registered,
    reports,
    subscribers,
)
from api.context import Context
from api.limits import BodyLimit
from api.telemetry import RequestTelemetry
from blocklist.errors import ConfigError
from blocklist.numbers import NumberPlan
from blocklist.screening import Screener
from blocklist.settings import Settings
from blocklist.store.admin import Store

DESCRIPTION = """\
The admin API of callscreen: curate the blocklist of fake-helpdesk numbers, the allowlists and
subscriber settings; see why a number is allowed, warned or blocked; read the audit trail.

**Access.** Every `/v1` endpoint needs an API key (`callscreen keys create`), sent as
`Authorization: Bearer <key>` or `X-API-Key: <key>`. Roles: `read` (look up, list, export) <
`write` (change entries, allowlists, subscribers, feeds; report, promote or dismiss reported
numbers; record and decide disputes; import; sync) < `admin`
(keys, audit, forced imports and syncs, feeds reading a local file or an environment
variable). 401: no valid key; 403: the role may not.

**Errors** are `application/problem+json` (RFC 9457); `detail` names the bad value.

**Formats.** `phone-number`: a number that may be listed: E.164 (`+31855550101`) or national
in the API's region (`085 555 0101`), spaces and dashes allowed; it must be a valid number
(phonenumbers' metadata), and emergency and protected numbers are refused. `phone-prefix`: a
block of numbers, `+3190055501*` or `0900 5550 1xx`, at least 6 digits after the country
code, covering no protected number. `date-not-past`: a date (`YYYY-MM-DD`), today (UTC) or
later: an entry can't end before it was listed. `text-encoding`: a Python codec name
(`utf-8`, `cp1252`, ...). Anything else is a 422 naming the value.

**Cursors** are positions: pass a page's `next_cursor` back as `cursor`.
"""
TAGS = [
    {"name": "numbers", "description": "The decision for a number, explained."},
    {"name": "entries", "description": "Listed numbers and blocks, with provenance."},
    {"name": "bulk", "description": "Import a feed file; export everything."},
    {"name": "allowlist", "description": "Numbers and blocks never screened."},
    {"name": "subscribers", "description": "Mode, prompt language, personal allowlist."},
    {"name": "registered", "description": "Numbers registered for use from abroad (origin"
     " screening); never a bypass of the blocklist."},
    {"name": "reports", "description": "Reports of scam numbers by subscribers, and the queue"
     " of reported numbers to promote or dismiss."},
    {"name": "activity", "description": "Which listed numbers calls matched, and how often."},
    {"name": "disputes", "description": "Owners of listed numbers saying they are wrongly"
     " listed: open, uphold, reject."},
    {"name": "feeds", "description": "Regulator feeds: configuration, run history, sync now."},
    {"name": "keys", "description": "API keys (admin)."},
    {"name": "audit", "description": "Who changed what, when and why (admin)."},
    {"name": "health", "description": "Probes and metrics; no key needed."},
]


def create_app(settings: Settings, store: Store | None = None) -> FastAPI:
    """The API for `settings`; `store` defaults to one on `settings.redis_url`."""
    if settings.redis_url is None:
        raise ConfigError("the admin API needs CALLSCREEN_REDIS_URL (or `callscreen run`)")
    owned = store is None
    the_store = store or Store.from_location(settings.redis, settings.key_prefix)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        tasks = await background.start(settings, the_store,
                                       lambda: health.entries_changed(app.state))
        try:
            yield
        finally:
            await tasks.stop()
            if owned:
                the_store.close()

    app = FastAPI(title="callscreen admin API", version="1", description=DESCRIPTION,
                  openapi_tags=TAGS, lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.context = Context(settings, the_store,
                                NumberPlan(settings.region, settings.protected_numbers),
                                Screener(settings))
    for module in (numbers, bulk, entries, allowlist, subscribers, registered, reports,
                   activity, disputes, feeds, keys, audit, health):
        app.include_router(module.router)
    problems.install(app)
    openapi.install(app)
    docs_page.install(app)
    console.install(app)
    app.add_middleware(BodyLimit,
                       upload_paths=frozenset({"/v1/entries/import", console.IMPORT_PATH}),
                       upload_max_bytes=settings.api_max_upload_bytes)
    app.add_middleware(RequestTelemetry)
    return app
