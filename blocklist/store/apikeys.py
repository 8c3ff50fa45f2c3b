"""API keys for the admin API: made and revoked with `callscreen keys`, stored hashed.

A key is `csk_<id>_<secret>`: `id` (12 hex digits) names the key in listings, the audit trail
and logs; `secret` is 32 random bytes (URL-safe base64). Only the SHA-256 of the whole key is
kept, so a copy of Redis gives nobody a usable key; a high-entropy secret needs no slow hash.
A presented key is looked up by its id and compared in constant time.

    {cs}:apikeys   hash  key id -> JSON {name, role, sha256, created_at, created_by}
                   (the name is `KeySpace.apikeys`, `blocklist.store.layout`)

Revoking a key deletes it: the next request with it gets 401.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from enum import StrEnum

from blocklist.errors import InvalidEntryError
from blocklist.store.admin import Store
from blocklist.store.redis_boundary import translated_errors

_KEY = re.compile(r"csk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")
NAME_PATTERN = re.compile(r"[A-Za-z0-9_.@:-]{1,64}")


class Role(StrEnum):
    """What a key may do; each role may do everything the ones before it may."""

    READ = "read"
    WRITE = "write"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A stored key, without its secret."""

    id: str
    name: str
    role: Role
    created_at: str
    created_by: str


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_key(store: Store, name: str, role: Role, created_by: str) -> tuple[ApiKey, str]:
    """Make a key; returns it and the token, which is shown once and never stored."""
    if not NAME_PATTERN.fullmatch(name):
        raise InvalidEntryError(f"key name {name!r}: 1-64 of A-Z a-z 0-9 _ . @ : -")
    key_id = secrets.token_hex(6)
    token = f"csk_{key_id}_{secrets.token_urlsafe(32)}"
    key = ApiKey(key_id, name, role, dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                 created_by)
    record = {"name": name, "role": role.value, "sha256": _hash(token),
              "created_at": key.created_at, "created_by": created_by}
    with translated_errors("store an API key"):
        store.redis.hset(store.keys.apikeys, key_id, json.dumps(record, sort_keys=True))
    store.confirm_durable("the new API key")
    return key, token


def _from_json(key_id: str, raw: str) -> ApiKey:
    data = json.loads(raw)
    return ApiKey(key_id, data["name"], Role(data["role"]), data["created_at"],
                  data.get("created_by", ""))


def list_keys(store: Store) -> list[ApiKey]:
    with translated_errors("list API keys"):
        raw: dict[str, str] = store.redis.hgetall(store.keys.apikeys)
    return sorted((_from_json(i, v) for i, v in raw.items()), key=lambda k: (k.created_at, k.id))


def revoke_key(store: Store, key_id: str) -> ApiKey | None:
    """Delete a key; returns what it was, or None when there was no such key."""
    with translated_errors("revoke an API key"):
        raw = store.redis.hget(store.keys.apikeys, key_id)
        if raw is None:
            return None
        store.redis.hdel(store.keys.apikeys, key_id)
    store.confirm_durable("the key's revocation")
    return _from_json(key_id, raw)


def authenticate(store: Store, token: str) -> ApiKey | None:
    """The key a presented token is, or None. Compares in constant time."""
    match = _KEY.fullmatch(token)
    if match is None:
        return None
    with translated_errors("read an API key"):
        raw = store.redis.hget(store.keys.apikeys, match.group(1))
    if raw is None:
        return None
    data = json.loads(raw)
    if not hmac.compare_digest(_hash(token), str(data.get("sha256", ""))):
        return None
    return _from_json(match.group(1), raw)
