"""Request metrics and the access log. Both name the route template (`/v1/numbers/{number}`),
never the path: a path can hold a phone number. The log names the API key by its id, never
the key."""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from blocklist.metrics import API_REQUEST_SECONDS, API_REQUESTS

log = logging.getLogger("callscreen.api.access")


def route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


class RequestTelemetry:
    """ASGI middleware: count and time every request, and log one line for it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def watched(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, watched)
        finally:
            elapsed = time.perf_counter() - started
            route = route_template(scope)
            method = scope["method"] if scope["method"] in _METHODS else "OTHER"
            API_REQUESTS.labels(route=route, method=method, status=f"{status // 100}xx").inc()
            API_REQUEST_SECONDS.labels(route=route).observe(elapsed)
            key_id = scope.get("state", {}).get("key_id", "-")
            log.info("%s %s %d %.1fms key=%s", method, route, status, elapsed * 1000, key_id)


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
