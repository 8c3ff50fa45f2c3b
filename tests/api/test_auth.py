"""The auth matrix: every endpoint x (no key, bad key, read, write, admin)."""

from __future__ import annotations

import pytest

from api.app import create_app
from blocklist.settings import Settings

NUMBER = "+31855550101"
SUB = "+31612345678"
OTHER = "+31205550199"
FEED = (b'{"feed":{"format":"screening-feed/v1","source":"acm","mode":"delta"},"records":'
        b'[{"number":"+31855550102","category":"revoked","op":"add"}]}')
FEED_CONFIG = {"url": "https://feeds.example.org/acm.csv", "format": "delimited"}

# (method, path template as routed, concrete path, role needed, JSON body or raw bytes)
ENDPOINTS = [
    ("GET", "/v1/numbers/{number}", f"/v1/numbers/{NUMBER}?direction=inbound", "read", None),
    ("GET", "/v1/entries", "/v1/entries", "read", None),
    ("POST", "/v1/entries", "/v1/entries", "write", {"number": NUMBER, "category": "fraud"}),
    ("GET", "/v1/entries/{source}/{entry_key}", f"/v1/entries/manual/{NUMBER}", "read", None),
    ("PATCH", "/v1/entries/{source}/{entry_key}", f"/v1/entries/manual/{NUMBER}", "write",
     {"reason": "checked"}),
    ("DELETE", "/v1/entries/{source}/{entry_key}", f"/v1/entries/manual/{NUMBER}", "write",
     None),
    ("POST", "/v1/entries/import", "/v1/entries/import", "write", FEED),
    ("GET", "/v1/entries/export", "/v1/entries/export", "read", None),
    ("GET", "/v1/allowlist", "/v1/allowlist", "read", None),
    ("POST", "/v1/allowlist", "/v1/allowlist", "write", {"number": OTHER}),
    ("DELETE", "/v1/allowlist/{entry_key}", f"/v1/allowlist/{OTHER}", "write", None),
    ("GET", "/v1/registered", "/v1/registered", "read", None),
    ("POST", "/v1/registered", "/v1/registered", "write", {"number": OTHER}),
    ("DELETE", "/v1/registered/{entry_key}", f"/v1/registered/{OTHER}", "write", None),
    ("GET", "/v1/subscribers/{number}", f"/v1/subscribers/{SUB}", "read", None),
    ("PUT", "/v1/subscribers/{number}", f"/v1/subscribers/{SUB}", "write", {"mode": "strict"}),
    ("DELETE", "/v1/subscribers/{number}", f"/v1/subscribers/{SUB}", "write", None),
    ("POST", "/v1/subscribers/{number}/allowlist", f"/v1/subscribers/{SUB}/allowlist", "write",
     {"number": OTHER}),
    ("DELETE", "/v1/subscribers/{number}/allowlist/{other}",
     f"/v1/subscribers/{SUB}/allowlist/{OTHER}", "write", None),
    ("POST", "/v1/reports", "/v1/reports", "write", {"number": NUMBER, "reporter": SUB}),
    ("GET", "/v1/reports/{number}", f"/v1/reports/{NUMBER}", "read", None),
    ("GET", "/v1/reports", "/v1/reports", "read", None),
    ("POST", "/v1/reports/{number}/promote", f"/v1/reports/{NUMBER}/promote", "write",
     {"category": "fraud", "reason": "confirmed"}),
    ("POST", "/v1/reports/{number}/dismiss", f"/v1/reports/{NUMBER}/dismiss", "write",
     {"reason": "a school"}),
    ("GET", "/v1/activity", "/v1/activity", "read", None),
    ("GET", "/v1/activity/{number}", f"/v1/activity/{NUMBER}", "read", None),
    ("POST", "/v1/disputes", "/v1/disputes", "write",
     {"number": OTHER, "contact": "bank", "text": "our line"}),
    ("GET", "/v1/disputes", "/v1/disputes", "read", None),
    ("GET", "/v1/disputes/{dispute_id}", "/v1/disputes/1", "read", None),
    ("POST", "/v1/disputes/{dispute_id}/uphold", "/v1/disputes/1/uphold", "write",
     {"reason": "confirmed"}),
    ("POST", "/v1/disputes/{dispute_id}/reject", "/v1/disputes/1/reject", "write",
     {"reason": "spoofed"}),
    ("GET", "/v1/feeds", "/v1/feeds", "read", None),
    ("GET", "/v1/feeds/{feed_id}", "/v1/feeds/acm", "read", None),
    ("PUT", "/v1/feeds/{feed_id}", "/v1/feeds/acm", "write", FEED_CONFIG),
    ("DELETE", "/v1/feeds/{feed_id}", "/v1/feeds/acm", "write", None),
    ("GET", "/v1/feeds/{feed_id}/runs", "/v1/feeds/acm/runs", "read", None),
    ("POST", "/v1/feeds/{feed_id}/sync", "/v1/feeds/acm/sync?dry_run=true", "write", None),
    ("GET", "/v1/keys", "/v1/keys", "admin", None),
    ("POST", "/v1/keys", "/v1/keys", "admin", {"name": "robot", "role": "read"}),
    ("DELETE", "/v1/keys/{key_id}", "/v1/keys/0123456789ab", "admin", None),
    ("GET", "/v1/audit", "/v1/audit", "admin", None),
    ("GET", "/healthz", "/healthz", None, None),
    ("GET", "/readyz", "/readyz", None, None),
    ("GET", "/metrics", "/metrics", None, None),
]
RANK = {None: -1, "read": 0, "write": 1, "admin": 2}
CALLERS = ["none", "bad", "read", "write", "admin"]


