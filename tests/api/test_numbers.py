"""`/v1/numbers/{number}`: the call path's decision, explained."""

from __future__ import annotations

import pytest

from blocklist.entries import Direction
from blocklist.screening import Screener
from blocklist.store.wire import BlockingConnection, RedisAddress

SCAM = "+31855550101"


def list_number(client, number=SCAM, category="fraud", **extra):
    response = client.post("/v1/entries", json={"number": number, "category": category, **extra})
    assert response.status_code == 201, response.text
    return response.json()


def test_listed_number_is_explained(writer, reader) -> None:
    """A listed number: action, reason, rule, the match and the entry with provenance."""
    list_number(writer, reason="fake Microsoft helpdesk", reference="T-1")
    body = reader.get("/v1/numbers/085 555 0101", params={"direction": "outbound"}).json()
    assert body["number"] == SCAM
    assert (body["action"], body["reason"], body["category"]) == ("block", "listed", "fraud")
    assert body["rule"] == "policy:fraud.outbound=block"
    assert body["prompt"] == "callscreen/en/block-outbound"
    assert body["matched"]["key"] == SCAM
    [entry] = body["entries"]
    assert (entry["source"], entry["reference"], entry["added_by"]) == ("manual", "T-1",
                                                                        "test-write")


@pytest.mark.parametrize("direction", ["inbound", "outbound"])
@pytest.mark.parametrize("category", ["revoked", "fraud", "suspected", "dno"])
def test_same_decision_as_the_call_path(api, writer, reader, api_settings, category,
                                        direction) -> None:
    """The API answers exactly what Screener + the call path's client decide."""
    list_number(writer, category=category)
    screener = Screener(api_settings)
    screening = screener.prepare(Direction(direction), SCAM, None)
    replies = BlockingConnection(RedisAddress.from_url(api_settings.redis_url), 2.0).run(
        screening.commands)
    decision = screener.conclude(screening, replies)
    body = reader.get(f"/v1/numbers/{SCAM}", params={"direction": direction}).json()
    assert (body["action"], body["reason"], body["rule"]) == (
        decision.action.value, decision.reason, decision.rule)


def test_dno_depends_on_direction(writer, reader) -> None:
    """A dno number is blocked as a caller and allowed as a destination."""
    list_number(writer, category="dno")
    inbound = reader.get(f"/v1/numbers/{SCAM}", params={"direction": "inbound"}).json()
    outbound = reader.get(f"/v1/numbers/{SCAM}", params={"direction": "outbound"}).json()
    assert inbound["action"] == "block"
    assert (outbound["action"], outbound["reason"]) == ("allow", "not-for-direction")


def test_subscriber_settings_apply(writer, reader) -> None:
    """A subscriber in strict mode turns a warning into a block; off allows."""
    list_number(writer, category="suspected")
    sub = "+31612345678"
    writer.put(f"/v1/subscribers/{sub}", json={"mode": "strict", "language": "nl"})
    body = reader.get(f"/v1/numbers/{SCAM}",
                      params={"direction": "outbound", "subscriber": sub}).json()
    assert (body["action"], body["prompt"]) == ("block", "callscreen/nl/block-outbound")
    assert body["rule"].endswith(",strict")
    writer.put(f"/v1/subscribers/{sub}", json={"mode": "off"})
    body = reader.get(f"/v1/numbers/{SCAM}",
                      params={"direction": "outbound", "subscriber": sub}).json()
    assert (body["action"], body["reason"]) == ("allow", "opted-out")


def test_allowlist_beats_the_blocklist(writer, reader) -> None:
    """A globally allowlisted number is allowed, yet its entries are still shown."""
    list_number(writer)
    writer.post("/v1/allowlist", json={"number": SCAM, "reason": "mistake"})
    body = reader.get(f"/v1/numbers/{SCAM}", params={"direction": "inbound"}).json()
    assert (body["action"], body["reason"]) == ("allow", "allowlisted")
    assert len(body["entries"]) == 1


def test_prefix_match_is_explained(writer, reader) -> None:
    """A number inside a listed block matches by the prefix."""
    assert writer.post("/v1/entries", json={"prefix": "0900 5550 1xx",
                                            "category": "revoked"}).status_code == 201
    body = reader.get("/v1/numbers/09005550123", params={"direction": "outbound"}).json()
    assert body["matched"] == {"key": "+3190055501*", "kind": "prefix",
                               "caller": "revoked", "callee": "revoked", "shadow": False,
                               "valid_until": None}


@pytest.mark.parametrize("number", ["112", "0800 0113"])
def test_protected_numbers_are_allowed(reader, number) -> None:
    """Emergency and configured protected numbers are allowed, reason protected."""
    body = reader.get(f"/v1/numbers/{number}", params={"direction": "outbound"}).json()
    assert (body["action"], body["reason"]) == ("allow", "protected")


def test_withheld_caller_is_allowed(reader) -> None:
    """A withheld caller ID gets the call path's answer: allow, withheld."""
    body = reader.get("/v1/numbers/anonymous", params={"direction": "inbound"}).json()
    assert (body["action"], body["reason"], body["number"]) == ("allow", "withheld", None)


@pytest.mark.parametrize(("path", "params", "where"), [
    ("/v1/numbers/not-a-number", {"direction": "inbound"}, ["path", "number"]),
    ("/v1/numbers/" + "1" * 65, {"direction": "inbound"}, ["path", "number"]),
    (f"/v1/numbers/{SCAM}", {"direction": "sideways"}, ["query", "direction"]),
    (f"/v1/numbers/{SCAM}", {}, ["query", "direction"]),
    (f"/v1/numbers/{SCAM}", {"direction": "inbound", "subscriber": "xyz"},
     ["query", "subscriber"]),
])
def test_bad_input_is_422(reader, path, params, where) -> None:
    """Garbage numbers, unknown directions and bad subscribers get a 422 naming the field."""
    response = reader.get(path, params=params)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert where in [e["location"] for e in response.json()["errors"]]
