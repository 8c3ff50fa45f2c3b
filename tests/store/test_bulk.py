"""Bulk writes (`blocklist.store.bulk`): RESP packing (pure) and the streaming sender on a
real Redis."""

from __future__ import annotations

import pytest

from blocklist.errors import StoreCommandError
from blocklist.store.admin import Store
from blocklist.store.bulk import (
    Sender,
    command,
    decode_blob,
    encode_blob,
    hset_command,
    join,
    send,
    split,
)


@pytest.mark.parametrize("digits", ["31851234567", "12345", "1234", "7", "10000"])
def test_split_and_join_are_inverse(digits: str) -> None:
    """A number's (bucket, field) gives its digits back."""
    assert join(*split(digits)) == digits


def test_blob_round_trips() -> None:
    """A bucket's fields survive encoding as one string; an empty blob is no fields."""
    fields = {"3185123": "1", "3185999": "12"}
    assert decode_blob(encode_blob(fields)) == fields
    assert decode_blob(None) == {} and decode_blob("") == {}


def test_hset_command_packs_like_the_general_form() -> None:
    """The one-value fast path gives the same bytes as packing pair by pair."""
    same = hset_command("{cs}:n:1", {"11": "5", "22": "5"}, {})
    assert same == command("HSET", "{cs}:n:1", "11", "5", "22", "5")
    mixed = hset_command("{cs}:n:1", {"11": "5", "222": "6"}, {})
    assert mixed == command("HSET", "{cs}:n:1", "11", "5", "222", "6")


def test_atomic_send_is_one_transaction(store: Store) -> None:
    """An atomic send whose command Redis refuses to queue applies none of the others."""
    bad = "*1\r\n$7\r\nNOTACMD\r\n"
    with pytest.raises(StoreCommandError, match="NOTACMD"):
        send(store.redis, [command("SET", "{cs}:a", "1"), bad, command("SET", "{cs}:b", "2")],
             atomic=True)
    assert store.redis.mget("{cs}:a", "{cs}:b") == [None, None]


def test_sender_reads_every_reply_and_reports_a_refusal(store: Store) -> None:
    """An error reply mid-stream is a StoreError after every reply; the pool still works."""
    with pytest.raises(StoreCommandError, match="refused"), Sender(store.redis) as sender:
        sender.put([command("SET", "{cs}:t1", "1"), command("INCR", "{cs}:t1x", "2"),
                    command("SET", "{cs}:t2", "2")])
    assert store.redis.mget("{cs}:t1", "{cs}:t2") == ["1", "2"]


def test_sender_sends_nothing_more_after_an_exception(store: Store) -> None:
    """An exception inside the block stops the stream: what was not yet sent never is."""
    with pytest.raises(RuntimeError), Sender(store.redis) as sender:
        sender.put([command("SET", "{cs}:t3", "3")])
        raise RuntimeError("stop")
    assert store.redis.get("{cs}:t3") is None
    assert store.redis.ping()


@pytest.mark.parametrize("args", [
    ["HDEL", "{cs}:n:1", *[str(1000 + n) for n in range(20)]],
    ["HDEL", "{cs}:n:1", *[str(1000 + n) for n in range(19)], "12345"],
    ["HDEL", "{cs}:n:1", *[str(1000 + n) for n in range(19)], "né.."],
    ["SET", "{cs}:k", "é"],
])
def test_command_packs_like_pair_by_pair(args: list[str]) -> None:
    """Many arguments of one length are joined at once into the same bytes RESP wants."""
    expected = f"*{len(args)}\r\n" + "".join(
        f"${len(a.encode())}\r\n{a}\r\n" for a in args)
    assert command(*args) == expected
