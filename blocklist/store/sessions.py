"""The web console's sessions, sign-in attempts and waiting imports.

A session is what an API key becomes when someone signs in to the console: a random token in
an HttpOnly cookie, and in Redis only its SHA-256 (a copy of Redis gives nobody a session),
holding the key's id and the session's CSRF token. It expires `ttl_s` after sign-in, whatever
happens; signing out deletes it. The key is read again on every request, so a revoked key or
a changed role takes effect at once.

    {cs}:session:<h>         hash    `key_id`, `csrf`, `created` (Unix seconds); expires
    {cs}:session:<h>:upload  string  an uploaded import (base64) between its preview and its
                                     apply; expires with the preview
    {cs}:signin-fail:<h>     string  sign-in attempts from one client address (h: its hash)
                                     within the window, less those that signed in; expires
                                     after the window

(`KeySpace.session`, `session_upload`, `signin_failures`, `blocklist.store.layout`.)
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
import time
from dataclasses import dataclass

from blocklist.store.admin import Store
from blocklist.store.apikeys import ApiKey, list_keys
from blocklist.store.redis_boundary import translated_errors

MAX_TOKEN_CHARS = 100


@dataclass(frozen=True, slots=True)
class Session:
    """A live console session: the key it signed in with, and its CSRF token."""

    token_hash: str
    key: ApiKey
    csrf: str
    created: float


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def create_session(store: Store, key: ApiKey, ttl_s: int) -> tuple[str, Session]:
    """Start a session for `key`; returns the token (for the cookie, never stored) and it."""
    token = secrets.token_urlsafe(32)
    session = Session(_hash(token), key, secrets.token_urlsafe(32), time.time())
    name = store.keys.session(session.token_hash)
    with translated_errors("start a console session"):
        pipe = store.redis.pipeline(transaction=True)
        pipe.hset(name, mapping={"key_id": key.id, "csrf": session.csrf,
                                 "created": str(int(session.created))})
        pipe.expire(name, ttl_s)
        pipe.execute()
    return token, session


def read_session(store: Store, token: str) -> Session | None:
    """The live session a cookie's token names, or None (unknown, expired, or its key was
    revoked since)."""
    if not token or len(token) > MAX_TOKEN_CHARS:
        return None
    token_hash = _hash(token)
    with translated_errors("read a console session"):
        fields: dict[str, str] = store.redis.hgetall(store.keys.session(token_hash))
    if not fields.get("key_id") or not fields.get("csrf"):
        return None
    key = next((k for k in list_keys(store) if k.id == fields["key_id"]), None)
    if key is None:
        return None
    return Session(token_hash, key, fields["csrf"], float(fields.get("created") or 0))


def end_session(store: Store, session: Session) -> None:
    """Sign out: the session and anything it left waiting are gone."""
    with translated_errors("end a console session"):
        store.redis.delete(store.keys.session(session.token_hash),
                           store.keys.session_upload(session.token_hash))


def count_signin_attempt(store: Store, client: str, window_s: int) -> int:
    """Count a sign-in attempt from `client` (an address) before its key is checked; returns
    the attempts within the window, this one included. One atomic INCR, so however many
    attempts run at once each sees its own number and a limit compared with it holds. The
    window starts at the first attempt and is never extended."""
    name = store.keys.signin_failures(_hash(client))
    with translated_errors("count a sign-in attempt"):
        pipe = store.redis.pipeline(transaction=True)
        pipe.incr(name)
        pipe.expire(name, window_s, nx=True)
        count, _ = pipe.execute()
    return int(count)


# Take back one attempt, only while the window lasts: a plain DECR after the key expired
# would create it again, at -1 and without an expiry.
_REFUND_SCRIPT = """
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count > 0 then return redis.call('DECR', KEYS[1]) end
return 0
"""


def refund_signin_attempt(store: Store, client: str) -> None:
    """A counted attempt that signed in is not a failure: take back that one attempt (only
    it: the other attempts of `client`, someone else's failures among them, stay counted)."""
    with translated_errors("take back a sign-in attempt"):
        store.redis.eval(_REFUND_SCRIPT, 1, store.keys.signin_failures(_hash(client)))


def stash_upload(store: Store, session: Session, data: bytes, ttl_s: int) -> None:
    """Keep an uploaded import for this session until it is applied (one at a time: a new
    upload replaces the one waiting)."""
    with translated_errors("keep an upload"):
        store.redis.set(store.keys.session_upload(session.token_hash),
                        base64.b64encode(data).decode(), ex=ttl_s)


def stashed_upload(store: Store, session: Session) -> bytes | None:
    """The upload waiting for this session, or None (never made, applied, or expired)."""
    with translated_errors("read an upload"):
        raw = store.redis.get(store.keys.session_upload(session.token_hash))
    if raw is None:
        return None
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        return None


def drop_upload(store: Store, session: Session) -> None:
    with translated_errors("drop an upload"):
        store.redis.delete(store.keys.session_upload(session.token_hash))
