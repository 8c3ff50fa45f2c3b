"""Fixtures of the end-to-end suite: one Redis, one FastAGI server, one Asterisk per session.

These tests need the Asterisk chroot that `tools/e2e/run` (`make e2e`) builds, and it sets
CALLSCREEN_E2E_ROOT. Without that variable nothing here is collected, so `make check` (plain
`pytest` on tests/) never runs them and never reports them as skipped. With it, a missing or
broken chroot, a missing command or a part that does not start is an ERROR, never a skip.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

if not os.environ.get("CALLSCREEN_E2E_ROOT"):
    collect_ignore_glob = ["*"]
else:
    from callscreen_e2e.ami import Ami
    from callscreen_e2e.asterisk import Asterisk, Ports
    from callscreen_e2e.calls import Calls
    from callscreen_e2e.seed import seed
    from callscreen_e2e.services import FastAgi, Redis, RoamingEndpoint, callscreen_env
    from callscreen_e2e.sipp import Sipp
    from callscreen_e2e.system import Chroot

    @pytest.fixture(scope="session")
    def chroot() -> Chroot:
        return Chroot.from_environ()

    @pytest.fixture(scope="session")
    def redis() -> Iterator[Redis]:
        server = Redis()
        try:
            server.start()
            seed(server)
            yield server
        finally:
            server.cleanup()

    @pytest.fixture(scope="session")
    def roaming() -> Iterator[RoamingEndpoint]:
        """The operator's roaming endpoint, up before the FastAGI server that asks it."""
        endpoint = RoamingEndpoint()
        try:
            endpoint.start()
            yield endpoint
        finally:
            endpoint.stop()

    @pytest.fixture(scope="session")
    def fastagi(redis: Redis, roaming: RoamingEndpoint) -> Iterator[FastAgi]:
        server = FastAgi(redis)
        try:
            server.start()
            yield server
        finally:
            server.cleanup()

    @pytest.fixture(scope="session")
    def asterisk(chroot: Chroot, redis: Redis, fastagi: FastAgi) -> Iterator[Asterisk]:
        # The per-call script inherits Asterisk's environment: that is where it finds Redis.
        pbx = Asterisk(chroot, Ports.pick(), callscreen_env(redis), agi=fastagi.url)
        try:
            pbx.start()
            yield pbx
        finally:
            pbx.cleanup()

    @pytest.fixture(scope="session")
    def ami(asterisk: Asterisk) -> Iterator[Ami]:
        """A manager (AMI) session on the test Asterisk, keeping the user events it sends."""
        client = Ami(asterisk.ports.ami)
        try:
            client.connect()
            yield client
        finally:
            client.close()

    @pytest.fixture(scope="session")
    def sipp(chroot: Chroot, asterisk: Asterisk) -> Sipp:
        return Sipp(chroot, asterisk.run_dir / "sipp", asterisk.ports.sip)

    @pytest.fixture(params=["fastagi", "script"])
    def calls(request: pytest.FixtureRequest, asterisk: Asterisk, fastagi: FastAgi,
              sipp: Sipp) -> Calls:
        """Places calls with the dialplan screening through one path: the FastAGI server or
        the per-call script (AGI(callscreen-agi,...), run by Asterisk inside the chroot)."""
        agi = fastagi.url if request.param == "fastagi" else "callscreen-agi"
        asterisk.set_global("CALLSCREEN_AGI", agi)
        return Calls(asterisk, sipp, request.param)
