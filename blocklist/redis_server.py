"""An embedded redis-server process: for `callscreen run` without CALLSCREEN_REDIS_URL
(`RedisServer.embedded`, where `blocklist.settings.EmbeddedRedis` says), and for the test
session (a throwaway directory and a free port).

It runs Debian's (or any) `redis-server` binary found on PATH, with persistence in a data
directory (append-only file, fsync every second, plus snapshots) and the settings the store's
layout wants (`hash-max-listpack-entries 512`: see `blocklist.store.layout`).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

from blocklist.errors import ConfigError, StoreError
from blocklist.settings import EmbeddedRedis

LISTPACK_ENTRIES = 512


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_taken(port: int) -> bool:
    """Whether a process has 127.0.0.1:`port` bound (listening, or a connection's end)."""
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


class RedisServer:
    """One redis-server child process. `start()` returns once it (not another process on
    its port) answers PING."""

    def __init__(self, data_dir: Path, *, port: int = 0, persistent: bool = True) -> None:
        self.data_dir = data_dir
        self.persistent = persistent
        # A port we chose (`free_port`) may be taken by another process before redis-server
        # binds it: then `start` chooses another. A port we were given is never changed.
        self._port_is_ours = not port
        self._use_port(port or free_port())
        self.process: subprocess.Popen[bytes] | None = None

    def _use_port(self, port: int) -> None:
        self.port = port
        self.location = EmbeddedRedis(str(self.data_dir), port)
        self.socket_path = Path(self.location.socket_path)

    @classmethod
    def embedded(cls, location: EmbeddedRedis) -> RedisServer:
        """`callscreen run`'s Redis, persistent, where the settings say."""
        return cls(Path(location.directory), port=location.port)

    @property
    def url(self) -> str:
        """Its TCP address (for every user; the socket is for callscreen's user only)."""
        return self.location.tcp_url

    def config(self) -> str:
        lines = [
            f"port {self.port}",
            "bind 127.0.0.1",
            "protected-mode yes",
            f"dir {self.data_dir.resolve()}",
            f"unixsocket {self.socket_path.resolve()}",
            "unixsocketperm 700",
            f"hash-max-listpack-entries {LISTPACK_ENTRIES}",
            "hash-max-listpack-value 64",
            "daemonize no",
            "loglevel warning",
            "logfile redis.log",
        ]
        if self.persistent:
            lines += ["appendonly yes", "appendfsync everysec", "save 3600 1 300 100 60 10000"]
        else:
            lines += ["appendonly no", 'save ""']
        return "\n".join(lines) + "\n"

    def start(self, timeout_s: float = 10.0) -> None:
        """Start redis-server and return once it answers: it, not another process that
        holds the port (two test sessions on one machine, say, must never share a Redis).
        StoreError when it exits or does not answer within `timeout_s`."""
        binary = shutil.which("redis-server")
        if binary is None:
            raise ConfigError(
                "no redis-server on PATH: install Debian's redis-server package"
                " (tools/bootstrap does), or set CALLSCREEN_REDIS_URL"
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.data_dir, 0o700)
        errors = self.data_dir / "redis.stderr"
        process = self._spawn(binary, errors)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if process.poll() is not None:
                if self._port_is_ours and port_taken(self.port):
                    # Taken since `free_port` chose it: another port, as if chosen first.
                    self._use_port(free_port())
                    process = self._spawn(binary, errors)
                    continue
                log = self.data_dir / "redis.log"
                detail = errors.read_text(errors="replace")
                if log.exists():
                    detail += log.read_text(errors="replace")
                raise StoreError(f"redis-server exited at start: {detail.strip()[-500:]}")
            if self._answers(process.pid):
                return
            time.sleep(0.02)
        self.stop()
        raise StoreError(f"redis-server on port {self.port} did not answer within {timeout_s} s")

    def _spawn(self, binary: str, errors: Path) -> subprocess.Popen[bytes]:
        conf = self.data_dir / "redis.conf"
        conf.write_text(self.config(), encoding="utf-8")
        with errors.open("wb") as stderr:
            self.process = subprocess.Popen(  # noqa: S603 - our own binary and config
                [binary, str(conf)], stdout=subprocess.DEVNULL, stderr=stderr
            )
        return self.process

    def _answers(self, pid: int) -> bool:
        """Whether the redis-server with process id `pid` answers PING on the port (PING
        says it has loaded its data; INFO's process id, that it is ours)."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                sock.sendall(b"PING\r\n")
                if not sock.recv(16).startswith(b"+PONG"):
                    return False
                sock.sendall(b"INFO server\r\n")
                head, _, body = sock.recv(4096).partition(b"\r\n")
                if not head.startswith(b"$"):
                    return False
                while len(body) < int(head[1:]):
                    more = sock.recv(4096)
                    if not more:
                        return False
                    body += more
        except (OSError, ValueError):
            return False
        return f"\r\nprocess_id:{pid}\r\n".encode() in b"\r\n" + body

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # redis-server saves and exits on SIGTERM
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
