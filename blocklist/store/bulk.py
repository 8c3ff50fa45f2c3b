"""Bulk writes for the admin store: numbers grouped by bucket, and streamed RESP pipelines.

Why not redis-py's pipeline for a million fields: it packs every argument in Python and sends
everything before Redis starts working, then waits. Here commands are packed in large chunks
and sent while Redis works on the previous chunk (the machine has two cores: one packs, one
runs Redis), and replies are read once everything is sent. Replies are a few bytes each, so
they wait in Redis' output buffer without stalling the sender.

Numbers are handled as (bucket, field) pairs (`blocklist.store.layout`): `split` is
`layout.bucket` with string slicing instead of integer arithmetic, the bucket as an int.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from blocklist.errors import StoreError
from blocklist.store.layout import BUCKETS, bucket

SEND_BYTES = 1 << 20  # send in chunks of about this size


def split(number_digits: str) -> tuple[int, str]:
    """(bucket, field) of a number's digits; the same pair as `layout.bucket`, faster."""
    if len(number_digits) > 4 and number_digits[0] != "0":
        return int(number_digits[-4:]), number_digits[:-4]
    b_id, f = bucket(number_digits)
    return int(b_id), f


def join(bucket_id: int, field: str) -> str:
    """The digits back from (bucket, field)."""
    if field == "0":
        return str(bucket_id)
    return f"{field}{bucket_id:04d}"


def encode_blob(fields: dict[str, str]) -> str:
    """A source's bucket as one string: `field,id,field,id,...` (see the layout docstring)."""
    return ",".join([x for pair in fields.items() for x in pair])


def decode_blob(blob: str | None) -> dict[str, str]:
    if not blob:
        return {}
    parts = blob.split(",")
    return dict(zip(parts[::2], parts[1::2], strict=True))


def _bulk(text: str) -> str:
    return f"${len(text.encode())}\r\n{text}\r\n"


def hset_command(key: str, mapping: dict[str, str], values: dict[str, str]) -> str:
    """`HSET key f v ...` in RESP; `values` caches the packed form of repeated values."""
    head = f"*{2 + 2 * len(mapping)}\r\n$4\r\nHSET\r\n{_bulk(key)}"
    distinct = set(mapping.values())
    lengths = set(map(len, mapping))
    if len(distinct) == 1 and len(lengths) == 1:
        # One value and fields of one length (a bucket of one feed's numbers): join the
        # fields with the bytes between them, ten times faster than packing each pair.
        (value,) = distinct
        (size,) = lengths
        packed = _packed(value, values)
        return f"{head}${size}\r\n" + f"\r\n{packed}${size}\r\n".join(mapping) + (
            f"\r\n{packed}")
    parts = [head]
    for f, v in mapping.items():
        parts.append(f"${len(f)}\r\n{f}\r\n{_packed(v, values)}")
    return "".join(parts)


def _packed(value: str, values: dict[str, str]) -> str:
    packed = values.get(value)
    if packed is None:
        packed = values[value] = _bulk(value)
    return packed


def command(*args: str) -> str:
    """Any command in RESP."""
    return f"*{len(args)}\r\n" + "".join(_bulk(a) for a in args)


def send(client: Any, commands: Iterable[str]) -> int:
    """Send RESP commands on one connection of `client`'s pool, streaming; read every reply.

    Raises StoreError (after reading every reply, so the connection stays in step) when Redis
    refuses any command. Returns how many commands were sent.
    """
    pool = client.connection_pool
    try:
        conn = pool.get_connection()
    except TypeError:  # redis-py < 5.3 wants a command name
        conn = pool.get_connection("HSET")
    sent = 0
    first_error: Exception | None = None
    try:
        for chunk in _chunks(commands):
            conn.send_packed_command([chunk[0].encode()], check_health=sent == 0)
            sent += chunk[1]
        for _ in range(sent):
            try:
                conn.read_response()
            except (RedisConnectionError, RedisTimeoutError):
                raise
            except RedisError as exc:  # an error reply: keep reading, to stay in step
                first_error = first_error or exc
    except BaseException:
        conn.disconnect()
        raise
    finally:
        pool.release(conn)
    if first_error is not None:
        raise StoreError(f"Redis refused a bulk write: {first_error}")
    return sent


def _chunks(commands: Iterable[str]) -> Iterator[tuple[str, int]]:
    buffer: list[str] = []
    size = 0
    for text in commands:
        buffer.append(text)
        size += len(text)
        if size >= SEND_BYTES:
            yield "".join(buffer), len(buffer)
            buffer, size = [], 0
    if buffer:
        yield "".join(buffer), len(buffer)


def all_buckets() -> range:
    return range(BUCKETS)
