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
