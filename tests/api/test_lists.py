"""`/v1/allowlist` and `/v1/subscribers`: the global allowlist and subscriber settings."""

from __future__ import annotations

import pytest

SUB = "+31612345678"
OTHER = "+31205550199"


def test_allowlist_add_list_remove(writer, reader) -> None:
    """Numbers and blocks go on the allowlist with who and why, and come off again."""
    made = writer.post("/v1/allowlist", json={"number": "020 555 0199", "reason": "bank"})
    assert made.status_code == 201
    assert (made.json()["key"], made.json()["added_by"]) == (OTHER, "test-write")
    assert writer.post("/v1/allowlist", json={"prefix": "+31 20 555 01*"}).status_code == 201
    listed = reader.get("/v1/allowlist", params={"limit": 1}).json()
    assert len(listed["entries"]) == 1 and listed["next_cursor"]
    rest = reader.get("/v1/allowlist", params={"cursor": listed["next_cursor"]}).json()
    assert {listed["entries"][0]["key"], rest["entries"][0]["key"]} == {OTHER, "+312055501*"}
    assert writer.delete(f"/v1/allowlist/{OTHER}").status_code == 204
    assert writer.delete(f"/v1/allowlist/{OTHER}").status_code == 404


@pytest.mark.parametrize(("body", "status"), [
    ({"number": "112"}, 422), ({"number": "nonsense"}, 422), ({}, 422),
    ({"number": OTHER, "prefix": "+3120*"}, 422), ({"number": OTHER, "extra": True}, 422),
    ({"number": ["+31205550199"]}, 422),
])
def test_allowlist_bad_input(writer, body, status) -> None:
    """Protected or invalid numbers, both or neither key, unknown fields are 422."""
    response = writer.post("/v1/allowlist", json=body)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"


def test_subscriber_settings_and_personal_allowlist(writer, reader) -> None:
    """Mode, language and the personal allowlist are set, read and removed."""
    assert reader.get(f"/v1/subscribers/{SUB}").status_code == 404
    set_ = writer.put("/v1/subscribers/06 1234 5678", json={"mode": "strict", "language": "nl"})
    assert set_.json() == {"number": SUB, "mode": "strict", "language": "nl", "allowlist": []}
    writer.put(f"/v1/subscribers/{SUB}", json={"mode": "off"})
    assert reader.get(f"/v1/subscribers/{SUB}").json()["language"] == "nl"
    allowed = writer.post(f"/v1/subscribers/{SUB}/allowlist", json={"number": "020 555 0199"})
    assert (allowed.status_code, allowed.json()["allowlist"]) == (201, [OTHER])
    assert writer.delete(f"/v1/subscribers/{SUB}/allowlist/{OTHER}").status_code == 204
    assert writer.delete(f"/v1/subscribers/{SUB}/allowlist/{OTHER}").status_code == 404
    assert writer.delete(f"/v1/subscribers/{SUB}").status_code == 204
    assert writer.delete(f"/v1/subscribers/{SUB}").status_code == 404


def test_personal_allowlist_beats_the_blocklist(writer, reader) -> None:
    """A number on the subscriber's own allowlist is allowed for that subscriber only."""
    writer.post("/v1/entries", json={"number": OTHER, "category": "fraud"})
    writer.post(f"/v1/subscribers/{SUB}/allowlist", json={"number": OTHER})
    own = reader.get(f"/v1/numbers/{OTHER}", params={"direction": "inbound", "subscriber": SUB})
    other = reader.get(f"/v1/numbers/{OTHER}", params={"direction": "inbound",
                                                       "subscriber": "+31687654321"})
    assert own.json()["reason"] == "subscriber-allowlisted"
    assert other.json()["action"] == "block"


@pytest.mark.parametrize(("path", "body"), [
    (f"/v1/subscribers/{SUB}", {"mode": "paranoid"}),
    (f"/v1/subscribers/{SUB}", {"language": "de"}),
    (f"/v1/subscribers/{SUB}", {"mode": "off", "volume": 11}),
    (f"/v1/subscribers/{SUB}", {"mode": 1}),
    ("/v1/subscribers/nope", {"mode": "off"}),
    ("/v1/subscribers/112", {"mode": "off"}),
])
def test_subscriber_bad_input(writer, path, body) -> None:
    """Unknown modes and languages, unknown fields, bad numbers are 422."""
    response = writer.put(path, json=body)
    assert response.status_code == 422, response.text
