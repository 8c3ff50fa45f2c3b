"""The global allowlist and each subscriber's settings and personal allowlist: what the call
path reads besides the listing (`{cs}:allow`, `{cs}:sub:<digits>`, `blocklist.store.layout`).
"""

from __future__ import annotations

import json
import time
from typing import Any

from blocklist.entries import Mode, SubscriberSettings
from blocklist.store.layout import KeySpace
from blocklist.store.state import EntryKey


def _allow_field(key: EntryKey) -> str:
    return ("p" if key[1] else "n") + key[0]


def allow(client: Any, keys: KeySpace, key: EntryKey, note: dict[str, str]) -> None:
    client.hset(keys.allow, _allow_field(key), json.dumps(note, sort_keys=True))


def disallow(client: Any, keys: KeySpace, key: EntryKey) -> bool:
    return bool(client.hdel(keys.allow, _allow_field(key)))


def allowlist(client: Any, keys: KeySpace) -> dict[EntryKey, dict[str, str]]:
    raw = client.hgetall(keys.allow)
    return {(f[1:], f[0] == "p"): json.loads(v) for f, v in raw.items()}


def subscriber(client: Any, keys: KeySpace, number_digits: str
               ) -> tuple[SubscriberSettings, list[str]] | None:
    """A subscriber's settings and personal allowlist (digits), or None if unknown."""
    raw = client.hgetall(keys.subscriber(number_digits))
    if not raw:
        return None
    mode = raw.get("mode") or Mode.STANDARD.value
    settings = SubscriberSettings(Mode(mode), raw.get("lang") or None)
    return settings, sorted(f[1:] for f in raw if f.startswith("a"))


def set_subscriber(client: Any, keys: KeySpace, number_digits: str, mode: Mode | None,
                   language: str | None) -> None:
    """Set the given settings; with neither, make the subscriber known (mode standard)."""
    mapping = {}
    if mode is not None:
        mapping["mode"] = mode.value
    if language is not None:
        mapping["lang"] = language
    key = keys.subscriber(number_digits)
    if mapping:
        client.hset(key, mapping=mapping)
    else:
        client.hsetnx(key, "mode", Mode.STANDARD.value)


def personal_allow(client: Any, keys: KeySpace, subscriber_digits: str, number_digits: str,
                   *, add: bool) -> bool:
    """Add a number to (or remove it from) a subscriber's allowlist; True if that changed."""
    key = keys.subscriber(subscriber_digits)
    if add:
        client.hsetnx(key, "mode", Mode.STANDARD.value)
        return bool(client.hset(key, "a" + number_digits, str(int(time.time()))))
    return bool(client.hdel(key, "a" + number_digits))
