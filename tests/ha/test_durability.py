"""No acknowledged write is lost: a write is confirmed only once a replica has it, and the
writers follow Sentinel to a new primary without a restart."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from blocklist.errors import NotDurableError
from blocklist.settings import Settings
from blocklist.store.admin import Store
from blocklist.store.apikeys import Role, create_key
from tests.api.conftest import serve
from tests.ha.load import listed_entry
from tests.ha.topology import Topology, info, running

pytestmark = pytest.mark.ha


@pytest.fixture
def topology(tmp_path: Path) -> Iterator[Topology]:
    with running(tmp_path) as started:
        yield started


def test_a_write_no_replica_confirms_is_refused_as_not_durable(topology: Topology) -> None:
    """With both replicas dead, a write reaches the primary but is answered NotDurableError."""
    store = Store.from_url(topology.sentinel_url)
    store.add_entries([listed_entry("31850000001", "manual")])  # confirmed: replicas are up
    for replica in topology.replicas():
        topology.kill(replica)
    with pytest.raises(NotDurableError, match=r"0 of the 1 replica\(s\).*may not be durable"):
        store.add_entries([listed_entry("31850000002", "manual")])


def test_a_lone_redis_confirms_without_replicas(redis_url: str) -> None:
    """A primary that never had a replica needs none by default; asked for one, it refuses."""
    Store.from_url(redis_url).add_entries([listed_entry("31850000003", "manual")])
    with pytest.raises(NotDurableError):
        Store.from_url(redis_url, min_replicas_ack=1).add_entries(
            [listed_entry("31850000004", "manual")])


def test_the_api_says_503_not_durable_and_follows_a_failover(topology: Topology) -> None:
    """The API answers 503 write-not-durable while no replica confirms; after the primary is
    killed it writes to the new one without a restart, and reports the primary reachable."""
    store = Store.from_url(topology.sentinel_url)
    _, token = create_key(store, "ha-test", Role.WRITE, "test")
    settings = Settings(redis_url=topology.sentinel_url, region="NL", feed_sync=False)
    with serve(settings) as url, httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
        made = client.post("/v1/entries", json={"number": "085-555 0101", "category": "fraud"})
        assert made.status_code == 201
        old = topology.primary()
        topology.kill(old)
        deadline = time.monotonic() + 30
        while True:
            made = client.post("/v1/entries", json={"number": "085-555 0102",
                                                    "category": "fraud"})
            if made.status_code == 201 or time.monotonic() > deadline:
                break
            assert made.status_code == 503
            time.sleep(0.2)
        assert made.status_code == 201
        new = topology.wait_for_failover(old)
        assert info(new.port)["role"] == "master"
        for replica in topology.replicas():
            if replica.alive:
                topology.kill(replica)
        refused = client.post("/v1/entries", json={"number": "085-555 0103",
                                                   "category": "fraud"})
        assert refused.status_code == 503
        assert refused.json()["type"] == "urn:callscreen:problem:write-not-durable"
        assert "may not be durable" in refused.json()["detail"]
        metrics = client.get("/metrics").text
        assert "callscreen_primary_reachable 1.0" in metrics
