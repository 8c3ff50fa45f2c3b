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

import queue
import threading
from collections.abc import Callable, Iterable
from typing import Any

from blocklist.errors import StoreCommandError
from blocklist.store.layout import bucket
from blocklist.store.redis_boundary import translated_errors

SEND_BYTES = 1 << 20  # send in chunks of about this size


def split(number_digits: str) -> tuple[int, str]:
    """(bucket, field) of a number's digits; the same pair as `layout.bucket`, faster."""
    if len(number_digits) > 4 and number_digits[0] != "0":
        return int(number_digits[-4:]), number_digits[:-4]
    bucket_id, f = bucket(number_digits)
    return int(bucket_id), f


def join(bucket_id: int, field: str) -> str:
    """The digits back from (bucket, field)."""
    if field == "0":
        return str(bucket_id)
    return f"{field}{bucket_id:04d}"


def encode_blob(fields: dict[str, str]) -> str:
    """A source's bucket as one string: `field,id,field,id,...` (see the layout docstring)."""
    return ",".join(map(",".join, fields.items()))


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
    if len(args) > 8:  # HDEL of a bucket's fields, say: fields of one length joined at once
        rest = args[2:]
        sizes = set(map(len, rest))
        if len(sizes) == 1 and all(map(str.isascii, rest)):
            (size,) = sizes
            head = f"${size}\r\n"
            return (f"*{len(args)}\r\n{_bulk(args[0])}{_bulk(args[1])}{head}"
                    + f"\r\n{head}".join(rest) + "\r\n")
    return f"*{len(args)}\r\n" + "".join([_bulk(a) for a in args])


def send(client: Any, commands: Iterable[str],
         checkpoint: Callable[[], None] | None = None, *, atomic: bool = False) -> int:
    """Send RESP commands on one connection of `client`'s pool, streaming; read every reply.

    Raises StoreCommandError (after reading every reply, so the connection stays in step)
    when Redis refuses any command. Returns how many commands were sent. `checkpoint`: as
    `Sender`'s. `atomic`: in one MULTI/EXEC transaction, so readers see all of it or none,
    and a stream stopped midway (or a command Redis refuses to queue) applies nothing.
    """
    with Sender(client, checkpoint) as sender:
        if atomic:
            sender.put([command("MULTI")])
        sender.put(commands)
        if atomic:
            sender.put([command("EXEC")])
    return sender.sent


class Sender:
    """Commands sent in order on one connection by a thread, while the caller computes more.

    `put` packs and queues; the thread sends (the socket write lets go of the GIL while Redis
    is busy with what it has) and, once the block ends, reads every reply. Leaving the block
    waits for that and raises StoreError when Redis refused any command (after reading every
    reply, so the connection stays in step); an exception inside the block sends nothing more.

    `checkpoint` runs on the caller's thread before each chunk is handed to the sending
    thread (about every SEND_BYTES): an exception from it stops the stream there, as above.
    The apply lock checks it still holds the lock this way.
    """

    def __init__(self, client: Any, checkpoint: Callable[[], None] | None = None) -> None:
        self._pool = client.connection_pool
        self._checkpoint = checkpoint
        self._queue: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="redis-bulk-send", daemon=True)
        self._failure: BaseException | None = None
        self._first_error: StoreCommandError | None = None
        self._buffer: list[str] = []
        self._size = 0
        self._count = 0
        self._aborted = False
        self.sent = 0

    def __enter__(self) -> Sender:
        with translated_errors("connect for a bulk write"):
            try:
                self._conn = self._pool.get_connection()
            except TypeError:  # redis-py < 5.3 wants a command name
                self._conn = self._pool.get_connection("HSET")
        self._thread.start()
        return self

    def put(self, commands: Iterable[str]) -> None:
        for text in commands:
            self._buffer.append(text)
            self._count += 1
            self._size += len(text)
            if self._size >= SEND_BYTES:
                self._flush()

    def _flush(self) -> None:
        if self._buffer:
            if self._checkpoint is not None:
                self._checkpoint()
            self._queue.put("".join(self._buffer).encode())
            self.sent += self._count
            self._buffer, self._size, self._count = [], 0, 0

    def __exit__(self, kind: object, exc: object, tb: object) -> None:
        stopped: BaseException | None = None  # the last checkpoint's, if it failed
        if exc is None:
            try:
                self._flush()
            except BaseException as error:
                stopped = error
        if exc is not None or stopped is not None:
            self._aborted = True
        self._queue.put(None)
        self._thread.join()
        if self._failure is not None or self._aborted:
            self._conn.disconnect()  # a transaction left open is discarded with it
        self._pool.release(self._conn)
        if exc is not None:
            return
        if stopped is not None:
            raise stopped
        if self._failure is not None:
            raise self._failure
        if self._first_error is not None:
            raise self._first_error

    def _run(self) -> None:
        conn = self._conn
        started = False
        try:
            while (chunk := self._queue.get()) is not None:
                if self._aborted:
                    continue
                with translated_errors("send a bulk write"):
                    conn.send_packed_command([chunk], check_health=not started)
                started = True
            if self._aborted:
                return
            for _ in range(self.sent):
                try:
                    with translated_errors("apply a bulk write"):
                        conn.read_response()
                except StoreCommandError as exc:  # an error reply: keep reading, in step
                    self._first_error = self._first_error or exc
        except BaseException as exc:  # handed to the caller in __exit__
            self._failure = exc
            # Nothing more goes out; drain the queue so the caller never blocks on it.
            self._aborted = True

