"""Signing in (an API key becomes a session cookie), signing out, and the language switch.

Sign-in attempts are counted per client address (`api.client_address`: the peer, or behind a
trusted proxy the address it forwards) before the key is checked, so however many arrive at
once at most `MAX_FAILED_SIGNINS` keys are tried per address within `FAILED_SIGNIN_WINDOW_S`;
later attempts are refused (429) until the window ends, without the key being checked. An
attempt that signs in is taken back (it was no guess); it clears no other attempt, so a
colleague signing in from the same address does not reset an attacker's count. Every failure,
and every sign-in, is in the audit trail (never the key itself: a failure names at most the id
part of what was typed, when it has the shape of a key).
"""

from __future__ import annotations

import hmac
import re
import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.client_address import client_address
from api.console.web import (
    LANGUAGE_COOKIE,
    LANGUAGES,
    PREFIX,
    SESSION_COOKIE,
    SESSION_TTL_S,
    Form,
    Reading,
    Refusal,
    local_path,
    over_tls,
    page,
)
from api.context import Context, get_context
from blocklist.store import audit
from blocklist.store.apikeys import authenticate
from blocklist.store.sessions import (
    count_signin_attempt,
    create_session,
    end_session,
    refund_signin_attempt,
)

router = APIRouter(prefix=PREFIX, include_in_schema=False)
Ctx = Annotated[Context, Depends(get_context)]
MAX_FAILED_SIGNINS = 5
FAILED_SIGNIN_WINDOW_S = 15 * 60
MAX_KEY_CHARS = 200
SIGNIN_COOKIE = "cs_signin"
SIGNIN_FORM_TTL_S = 3600
_KEY_ID = re.compile(r"csk_([0-9a-f]{12})_")


def _client(request: Request, context: Context) -> str:
    return client_address(request.client.host if request.client else "unknown",
                          request.headers.getlist("x-forwarded-for"),
                          context.settings.trusted_proxies)


@router.get("", response_class=HTMLResponse)
def home() -> RedirectResponse:
    return RedirectResponse(PREFIX + "/lookup", status_code=303)


def _signin_form(request: Request, target: str, *, status: int = 200,
                 error: str = "") -> HTMLResponse:
    """The sign-in form, with a fresh token in a cookie and in the form: a sign-in POST
    without both (a page elsewhere signing the browser in with someone else's key) is
    refused."""
    token = secrets.token_urlsafe(32)
    response = page(request, None, "signin.html", status=status, next=target, error=error,
                    signin_token=token)
    response.set_cookie(SIGNIN_COOKIE, token, max_age=SIGNIN_FORM_TTL_S, path=PREFIX,
                        httponly=True, samesite="strict", secure=over_tls(request))
    return response


@router.get("/signin", response_class=HTMLResponse)
def signin_page(request: Request, next: str = "") -> HTMLResponse:
    return _signin_form(request, local_path(next))


@router.post("/signin", response_class=HTMLResponse)
async def signin(request: Request, context: Ctx) -> Response:
    form = await request.form()
    sent, expected = form.get("signin_token"), request.cookies.get(SIGNIN_COOKIE, "")
    if not isinstance(sent, str) or not expected or not hmac.compare_digest(
            sent.encode(), expected.encode()):
        raise Refusal(403, "error.csrf")
    typed = form.get("key")
    token = typed.strip() if isinstance(typed, str) else ""
    target = form.get("next")
    target = local_path(target if isinstance(target, str) else "")
    client = _client(request, context)
    # Counted first, compared with the count this attempt got: a check before the key and a
    # count after it would let parallel attempts all pass the check.
    if count_signin_attempt(context.store, client, FAILED_SIGNIN_WINDOW_S) > MAX_FAILED_SIGNINS:
        raise Refusal(429, "error.signin_limit", minutes=FAILED_SIGNIN_WINDOW_S // 60)
    key = authenticate(context.store, token) if 0 < len(token) <= MAX_KEY_CHARS else None
    if key is None:
        shaped = _KEY_ID.match(token)
        audit.record(context.store, "console", "console.signin-failed", client,
                     {"key_id": shaped.group(1)} if shaped else {},
                     max_events=context.settings.audit_max_events)
        return _signin_form(request, target, status=401, error="error.signin")
    refund_signin_attempt(context.store, client)
    cookie, _ = create_session(context.store, key, SESSION_TTL_S)
    context.audit(key, "console.signin", key.id, {"client": client})
    response = RedirectResponse(target, status_code=303)
    response.delete_cookie(SIGNIN_COOKIE, path=PREFIX)
    response.set_cookie(SESSION_COOKIE, cookie, max_age=SESSION_TTL_S, path=PREFIX,
                        httponly=True, samesite="strict",
                        secure=over_tls(request))
    return response


@router.post("/signout")
def signout(request: Request, who: Reading, _form: Form) -> RedirectResponse:
    end_session(who.context.store, who.session)
    response = RedirectResponse(PREFIX + "/signin", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path=PREFIX, httponly=True, samesite="strict",
                           secure=over_tls(request))
    return response


@router.get("/language/{language}")
def switch_language(request: Request, language: str, next: str = "") -> RedirectResponse:
    """Only a preference (a cookie), so a link: it changes nothing stored."""
    response = RedirectResponse(local_path(next), status_code=303)
    if language in LANGUAGES:
        response.set_cookie(LANGUAGE_COOKIE, language, max_age=365 * 86400, path=PREFIX,
                            samesite="strict", secure=over_tls(request))
    return response
