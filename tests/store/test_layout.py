"""The key layout and packing: pure."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from blocklist.entries import Category, Listing
from blocklist.store.layout import (
    KeySpace,
    bucket,
    lookup_prefixes,
    pack,
    read_screening,
    screening_commands,
    unbucket,
    unpack,
)


@given(st.from_regex(r"[1-9][0-9]{0,14}", fullmatch=True))
def test_bucket_is_a_bijection(digits: str) -> None:
    """(bucket, field) gives the digits back, so no two numbers share a slot."""
    assert unbucket(*bucket(digits)) == digits


@pytest.mark.parametrize(
    "listing",
    [
        Listing(Category.REVOKED, Category.REVOKED),
        Listing(Category.DNO, None),
        Listing(None, Category.SUSPECTED, shadow=True),
        Listing(Category.FRAUD, Category.FRAUD, valid_until=dt.date(2027, 10, 30)),
    ],
)
def test_pack_round_trips(listing: Listing) -> None:
    """A packed listing unpacks to the same listing, in a 24-bit integer."""
    code = pack(listing)
    assert unpack(code) == listing
    assert code < 2**23


def test_screening_is_one_pipeline_of_hash_reads() -> None:
    """One screening asks the number's bucket, every prefix, the allowlist and the subscriber."""
    commands = screening_commands(KeySpace("cs"), "31851234567", "31201234567")
    assert [c[0] for c in commands] == ["HGET", "HMGET", "HMGET", "HMGET"]
    assert all("{cs}" in c[1] for c in commands)  # one hash slot on a cluster
    assert commands[1][2:] == tuple(lookup_prefixes("31851234567"))
    assert commands[3][1] == "{cs}:sub:31201234567"


def test_expired_listing_never_matches() -> None:
    """A listing past its last day is dropped from the lookup."""
    expired = pack(Listing(Category.REVOKED, Category.REVOKED, valid_until=dt.date(2026, 1, 1)))
    current = pack(Listing(Category.SUSPECTED, Category.SUSPECTED))
    prefixes = lookup_prefixes("31851234567")
    codes = [None] * len(prefixes)
    codes[0] = str(current).encode()
    lookup = read_screening("31851234567", [str(expired).encode(), codes, [None] * 11],
                            dt.date(2026, 11, 28))
    assert [m.key for m in lookup.matches] == [prefixes[0]]


def test_garbled_reply_is_an_error() -> None:
    """A reply of the wrong shape raises ValueError (the caller fails open)."""
    with pytest.raises(ValueError, match="unexpected"):
        read_screening("31851234567", [None, b"x", []], dt.date(2026, 11, 28))
