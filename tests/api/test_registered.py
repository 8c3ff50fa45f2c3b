"""`/v1/registered` and the lookup's `origin=`: registrations for use from abroad, audited,
and both decisions explained."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from blocklist.origin import preset_policy
from blocklist.settings import Settings
from blocklist.values import replace
from tests.api.conftest import Api, serve

NUMBER = "+31201234567"


def test_registered_add_list_remove_is_audited(writer, reader, admin) -> None:
    """A registration is made with who, why and until; listed; removed; each step audited."""
    made = writer.post("/v1/registered", json={"number": "020 123 4567", "reason": "Lisbon",
                                               "valid_until": "2999-01-01"})
    assert made.status_code == 201, made.text
    assert (made.json()["key"], made.json()["created_by"], made.json()["valid_until"]) == (
        NUMBER, "test-write", "2999-01-01")
    assert writer.post("/v1/registered", json={"prefix": "+31 20 7654*"}).status_code == 201
    keys = [e["key"] for e in reader.get("/v1/registered").json()["entries"]]
    assert keys == [NUMBER, "+31207654*"]
    assert writer.delete(f"/v1/registered/{NUMBER}").status_code == 204
    assert writer.delete(f"/v1/registered/{NUMBER}").status_code == 404
    trail = admin.get("/v1/audit", params={"action": "registered"}).json()["events"]
    assert {(e["action"], e["target"]) for e in trail} == {
        ("registered.add", NUMBER), ("registered.add", "+31207654*"),
        ("registered.remove", NUMBER)}


def test_only_writers_register(reader) -> None:
    """A read key can list but not register."""
    assert reader.post("/v1/registered", json={"number": NUMBER}).status_code == 403


@pytest.mark.parametrize("body", [
    {"number": "112"}, {"number": "nonsense"}, {}, {"number": NUMBER, "prefix": "+3120*"},
    {"number": NUMBER, "valid_until": "2000-01-01"}, {"number": NUMBER, "valid_until": "soon"},
    {"number": NUMBER, "reason": "x" * 501}, {"number": NUMBER, "extra": 1},
])
def test_bad_registrations_are_422(writer, reader, body) -> None:
    """Protected or invalid numbers, a past or bad date, a long reason: 422, nothing stored."""
    response = writer.post("/v1/registered", json=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert reader.get("/v1/registered").json()["entries"] == []


@pytest.fixture
def be_reader(api_settings: Settings, api: Api) -> Iterator[httpx.Client]:
    """A read client of an API whose origin screening follows the BE preset."""
    with serve(replace(api_settings, origin_policy=preset_policy("BE"))) as url:
        client = httpx.Client(base_url=url, timeout=30,
                              headers={"Authorization": f"Bearer {api.tokens['read']}"})
        yield client
        client.close()


def test_lookup_with_origin_explains_both_decisions(writer, be_reader) -> None:
    """`origin=international` gives the origin's decision and names the blocklist's."""
    writer.post("/v1/entries", json={"number": NUMBER, "category": "suspected"})
    said = be_reader.get(f"/v1/numbers/{NUMBER}", params={
        "direction": "inbound", "origin": "international"}).json()
    assert (said["action"], said["reason"]) == ("block", "national-cli-from-abroad")
    assert said["origin"] == {
        "action": "block", "reason": "national-cli-from-abroad", "rule": "origin:fixed=block",
        "number_type": "fixed", "decided": True,
        "blocklist": {"action": "warn", "reason": "listed",
                      "rule": "policy:suspected.inbound=warn"}}
    national = be_reader.get(f"/v1/numbers/{NUMBER}", params={
        "direction": "inbound", "origin": "national"}).json()
    assert (national["action"], national["origin"], national["label"]) == (
        "warn", None, "Possible scam")


def test_a_registered_number_is_explained_as_registered(writer, be_reader) -> None:
    """A registered number from abroad no list mentions: the origin's exception names the
    call (registered-abroad), the blocklist's not-listed is shown beside it."""
    writer.post("/v1/registered", json={"number": NUMBER})
    said = be_reader.get(f"/v1/numbers/{NUMBER}", params={
        "direction": "inbound", "origin": "international"}).json()
    assert (said["action"], said["reason"]) == ("allow", "registered-abroad")
    assert (said["origin"]["reason"], said["origin"]["decided"]) == ("registered-abroad", True)
    assert said["origin"]["blocklist"]["reason"] == "not-listed"


def test_a_bad_origin_is_422(reader) -> None:
    """An origin the contract does not know is refused by name."""
    response = reader.get(f"/v1/numbers/{NUMBER}", params={"direction": "inbound",
                                                           "origin": "abroad"})
    assert response.status_code == 422
