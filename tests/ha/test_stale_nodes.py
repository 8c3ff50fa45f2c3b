"""Nodes that answer but must not be read: an old primary restarted empty with its own
configuration (before the Sentinels make it a replica), and the one replica in
CALLSCREEN_READ_URLS restarted empty. Read, they would say "not listed" with status ok."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from blocklist.store.admin import Store
from tests.agi.asterisk_peer import call_fastagi, environment
from tests.agi.test_script import run_script
from tests.ha.load import fastagi, listed_entry
from tests.ha.topology import info, running

pytestmark = [pytest.mark.ha, pytest.mark.timeout(300)]

LISTED = "31851234567"


def fastagi_outcome(port: int) -> tuple[str, str]:
    """(SCREEN_ACTION, SCREEN_STATUS) of one inbound call from LISTED."""
    conv = call_fastagi(port, environment(callerid="+" + LISTED, args=("inbound",)))
    return conv.variables["SCREEN_ACTION"], conv.variables["SCREEN_STATUS"]


def test_an_old_primary_back_empty_is_read_by_neither_the_script_nor_fastagi(
    tmp_path: Path,
) -> None:
    """A killed primary restarted as an empty primary, listed again by the Sentinels, is not
    read: the per-call script and the FastAGI server still block a listed caller, status ok."""
    with running(tmp_path) as topology:
        Store.from_url(topology.sentinel_url).add_entries([listed_entry(LISTED)])
        with fastagi({"CALLSCREEN_REDIS_URL": topology.sentinel_url}) as (port, _metrics):
            old = topology.primary()
            topology.kill(old)
            new = topology.wait_for_failover(old)
            # With the other replica gone, the old primary is the one replica left to read.
            for other in topology.replicas():
                if other is not old and other is not new:
                    topology.kill(other)
            topology.restart(old, as_primary=True)
            topology.wait_until_listed(old)
            script = run_script(("inbound",), topology.sentinel_url, callerid="+" + LISTED)
            outcomes = []
            until = time.monotonic() + 6  # the FastAGI server asks the Sentinels every 2 s
            while time.monotonic() < until and info(old.port).get("role") == "master":
                outcomes.append(fastagi_outcome(port))
                time.sleep(0.2)
            # The calls above ran while the old primary was still a primary (restarted empty).
            assert info(old.port).get("role") == "master"
    assert (script.variables["SCREEN_ACTION"], script.variables["SCREEN_STATUS"]) == (
        "block", "ok")
    assert outcomes
    assert set(outcomes) == {("block", "ok")}


def test_the_script_does_not_read_its_one_read_url_restarted_empty(tmp_path: Path) -> None:
    """With CALLSCREEN_READ_URLS naming one replica, restarted empty, the per-call script
    asks it whether it may be read and fails open saying so, never "not listed", status ok."""
    with running(tmp_path, replicas=1, sentinels=0) as topology:
        primary, replica = topology.nodes
        Store.from_url(primary.url).add_entries([listed_entry(LISTED)])
        extra = {"CALLSCREEN_READ_URLS": replica.url}
        before = run_script(("inbound",), primary.url, callerid="+" + LISTED, env_extra=extra)
        topology.kill(replica)
        topology.restart(replica, as_primary=True)
        after = run_script(("inbound",), primary.url, callerid="+" + LISTED, env_extra=extra)
        assert info(replica.port, "keyspace") == {}
    assert (before.variables["SCREEN_ACTION"], before.variables["SCREEN_STATUS"]) == (
        "block", "ok")
    assert after.variables["SCREEN_ACTION"] == "allow"  # fails open
    assert after.variables["SCREEN_STATUS"] != "ok"
