"""Each source's own entries as stored (`{cs}:src:<s>:*`, `blocklist.store.layout`): read
them, write them, and name provenances by meta id.

The call path never reads these keys; it reads the merged listing that
`blocklist.store.listing` computes from them. Functions here take the redis-py client and the
`KeySpace`; redis-py's errors leave them as ours (`blocklist.store.redis_boundary`) when the
caller runs them under `translated_errors`, as the store does.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from blocklist.store.bulk import command, decode_blob, encode_blob, hset_command, join
from blocklist.store.layout import BUCKETS, KeySpace, SourceKeys
from blocklist.store.redis_boundary import read_strings
from blocklist.store.state import EntryKey, SourceState


def list_sources(client: Any, keys: KeySpace) -> list[str]:
    """Every source that has entries (or had: a source emptied by a sync stays listed)."""
    return sorted(client.smembers(keys.sources))


def read_buckets(client: Any, source_keys: SourceKeys, buckets: Iterable[int]) -> dict[int, str]:
    """The source's stored buckets among `buckets` (bucket -> `field,id,...`); empty ones
    are left out."""
    wanted = list(buckets)
    blobs = read_strings(client, [source_keys.numbers(str(b)) for b in wanted])
    return {bucket_id: blob for bucket_id, blob in zip(wanted, blobs, strict=True) if blob}


def read_state(
    client: Any, source_keys: SourceKeys, buckets: Iterable[int] | None,
    prefixes: Iterable[str] | None,
) -> SourceState:
    """A source's numbers in `buckets` (whole buckets) and its `prefixes` (None: all)."""
    blobs = read_buckets(client, source_keys, range(BUCKETS) if buckets is None else buckets)
    numbers = {bucket_id: decode_blob(blob) for bucket_id, blob in blobs.items()}
    if prefixes is None:
        found: dict[str, str] = client.hgetall(source_keys.prefixes)
    else:
        asked = list(prefixes)
        values = client.hmget(source_keys.prefixes, asked) if asked else []
        found = {p: i for p, i in zip(asked, values, strict=True) if i is not None}
    return SourceState(numbers, found)


def state_commands(
    keys: KeySpace, source: str, numbers: dict[int, dict[str, str]],
    prefixes: dict[str, str], removed_prefixes: Iterable[str],
) -> list[str]:
    """The RESP commands that replace the given buckets of a source whole (an empty bucket
    is deleted), set `prefixes` and delete `removed_prefixes`."""
    source_keys = keys.source(source)
    commands = [command("SADD", keys.sources, source)]
    for bucket_id, fields in numbers.items():
        name = source_keys.numbers(str(bucket_id))
        commands.append(command("SET", name, encode_blob(fields)) if fields
                        else command("DEL", name))
    if prefixes:
        commands.append(hset_command(source_keys.prefixes, prefixes, {}))
    if gone := list(removed_prefixes):
        commands.append(command("HDEL", source_keys.prefixes, *gone))
    return commands


def meta_ids(
    client: Any, source_keys: SourceKeys, metas: Iterable[str], *, hand_out: bool = True
) -> dict[str, str]:
    """The meta id of each provenance JSON in `metas`, handing out new ids (and storing the
    JSON under them) for those the source never had. Without `hand_out` (a dry run), nothing
    is written and those get a stand-in that is no meta id (`new:<n>`)."""
    unique = list(dict.fromkeys(metas))
    known = client.hmget(source_keys.metaidx, unique) if unique else []
    ids = {m: i for m, i in zip(unique, known, strict=True) if i is not None}
    missing = [m for m, i in zip(unique, known, strict=True) if i is None]
    if missing and not hand_out:
        ids.update({m: f"new:{n}" for n, m in enumerate(missing)})
    elif missing:
        last = int(client.incrby(source_keys.metaseq, len(missing)))
        fresh = {m: str(last - len(missing) + 1 + n) for n, m in enumerate(missing)}
        pipe = client.pipeline(transaction=False)
        pipe.hset(source_keys.meta, mapping={i: m for m, i in fresh.items()})
        pipe.hset(source_keys.metaidx, mapping=fresh)
        pipe.execute()
        ids.update(fresh)
    return ids


def provenances(
    client: Any, keys: KeySpace, pairs: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    """The provenance JSON of each (source, meta id) pair; unknown ids are left out."""
    by_source: dict[str, set[str]] = defaultdict(set)
    for source, meta_id in pairs:
        by_source[source].add(meta_id)
    out: dict[tuple[str, str], str] = {}
    for source, ids in by_source.items():
        ordered = sorted(ids)
        values = client.hmget(keys.source(source).meta, ordered)
        out.update({(source, i): v for i, v in zip(ordered, values, strict=True) if v})
    return out


def source_entries(client: Any, keys: KeySpace, source: str) -> dict[EntryKey, str]:
    """Every entry of one source: key -> provenance JSON."""
    state = read_state(client, keys.source(source), None, None)
    metas: dict[str, str] = client.hgetall(keys.source(source).meta)
    out: dict[EntryKey, str] = {}
    for bucket_id, fields in state.numbers.items():
        for f, meta_id in fields.items():
            out[(join(bucket_id, f), False)] = metas.get(meta_id, "{}")
    for prefix, meta_id in state.prefixes.items():
        out[(prefix, True)] = metas.get(meta_id, "{}")
    return out