def expected(needed: str | None, caller: str) -> str:
    if needed is None:
        return "allowed"
    if caller in ("none", "bad"):
        return "401"
    return "allowed" if RANK[caller] >= RANK[needed] else "403"


def test_matrix_covers_every_route(settings: Settings) -> None:
    """Every operation the app describes is in the auth matrix."""
    paths = create_app(settings).openapi()["paths"]
    served = {(m.upper(), p) for p, ops in paths.items() for m in ops}
    assert served == {(m, t) for m, t, *_ in ENDPOINTS}


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize(("method", "template", "path", "needed", "body"), ENDPOINTS,
                         ids=[f"{m} {t}" for m, t, *_ in ENDPOINTS])
def test_auth_matrix(api, method, template, path, needed, body, caller) -> None:
    """No key or a bad key gets 401, a lower role 403, and any allowed role gets past auth."""
    if caller == "none":
        client = api.client()
    elif caller == "bad":
        client = api.client(token="csk_0123456789ab_" + "x" * 43)
    else:
        client = api.client(caller)
    kwargs = {"content": body} if isinstance(body, bytes) else {"json": body}
    response = client.request(method, path, **({} if body is None else kwargs))
    outcome = expected(needed, caller)
    if outcome == "allowed":
        assert response.status_code not in (401, 403), response.text
        assert response.status_code < 500, response.text
    else:
        assert response.status_code == int(outcome), response.text
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["status"] == int(outcome)
        if outcome == "401":
            assert response.headers["www-authenticate"].startswith("Bearer")


def test_x_api_key_header_is_accepted(api) -> None:
    """A key sent as X-API-Key works like the bearer header."""
    client = api.client()
    response = client.get("/v1/entries", headers={"X-API-Key": api.tokens["read"]})
    assert response.status_code == 200


def test_revoked_key_is_refused(api, admin) -> None:
    """A revoked key gets 401 on its next request."""
    reader = api.client("read")
    assert reader.get("/v1/entries").status_code == 200
    assert admin.delete(f"/v1/keys/{api.key_ids['read']}").status_code == 204
    assert reader.get("/v1/entries").status_code == 401


def test_keys_are_stored_hashed(api) -> None:
    """No key appears anywhere in Redis: only its SHA-256."""
    dump = repr({k: api.store.redis.dump(k) for k in api.store.redis.keys("*")})
    for token in api.tokens.values():
        assert token not in dump
        assert token.split("_", 2)[2] not in dump  # the secret may hold "_" itself


def test_forced_import_needs_admin(api) -> None:
    """force on an import is admin-only, even for a write key."""
    response = api.client("write").post("/v1/entries/import?force=true", content=FEED)
    assert response.status_code == 403
    assert api.client("admin").post("/v1/entries/import?force=true",
                                    content=FEED).status_code == 200
