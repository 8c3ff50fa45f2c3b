"""The roaming check's HTTP, without the I/O: the endpoint from its URL, the request's bytes,
and the answer in a reply. Shared by both clients: the FastAGI server's (`agi.roaming`,
asyncio) and the per-call script's (`agi.roaming_blocking`, a blocking socket).

Imports neither asyncio nor ssl: the per-call script imports this module only for a call that
needs a roaming check (a mobile home number from abroad), and pays for nothing else.

The exchange is HTTP/1.0 (no chunked replies, the connection closes after the answer):
`GET /path/+31612345678` answered by a 200 whose JSON body says `{"roaming": true}` or
`{"roaming": false}`. Anything else is no answer (`ValueError` from `read_reply`).
"""

from __future__ import annotations

import json
from urllib.parse import quote, urlsplit

from blocklist.errors import ConfigError
from blocklist.origin import Roaming
from blocklist.values import value

MAX_REPLY_BYTES = 16 * 1024  # a reply longer than this is cut, and then unreadable


@value
class RoamingEndpoint:
    """Where the roaming endpoint is: `path` holds `{e164}` (in its path, or in the URL's
    query, which it keeps after a `?`)."""

    host: str
    port: int
    tls: bool
    path: str


def roaming_endpoint(url: str) -> RoamingEndpoint:
    """The endpoint of `CALLSCREEN_ROAMING_CHECK_URL`; with `{e164}` in neither its path nor
    its query the number is appended as the last path segment. Raises ConfigError naming what
    is wrong: not http:// or https://HOST/..., a port that is not one (0 included), a
    `user:password@` (never sent: no Authorization header), or anything not ASCII."""
    if not url.isascii():
        raise ConfigError(f"roaming check URL {url!r}: not ASCII (percent-encode the path,"
                          " write the host name in its xn-- form)")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"roaming check URL {url!r}: expected http:// or https://HOST/...")
    if "@" in parts.netloc:
        raise ConfigError(f"roaming check URL {url!r}: user info (user:password@) is not"
                          " sent; the endpoint must answer without it")
    try:
        port = parts.port
    except ValueError:
        raise ConfigError(f"roaming check URL {url!r}: the port is not a port") from None
    if port == 0:
        raise ConfigError(f"roaming check URL {url!r}: port 0 is not a port")
    path = parts.path or "/"
    if "{e164}" not in path and "{e164}" not in parts.query:
        path = path.rstrip("/") + "/{e164}"
    if parts.query:
        path += "?" + parts.query
    tls = parts.scheme == "https"
    return RoamingEndpoint(parts.hostname, port or (443 if tls else 80), tls, path)


def request_bytes(endpoint: RoamingEndpoint, e164: str) -> bytes:
    """The GET for one number: in the path `+` kept, in the query `%2B` (a server reads a raw
    `+` there as a space); anything else quoted."""
    path, question, query = endpoint.path.partition("?")
    path = path.replace("{e164}", quote(e164, safe="+"))
    query = query.replace("{e164}", quote(e164, safe=""))
    host = endpoint.host if ":" not in endpoint.host else f"[{endpoint.host}]"
    default = 443 if endpoint.tls else 80
    if endpoint.port != default:
        host += f":{endpoint.port}"
    return (
        f"GET {path}{question}{query} HTTP/1.0\r\nHost: {host}\r\nAccept: application/json\r\n"
        "User-Agent: callscreen\r\n\r\n"
    ).encode("ascii")


def read_reply(reply: bytes) -> Roaming:
    """The answer in an HTTP reply. Raises ValueError for anything but a 200 whose JSON body
    has a boolean `roaming`."""
    head, sep, body = reply.partition(b"\r\n\r\n")
    status = head.split(b"\r\n", 1)[0].split()
    if not sep or len(status) < 2 or status[1] != b"200":
        raise ValueError(f"roaming check answered {head[:80]!r}")
    said = json.loads(body)
    roaming = said.get("roaming") if isinstance(said, dict) else None
    if not isinstance(roaming, bool):
        raise ValueError(f"roaming check body {body[:80]!r} has no boolean roaming")
    return Roaming.VERIFIED if roaming else Roaming.NOT_ROAMING
