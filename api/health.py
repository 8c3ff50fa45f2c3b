"""`/healthz` (the process is up), `/readyz` (Redis answers) and `/metrics` (Prometheus).
These three need no API key: probes and scrapers carry none. `/metrics` holds no phone
number: requests are labelled by route template, entries by source and category."""

from __future__ import annotations

import logging
import time
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from starlette.datastructures import State

from api.context import Context, get_context
from api.models import Status
from blocklist.errors import StoreError
from blocklist.metrics import ENTRIES

router = APIRouter(tags=["health"])
Ctx = Annotated[Context, Depends(get_context)]
ENTRY_GAUGE_REFRESH_S = 30.0  # counting entries reads every source: not on every scrape
log = logging.getLogger("callscreen.api")


@router.get("/healthz", summary="Liveness", response_model=Status)
def healthz() -> Status:
    return Status(status="ok")


@router.get("/readyz", summary="Readiness: the store answers", response_model=Status,
            responses={503: {"description": "the store does not answer"}})
def readyz(context: Ctx) -> Status:
    context.store.ping()  # StoreError -> 503 problem
    return Status(status="ready")


@router.get("/metrics", summary="Prometheus metrics", response_class=Response,
            responses={200: {"content": {CONTENT_TYPE_LATEST: {}},
                             "description": "the text exposition format"}})
def metrics(request: Request, context: Ctx) -> Response:
    state = request.app.state
    now = time.monotonic()
    if now - getattr(state, "entries_counted_at", -ENTRY_GAUGE_REFRESH_S) >= ENTRY_GAUGE_REFRESH_S:
        state.entries_counted_at = now
        refresh_entry_gauge(context)
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


def entries_changed(state: State) -> None:
    """Recount `callscreen_entries` on the next scrape (a sync or a purge changed them)."""
    state.entries_counted_at = float("-inf")


def refresh_entry_gauge(context: Context) -> None:
    """Set `callscreen_entries` from the store; on a store error keep the last figures."""
    try:
        counts = context.store.counts()
    except StoreError as error:
        log.warning("could not count entries for metrics: %s", error)
        return
    ENTRIES.clear()
    for source, by_category in counts.items():
        for category, count in by_category.items():
            ENTRIES.labels(source=source, category=category).set(count)
