"""`callscreen run`: the whole service on one machine, as supervised child processes.

- Redis: the configured one (`CALLSCREEN_REDIS_URL`), or an embedded redis-server where
  `Settings.redis.embedded` says: data in `CALLSCREEN_DATA_DIR/redis` (append-only file;
  survives restarts), listening on 127.0.0.1:`CALLSCREEN_EMBEDDED_REDIS_PORT` and a unix socket.
- `callscreen fastagi` (the call path, with its metrics endpoint) and `callscreen api` (the
  admin API, when installed), each its own process, so the admin side can never stall a call.

A child that dies is restarted (with a growing pause); SIGTERM or SIGINT stops the children
(calls in flight finish), then Redis, and exits 0.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from importlib.metadata import entry_points

from blocklist.redis_server import RedisServer
from blocklist.settings import Settings, check_at_start

log = logging.getLogger("callscreen.run")


@dataclass
class Child:
    name: str
    argv: list[str]
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    next_start: float = field(default=0.0)

    def start(self, env: dict[str, str]) -> None:
        log.info("starting %s", self.name)
        self.process = subprocess.Popen(self.argv, env=env)  # noqa: S603 - our own command

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


def run(settings: Settings, *, with_api: bool = True) -> int:
    check_at_start(settings)  # before anything starts: a bad CA file is said once, not looped
    logging.basicConfig(level=settings.log_level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    env = dict(os.environ)
    redis: RedisServer | None = None
    location = settings.redis
    if location.configured_url is None:
        redis = RedisServer.embedded(location.embedded)
        redis.start()
        env["CALLSCREEN_REDIS_URL"] = redis.url
        log.info("embedded Redis on %s, data in %s", redis.url, redis.data_dir)
    commands = {p.name for p in entry_points(group="callscreen.commands")}
    base = [sys.executable, "-m", "blocklist.cli"]
    children = [Child("fastagi", [*base, "fastagi"])]
    if with_api and "api" in commands:
        children.append(Child("api", [*base, "api"]))
    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        for child in children:
            child.start(env)
        while not stopping:
            time.sleep(0.2)
            for child in children:
                if child.alive() or stopping:
                    continue
                now = time.monotonic()
                if child.next_start == 0.0:
                    code = child.process.returncode if child.process else None
                    child.restarts += 1
                    pause = min(30.0, 0.5 * 2 ** min(child.restarts, 6))
                    log.error("%s exited with %s; restarting in %.1f s", child.name, code, pause)
                    child.next_start = now + pause
                elif now >= child.next_start:
                    child.next_start = 0.0
                    child.start(env)
    finally:
        for child in children:
            if child.alive() and child.process is not None:
                child.process.send_signal(signal.SIGTERM)
        for child in children:
            if child.process is not None:
                try:
                    child.process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    child.process.kill()
        if redis is not None:
            redis.stop()
    log.info("stopped")
    return 0
