"""`/v1/activity`: the top list, one key's figures and the hourly series, over real HTTP; the
counts come from the call path's counter, flushed with its own commands."""

from __future__ import annotations

import time

from blocklist.entries import Action, Category, Direction, Listing, Match
from blocklist.policy import Decision, Reason
from blocklist.store.activity_counter import ActivityCounter, flush_commands

FRAUD = Listing(Category.FRAUD, Category.FRAUD)


def hits(store, *calls: tuple[str, bool, Direction, Action]) -> None:
    """Count the calls as the FastAGI server does, and flush them now."""
    counter = ActivityCounter()
    for key, prefix, direction, action in calls:
        counter.record(direction, Decision(action, Reason.LISTED, "policy",
                                           matched=Match(key, prefix, FRAUD)))
    pipe = store.redis.pipeline(transaction=False)
    for command in flush_commands(store.keys, counter.take(), time.time()):
        pipe.execute_command(*command)
    pipe.execute()


def test_top_list_ranks_keys_and_filters_direction(api, reader) -> None:
    """The top list puts the most hits first, labels blocks, and filters by direction."""
    hits(api.store, *[("31855550101", False, Direction.INBOUND, Action.BLOCK)] * 3,
         ("3190055", True, Direction.OUTBOUND, Action.WARN))
    body = reader.get("/v1/activity", params={"window": "hour"}).json()
    assert [(e["key"], e["kind"], e["hits"]) for e in body["entries"]] == [
        ("+31855550101", "number", 3), ("+3190055*", "prefix", 1)]
    assert body["entries"][0]["inbound"]["block"] == 3 and body["entries"][0]["last_seen"]
    assert len(body["series"]) == 2 and body["series"][-1]["inbound"] == 3
    outbound = reader.get("/v1/activity", params={"direction": "outbound"}).json()
    assert [e["key"] for e in outbound["entries"]] == ["+3190055*"]
    assert len(outbound["series"]) == 24
    assert len(reader.get("/v1/activity", params={"window": "30d"}).json()["series"]) == 720


def test_one_number_in_any_format(api, reader) -> None:
    """A number's figures are found from its national form; a block by its key."""
    hits(api.store, ("31855550101", False, Direction.OUTBOUND, Action.WARN),
         ("3190055", True, Direction.INBOUND, Action.BLOCK))
    body = reader.get("/v1/activity/085 555 0101", params={"hours": 5}).json()
    assert body["key"] == "+31855550101"
    assert (body["hour"]["outbound"]["warn"], body["day"]["hits"], body["days_30"]["hits"]) == (
        1, 1, 1)
    assert len(body["series"]) == 5 and body["series"][-1]["outbound"] == 1
    block = reader.get("/v1/activity/+3190055*").json()
    assert (block["kind"], block["day"]["inbound"]["block"]) == ("prefix", 1)
    quiet = reader.get("/v1/activity/+31855550199").json()
    assert (quiet["day"]["hits"], quiet["last_seen"]) == (0, None)


def test_bad_input_is_422_naming_it(reader, api) -> None:
    """A path that is no number, a bad window or too long a series is 422; no key is 401."""
    bad = reader.get("/v1/activity/hello")
    assert bad.status_code == 422 and "hello" in bad.json()["detail"]
    assert reader.get("/v1/activity", params={"window": "week"}).status_code == 422
    assert reader.get("/v1/activity/+31855550101", params={"hours": 721}).status_code == 422
    assert api.client().get("/v1/activity").status_code == 401
