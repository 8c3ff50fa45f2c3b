"""HTTP behaviour every endpoint shares: `Allow` on 405, unreadable bodies, cursors as
positions, bad values named in 422s, Redis error replies, and a key revoking itself."""

from __future__ import annotations

import pytest

SCAM = "+31855550101"


@pytest.mark.parametrize(("path", "allowed"), [
    ("/v1/entries", "GET, POST"),
    ("/v1/entries/manual/+31855550101", "DELETE, GET, PATCH"),
    ("/v1/feeds/acm", "DELETE, GET, PUT"),
    ("/v1/keys", "GET, POST"),
])
def test_405_allow_names_every_method_of_the_path(reader, path, allowed) -> None:
    """A method the path does not have is 405 with `Allow` listing all the methods it has."""
    response = reader.request("OPTIONS", path)
    assert response.status_code == 405
    assert response.headers["allow"] == allowed
    assert response.headers["content-type"] == "application/problem+json"


def test_body_that_is_not_utf8_is_422_naming_the_byte(writer) -> None:
    """A JSON body that is not UTF-8 is a 422 problem saying which byte, not a bare 400."""
    response = writer.post("/v1/entries", content=b'{"number": "\xff"}',
                           headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert "0xff" in response.json()["detail"]


def test_422_names_the_bad_value(reader) -> None:
    """A parameter the schema refuses is a 422 whose detail names the value given."""
    response = reader.get("/v1/entries", params={"limit": "7000"})
    assert response.status_code == 422
    assert "7000" in response.json()["detail"]


def test_audit_cursor_at_the_first_possible_id_is_an_empty_page(admin, writer) -> None:
    """`cursor=0-0` (nothing is older), with or without filters, is an empty page, not 503."""
    writer.post("/v1/allowlist", json={"number": "+31205550199"})
    for params in ({"cursor": "0-0"}, {"cursor": "0-0", "action": "entry", "actor": "x",
                                       "since": "2000-01-01T00:00:00Z",
                                       "until": "2000-01-01T00:00:00Z"}):
        response = admin.get("/v1/audit", params=params)
        assert response.status_code == 200
        assert response.json() == {"events": [], "next_cursor": None}


@pytest.mark.parametrize("cursor", ["99999999999999999999-0", "1-", "abc"])
def test_audit_cursor_that_is_no_event_id_is_422_naming_it(admin, cursor) -> None:
    """An audit cursor that can't be a stream id is a 422 naming the value."""
    response = admin.get("/v1/audit", params={"cursor": cursor})
    assert response.status_code == 422
    assert repr(cursor) in response.json()["detail"]


@pytest.mark.parametrize("moment", ["0.5", "2026-01-05T10:00:00", "2026-01-05"])
def test_audit_times_need_rfc3339_with_a_zone(admin, moment) -> None:
    """`since`/`until` take an RFC 3339 date-time with its zone, as documented; not unix
    seconds or a time without a zone."""
    assert admin.get("/v1/audit", params={"until": moment}).status_code == 422


def test_redis_error_reply_is_500_store_error_not_unavailable(admin, redis_client) -> None:
    """Redis refusing a command (here a key of the wrong type) is a 500 `store-error`, never
    503 "store unavailable, try again"."""
    redis_client.set("{cs}:audit", "not a stream")
    response = admin.get("/v1/audit")
    assert response.status_code == 500
    problem = response.json()
    assert problem["type"] == "urn:callscreen:problem:store-error"
    assert "Retry-After" not in response.headers
    assert "WRONGTYPE" not in problem["detail"]  # Redis' own text stays in the log


def test_entry_cursor_is_the_last_entry_and_any_position_works(writer, reader) -> None:
    """`next_cursor` is `source/key` of the page's last entry; any such position, listed or
    not, starts the next page after it."""
    for n in range(3):
        writer.post("/v1/entries", json={"number": f"+3185555010{n}", "category": "fraud"})
    page = reader.get("/v1/entries", params={"limit": 2}).json()
    assert page["next_cursor"] == "manual/+31855550101"
    rest = reader.get("/v1/entries", params={"cursor": page["next_cursor"]}).json()
    assert [e["key"] for e in rest["entries"]] == ["+31855550102"]
    between = reader.get("/v1/entries", params={"cursor": "manual/+318555501005"}).json()
    assert [e["key"] for e in between["entries"]] == ["+31855550101", "+31855550102"]


def test_allowlist_cursor_is_the_last_key(writer, reader) -> None:
    """The allowlist's `next_cursor` is its page's last key; a key not listed works too."""
    for number in ("+31205550197", "+31205550198", "+31205550199"):
        writer.post("/v1/allowlist", json={"number": number})
    page = reader.get("/v1/allowlist", params={"limit": 1}).json()
    assert page["next_cursor"] == "+31205550197"
    rest = reader.get("/v1/allowlist", params={"cursor": "+312055501975"}).json()
    assert [e["key"] for e in rest["entries"]] == ["+31205550198", "+31205550199"]


@pytest.mark.parametrize(("path", "cursor"), [
    ("/v1/entries", "+31855550101"), ("/v1/entries", "bad source/+31"),
    ("/v1/allowlist", "eyJhIjoxfQ"), ("/v1/allowlist", "+31*5")])
def test_cursor_that_is_no_position_is_422_naming_it(reader, path, cursor) -> None:
    """A cursor that names no position is a 422 whose detail names it."""
    response = reader.get(path, params={"cursor": cursor})
    assert response.status_code == 422
    assert repr(cursor) in response.json()["detail"]


def test_key_can_not_revoke_itself(api, admin) -> None:
    """Revoking the key that makes the request is 409, and the key keeps working."""
    response = admin.delete(f"/v1/keys/{api.key_ids['admin']}")
    assert response.status_code == 409
    assert api.key_ids["admin"] in response.json()["detail"]
    assert admin.get("/v1/keys").status_code == 200
