"""`/v1/disputes`: open, list, uphold (unlisting the number) and reject, audited, over real
HTTP; the number's look-up shows its open disputes."""

from __future__ import annotations

from blocklist.entries import AppliesTo, Category, Entry

NUMBER = "+31205550199"
DISPUTE = {"number": "020 555 0199", "contact": "security@bank.example",
           "text": "Our fraud line.\nCustomers are told to call it."}


def open_one(writer, **changes) -> dict:
    response = writer.post("/v1/disputes", json={**DISPUTE, **changes})
    assert response.status_code == 201, response.text
    return response.json()


def test_uphold_removes_a_manual_entry(writer, reader, admin) -> None:
    """Upholding a dispute on a manual entry removes it; the number is then allowed."""
    assert writer.post("/v1/entries", json={"number": NUMBER, "category": "fraud"}
                       ).status_code == 201
    dispute = open_one(writer)
    assert (dispute["status"], dispute["number"]) == ("open", NUMBER)
    look = reader.get(f"/v1/numbers/{NUMBER}", params={"direction": "inbound"}).json()
    assert [d["id"] for d in look["disputes"]] == [dispute["id"]]
    upheld = writer.post(f"/v1/disputes/{dispute['id']}/uphold",
                         json={"reason": "confirmed with the bank"}).json()
    assert (upheld["status"], upheld["removed"], upheld["allowlisted"]) == (
        "upheld", [NUMBER], False)
    look = reader.get(f"/v1/numbers/{NUMBER}", params={"direction": "inbound"}).json()
    assert (look["action"], look["disputes"]) == ("allow", [])
    events = admin.get("/v1/audit", params={"target": NUMBER}).json()["events"]
    assert [e["action"] for e in events][:3] == ["entry.delete", "dispute.uphold",
                                                 "dispute.open"]
    assert events[1]["reason"] == "confirmed with the bank"


def test_uphold_allowlists_a_feed_listed_number(api, writer, reader) -> None:
    """A number a feed lists is allowlisted when its dispute is upheld."""
    api.store.apply_snapshot("acm", [Entry(key="31205550199", is_prefix=False,
                                           category=Category.REVOKED,
                                           applies_to=AppliesTo.BOTH, source="acm")])
    dispute = open_one(writer)
    upheld = writer.post(f"/v1/disputes/{dispute['id']}/uphold", json={"reason": "bank"}).json()
    assert (upheld["removed"], upheld["allowlisted"]) == ([], True)
    look = reader.get(f"/v1/numbers/{NUMBER}", params={"direction": "inbound"}).json()
    assert (look["action"], look["reason"]) == ("allow", "allowlisted")


def test_reject_keeps_the_listing_and_closes_once(writer, reader, admin) -> None:
    """A rejected dispute leaves the entry; a second decision is 409."""
    writer.post("/v1/entries", json={"number": NUMBER, "category": "fraud"})
    dispute = open_one(writer)
    rejected = writer.post(f"/v1/disputes/{dispute['id']}/reject",
                           json={"reason": "caller ID spoofing confirmed"}).json()
    assert (rejected["status"], rejected["reason"]) == ("rejected",
                                                        "caller ID spoofing confirmed")
    again = writer.post(f"/v1/disputes/{dispute['id']}/uphold", json={"reason": "no"})
    assert again.status_code == 409 and "rejected" in again.json()["detail"]
    look = reader.get(f"/v1/numbers/{NUMBER}", params={"direction": "inbound"}).json()
    assert look["action"] == "block"
    actions = [e["action"] for e in admin.get("/v1/audit").json()["events"]]
    assert actions[:2] == ["dispute.reject", "dispute.open"]


def test_list_by_status_with_cursor(writer, reader) -> None:
    """Disputes list newest first, filtered by status, a page at a time."""
    ids = [open_one(writer, number=f"+3120555010{n}")["id"] for n in range(5)]
    writer.post(f"/v1/disputes/{ids[0]}/reject", json={"reason": "no"})
    first = reader.get("/v1/disputes", params={"status": "open", "limit": 2}).json()
    assert [d["id"] for d in first["disputes"]] == [ids[4], ids[3]]
    rest = reader.get("/v1/disputes", params={"status": "open", "cursor": first["next_cursor"]}
                      ).json()
    assert [d["id"] for d in rest["disputes"]] == [ids[2], ids[1]]
    assert rest["next_cursor"] is None
    assert reader.get(f"/v1/disputes/{ids[0]}").json()["status"] == "rejected"
    assert reader.get("/v1/disputes/999999").status_code == 404
    assert reader.get("/v1/disputes", params={"cursor": "bogus"}).status_code == 422


def test_roles_and_bounds(reader, writer) -> None:
    """Recording needs write; reasons are required; contact and text are bounded."""
    assert reader.post("/v1/disputes", json=DISPUTE).status_code == 403
    assert writer.post("/v1/disputes", json={**DISPUTE, "contact": "x" * 201}
                       ).status_code == 422
    assert writer.post("/v1/disputes", json={**DISPUTE, "text": ""}).status_code == 422
    bad = writer.post("/v1/disputes", json={**DISPUTE, "number": "nonsense"})
    assert bad.status_code == 422 and "nonsense" in bad.json()["detail"]
    dispute = open_one(writer)
    assert writer.post(f"/v1/disputes/{dispute['id']}/reject", json={}).status_code == 422
    assert writer.post(f"/v1/disputes/{dispute['id']}/reject", json={"reason": ""}
                       ).status_code == 422
