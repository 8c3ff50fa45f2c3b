"""`/v1/reports`: distinct reporters past the threshold list a number as suspected."""

from __future__ import annotations

SCAM = "+31855550101"
REPORTERS = ["+31612345678", "+31612345679", "+31612345670"]


def report(client, reporter, number=SCAM):
    response = client.post("/v1/reports", json={"number": number, "reporter": reporter,
                                                "note": "said Microsoft"})
    assert response.status_code == 202, response.text
    return response.json()


def test_threshold_of_distinct_reporters_lists_the_number(writer, reader, admin) -> None:
    """The third distinct reporter lists the number as suspected with an expiry, audited."""
    assert report(writer, REPORTERS[0])["listed"] is False
    assert report(writer, REPORTERS[1])["reporters"] == 2
    third = report(writer, REPORTERS[2])
    assert (third["listed"], third["reporters"], third["threshold"]) == (True, 3, 3)
    assert third["valid_until"]
    entry = reader.get(f"/v1/entries/reports/{SCAM}").json()
    assert (entry["category"], entry["valid_until"]) == ("suspected", third["valid_until"])
    decision = reader.get(f"/v1/numbers/{SCAM}", params={"direction": "outbound"}).json()
    assert decision["action"] == "warn"
    assert reader.get(f"/v1/reports/{SCAM}").json()["listed"] is True
    events = admin.get("/v1/audit", params={"action": "report"}).json()["events"]
    assert [e["target"] for e in events] == [SCAM]


def test_one_reporter_cannot_list_alone(writer, reader) -> None:
    """However often one reporter reports, they count once."""
    for _ in range(10):
        outcome = report(writer, REPORTERS[0])
    assert (outcome["reporters"], outcome["listed"]) == (1, False)
    assert reader.get(f"/v1/entries/reports/{SCAM}").status_code == 404


def test_protected_and_invalid_reports_are_422(writer) -> None:
    """Reporting an emergency number, or a reporter that is no number, is 422."""
    protected = writer.post("/v1/reports", json={"number": "112", "reporter": REPORTERS[0]})
    assert protected.json()["type"] == "urn:callscreen:problem:protected-number"
    bad = writer.post("/v1/reports", json={"number": SCAM, "reporter": "desk"})
    assert bad.status_code == 422
    assert writer.post("/v1/reports", json={"number": SCAM}).status_code == 422


def test_queue_lists_reported_numbers_most_recent_first(writer, reader) -> None:
    """The queue shows each reported number once, with distinct reporters, first and last
    report and whether it is listed, a page at a time."""
    other = "+31855550102"
    report(writer, REPORTERS[0])
    report(writer, REPORTERS[0], number=other)
    for reporter in REPORTERS:
        report(writer, reporter)
    first = reader.get("/v1/reports", params={"limit": 1}).json()
    top = first["reports"][0]
    assert (top["number"], top["reporters"], top["listed"]) == (SCAM, 3, True)
    assert top["first_reported"] < top["last_reported"]
    assert [e["source"] for e in top["entries"]] == ["reports"]
    rest = reader.get("/v1/reports", params={"cursor": first["next_cursor"]}).json()
    assert [(r["number"], r["reporters"], r["listed"]) for r in rest["reports"]] == [
        (other, 1, False)]
    assert rest["next_cursor"] is None


def test_promote_lists_by_hand_and_leaves_the_queue(writer, reader, admin) -> None:
    """Promoting makes a manual entry of the chosen category, audited, and dequeues it."""
    report(writer, REPORTERS[0])
    promoted = writer.post(f"/v1/reports/{SCAM}/promote",
                           json={"category": "fraud", "reason": "test call confirmed"})
    assert promoted.status_code == 200, promoted.text
    assert promoted.json()["entry"]["category"] == "fraud"
    assert reader.get(f"/v1/entries/manual/{SCAM}").json()["reason"] == "test call confirmed"
    assert reader.get("/v1/reports").json()["reports"] == []
    event = admin.get("/v1/audit", params={"action": "report.promote"}).json()["events"][0]
    assert (event["target"], event["reason"]) == (SCAM, "test call confirmed")
    assert writer.post(f"/v1/reports/{SCAM}/promote",
                       json={"category": "revoked", "reason": "x"}).status_code == 422


def test_dismiss_forgets_reports_and_unlists(writer, reader, admin) -> None:
    """Dismissing removes the reports listing and the queue item; reports count afresh."""
    for reporter in REPORTERS:
        report(writer, reporter)
    dismissed = writer.post(f"/v1/reports/{SCAM}/dismiss", json={"reason": "a school"})
    assert dismissed.json() == {"number": SCAM, "outcome": "dismissed", "entry": None,
                                "removed": [SCAM]}
    assert reader.get(f"/v1/entries/reports/{SCAM}").status_code == 404
    assert reader.get(f"/v1/reports/{SCAM}").json()["reporters"] == 0
    assert reader.get("/v1/reports").json()["reports"] == []
    assert writer.post(f"/v1/reports/{SCAM}/dismiss", json={"reason": "again"}
                       ).status_code == 404
    assert writer.post(f"/v1/reports/{SCAM}/dismiss", json={}).status_code == 422
    event = admin.get("/v1/audit", params={"action": "report.dismiss"}).json()["events"][0]
    assert event["reason"] == "a school"
