"""Creating a manual entry is atomic in the store: concurrent creates of one number, through
two API servers on one Redis, give exactly one 201 and a 409 for every other."""

from __future__ import annotations

import threading

import httpx

from blocklist.settings import Settings
from blocklist.store import audit
from tests.api.conftest import Api, serve

RACERS = 8


def test_concurrent_creates_give_one_201_and_409s(api: Api, api_url: str,
                                                  api_settings: Settings) -> None:
    """Requests released together against two servers: one creates, the others get 409;
    one entry is stored and one creation audited."""
    token = api.tokens["write"]
    statuses: list[int] = []
    barrier = threading.Barrier(RACERS)

    def create(url: str, reason: str) -> None:
        with httpx.Client(base_url=url, timeout=30,
                          headers={"Authorization": f"Bearer {token}"}) as client:
            barrier.wait()
            response = client.post("/v1/entries", json={
                "number": "+31855550101", "category": "fraud", "reason": reason})
            statuses.append(response.status_code)

    with serve(api_settings) as other_url:
        threads = [threading.Thread(target=create,
                                    args=(api_url if n % 2 else other_url, f"racer {n}"))
                   for n in range(RACERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(statuses) == [201] + [409] * (RACERS - 1)
    assert len(api.store.source_entries("manual")) == 1
    created, _ = audit.events(api.store, action="entry.create")
    assert len(created) == 1
    stored = api.store.entries_for([("31855550101", False)])[("31855550101", False)]
    assert [e.reason for e in stored] == [created[0].reason]  # the winner's, not the last
