"""Errors as RFC 9457 problem details (`application/problem+json`), for every error answer.

A problem has `type` (a `urn:callscreen:problem:<slug>` URI naming the kind), `title` (the
same for every problem of that kind), `status`, `detail` (this occurrence, naming the bad
value) and `instance` (the request path). Validation problems add `errors`: one
`{"location": [...], "message": ...}` per bad field.

A 405 carries `Allow` with every method the path has (Starlette's names only the first
route's, and FastAPI makes a route per method).

How errors map:

    Problem                    as raised by a handler
    RequestValidationError     422 invalid-request (bad JSON, wrong types, unknown fields)
    a body that can't be read  422 invalid-request (not UTF-8, ...: FastAPI's 400)
    ProtectedNumberError       422 protected-number
    InvalidNumberError         422 invalid-number
    InvalidEntryError          422 invalid-entry
    SyncRefusedError           409 import-refused
    FeedError                  422 invalid-feed
    NotDurableError            503 write-not-durable (written to the primary, too few replicas
                               confirmed it: it may be lost in a failover; check and repeat)
    StoreCommandError          500 store-error (Redis refused a command: a bug, logged)
    StoreError                 503 store-unavailable (the detail does not leak Redis' text)
    HTTPException              its status (404 not-found, 405 method-not-allowed, ...)
    anything else              500 internal-error (logged, never shown)
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from blocklist.errors import (
    CallscreenError,
    ErrorCode,
    FeedError,
    InvalidEntryError,
    InvalidNumberError,
    NotDurableError,
    ProtectedNumberError,
    StoreCommandError,
    StoreError,
    SyncRefusedError,
)

MEDIA_TYPE = "application/problem+json"
_TEMPLATE_PARAM = re.compile(r"\\\{[a-z_]+\\\}")  # `{name}` in a path template, escaped
log = logging.getLogger("callscreen.api")

TITLES = {
    "invalid-request": "The request is not valid",
    "invalid-number": "Not a usable phone number",
    "protected-number": "A protected number can't be listed",
    "invalid-entry": "The entry breaks a rule",
    "invalid-feed": "The upload can't be read as a feed",
    "import-refused": "The import was refused",
    "unauthorized": "A valid API key is needed",
    "forbidden": "The API key's role may not do this",
    "not-found": "No such resource",
    "conflict": "The request conflicts with what is stored",
    "method-not-allowed": "Method not allowed",
    "payload-too-large": "The request body is too large",
    "unsupported-media-type": "Unsupported media type",
    "store-unavailable": "The blocklist store is unavailable",
    "write-not-durable": "The write may not be durable",
    "store-error": "The blocklist store refused a command",
    "internal-error": "Internal error",
}
_SLUG_BY_STATUS = {400: "invalid-request", 401: "unauthorized", 403: "forbidden",
                   404: "not-found", 405: "method-not-allowed", 409: "conflict",
                   413: "payload-too-large", 415: "unsupported-media-type",
                   422: "invalid-request", 503: "store-unavailable"}


class Problem(Exception):
    """Raise in a handler to answer with a problem document.

    `code` and `values` say why for the console, which shows that in the viewer's language
    (`blocklist.errors.ErrorCode`); they are never part of the document.
    """

    def __init__(self, status: int, slug: str, detail: str, *,
                 headers: dict[str, str] | None = None, code: ErrorCode | None = None,
                 values: Mapping[str, str] | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.slug = slug
        self.detail = detail
        self.headers = headers
        self.code = code
        self.values: dict[str, str] = dict(values or {})
        self.extra = extra


def problem_body(status: int, slug: str, detail: str, instance: str,
                 **extra: Any) -> dict[str, Any]:
    return {"type": f"urn:callscreen:problem:{slug}", "title": TITLES.get(slug, slug),
            "status": status, "detail": detail, "instance": instance, **extra}


def problem_response(request: Request, status: int, slug: str, detail: str, *,
                     headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    body = problem_body(status, slug, detail, request.url.path, **extra)
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def field_problem(location: Sequence[str | int], error: Exception) -> Problem:
    """A 422 for one bad field, typed by the error (invalid/protected number, bad entry)."""
    slug = ("protected-number" if isinstance(error, ProtectedNumberError)
            else "invalid-number" if isinstance(error, InvalidNumberError) else "invalid-entry")
    message = str(error)
    code, values = (error.code, error.values) if isinstance(error, CallscreenError) else (None,
                                                                                        None)
    return Problem(422, slug, message, code=code, values=values,
                   errors=[{"location": list(location), "message": message}])


def allowed_methods(request: Request) -> list[str]:
    """Every method the OpenAPI description gives the request's path, sorted (empty for a
    path it does not describe)."""
    app = request.app
    table: list[tuple[re.Pattern[str], list[str]]] | None = getattr(
        app.state, "methods_by_path", None)
    if table is None:
        table = app.state.methods_by_path = [
            (re.compile("^" + _TEMPLATE_PARAM.sub("[^/]+", re.escape(path)) + "$"),
             sorted(method.upper() for method in operations))
            for path, operations in app.openapi().get("paths", {}).items()
        ]
    path = request.url.path
    return next((methods for pattern, methods in table if pattern.match(path)), [])


def _reason(error: BaseException) -> str:
    if isinstance(error, UnicodeDecodeError):
        return f"not UTF-8: byte 0x{error.object[error.start]:02x} at {error.start}"
    return type(error).__name__


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for error in exc.errors():
        location = [p for p in error.get("loc", ()) if isinstance(p, str | int)]
        message = str(error.get("msg", "invalid"))
        given = error.get("input")
        if isinstance(given, str | int | float) and not isinstance(given, bool):
            message += f", not {given!r:.80}"  # name the bad value (cut: it may be long)
        out.append({"location": location, "message": message})
    return out


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into a problem document."""

    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Problem)
        return problem_response(request, exc.status, exc.slug, exc.detail,
                                headers=exc.headers, **exc.extra)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = _validation_errors(exc)
        first = errors[0] if errors else {"location": [], "message": "invalid"}
        where = ".".join(str(p) for p in first["location"]) or "request"
        return problem_response(request, 422, "invalid-request",
                                f"{where}: {first['message']}", errors=errors)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 400 and exc.__cause__ is not None:
            # FastAPI's "error parsing the body" (a body that is not UTF-8, say): the same
            # 422 as a body that is not JSON, naming why.
            message = f"body: can't be read as JSON ({_reason(exc.__cause__)})"
            return problem_response(request, 422, "invalid-request", message,
                                    errors=[{"location": ["body"], "message": message}])
        slug = _SLUG_BY_STATUS.get(exc.status_code, "invalid-request")
        detail = exc.detail if isinstance(exc.detail, str) else TITLES.get(slug, slug)
        headers = dict(exc.headers) if exc.headers else {}
        if exc.status_code == 405 and (methods := allowed_methods(request)):
            headers["Allow"] = ", ".join(methods)
        return problem_response(request, exc.status_code, slug, detail, headers=headers or None)

    async def on_domain(request: Request, exc: Exception) -> JSONResponse:
        if isinstance(exc, SyncRefusedError):
            return problem_response(request, 409, "import-refused", str(exc))
        if isinstance(exc, FeedError):
            return problem_response(request, 422, "invalid-feed", str(exc))
        problem = field_problem(["body"], exc)
        return problem_response(request, 422, problem.slug, problem.detail, **problem.extra)

    async def on_store(request: Request, exc: Exception) -> JSONResponse:
        route = getattr(request.scope.get("route"), "path", "unmatched")
        if isinstance(exc, StoreCommandError):
            log.error("store refused a command on %s: %s", route, exc)
            return problem_response(request, 500, "store-error",
                                    "the blocklist store refused a command this request made"
                                    " (a bug: it is logged); trying again will not help")
        log.warning("store error on %s: %s", route, exc)
        return problem_response(request, 503, "store-unavailable",
                                "the blocklist store did not answer; try again",
                                headers={"Retry-After": "5"})

    async def on_not_durable(request: Request, exc: Exception) -> JSONResponse:
        route = getattr(request.scope.get("route"), "path", "unmatched")
        log.warning("write not confirmed by replicas on %s: %s", route, exc)
        return problem_response(
            request, 503, "write-not-durable",
            "the change was written to the primary, but too few replicas confirmed it in"
            " time: it may not be durable and could be lost if the primary fails now; check"
            " whether it is there and repeat it if not", headers={"Retry-After": "5"})

    async def on_anything(request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error: %s", type(exc).__name__, exc_info=exc)
        return problem_response(request, 500, "internal-error", "an internal error occurred")

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(HTTPException, on_http)
    for kind in (InvalidNumberError, InvalidEntryError, FeedError):
        app.add_exception_handler(kind, on_domain)
    app.add_exception_handler(StoreError, on_store)
    app.add_exception_handler(NotDurableError, on_not_durable)
    app.add_exception_handler(StoreCommandError, on_store)
    app.add_exception_handler(Exception, on_anything)
