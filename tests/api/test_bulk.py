"""`/v1/entries/import` and `/v1/entries/export`."""

from __future__ import annotations

import datetime as dt
import io
import json

from blocklist.feeds import FeedFormatConfig, cached_plans, parse_feed
from tests.api.conftest import UPLOAD_MAX_BYTES


def feed(source="acm", mode="snapshot", records=None, **header):
    records = records if records is not None else [
        {"number": "+31 85 555 0101", "category": "revoked", "reference": "ACM-1"},
        {"prefix": "0900 5550 1xx", "category": "revoked"},
        {"number": "112", "category": "fraud"},
    ]
    head = {"format": "screening-feed/v1", "source": source, "mode": mode, **header}
    return json.dumps({"feed": head, "records": records}).encode()


def test_snapshot_import_reports_rows(writer, reader) -> None:
    """A snapshot upload is applied; refused rows come back with line numbers."""
    response = writer.post("/v1/entries/import", content=feed())
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["source"], report["added"], report["rejected_count"]) == ("acm", 2, 1)
    assert "protected" in report["rejected"][0]["reason"]
    assert reader.get("/v1/entries/acm/+31855550101").json()["added_by"] == "test-write"
    decision = reader.get("/v1/numbers/+31855550101", params={"direction": "inbound"}).json()
    assert decision["action"] == "block"


def test_dry_run_changes_nothing(writer, reader) -> None:
    """A dry run reports the diff and leaves the list as it was."""
    report = writer.post("/v1/entries/import?dry_run=true", content=feed()).json()
    assert (report["dry_run"], report["added"]) == (True, 2)
    assert reader.get("/v1/entries").json()["entries"] == []


def test_guard_refuses_wiping_a_source(writer, admin, reader) -> None:
    """A snapshot removing most of a source is a 409 unless an admin forces it."""
    writer.post("/v1/entries/import", content=feed())
    small = feed(records=[{"number": "+31 20 555 0199", "category": "revoked"}])
    refused = writer.post("/v1/entries/import", content=small)
    assert refused.status_code == 409
    assert refused.json()["type"] == "urn:callscreen:problem:import-refused"
    assert len(reader.get("/v1/entries").json()["entries"]) == 2
    forced = admin.post("/v1/entries/import?force=true", content=small)
    assert forced.status_code == 200
    assert forced.json()["removed"] == 2


def test_integrity_mismatch_is_refused(writer) -> None:
    """A feed whose record_count disagrees with what arrived is refused."""
    response = writer.post("/v1/entries/import", content=feed(record_count=7))
    assert response.status_code == 409
    assert "record_count" in response.json()["detail"]


def test_manual_snapshot_is_refused(writer) -> None:
    """A snapshot of the manual source would wipe hand-made entries: 409."""
    assert writer.post("/v1/entries/import", content=feed(source="manual")).status_code == 409


def test_delta_adds_and_removes(writer, reader) -> None:
    """A delta feed adds and removes single entries."""
    writer.post("/v1/entries/import", content=feed())
    delta = feed(mode="delta", records=[
        {"number": "+31 85 555 0101", "category": "revoked", "op": "remove"},
        {"number": "+31 20 555 0199", "category": "fraud", "op": "add"}])
    report = writer.post("/v1/entries/import", content=delta).json()
    assert (report["added"], report["removed"]) == (1, 1)
    keys = {e["key"] for e in reader.get("/v1/entries").json()["entries"]}
    assert keys == {"+3190055501*", "+31205550199"}


def test_plain_list_upload(writer, reader) -> None:
    """A plain list imports with source and category given as parameters."""
    body = b"# ACM list\n085 555 0101\n0900 5550 1xx\n"
    response = writer.post("/v1/entries/import", content=body, params={
        "format": "plain", "source": "acm-plain", "category": "revoked"})
    assert response.status_code == 200, response.text
    assert response.json()["added"] == 2


def test_bad_uploads(writer) -> None:
    """HTML, an empty body, a missing source and bad config are 422; too large is 413."""
    html = writer.post("/v1/entries/import", content=b"<!doctype html><html></html>")
    assert (html.status_code, html.json()["type"]) == (422, "urn:callscreen:problem:invalid-feed")
    assert writer.post("/v1/entries/import", content=b"").status_code == 422
    assert writer.post("/v1/entries/import?format=plain", content=b"0855550101").status_code == 422
    assert writer.post("/v1/entries/import", content=feed(),
                       params={"config": "[1]"}).status_code == 422
    assert writer.post("/v1/entries/import", content=feed(),
                       params={"config": '{"colour": 1}'}).status_code == 422
    assert writer.post("/v1/entries/import", content=feed(),
                       params={"format": "excel"}).status_code == 422
    big = b" " * (UPLOAD_MAX_BYTES + 1)
    assert writer.post("/v1/entries/import", content=big).status_code == 413


def test_export_round_trips(writer, reader) -> None:
    """The export, JSON Lines or JSON, parses back into the same entries."""
    writer.post("/v1/entries/import", content=feed())
    writer.post("/v1/entries", json={"number": "+31 20 555 0199", "category": "dno",
                                     "reason": "bank's line"})
    plan_for = cached_plans({})
    for fmt in ("jsonl", "json"):
        response = reader.get("/v1/entries/export", params={"format": fmt})
        assert response.status_code == 200
        parsed = parse_feed(io.BytesIO(response.content), "screening-feed/v1",
                            FeedFormatConfig(), plan_for=plan_for,
                            today=dt.date(2026, 1, 1), added_by="t")
        assert parsed.intact and not parsed.errors
        assert {r.entry.label for r in parsed.records} == {
            "+31855550101", "+3190055501*", "+31205550199"}
    one = reader.get("/v1/entries/export", params={"source": "manual"})
    assert one.text.splitlines()[0].startswith('{"feed":')
    assert json.loads(one.text.splitlines()[0])["feed"]["record_count"] == 1
