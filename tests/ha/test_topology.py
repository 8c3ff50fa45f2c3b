"""The kill tests' harness itself: it starts, fails over and takes a node back."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ha.topology import info, running

pytestmark = pytest.mark.ha


def test_a_killed_primary_is_replaced_and_comes_back_as_a_replica(tmp_path: Path) -> None:
    """SIGKILL the primary: the Sentinels promote a replica; the old one returns as a replica."""
    with running(tmp_path) as topology:
        old = topology.primary()
        assert info(old.port)["role"] == "master"
        assert len(topology.replicas()) == 2
        topology.kill(old)
        new = topology.wait_for_failover(old)
        assert new is not old
        assert info(new.port)["role"] == "master"
        topology.restart(old)
        topology.wait_for_replica(old)
        # The primary the Sentinels name now: `new`, unless a loaded machine made them fail
        # over once more meanwhile; either way the old primary follows it, never itself.
        now = topology.primary()
        assert now is not old
        assert info(old.port)["role"] == "slave"
        assert info(old.port)["master_port"] == str(now.port)
