"""The console's access rules over real HTTP (the session's uvicorn server): the session
cookie, failed sign-ins, sign-out, roles and CSRF, redirects and the page headers. The browser
tests (tests/browser/test_console.py) do the tasks; these pin the rules."""

from __future__ import annotations

import html
import re

import httpx
import pytest

from blocklist.entries import AppliesTo, Category, Entry
from blocklist.store import audit
from blocklist.store.apikeys import revoke_key
from tests.api.conftest import Api

SIGNIN = "/console/signin"


def sign_in(client: httpx.Client, key: str, target: str = "/console/entries") -> httpx.Response:
    """Post the sign-in form as a browser does: first fetch it (its token), then submit."""
    form = client.get(SIGNIN)
    token = re.search(r'name="signin_token" value="([^"]+)"', form.text)
    assert token is not None
    return client.post(SIGNIN, data={"key": key, "next": target,
                                     "signin_token": token.group(1)})


def signed_in(api: Api, role: str) -> tuple[httpx.Client, str]:
    """A client holding a console session of `role`, and the session's CSRF token."""
    client = httpx.Client(base_url=api.url, timeout=30, follow_redirects=True)
    api._clients.append(client)
    answer = sign_in(client, api.tokens[role])
    assert answer.status_code == 200, answer.text
    token = re.search(r'name="csrf" value="([^"]+)"', answer.text)
    assert token is not None
    return client, token.group(1)


def test_sign_in_sets_a_strict_httponly_session_cookie(api: Api) -> None:
    """A good key answers 303 to the page asked for, with an HttpOnly SameSite=Strict cookie
    scoped to /console and expiring; the key itself is not in it."""
    with httpx.Client(base_url=api.url) as client:
        answer = sign_in(client, api.tokens["read"], "/console/feeds")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/feeds"
    cookie = next(c for c in answer.headers.get_list("set-cookie")
                  if c.startswith("cs_console="))
    for attribute in ("HttpOnly", "SameSite=strict", "Path=/console", "Max-Age=28800"):
        assert attribute in cookie
    assert "Secure" not in cookie  # plain HTTP here; over TLS it is set
    assert api.tokens["read"] not in cookie


def test_a_page_without_a_session_redirects_to_sign_in(api: Api) -> None:
    """No session: 303 to the sign-in page, which returns to the page asked for."""
    with httpx.Client(base_url=api.url) as client:
        answer = client.get("/console/entries?source=acm")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/signin?next=/console/entries%3Fsource%3Dacm"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/console",
                                    "/v1/keys", "/console\\@evil.example"])
def test_sign_in_never_redirects_off_the_console(api: Api, target: str) -> None:
    """A `next` that is not a console path lands on the look-up page instead."""
    with httpx.Client(base_url=api.url) as client:
        answer = sign_in(client, api.tokens["read"], target)
        switched = client.get(f"/console/language/nl?next={target}")
    assert answer.headers["location"] == "/console/lookup"
    assert switched.headers["location"] == "/console/lookup"


def test_failed_sign_ins_are_audited_and_then_refused_for_a_while(api: Api) -> None:
    """Each failure is audited without the key; the sixth try is 429 even with a good key."""
    bad = "csk_0123456789ab_" + "x" * 43
    with httpx.Client(base_url=api.url) as client:
        failures = [sign_in(client, bad).status_code for _ in range(5)]
        refused = sign_in(client, api.tokens["admin"])
    assert failures == [401] * 5
    assert refused.status_code == 429
    assert "Too many failed sign-ins" in refused.text
    events, _ = audit.events(api.store, action="console.signin-failed")
    assert len(events) == 5
    assert events[0].actor == "console"
    assert events[0].target == "127.0.0.1"
    assert events[0].detail == {"key_id": "0123456789ab"}
    assert all(bad not in str(e) for e in events)


def test_a_sign_in_without_the_form_token_is_refused(api: Api) -> None:
    """A sign-in posted without the form's token (from a page elsewhere, say) is 403 and
    starts no session, even with a good key."""
    with httpx.Client(base_url=api.url) as client:
        bare = client.post(SIGNIN, data={"key": api.tokens["admin"]})
        client.get(SIGNIN)
        forged = client.post(SIGNIN, data={"key": api.tokens["admin"],
                                           "signin_token": "x" * 43})
    assert (bare.status_code, forged.status_code) == (403, 403)
    assert "set-cookie" not in bare.headers
    assert api.store.redis.keys("*session*") == []


def test_sign_in_is_audited_with_the_key_name(api: Api) -> None:
    """A sign-in is an audit event by the key's name."""
    signed_in(api, "write")
    events, _ = audit.events(api.store, action="console.signin")
    assert [(e.actor, e.target) for e in events] == [("test-write", api.key_ids["write"])]


