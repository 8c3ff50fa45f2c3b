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
from blocklist.settings import roaming_host_problem, roaming_port_number
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
    is wrong: anything not ASCII; a space or control character anywhere (urlsplit would drop
    some, the request line would break on others); not http:// or https://HOST/...; a
    `user:password@` (never sent: no Authorization header); a `#fragment` (never sent); a host
    that is not a host name (letters, digits, `-`, `.`, `_`), an IPv4 address (a name whose
    last label is a number must be one) or an IPv6 address in brackets (without a `%zone`);
    a port that is empty, not digits or outside 1..65535. `blocklist.settings` refuses the
    same URLs when the settings are read; the host and port rules are its own
    (`roaming_host_problem`, `roaming_port_number`), called here."""
    def refuse(problem: str) -> ConfigError:
        return ConfigError(f"roaming check URL {url!r}: {problem}")

    expected = "expected http:// or https://HOST/..."
    if not url.isascii():
        raise refuse("not ASCII (percent-encode the path, write the host name in its xn-- form)")
    if any(c <= " " or c == "\x7f" for c in url):
        raise refuse(f"{expected} without spaces or control characters"
                     " (percent-encode them in the path or query)")
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # brackets unpaired, or (some versions) not around an IP address
        raise refuse(f"{expected}: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise refuse(expected)
    if "@" in parts.netloc:
        raise refuse("user info (user:password@) is not sent; the endpoint must answer"
                     " without it")
    if "#" in url:
        raise refuse("a #fragment is not sent (write a # in the path or query as %23)")
    if "[" in parts.netloc and (parts.netloc.rpartition("@")[2].partition("[")[0]
                                or parts.netloc.rpartition("]")[2][:1] not in ("", ":")):
        # urlsplit takes text before '[' or after ']' in some Python versions, not in others
        raise refuse(f"{expected}: nothing before '[', and after ']' only a :PORT")
    host_problem = roaming_host_problem(
        f"[{parts.hostname}]" if "[" in parts.netloc else parts.hostname)
    if host_problem is not None:
        raise refuse(host_problem)
    port = None
    port_text = _port_text(parts.netloc)
    if port_text == "":
        raise refuse("the port is not a port (a number 1..65535 after the ':'): it is empty")
    if port_text is not None:
        # Read by the settings' rule, not by urlsplit's .port (which takes no leading zeros
        # past int()'s digit limit).
        port = roaming_port_number(port_text)
        if port is None:
            raise refuse("the port is not a port (a number 1..65535 after the ':')")
        if port == 0:
            raise refuse("port 0 is not a port")
    path = parts.path or "/"
    if "{e164}" not in path and "{e164}" not in parts.query:
        path = path.rstrip("/") + "/{e164}"
    if parts.query:
        path += "?" + parts.query
    tls = parts.scheme == "https"
    return RoamingEndpoint(parts.hostname, port or (443 if tls else 80), tls, path)


def _port_text(netloc: str) -> str | None:
    """What follows the host's ':' in `netloc` (user info already refused), or None."""
    host_port = netloc.rpartition("@")[2]
    if host_port.startswith("["):
        after = host_port.partition("]")[2]
        return after[1:] if after.startswith(":") else None
    _host, colon, port = host_port.partition(":")
    return port if colon else None


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
