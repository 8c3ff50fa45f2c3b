"""A lean Redis client for the call path: one pipeline per screening, nothing else.

Why not redis-py here (measured, see bench/): `import redis` costs the per-call AGI script
about 150 ms and 22 MB, five times its whole budget, and redis-py's asyncio pipeline costs the
FastAGI server more CPU per call than all the rest of a call together. This module writes the
RESP protocol itself (a few lines) and parses replies with hiredis, the C parser redis-py uses.
The admin side uses redis-py (`blocklist.store.admin`).

`BlockingConnection` serves the per-call script; `blocklist.store.multiplexer` the FastAGI
server. This module imports nothing heavy: the per-call script pays for every import.
"""

from __future__ import annotations

import socket
import time

import hiredis

from blocklist.errors import ConfigError, StoreError, StoreTimeoutError
from blocklist.urls import unquote
from blocklist.values import value

TYPE_CHECKING = False  # no typing, urllib or dataclasses here: see the module docstring
if TYPE_CHECKING:
    import ssl
    from collections.abc import Sequence
    from typing import TypeAlias

    Command: TypeAlias = Sequence[str]



@value
class RedisAddress:
    """Where Redis is, from `CALLSCREEN_REDIS_URL` (redis://, rediss://, unix://)."""

    host: str = "127.0.0.1"
    port: int = 6379
    path: str | None = None
    tls: bool = False
    username: str | None = None
    password: str | None = None
    db: int = 0

    @classmethod
    def from_url(cls, url: str) -> RedisAddress:
        """Parse `redis://[[user]:password@]host[:port][/db]`, `rediss://...` (TLS) and
        `unix://[[user]:password@]/path[?db=N]`. Percent-escapes in credentials are decoded."""
        scheme, sep, rest = url.partition("://")
        if not sep or scheme not in ("redis", "rediss", "unix"):
            raise ConfigError(f"Redis URL {_redact(url)!r}: use redis://, rediss:// or unix://")
        rest, _, query = rest.partition("?")
        params = dict(p.partition("=")[::2] for p in query.split("&") if p)
        if scheme == "unix":
            userinfo, _, location = rest.rpartition("@") if "@" in rest else ("", "", rest)
            db_text = params.get("db") or "0"
        else:
            netloc, _, db_path = rest.partition("/")
            userinfo, _, location = netloc.rpartition("@")
            db_text = params.get("db") or db_path or "0"
        username, _, password = userinfo.partition(":") if userinfo else ("", "", "")
        if not db_text.isdigit():
            raise ConfigError(f"Redis URL {_redact(url)!r}: database {db_text!r} is not a number")
        common = {
            "username": unquote(username) or None,
            "password": unquote(password) if userinfo and ":" in userinfo else None,
            "db": int(db_text),
        }
        if scheme == "unix":
            if not location.startswith("/"):
                raise ConfigError(f"Redis URL {_redact(url)!r} names no socket path")
            return cls(path=location, **common)  # type: ignore[arg-type]
        host, port = _host_port(location, url)
        return cls(host=host, port=port, tls=scheme == "rediss", **common)  # type: ignore[arg-type]

    def setup_commands(self) -> list[tuple[str, ...]]:
        """AUTH and SELECT, sent ahead of the first pipeline on a new connection."""
        commands: list[tuple[str, ...]] = []
        if self.password is not None:
            auth = ("AUTH", self.username, self.password) if self.username else (
                "AUTH", self.password
            )
            commands.append(auth)
        if self.db:
            commands.append(("SELECT", str(self.db)))
        return commands

    def __str__(self) -> str:
        if self.path:
            return f"unix://{self.path}"
        return f"{'rediss' if self.tls else 'redis'}://{self.host}:{self.port}/{self.db}"


def _redact(url: str) -> str:
    """The URL with any password replaced, for error messages."""
    scheme, sep, rest = url.partition("://")
    userinfo, at, tail = rest.partition("@")
    if not at or ":" not in userinfo:
        return url
    return f"{scheme}{sep}{userinfo.partition(':')[0]}:***@{tail}"




def _host_port(location: str, url: str) -> tuple[str, int]:
    if location.startswith("["):  # [ipv6]:port
        host, _, tail = location[1:].partition("]")
        port_text = tail[1:] if tail.startswith(":") else ""
    else:
        host, _, port_text = location.partition(":")
    if port_text and (not port_text.isdigit() or not 0 < int(port_text) < 65536):
        raise ConfigError(f"Redis URL {_redact(url)!r}: port {port_text!r} is not a port")
    return host or "127.0.0.1", int(port_text) if port_text else 6379


def encode(commands: Sequence[Command]) -> bytes:
    """The RESP bytes of a pipeline of commands."""
    out: list[str] = []
    for command in commands:
        out.append(f"*{len(command)}\r\n")
        for arg in command:
            # The byte length: ASCII (every key and number we send) is one byte a character.
            size = len(arg) if arg.isascii() else len(arg.encode())
            out.append(f"${size}\r\n{arg}\r\n")
    return "".join(out).encode()


def ssl_context(address: RedisAddress) -> ssl.SSLContext:
    """The TLS context for rediss://, with the system's trust store."""
    import ssl  # only for rediss://: about 15 ms to import

    return ssl.create_default_context()


class BlockingConnection:
    """One short-lived connection: send a pipeline, read its replies, all within a deadline."""

    def __init__(self, address: RedisAddress, timeout_s: float) -> None:
        self._address = address
        self._timeout_s = timeout_s

    def run(self, commands: Sequence[Command]) -> list[object]:
        """Replies to `commands`, in order. Raises StoreError / StoreTimeoutError."""
        setup = self._address.setup_commands()
        deadline = time.monotonic() + self._timeout_s
        try:
            sock = self._connect()
            try:
                sock.sendall(encode([*setup, *commands]))
                replies = self._read(sock, len(setup) + len(commands), deadline)
            finally:
                sock.close()
        except TimeoutError:
            raise StoreTimeoutError(
                f"Redis at {self._address} did not answer within {self._timeout_s * 1000:.0f} ms"
            ) from None
        except OSError as exc:
            raise StoreError(f"Redis at {self._address}: {exc}") from None
        for reply in replies:
            if isinstance(reply, hiredis.ReplyError):
                raise StoreError(f"Redis at {self._address} refused a command: {reply}")
        return replies[len(setup):]

    def _connect(self) -> socket.socket:
        address = self._address
        if address.path:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(self._timeout_s)
            sock.connect(address.path)
            return sock
        sock = socket.create_connection((address.host, address.port), timeout=self._timeout_s)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if address.tls:
            context = ssl_context(address)
            return context.wrap_socket(sock, server_hostname=address.host)
        return sock

    @staticmethod
    def _read(sock: socket.socket, count: int, deadline: float) -> list[object]:
        """`count` replies; the socket timeout alone would allow the budget per `recv`."""
        reader = hiredis.Reader()
        replies: list[object] = []
        while len(replies) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            sock.settimeout(remaining)
            data = sock.recv(65536)
            if not data:
                raise StoreError("Redis closed the connection mid-reply")
            reader.feed(data)
            while len(replies) < count:
                reply = reader.gets()
                if reply is False:
                    break
                replies.append(reply)
        return replies
