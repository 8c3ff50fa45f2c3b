"""`/v1/entries`: manual entries made, read, changed, listed with cursors, and deleted."""

from __future__ import annotations

import pytest

from blocklist.entries import AppliesTo, Category, Entry

SCAM = "+31855550101"


def test_create_read_change_delete(writer, reader) -> None:
    """A manual entry goes through its whole life, each step answered as documented."""
    made = writer.post("/v1/entries", json={
        "number": "085-555 0101", "category": "suspected", "reason": "reported",
        "reference": "T-9", "valid_until": "2099-01-31"})
    assert made.status_code == 201
    assert made.headers["location"] == f"/v1/entries/manual/{SCAM}"
    assert made.json()["applies_to"] == "both"
    got = reader.get(f"/v1/entries/manual/{SCAM}").json()
    assert (got["category"], got["valid_until"], got["added_by"]) == (
        "suspected", "2099-01-31", "test-write")
    changed = writer.patch(f"/v1/entries/manual/{SCAM}",
                           json={"category": "fraud", "valid_until": None})
    assert changed.status_code == 200
    assert (changed.json()["category"], changed.json()["valid_until"]) == ("fraud", None)
    assert changed.json()["reason"] == "reported"
    assert writer.delete(f"/v1/entries/manual/{SCAM}").status_code == 204
    assert reader.get(f"/v1/entries/manual/{SCAM}").status_code == 404


def test_block_entry_and_dno_default(writer, reader) -> None:
    """A block is keyed by its prefix; dno applies to callers by default."""
    made = writer.post("/v1/entries", json={"prefix": "+31 900 5550 1*", "category": "dno"})
    assert made.status_code == 201
    assert (made.json()["key"], made.json()["kind"], made.json()["applies_to"]) == (
        "+3190055501*", "prefix", "caller")
    assert reader.get("/v1/entries/manual/+3190055501*").status_code == 200


def test_duplicate_manual_entry_is_409(writer) -> None:
    """Creating a manual entry twice is a conflict: change it with PATCH."""
    body = {"number": SCAM, "category": "fraud"}
    assert writer.post("/v1/entries", json=body).status_code == 201
    second = writer.post("/v1/entries", json=body)
    assert second.status_code == 409
    assert second.json()["type"] == "urn:callscreen:problem:conflict"


def test_feed_entries_are_read_only(api, writer) -> None:
    """A feed's entry can be read, but changing or deleting it is a 409."""
    api.store.add_entries([Entry("31855550101", False, Category.REVOKED, AppliesTo.BOTH,
                                 "acm", reference="ACM-1")])
    assert writer.get(f"/v1/entries/acm/{SCAM}").json()["reference"] == "ACM-1"
    assert writer.patch(f"/v1/entries/acm/{SCAM}", json={"reason": "x"}).status_code == 409
    assert writer.delete(f"/v1/entries/acm/{SCAM}").status_code == 409


def test_list_filters_and_cursor(api, writer, reader) -> None:
    """Listing filters by source, category and prefix, and pages with a cursor."""
    numbers = [f"+3185555{n:04d}" for n in range(101, 131)]
    for n, number in enumerate(numbers):
        category = "fraud" if n % 2 else "suspected"
        assert writer.post("/v1/entries", json={"number": number,
                                                "category": category}).status_code == 201
    api.store.add_entries([Entry("31201234567", False, Category.REVOKED, AppliesTo.BOTH, "acm")])
    seen, cursor = [], None
    while True:
        params = {"limit": 7, "source": "manual", **({"cursor": cursor} if cursor else {})}
        page = reader.get("/v1/entries", params=params).json()
        seen += [e["key"] for e in page["entries"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(numbers)
    fraud = reader.get("/v1/entries", params={"category": "fraud", "limit": 1000}).json()
    assert len(fraud["entries"]) == 15
    by_prefix = reader.get("/v1/entries", params={"number_prefix": "+3120"}).json()
    assert [e["source"] for e in by_prefix["entries"]] == ["acm"]


@pytest.mark.parametrize(("body", "slug", "field"), [
    ({"number": "112", "category": "fraud"}, "protected-number", "number"),
    ({"number": "0800 0113", "category": "fraud"}, "protected-number", "number"),
    ({"prefix": "116 xxx", "category": "fraud"}, "invalid-number", "prefix"),
    ({"prefix": "+31 1xx", "category": "fraud"}, "invalid-number", "prefix"),
    ({"number": "+31 85 555", "category": "fraud"}, "invalid-number", "number"),
    ({"number": "hello", "category": "fraud"}, "invalid-number", "number"),
    ({"number": SCAM, "category": "nasty"}, "invalid-request", "category"),
    ({"number": SCAM, "prefix": "0900 5550 1xx", "category": "fraud"}, "invalid-request", None),
    ({"category": "fraud"}, "invalid-request", None),
    ({"number": SCAM, "category": "fraud", "colour": "red"}, "invalid-request", "colour"),
    ({"number": 31855550101, "category": "fraud"}, "invalid-request", "number"),
    ({"number": SCAM, "category": "fraud", "valid_until": 20990101}, "invalid-request",
     "valid_until"),
    ({"number": SCAM, "category": "fraud", "valid_until": "31-01-2099"}, "invalid-request",
     "valid_until"),
    ({"number": SCAM, "category": "fraud", "reason": "line\nbreak"}, "invalid-request",
     "reason"),
    ({"number": SCAM, "category": "fraud", "reason": "x" * 501}, "invalid-request", "reason"),
])
def test_bad_entries_are_422(writer, body, slug, field) -> None:
    """Invalid or protected numbers, unknown fields and wrong types are 422, saying why."""
    response = writer.post("/v1/entries", json=body)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["type"] == f"urn:callscreen:problem:{slug}"
    assert problem["detail"]
    if field is not None:
        assert any(field in e["location"] for e in problem["errors"])


@pytest.mark.parametrize("path", ["/v1/entries/manual/abc", "/v1/entries/manual/+3*1",
                                  "/v1/entries/bad source/+31855550101"])
def test_bad_entry_paths_are_422(reader, path) -> None:
    """A key or source that can't be one is 422, not 404."""
    assert reader.get(path).status_code == 422


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 1001}, {"cursor": "garbage!"},
                                    {"category": "nope"}, {"number_prefix": "31a"}])
def test_bad_list_parameters_are_422(reader, params) -> None:
    """Out-of-range limits, cursors we never handed out and bad filters are 422."""
    response = reader.get("/v1/entries", params=params)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


def test_malformed_json_is_422(writer) -> None:
    """A body that is not JSON is a 422 problem."""
    response = writer.post("/v1/entries", content=b"{not json",
                           headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["type"] == "urn:callscreen:problem:invalid-request"


def test_oversized_body_is_413(writer) -> None:
    """A JSON body over the limit is refused with 413 before it is read."""
    response = writer.post("/v1/entries", json={"number": SCAM, "category": "fraud",
                                                "reason": "x" * 100_000})
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"


def test_streamed_oversized_body_is_413(writer) -> None:
    """A chunked body that grows past the limit is refused with 413."""
    def chunks():
        for _ in range(100):
            yield b"x" * 1024

    response = writer.post("/v1/entries", content=chunks(),
                           headers={"content-type": "application/json"})
    assert response.status_code == 413
