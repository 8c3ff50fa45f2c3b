"""The per-call script and the blocking reads with Sentinel: replicas first, the primary last,
and screening goes on with only one node left."""

from __future__ import annotations

from pathlib import Path

import pytest

from blocklist.settings import Settings
from blocklist.store.admin import Store
from blocklist.store.reads import FailoverConnection
from tests.agi.test_script import run_script
from tests.ha.load import listed_entry
from tests.ha.topology import running

pytestmark = pytest.mark.ha


def test_the_per_call_script_reads_through_sentinel_until_one_node_is_left(
    tmp_path: Path,
) -> None:
    """With a Sentinel URL the script asks the replicas the Sentinels name, then the primary;
    with both replicas killed it still screens (on the primary), status ok."""
    with running(tmp_path) as topology:
        Store.from_url(topology.sentinel_url).add_entries([listed_entry("31851234567")])
        location = Settings(redis_url=topology.sentinel_url).redis
        replicas = sorted(topology.replicas(), key=lambda n: n.port)
        primary = topology.primary()
        assert [a.port for a in FailoverConnection(location, 1.0).endpoints(1.0)] == [
            *(r.port for r in replicas), primary.port]
        for killed in ((), replicas):
            for replica in killed:
                topology.kill(replica)
            conv = run_script(("inbound",), topology.sentinel_url, callerid="+31851234567")
            assert conv.variables["SCREEN_ACTION"] == "block"
            assert conv.variables["SCREEN_STATUS"] == "ok"
