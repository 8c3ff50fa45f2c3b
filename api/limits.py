"""Request body limits: a JSON body may hold at most `JSON_MAX_BYTES`; an upload (bulk import)
at most `CALLSCREEN_API_MAX_UPLOAD_MB`. A larger `Content-Length` is refused before anything
is read; a body that grows past the limit while streaming is refused when it does (413)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import MEDIA_TYPE, Problem, problem_body

JSON_MAX_BYTES = 64 * 1024


class BodyLimit:
    """ASGI middleware enforcing the body size limits."""

    def __init__(self, app: ASGIApp, *, upload_paths: frozenset[str],
                 upload_max_bytes: int, json_max_bytes: int = JSON_MAX_BYTES) -> None:
        self.app = app
        self.upload_paths = upload_paths
        self.upload_max_bytes = upload_max_bytes
        self.json_max_bytes = json_max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = (self.upload_max_bytes if scope["path"] in self.upload_paths
                 else self.json_max_bytes)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _refuse(scope, send, limit)
            return
        seen = 0
        too_large = False

        async def counted() -> Message:
            nonlocal seen, too_large
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    too_large = True
                    raise Problem(413, "payload-too-large", _detail(limit))
            return message

        async def guarded(message: Message) -> None:
            # Whatever the app made of the interrupted body (FastAPI says 400 "error parsing
            # the body"), the answer is our 413.
            if not too_large:
                await send(message)
            elif message["type"] == "http.response.start":
                await _refuse(scope, send, limit)

        await self.app(scope, counted, guarded)


def _detail(limit: int) -> str:
    return f"the request body is larger than {limit} bytes"


async def _refuse(scope: Scope, send: Send, limit: int) -> None:
    import json

    body = json.dumps(problem_body(413, "payload-too-large", _detail(limit),
                                   scope["path"])).encode()
    await send({"type": "http.response.start", "status": 413, "headers": [
        (b"content-type", MEDIA_TYPE.encode()), (b"content-length", str(len(body)).encode()),
        (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
