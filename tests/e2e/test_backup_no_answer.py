"""An AGI that ends without an answer: a FastAGI-like server accepts, reads the environment
Asterisk sends and closes the socket without a word (as a node killed mid-conversation).
Asterisk reports that as AGISTATUS=SUCCESS with no SCREEN_ACTION. With CALLSCREEN_AGI_BACKUP
set, callscreen-run asks the backup (the suite's FastAGI server), which screens the call;
without one, the call is allowed degraded (`invalid-action`)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
from callscreen_e2e.asterisk import Asterisk
from callscreen_e2e.calls import Calls
from callscreen_e2e.checks import connected, rejected_before_ringing, screened
from callscreen_e2e.seed import REVOKED, SUBSCRIBER
from callscreen_e2e.services import FastAgi
from callscreen_e2e.sipp import Sipp

pytestmark = pytest.mark.asterisk


class SilentAgi:
    """Accepts FastAGI connections on a free loopback port, reads each environment up to its
    empty line, then closes; it counts the environments it read."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self.environments: list[bytes] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"agi://127.0.0.1:{self.port}/screen"

    def start(self) -> None:
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return  # closed
            with conn:
                received = b""
                while b"\n\n" not in received:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    received += chunk
                self.environments.append(received)

    def close(self) -> None:
        self._listener.close()
        self._thread.join(timeout=5)


@pytest.fixture
def silent(asterisk: Asterisk, fastagi: FastAgi) -> Iterator[SilentAgi]:
    """The silent server as CALLSCREEN_AGI (no backup); afterwards the suite's node again."""
    server = SilentAgi()
    server.start()
    try:
        asterisk.set_global("CALLSCREEN_AGI", server.url)
        yield server
    finally:
        asterisk.set_global("CALLSCREEN_AGI", fastagi.url)
        asterisk.set_global("CALLSCREEN_AGI_BACKUP", '""')
        server.close()


def test_an_answerless_agi_is_screened_by_the_backup(
        asterisk: Asterisk, sipp: Sipp, fastagi: FastAgi, silent: SilentAgi) -> None:
    """The silent server got the call's environment and said nothing; the backup screened
    it: a revoked caller is rejected, the NOTICE line says agi=backup."""
    asterisk.set_global("CALLSCREEN_AGI_BACKUP", fastagi.url)
    o = Calls(asterisk, sipp, "silent").inbound(REVOKED, SUBSCRIBER, expect_answer=False)
    rejected_before_ringing(o)
    screened(o, "block")
    assert [s.get("agi") for s in o.screenings] == ["backup"], f"{o}"
    assert len(silent.environments) == 1, f"{o}"
    assert b"agi_request: agi://127.0.0.1" in silent.environments[0]


def test_an_answerless_agi_without_a_backup_is_allowed_degraded(
        asterisk: Asterisk, sipp: Sipp, silent: SilentAgi) -> None:
    """No backup: the same revoked caller connects (the dialplan fails open), allowed with
    status degraded and its own reason invalid-action (AGISTATUS is SUCCESS, the answer is
    missing); the channel holds no SCREEN_ACTION."""
    o = Calls(asterisk, sipp, "silent").inbound(REVOKED, SUBSCRIBER)
    connected(o)
    assert [(s.get("action"), s.get("status"), s.get("reason"), s.get("agistatus"),
             s.get("agi")) for s in o.screenings] == [
        ("allow", "degraded", "invalid-action", "SUCCESS", "main")], f"{o}"
    assert o.result is not None and o.result["action"] == "", f"{o}"
    assert len(silent.environments) == 1, f"{o}"
