"""`callscreen run`: the whole service from one command, with its embedded Redis."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from agi.runner import serve_async
from blocklist.errors import ConfigError
from blocklist.redis_server import free_port
from blocklist.settings import Settings
from blocklist.supervisor import run
from tests.agi.asterisk_peer import call_fastagi, environment


def start(data_dir: Path, ports: dict[str, int]) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLSCREEN_")}
    env.update({
        "CALLSCREEN_DATA_DIR": str(data_dir),
        "CALLSCREEN_EMBEDDED_REDIS_PORT": str(ports["redis"]),
        "CALLSCREEN_FASTAGI_LISTEN": f"127.0.0.1:{ports['agi']}",
        "CALLSCREEN_METRICS_LISTEN": f"127.0.0.1:{ports['metrics']}",
        "CALLSCREEN_API_LISTEN": f"127.0.0.1:{ports['api']}",
        "CALLSCREEN_LOG_LEVEL": "WARNING",
    })
    return subprocess.Popen([sys.executable, "-m", "blocklist.cli", "run"], env=env)


def wait_up(proc: subprocess.Popen[bytes], ports: dict[str, int]) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{ports['api']}/healthz", timeout=1).close()
            urllib.request.urlopen(f"http://127.0.0.1:{ports['metrics']}/metrics",
                                   timeout=1).close()
            return
        except OSError:
            assert proc.poll() is None, "callscreen run exited"
            assert time.monotonic() < deadline, "callscreen run did not come up in 30 s"
            time.sleep(0.1)


def cli(data_dir: Path, *args: str,
        env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLSCREEN_")}
    env["CALLSCREEN_DATA_DIR"] = str(data_dir)
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "blocklist.cli", *args], env=env,
                          capture_output=True, text=True, timeout=30)


def test_run_serves_and_keeps_data_across_restarts(tmp_path: Path) -> None:
    """callscreen run starts Redis, FastAGI and the API; entries survive a restart."""
    ports = {name: free_port() for name in ("redis", "agi", "metrics", "api")}
    proc = start(tmp_path, ports)
    try:
        wait_up(proc, ports)
        added = cli(tmp_path, "entry", "add", "085 555 0101", "--category", "revoked")
        assert added.returncode == 0, added.stderr
        conv = call_fastagi(ports["agi"], environment(callerid="+31855550101",
                                                       args=("inbound",)))
        assert conv.variables["SCREEN_ACTION"] == "block"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    assert (tmp_path / "redis" / "appendonlydir").exists()
    proc = start(tmp_path, ports)
    try:
        wait_up(proc, ports)
        checked = cli(tmp_path, "check", "+31855550101", "--direction", "inbound")
        assert checked.returncode == 0, checked.stderr
        assert "BLOCK" in checked.stdout
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0


def test_cli_without_redis_says_how_to_fix(tmp_path: Path) -> None:
    """With no Redis configured and none running, commands fail with a clear message."""
    result = cli(tmp_path, "check", "+31855550101", "--direction", "inbound")
    assert result.returncode == 1
    assert "CALLSCREEN_REDIS_URL" in result.stderr and "callscreen run" in result.stderr


def test_run_restarts_a_part_that_dies(tmp_path: Path) -> None:
    """When the FastAGI server dies, callscreen run starts it again."""
    ports = {name: free_port() for name in ("redis", "agi", "metrics", "api")}
    proc = start(tmp_path, ports)
    try:
        wait_up(proc, ports)
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        fastagi = [pid for pid in children
                   if b"fastagi" in Path(f"/proc/{pid}/cmdline").read_bytes()]
        assert len(fastagi) == 1, children
        os.kill(int(fastagi[0]), signal.SIGKILL)
        deadline = time.monotonic() + 30
        while True:
            try:
                conv = call_fastagi(ports["agi"], environment(args=("inbound",)), timeout_s=2)
                if conv.variables:
                    break
            except OSError:
                pass
            assert proc.poll() is None, "callscreen run exited"
            assert time.monotonic() < deadline, "the FastAGI server was not restarted"
            time.sleep(0.2)
        assert conv.variables["SCREEN_ACTION"] == "allow"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0


def test_a_roaming_ca_that_cannot_be_read_stops_the_start(tmp_path: Path) -> None:
    """Reading the settings takes the CA's path only (each call of the per-call script reads
    them); `callscreen run` and the FastAGI server read the file as they start, and refuse to
    start, naming it, before anything runs (no embedded Redis)."""
    missing = tmp_path / "rotated-away.pem"
    env = {"CALLSCREEN_DATA_DIR": str(tmp_path / "data"),
           "CALLSCREEN_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
           "CALLSCREEN_ROAMING_CHECK_URL": "https://hlr.example/roaming/{e164}",
           "CALLSCREEN_ROAMING_CHECK_CA": str(missing)}
    settings = Settings.from_env(env)
    says = f"CALLSCREEN_ROAMING_CHECK_CA={str(missing)!r}: can't read it"
    with pytest.raises(ConfigError, match=says):
        asyncio.run(serve_async(settings))
    embedded = Settings.from_env({k: v for k, v in env.items() if k != "CALLSCREEN_REDIS_URL"})
    with pytest.raises(ConfigError, match=says):
        run(embedded)
    assert not (tmp_path / "data").exists()
    for command in ("run", "fastagi"):
        result = cli(tmp_path / "data", command, env_extra=env)
        assert result.returncode == 1
        assert says in result.stderr
