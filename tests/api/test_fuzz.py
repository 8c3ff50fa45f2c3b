"""Schemathesis against the admin API as a client sees it: a `callscreen api` process on a
free port, the session's Redis, an admin key, and the `st` CLI with every check and every
phase (examples, coverage, fuzzing, stateful). It must find nothing.

Bounded (examples per operation, a fixed seed, one worker) so it runs in the normal suite
and finds the same things every run. The strategies for the API's own string formats are
in `fuzz_hooks.py`; `schemathesis.toml` holds the one expected-status exception, with why.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from blocklist.store.admin import Store
from blocklist.store.apikeys import Role, create_key

HERE = Path(__file__).resolve().parent
ST = Path(sys.executable).with_name("st")
MAX_EXAMPLES = 30
SEED = 1
RUN_TIMEOUT_S = 540


@pytest.fixture
def api_process(redis_url: str, store: Store, tmp_path: Path) -> Iterator[str]:
    """`callscreen api` in its own process, without the feed scheduler; yields its URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "CALLSCREEN_REDIS_URL": redis_url, "CALLSCREEN_FEED_SYNC": "off",
           "CALLSCREEN_REGION": "NL", "CALLSCREEN_LOG_LEVEL": "WARNING"}
    log = (tmp_path / "api.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "blocklist.cli", "api", "--listen",
                                f"127.0.0.1:{port}"], env=env, stdout=log,
                               stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"{url}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None, "callscreen api exited"
                assert time.monotonic() < deadline, "callscreen api did not start"
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


@pytest.mark.timeout(RUN_TIMEOUT_S + 60)
def test_schemathesis_finds_no_failure(api_process: str, store: Store, tmp_path: Path) -> None:
    """Every schemathesis check, stateful phase included, passes against the live API."""
    _key, token = create_key(store, "schemathesis", Role.ADMIN, created_by="tests")
    env = {**os.environ, "SCHEMATHESIS_HOOKS": str(HERE / "fuzz_hooks.py")}
    result = subprocess.run(
        [str(ST), "--config-file", str(HERE / "schemathesis.toml"), "--no-color", "run",
         f"{api_process}/openapi.json", "--checks", "all", "--header",
         f"Authorization: Bearer {token}", "--max-examples", str(MAX_EXAMPLES), "--seed",
         str(SEED), "--workers", "1", "--generation-database", "none"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=RUN_TIMEOUT_S,
        check=False)
    report = result.stdout + result.stderr
    assert result.returncode == 0, report
    assert "✅ Stateful" in report, report  # the stateful phase ran, and passed
