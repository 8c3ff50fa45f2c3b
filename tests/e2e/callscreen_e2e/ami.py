"""A small AMI client: logs in to Asterisk's manager interface and keeps the events it sends."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import BinaryIO

from .system import HarnessError


@dataclass(frozen=True, slots=True)
class Event:
    """One AMI event: its headers in order (a name may repeat) and the text as received."""

    headers: tuple[tuple[str, str], ...]
    text: str

    def __getitem__(self, name: str) -> str:
        return next((v for k, v in self.headers if k.lower() == name.lower()), "")


@dataclass
class Ami:
    """A manager session on 127.0.0.1:port that receives `Events` (an AMI class list)."""

    port: int
    username: str = "e2e"
    secret: str = "e2e-only"
    events_wanted: str = "user"
    events: list[Event] = field(default_factory=list)
    _sock: socket.socket | None = None
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def connect(self, timeout_s: float = 10) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                self._sock = socket.create_connection(("127.0.0.1", self.port), timeout=2)
                break
            except OSError as exc:
                if time.monotonic() > deadline:
                    raise HarnessError(f"AMI on 127.0.0.1:{self.port}: {exc}") from None
                time.sleep(0.1)
        reader = self._sock.makefile("rb")
        banner = reader.readline().decode(errors="replace")
        if not banner.startswith("Asterisk Call Manager"):
            raise HarnessError(f"not an AMI banner: {banner!r}")
        self._sock.sendall((f"Action: Login\r\nUsername: {self.username}\r\n"
                            f"Secret: {self.secret}\r\nEvents: {self.events_wanted}\r\n\r\n"
                            ).encode())
        reply = _read_block(reader)
        if reply is None or reply["Response"] != "Success":
            raise HarnessError(f"AMI login refused: {reply.text if reply else 'closed'}")
        self._sock.settimeout(None)
        self._thread = threading.Thread(target=self._receive, args=(reader,), name="ami",
                                        daemon=True)
        self._thread.start()

    def _receive(self, reader: BinaryIO) -> None:
        while True:
            try:
                block = _read_block(reader)
            except OSError:
                return
            if block is None:
                return
            if block["Event"]:
                with self._lock:
                    self.events.append(block)

    def mark(self) -> int:
        with self._lock:
            return len(self.events)

    def wait_events(self, since: int, name: str, count: int = 1,
                    timeout_s: float = 10) -> list[Event]:
        """The user events `name` (UserEvent: name) received since `mark()`, once there are
        `count` of them or the time is up."""
        deadline = time.monotonic() + timeout_s
        while True:
            with self._lock:
                found = [e for e in self.events[since:]
                         if e["Event"] == "UserEvent" and e["UserEvent"] == name]
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.05)

    def close(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):  # Asterisk may be gone already
                self._sock.sendall(b"Action: Logoff\r\n\r\n")
            self._sock.close()
        if self._thread is not None:
            self._thread.join(timeout=5)


def _read_block(reader: BinaryIO) -> Event | None:
    """One `Name: value` block up to its empty line; None when the connection closed."""
    headers: list[tuple[str, str]] = []
    lines: list[str] = []
    while True:
        raw = reader.readline()
        if not raw:
            return None
        line = raw.decode(errors="replace").rstrip("\r\n")
        if not line:
            if headers:
                return Event(tuple(headers), "\n".join(lines))
            continue
        lines.append(line)
        name, _, value = line.partition(":")
        headers.append((name.strip(), value.strip()))
