"""The numbering-data drift warning: a log line and a metric, at the start of each server."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from blocklist._numbering_data import PHONENUMBERS_VERSION
from blocklist.numbering_drift import installed_phonenumbers, report_numbering_drift
from blocklist.redis_server import free_port

FAKE = "9.9.99"  # a phonenumbers release the data was not built from


def drift_metric(installed: str) -> float | None:
    return REGISTRY.get_sample_value(
        "callscreen_numbering_data_drift",
        {"data_version": PHONENUMBERS_VERSION, "installed_version": installed},
    )


def test_drift_is_logged_and_exported(caplog: pytest.LogCaptureFixture) -> None:
    """Another installed release: a warning names both versions, the metric says 1."""
    with caplog.at_level(logging.WARNING, logger="callscreen.numbering"):
        assert report_numbering_drift(FAKE) is True
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert f"built from phonenumbers {PHONENUMBERS_VERSION}" in record.getMessage()
    assert f"phonenumbers {FAKE} is installed" in record.getMessage()
    assert drift_metric(FAKE) == 1.0


def test_same_release_is_quiet(caplog: pytest.LogCaptureFixture) -> None:
    """The release the data was built from: no warning, and the metric says 0."""
    with caplog.at_level(logging.DEBUG, logger="callscreen.numbering"):
        assert report_numbering_drift(PHONENUMBERS_VERSION) is False
    assert caplog.records == []
    assert drift_metric(PHONENUMBERS_VERSION) == 0.0


def test_installed_release_is_read_from_package_metadata() -> None:
    """Without an argument the installed phonenumbers is compared (the lock's, here)."""
    import phonenumbers

    assert installed_phonenumbers() == phonenumbers.__version__
    assert report_numbering_drift() is (phonenumbers.__version__ != PHONENUMBERS_VERSION)


# -- at the start of the real servers -------------------------------------------------------


def fake_phonenumbers(site: Path, release: str) -> Path:
    """A directory that, first on PYTHONPATH, makes `release` the installed phonenumbers'
    version as package metadata says (the code still imports the real one)."""
    dist_info = site / f"phonenumbers-{release}.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: phonenumbers\nVersion: {release}\n")
    return site


def scrape(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            body: str = response.read().decode()
            return body
    except OSError:
        return ""


@pytest.mark.parametrize(("command", "processes"),
                         [("fastagi", 1), ("fastagi --workers 2", 2), ("api", 1)])
def test_servers_report_drift_at_start(
    redis_url: str, tmp_path: Path, command: str, processes: int
) -> None:
    """`callscreen fastagi` (each worker) and `callscreen api` log the drift once at start
    and export it on their /metrics."""
    agi_port, metrics_port, api_port = free_port(), free_port(), free_port()
    site = fake_phonenumbers(tmp_path / "site", FAKE)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLSCREEN_")}
    env.update({
        "PYTHONPATH": os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH")])),
        "CALLSCREEN_REDIS_URL": redis_url,
        "CALLSCREEN_FASTAGI_LISTEN": f"127.0.0.1:{agi_port}",
        "CALLSCREEN_METRICS_LISTEN": f"127.0.0.1:{metrics_port}",
        "CALLSCREEN_API_LISTEN": f"127.0.0.1:{api_port}",
        "CALLSCREEN_LOG_LEVEL": "WARNING",
    })
    url = f"http://127.0.0.1:{api_port if command == 'api' else metrics_port}/metrics"
    series = (f'callscreen_numbering_data_drift{{data_version="{PHONENUMBERS_VERSION}",'
              f'installed_version="{FAKE}"}} 1.0')
    proc = subprocess.Popen([sys.executable, "-m", "blocklist.cli", *command.split()],
                            env=env, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    stderr: list[str] = []
    reader = threading.Thread(target=lambda: stderr.extend(proc.stderr or ()), daemon=True)
    reader.start()

    def warnings() -> list[str]:
        return [line for line in list(stderr)
                if f"built from phonenumbers {PHONENUMBERS_VERSION}" in line]

    try:
        deadline = time.monotonic() + 30
        while series not in scrape(url) or len(warnings()) < processes:
            assert proc.poll() is None, f"the server exited: {''.join(stderr)}"
            assert time.monotonic() < deadline, f"no drift reported in 30 s: {''.join(stderr)}"
            time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        reader.join(timeout=5)
        proc.stderr.close()
    assert len(warnings()) == processes, "".join(stderr)
    assert all("WARNING" in line and f"phonenumbers {FAKE} is installed" in line
               for line in warnings())
