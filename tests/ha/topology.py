"""A Redis high-availability topology on loopback, for the kill tests, the bench and `tools/ha`.

One primary, replicas and Sentinels, each Debian's `redis-server` / `redis-sentinel` started
on a free port with its files in one directory. Short Sentinel timeouts (down after 1 s by
default) make a failover take a few seconds. The nodes can be killed (SIGKILL: no goodbye,
as a machine that dies), stopped and started again; `wait_for_failover` returns once the
Sentinels name a new primary and it accepts writes.

    topology = Topology(tmp_path)
    topology.start()
    url = topology.sentinel_url            # redis+sentinel://127.0.0.1:P1,.../callscreen
    old = topology.primary()
    topology.kill(old)
    new = topology.wait_for_failover(old)
    topology.restart(old)                  # back as a replica of the new primary
    topology.stop()

This is test and tooling code, not the product: the product finds the primary through
`CALLSCREEN_REDIS_URL` like any client.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

SERVICE = "callscreen"
REPL_TIMEOUT_S = 5  # a replica that hears nothing from its primary this long drops the link


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def command(port: int, *args: str, timeout_s: float = 1.0) -> object:
    """One command to a Redis or Sentinel on loopback; its reply (str, int, list, or an
    Exception instance for an error reply). Raises OSError when nothing answers."""
    import hiredis

    with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as sock:
        out = [f"*{len(args)}\r\n"] + [f"${len(a.encode())}\r\n{a}\r\n" for a in args]
        sock.sendall("".join(out).encode())
        reader = hiredis.Reader(encoding="utf-8")
        while True:
            data = sock.recv(65536)
            if not data:
                raise ConnectionError(f"port {port} closed the connection")
            reader.feed(data)
            reply = reader.gets()
            if reply is not False:
                return reply


def info(port: int, section: str = "replication") -> dict[str, str]:
    """INFO `section` as a dict."""
    text = command(port, "INFO", section)
    assert isinstance(text, str), text
    return dict(
        line.split(":", 1) for line in text.splitlines() if ":" in line and not line.startswith("#")
    )


@dataclass
class Node:
    """One redis-server or redis-sentinel process."""

    name: str
    port: int
    directory: Path
    sentinel: bool = False
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def answers(self) -> bool:
        try:
            return command(self.port, "PING", timeout_s=0.3) == "PONG"
        except OSError:
            return False


class Topology:
    """One primary, `replicas` replicas and `sentinels` Sentinels on loopback."""

    def __init__(
        self, directory: Path, *, replicas: int = 2, sentinels: int = 3,
        down_after_ms: int = 1000, failover_timeout_ms: int = 3000, service: str = SERVICE,
    ) -> None:
        self.directory = directory
        self.service = service
        self.down_after_ms = down_after_ms
        self.failover_timeout_ms = failover_timeout_ms
        self.nodes = [
            Node(f"redis-{i}", free_port(), directory / f"redis-{i}") for i in range(1 + replicas)
        ]
        self.sentinels = [
            Node(f"sentinel-{i}", free_port(), directory / f"sentinel-{i}", sentinel=True)
            for i in range(sentinels)
        ]
        self.quorum = sentinels // 2 + 1

    # -- addresses ------------------------------------------------------------------------

    @property
    def sentinel_url(self) -> str:
        """`CALLSCREEN_REDIS_URL` for this topology."""
        hosts = ",".join(s.address for s in self.sentinels)
        return f"redis+sentinel://{hosts}/{self.service}"

    def node_at(self, port: int) -> Node:
        return next(n for n in self.nodes if n.port == port)

    def primary(self) -> Node:
        """The primary the Sentinels name now."""
        for sentinel in self.sentinels:
            if not sentinel.alive:
                continue
            with contextlib.suppress(OSError):
                reply = command(sentinel.port, "SENTINEL", "get-master-addr-by-name",
                                self.service)
                if isinstance(reply, list):
                    return self.node_at(int(reply[1]))
        raise RuntimeError("no Sentinel names a primary")

    def replicas(self) -> list[Node]:
        primary = self.primary()
        return [n for n in self.nodes if n is not primary]

    # -- processes ------------------------------------------------------------------------

    def start(self, timeout_s: float = 60.0) -> None:
        """Start every node, and return once the replicas are in sync and every Sentinel
        knows the replicas and the other Sentinels. (A Sentinel learns of replicas from the
        primary's INFO, which it asks every 10 s, and of its peers from hellos every 2 s; on a
        loaded machine that takes a while, hence the generous default.)"""
        for binary in ("redis-server", "redis-sentinel"):
            if shutil.which(binary) is None:
                raise RuntimeError(f"no {binary} on PATH: run tools/bootstrap (Debian's package)")
        primary, *replicas = self.nodes
        self._start_server(primary, None)
        for replica in replicas:
            self._start_server(replica, primary)
        deadline = time.monotonic() + timeout_s
        self._wait(lambda: all(self._in_sync(r) for r in replicas), deadline, "replicas in sync")
        for sentinel in self.sentinels:
            self._start_sentinel(sentinel, primary)
        self._wait(self._sentinels_agree, deadline, "Sentinels discover the topology")

    def stop(self) -> None:
        """Stop everything (SIGKILL: nothing here needs saving)."""
        for node in [*self.sentinels, *self.nodes]:
            self.kill(node)

    def kill(self, node: Node) -> None:
        """SIGKILL: the process dies at once, as its machine would."""
        if node.process is not None and node.process.poll() is None:
            node.process.send_signal(signal.SIGKILL)
            node.process.wait()
        node.process = None

    def restart(self, node: Node, timeout_s: float = 20.0, *, as_primary: bool = False) -> None:
        """Start a killed node again: a redis-server comes back as a replica of the current
        primary (with no data: it resyncs), a Sentinel with the configuration it had.

        `as_primary`: the redis-server comes back with a primary's configuration and no data,
        as a killed primary restarted with its own configuration does (until the Sentinels
        make it a replica, some seconds later); returns once it answers."""
        if node.sentinel:
            self._launch(node, ["redis-sentinel", str(node.directory / "sentinel.conf")])
            self._wait(node.answers, time.monotonic() + timeout_s, f"{node.name} answers")
            return
        shutil.rmtree(node.directory, ignore_errors=True)
        if as_primary:
            self._start_server(node, None)
            return
        primary = self.primary()
        self._start_server(node, primary)
        self._wait(lambda: self._in_sync(node), time.monotonic() + timeout_s,
                   f"{node.name} in sync")

    def wait_for_failover(self, old: Node, timeout_s: float = 30.0) -> Node:
        """The new primary, once the Sentinels name one other than `old` and it takes writes."""
        deadline = time.monotonic() + timeout_s

        def promoted() -> bool:
            try:
                new = self.primary()
            except RuntimeError:
                return False
            if new is old or not new.alive:
                return False
            with contextlib.suppress(OSError):
                return info(new.port).get("role") == "master"
            return False

        self._wait(promoted, deadline, "a failover")
        return self.primary()

    def wait_until_listed(self, node: Node, timeout_s: float = 30.0) -> None:
        """Until every live Sentinel lists `node` among the replicas and not down (what it
        says of itself aside)."""
        self._wait(lambda: self._sentinels_see(node), time.monotonic() + timeout_s,
                   f"the Sentinels list {node.name}")

    def wait_for_replica(self, node: Node, timeout_s: float = 30.0) -> None:
        """Until `node` replicates the current primary with the link up, and the Sentinels
        list it as a replica that is not down."""
        deadline = time.monotonic() + timeout_s
        self._wait(lambda: self._in_sync(node) and self._sentinels_see(node), deadline,
                   f"{node.name} back as a replica")

    # -- internals ------------------------------------------------------------------------

    def _start_server(self, node: Node, primary: Node | None) -> None:
        node.directory.mkdir(parents=True, exist_ok=True)
        lines = [
            f"port {node.port}", "bind 127.0.0.1", "protected-mode no",
            f"dir {node.directory.resolve()}", "daemonize no", "loglevel warning",
            "logfile redis.log", "appendonly no", 'save ""',
            "hash-max-listpack-entries 512", "hash-max-listpack-value 64",
            # Replicas ping often, so a promoted replica's lag is measured in seconds.
            "repl-ping-replica-period 1", f"repl-timeout {REPL_TIMEOUT_S}",
        ]
        if primary is not None:
            lines.append(f"replicaof 127.0.0.1 {primary.port}")
        conf = node.directory / "redis.conf"
        conf.write_text("\n".join(lines) + "\n", encoding="utf-8")
        self._launch(node, ["redis-server", str(conf)])
        self._wait(node.answers, time.monotonic() + 10, f"{node.name} answers")

    def _start_sentinel(self, node: Node, primary: Node) -> None:
        node.directory.mkdir(parents=True, exist_ok=True)
        s = self.service
        lines = [
            f"port {node.port}", "bind 127.0.0.1", "protected-mode no", "daemonize no",
            f"dir {node.directory.resolve()}", "logfile sentinel.log", "loglevel notice",
            f"sentinel monitor {s} 127.0.0.1 {primary.port} {self.quorum}",
            f"sentinel down-after-milliseconds {s} {self.down_after_ms}",
            f"sentinel failover-timeout {s} {self.failover_timeout_ms}",
            f"sentinel parallel-syncs {s} 1",
        ]
        conf = node.directory / "sentinel.conf"  # Sentinel rewrites it: it must be writable
        conf.write_text("\n".join(lines) + "\n", encoding="utf-8")
        self._launch(node, ["redis-sentinel", str(conf)])
        self._wait(node.answers, time.monotonic() + 10, f"{node.name} answers")

    @staticmethod
    def _launch(node: Node, argv: list[str]) -> None:
        stderr = (node.directory / "stderr").open("ab")
        with stderr:
            node.process = subprocess.Popen(
                argv, stdout=subprocess.DEVNULL, stderr=stderr, cwd=node.directory,
                start_new_session=True,  # a ^C to the test run is not a SIGINT to Redis
            )

    def _in_sync(self, node: Node) -> bool:
        try:
            state = info(node.port)
        except OSError:
            return False
        return (state.get("role") == "slave" and state.get("master_link_status") == "up"
                and state.get("master_sync_in_progress") == "0")

    def _sentinels_agree(self) -> bool:
        for sentinel in self.sentinels:
            try:
                replicas = command(sentinel.port, "SENTINEL", "replicas", self.service)
                peers = command(sentinel.port, "SENTINEL", "sentinels", self.service)
            except OSError:
                return False
            if not isinstance(replicas, list) or not isinstance(peers, list):
                return False
            if len(replicas) < len(self.nodes) - 1 or len(peers) < len(self.sentinels) - 1:
                return False
        return True

    def _sentinels_see(self, node: Node) -> bool:
        for sentinel in self.sentinels:
            if not sentinel.alive:
                continue
            try:
                replicas = command(sentinel.port, "SENTINEL", "replicas", self.service)
            except OSError:
                return False
            assert isinstance(replicas, list)
            states = [dict(zip(r[::2], r[1::2], strict=True)) for r in replicas]
            if not any(int(s["port"]) == node.port and "s_down" not in s["flags"]
                       for s in states):
                return False
        return True

    @staticmethod
    def _wait(ready: object, deadline: float, what: str) -> None:
        assert callable(ready)
        while time.monotonic() < deadline:
            if ready():
                return
            time.sleep(0.05)
        raise TimeoutError(f"timed out waiting for {what}")


@contextlib.contextmanager
def running(directory: Path, *, replicas: int = 2, sentinels: int = 3) -> Iterator[Topology]:
    """A started topology, stopped on the way out."""
    topology = Topology(directory, replicas=replicas, sentinels=sentinels)
    try:
        topology.start()
        yield topology
    finally:
        topology.stop()


def environment(topology: Topology, **extra: str) -> dict[str, str]:
    """The environment of a callscreen process using this topology."""
    return {**os.environ, "CALLSCREEN_REDIS_URL": topology.sentinel_url, **extra}
