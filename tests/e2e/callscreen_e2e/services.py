"""The host side: a throwaway Redis, the FastAGI server and the `callscreen` command line."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from .system import VENV_BIN, HarnessError, free_port, remove_tree, stop, wait_for_tcp

REGION = "NL"
LOOKUP_TIMEOUT_MS = "50"
# The operator's roaming endpoint (origin screening), a small HTTP server of the suite: it says
# ROAMER roams, never answers for HANGS, and says no for any other number.
ROAMING_PORT = free_port()
ROAMER = "+31612345601"
HANGS = "+31612345603"


class RoamingEndpoint:
    """`GET /roaming/{e164}` -> {"roaming": true|false}, or no answer at all for HANGS."""

    def __init__(self) -> None:
        release = self.release = threading.Event()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                number = self.path.rsplit("/", 1)[-1]
                if number == HANGS:
                    release.wait(30)
                    return
                body = b'{"roaming": %s}' % (b"true" if number == ROAMER else b"false")
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", ROAMING_PORT), Handler)
        self.server.daemon_threads = True

    def start(self) -> None:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Redis:
    """redis-server on a free loopback port, data in a temp dir; can be stopped and restarted
    with its data (SAVE before stopping, the RDB is loaded again on start)."""

    port: int = field(default_factory=free_port)
    dir: Path = field(
        default_factory=lambda: Path(tempfile.mkdtemp(prefix="callscreen-e2e-redis-")))
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise HarnessError("redis-server is not on PATH (tools/bootstrap installs it)")
        log = (self.dir / "redis.log").open("ab")
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir),
             "--dbfilename", "dump.rdb", "--save", "", "--appendonly", "no",
             "--protected-mode", "yes"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
        )
        log.close()
        wait_for_tcp(self.port, 10, self.proc)
        # wait until the dataset is loaded (after a restart) before anyone uses it
        deadline = time.monotonic() + 60
        while self.cli("PING").strip() != "PONG":
            if time.monotonic() > deadline:
                raise HarnessError("Redis does not answer PING")
            time.sleep(0.05)

    def cli(self, *args: str) -> str:
        done = subprocess.run(["redis-cli", "-p", str(self.port), *args], capture_output=True,
                              text=True, timeout=30, check=False)
        return done.stdout

    def stop(self, keep_data: bool = True) -> None:
        """Stop Redis (a real stop: the port is closed); with keep_data it SAVEs first."""
        if self.proc is None:
            return
        if keep_data and self.proc.poll() is None:
            self.cli("SAVE")
        stop(self.proc)
        self.proc = None

    def freeze(self) -> None:
        """Make Redis hang (SIGSTOP): connections open, nothing answers, like an overloaded
        or wedged server; unlike stop(), only a time budget notices it."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def cleanup(self) -> None:
        if self.proc is not None:
            self.thaw()
        self.stop(keep_data=False)
        remove_tree(self.dir)


def callscreen_env(redis: Redis, **extra: str) -> dict[str, str]:
    """The environment every part of callscreen gets in the suite (host and chroot alike)."""
    return {
        "CALLSCREEN_REDIS_URL": redis.url,
        "CALLSCREEN_REGION": REGION,
        "CALLSCREEN_LOOKUP_TIMEOUT_MS": LOOKUP_TIMEOUT_MS,
        # Origin screening, for calls on the international trunk only (the others pass no
        # ORIGIN): DE's rule (numbers withheld, 110/112 cut off) with fixed lines blocked as
        # BE does, so one Asterisk shows both.
        "CALLSCREEN_ORIGIN_PRESET": "DE",
        "CALLSCREEN_ORIGIN_POLICY": "fixed=block",
        "CALLSCREEN_ROAMING_CHECK_URL": f"http://127.0.0.1:{ROAMING_PORT}/roaming/{{e164}}",
        # Dutch subscribers get no withhold label: their withheld calls arrive anonymous
        # (restricted presentation); English ones show "Number hidden: abroad".
        "CALLSCREEN_LABEL_WITHHOLD": "en=Number hidden: abroad,nl=",
        **extra,
    }


def callscreen(redis: Redis, *args: str, timeout_s: float = 600) -> str:
    """Run `callscreen ARGS` (the operator's command line); fail loudly when it fails."""
    env = {**os.environ, **callscreen_env(redis)}
    done = subprocess.run([str(VENV_BIN / "callscreen"), *args], capture_output=True, text=True,
                          env=env, timeout=timeout_s, check=False)
    if done.returncode != 0:
        raise HarnessError(f"callscreen {' '.join(args)} exited with {done.returncode}:\n"
                           f"{done.stdout[-3000:]}{done.stderr[-3000:]}")
    return done.stdout + done.stderr


@dataclass
class FastAgi:
    """`callscreen fastagi` on free ports (FastAGI and /metrics)."""

    redis: Redis
    port: int = field(default_factory=free_port)
    metrics_port: int = field(default_factory=free_port)
    log: Path = field(default_factory=lambda: Path(tempfile.mkstemp(
        prefix="callscreen-e2e-fastagi-", suffix=".log")[1]))
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"agi://127.0.0.1:{self.port}/screen"

    def start(self) -> None:
        env = {**os.environ, **callscreen_env(
            self.redis, CALLSCREEN_METRICS_LISTEN=f"127.0.0.1:{self.metrics_port}")}
        out = self.log.open("ab")
        self.proc = subprocess.Popen(
            [str(VENV_BIN / "callscreen"), "fastagi", "--listen", f"127.0.0.1:{self.port}",
             "--metrics-listen", f"127.0.0.1:{self.metrics_port}"],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env,
        )
        out.close()
        try:
            wait_for_tcp(self.port, 20, self.proc)
            wait_for_tcp(self.metrics_port, 20, self.proc)
        except HarnessError as exc:
            raise HarnessError(f"{exc}\n{self.tail()}") from None

    def metrics(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics",
                                    timeout=10) as resp:
            return str(resp.read().decode())

    def tail(self, lines: int = 30) -> str:
        text = self.log.read_text(errors="replace").splitlines()[-lines:]
        return "--- fastagi log\n" + "\n".join(text)

    def cleanup(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                stop(self.proc)
        if not os.environ.get("CALLSCREEN_E2E_KEEP"):
            self.log.unlink(missing_ok=True)