def test_sign_out_ends_the_session(api: Api) -> None:
    """After sign-out the same cookie opens nothing."""
    client, csrf = signed_in(api, "read")
    assert client.post("/console/signout", data={"csrf": csrf}).status_code == 200
    assert client.get("/console/lookup", follow_redirects=False).status_code == 303


def test_a_revoked_key_ends_its_sessions(api: Api) -> None:
    """Revoking the key signs its sessions out at the next request."""
    client, _ = signed_in(api, "write")
    assert client.get("/console/entries").status_code == 200
    revoke_key(api.store, api.key_ids["write"])
    assert client.get("/console/entries", follow_redirects=False).status_code == 303


def test_a_forged_cookie_opens_nothing(api: Api) -> None:
    """A cookie value that no sign-in made is no session."""
    with httpx.Client(base_url=api.url, cookies={"cs_console": "A" * 43}) as client:
        assert client.get("/console/lookup").status_code == 303


@pytest.mark.parametrize(("role", "path", "status"), [
    ("read", "/console/entries/new", 403), ("read", "/console/import", 403),
    ("write", "/console/audit", 403), ("admin", "/console/audit", 200),
    ("read", "/console/feeds", 200),
])
def test_pages_need_the_role_their_api_endpoint_needs(api: Api, role: str, path: str,
                                                      status: int) -> None:
    """Write screens need write, the audit trail admin, exactly as in the API."""
    client, _ = signed_in(api, role)
    assert client.get(path).status_code == status


@pytest.mark.parametrize("path", ["/console/entries", "/console/allowlist",
                                  "/console/entries/paste", "/console/subscribers/settings"])
def test_changes_without_the_csrf_token_are_refused(api: Api, path: str) -> None:
    """Every change needs the session's CSRF token: 403 without it, nothing written."""
    client, _ = signed_in(api, "admin")
    answer = client.post(path, data={"number": "0855550101", "numbers": "0855550101",
                                     "category": "fraud", "mode": "strict"})
    assert answer.status_code == 403
    assert "security token" in answer.text
    assert api.store.sources() == []
    assert api.store.allowlist() == {}


def test_pages_carry_a_strict_content_security_policy(api: Api) -> None:
    """Console pages allow scripts and styles from the server only, and are not framed."""
    client, _ = signed_in(api, "read")
    headers = client.get("/console/lookup").headers
    policy = headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["cache-control"] == "no-store"


def test_the_language_follows_the_switch_then_the_browser(api: Api) -> None:
    """Dutch when the browser prefers it, English when the switch says so."""
    with httpx.Client(base_url=api.url, headers={"Accept-Language": "nl-NL,nl;q=0.9"}) as c:
        assert "Aanmelden" in c.get(SIGNIN).text
        c.get("/console/language/en?next=/console/signin")
        assert ">Sign in<" in c.get(SIGNIN).text


def test_the_cookie_is_secure_behind_a_tls_proxy(api: Api) -> None:
    """A proxy that says the browser came over TLS gets a Secure session cookie."""
    with httpx.Client(base_url=api.url, headers={"X-Forwarded-Proto": "https"}) as client:
        form = client.get(SIGNIN)
        token = re.search(r'name="signin_token" value="([^"]+)"', form.text)
        assert token is not None
        # httpx keeps a Secure cookie off plain HTTP; the browser, on TLS, would send it.
        answer = client.post(SIGNIN, headers={"Cookie": f"cs_signin={token.group(1)}"},
                             data={"key": api.tokens["read"], "signin_token": token.group(1)})
    assert "Secure" in form.headers["set-cookie"]
    cookie = next(c for c in answer.headers.get_list("set-cookie")
                  if c.startswith("cs_console="))
    assert "Secure" in cookie


def test_entries_page_by_cursor_and_a_bad_cursor_is_an_error_not_a_crash(api: Api) -> None:
    """51 entries: the first page has 50 and a next link that shows the 51st; a cursor we did
    not hand out says so on the page."""
    api.store.add_entries([Entry(key=f"318555502{n:02d}", is_prefix=False,
                                 category=Category.FRAUD, applies_to=AppliesTo.BOTH,
                                 source="manual") for n in range(51)])
    client, _ = signed_in(api, "read")
    first = client.get("/console/entries")
    link = re.search(r'href="(/console/entries\?[^"]*cursor=[^"]+)"', first.text)
    assert link is not None
    assert first.text.count('data-testid="reason"') == 50
    second = client.get(html.unescape(link.group(1)))
    assert second.text.count('data-testid="reason"') == 1
    assert "+31855550250" in second.text
    bad = client.get("/console/entries?cursor=nonsense")
    assert bad.status_code == 200
    assert "is not a position" in bad.text
    for path in ("/console/disputes?cursor=x", "/console/reports?cursor=x",
                 "/console/allowlist?cursor=x"):
        assert client.get(path).status_code == 200
