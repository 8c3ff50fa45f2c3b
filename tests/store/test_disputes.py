"""Disputes (`blocklist.store.disputes`) on a real Redis: open -> upheld | rejected, once; an
upheld dispute unlists the number."""

from __future__ import annotations

import datetime as dt

import pytest

from blocklist.entries import MANUAL_SOURCE, AppliesTo, Category, Entry
from blocklist.errors import StoreError
from blocklist.store.disputes import (
    DisputeClosedError,
    get_dispute,
    list_disputes,
    open_dispute,
    open_disputes,
    reject,
    uphold,
)

NUMBER = "31205550199"
T0 = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)


def entry(source: str, key: str = NUMBER, *, prefix: bool = False) -> Entry:
    return Entry(key=key, is_prefix=prefix, category=Category.FRAUD,
                 applies_to=AppliesTo.BOTH, source=source)


def test_open_dispute_is_kept_and_listed_for_its_number(store) -> None:
    """An opened dispute reads back whole and is among its number's open disputes."""
    dispute = open_dispute(store, NUMBER, "desk@bank.example", "our line", "desk", now=T0)
    assert get_dispute(store, dispute.id) == dispute
    assert (dispute.status, dispute.opened_at, dispute.opened_by) == ("open", T0, "desk")
    assert open_disputes(store, NUMBER) == [dispute]
    assert open_disputes(store, "31205550100") == []


def test_uphold_removes_the_manual_entry_only_when_nothing_else_lists(store) -> None:
    """A manual-only number is unlisted by removing the entry; no allowlisting needed."""
    store.add_entries([entry(MANUAL_SOURCE)])
    dispute = open_dispute(store, NUMBER, "c", "t", "desk")
    upheld = uphold(store, dispute.id, "lead", "confirmed", now=T0)
    assert (upheld.status, upheld.removed, upheld.allowlisted) == ("upheld", ["+" + NUMBER],
                                                                   False)
    assert (upheld.decided_by, upheld.reason, upheld.decided_at) == ("lead", "confirmed", T0)
    assert store.explain(NUMBER) == [] and store.allowlist() == {}
    assert open_disputes(store, NUMBER) == []


def test_uphold_allowlists_when_a_block_still_lists(store) -> None:
    """A number a block (or feed) still lists is allowlisted, with the dispute as reason."""
    store.add_entries([entry(MANUAL_SOURCE), entry(MANUAL_SOURCE, "3120555", prefix=True)])
    dispute = open_dispute(store, NUMBER, "c", "t", "desk")
    upheld = uphold(store, dispute.id, "lead", "bank line")
    assert (upheld.removed, upheld.allowlisted) == (["+" + NUMBER], True)
    note = store.allowlist()[(NUMBER, False)]
    assert note["reason"] == f"dispute {dispute.id} upheld: bank line"


def test_a_dispute_is_decided_once(store) -> None:
    """Rejecting or upholding a closed dispute raises; an unknown one is a KeyError."""
    dispute = open_dispute(store, NUMBER, "c", "t", "desk")
    assert reject(store, dispute.id, "lead", "spoofed").status == "rejected"
    with pytest.raises(DisputeClosedError, match="rejected"):
        uphold(store, dispute.id, "lead", "changed my mind")
    with pytest.raises(KeyError):
        reject(store, 4711, "lead", "no such")


def test_list_pages_newest_first_by_status(store) -> None:
    """Listing is newest first, filtered by status, with the last id as cursor."""
    ids = [open_dispute(store, NUMBER, "c", f"t{n}", "desk").id for n in range(5)]
    reject(store, ids[3], "lead", "no")
    page, cursor = list_disputes(store, status="open", limit=2)
    assert ([d.id for d in page], cursor) == ([ids[4], ids[2]], ids[2])
    rest, end = list_disputes(store, status="open", before=cursor)
    assert ([d.id for d in rest], end) == ([ids[1], ids[0]], None)
    assert [d.id for d in list_disputes(store, status="rejected")[0]] == [ids[3]]


def test_bounds_are_checked(store) -> None:
    """Text past its bound, or a number that is not digits, is refused naming it."""
    with pytest.raises(ValueError, match="contact"):
        open_dispute(store, NUMBER, "x" * 201, "t", "desk")
    with pytest.raises(ValueError, match="abc"):
        open_dispute(store, "abc", "c", "t", "desk")


def test_uphold_that_fails_to_unlist_leaves_the_dispute_open(store, monkeypatch) -> None:
    """When unlisting fails, the dispute is open again, with no decision recorded."""
    store.add_entries([entry(MANUAL_SOURCE)])
    dispute = open_dispute(store, NUMBER, "c", "t", "desk")

    def fail(*_args: object) -> int:
        raise StoreError("Redis failed to apply a delta")

    monkeypatch.setattr(store, "remove_entries", fail)
    with pytest.raises(StoreError):
        uphold(store, dispute.id, "lead", "confirmed")
    again = get_dispute(store, dispute.id)
    assert again is not None
    assert (again.status, again.decided_by, again.reason) == ("open", "", "")
    assert open_disputes(store, NUMBER) == [again]
