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
    day_number,
    lookup_prefixes,
    pack,
    read_screening,
    screening_command,
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


def test_screening_is_one_command_on_one_slot() -> None:
    """One screening is one script run with the bucket, prefixes, allowlist and subscriber."""
    command = screening_command(KeySpace("cs"), "31851234567", "31201234567", "abc")
    assert command[:3] == ("EVALSHA", "abc", "4")
    assert all("{cs}" in key for key in command[3:7])  # one hash slot on a cluster
    assert command[6] == "{cs}:sub:31201234567"
    assert screening_command(KeySpace("cs"), "31851234567", None)[0] == "EVAL"


def test_expired_listing_never_matches() -> None:
    """A listing past its last day is dropped from the lookup."""
    expired = pack(Listing(Category.REVOKED, Category.REVOKED, valid_until=dt.date(2026, 1, 1)))
    current = pack(Listing(Category.SUSPECTED, Category.SUSPECTED))
    reply = [str(expired).encode(), [b"3185123456", str(current).encode()], 0, []]
    lookup = read_screening("31851234567", reply, day_number(dt.date(2026, 11, 28)))
    assert [m.key for m in lookup.matches] == ["3185123456"]


@pytest.mark.parametrize(
    "reply",
    [None, [None, b"x", 0, []], [None, [b"1"], 0, []], [None, [], 0, [None]], b"ERR", [1, 2]],
)
def test_garbled_reply_is_an_error(reply: object) -> None:
    """A reply of the wrong shape raises ValueError (the caller fails open)."""
    with pytest.raises(ValueError, match="unexpected"):
        read_screening("31851234567", reply, day_number(dt.date(2026, 11, 28)))


def test_script_matches_python_prefixes(redis_client) -> None:
    """The script asks exactly the prefixes lookup_prefixes names, longest first."""
    from blocklist.store.wire import BlockingConnection, RedisAddress

    keys = KeySpace("cs")
    for prefix in lookup_prefixes("31851234567"):
        redis_client.hset(keys.prefixes, prefix, "1")
    url = redis_client.connection_pool.connection_kwargs
    address = RedisAddress(url["host"], url["port"], db=url.get("db", 0))
    reply = BlockingConnection(address, 1.0).run(
        [screening_command(keys, "31851234567", None)])[0]
    assert [h.decode() for h in reply[1][::2]] == lookup_prefixes("31851234567")


def test_every_key_name_carries_the_hash_tag_and_none_collide() -> None:
    """Every name KeySpace gives shares the `{prefix}` tag (one Cluster slot) and is unique."""
    keys = KeySpace("tenant")
    source = keys.source("acm")
    names = [keys.prefixes, keys.allow, keys.sources, keys.meta, keys.apply_lock, keys.dirty,
             keys.apikeys, keys.audit, keys.feeds, keys.numbers("1234"),
             keys.subscriber("31201234567"), keys.reports("31851234567"),
             keys.feed_state("acm"), keys.feed_runs("acm"), keys.feed_lock("acm"),
             keys.lock("purge"), source.prefixes, source.meta, source.metaidx, source.metaseq,
             source.numbers("1234")]
    assert all(name.startswith("{tenant}:") for name in names)
    assert len(set(names)) == len(names)
