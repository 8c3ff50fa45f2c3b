"""What every console page shares: templates, the language catalogues, who is signed in, the
CSRF check, and the answers for refusals.

Pages are Jinja2 templates with autoescape on: every value a page shows (an entry's reason, a
feed's error, a number as typed) is text, never markup. Strings a person reads come from one
catalogue per language (`catalog/en.json`, `catalog/nl.json`); the language is the
`cs_lang` cookie, else the browser's preference, else English. An error the API or the core
answers with is the catalogue's `problem.<code>` when it carries an `ErrorCode`; otherwise
its English detail (`error_text`).

Access is the API's: a session is an API key signed in (`blocklist.store.sessions`), read
again on every request; `Viewer` carries it. A page that changes anything needs the role the
API endpoint needs (`write_access`, `admin_access`: 403 otherwise) and the session's CSRF
token in the form (`changes`: 403 without it), on top of the SameSite=Strict cookie.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import quote

import jinja2
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError
from starlette.datastructures import FormData

from api.context import Context, get_context
from api.problems import Problem
from blocklist.errors import (
    ErrorCode,
    FeedError,
    InvalidEntryError,
    InvalidNumberError,
    SyncRefusedError,
)
from blocklist.store.apikeys import Role
from blocklist.store.sessions import Session, read_session

HERE = Path(__file__).parent
PREFIX = "/console"
LANGUAGES = ("en", "nl")
SESSION_COOKIE = "cs_console"
LANGUAGE_COOKIE = "cs_lang"
SESSION_TTL_S = 8 * 3600  # a working day: then sign in again
# Pages are self-contained: no script, style or image from anywhere but this server, no
# inline script, no framing. A value that slipped past escaping still could not run.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self';"
                               " img-src 'self'; form-action 'self'; frame-ancestors 'none';"
                               " base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
T = TypeVar("T")


@cache
def catalog(language: str) -> dict[str, str]:
    """The strings of one language, by key."""
    data: dict[str, str] = json.loads((HERE / "catalog" / f"{language}.json").read_text("utf-8"))
    return data


def translate(language: str, key: str, **values: object) -> str:
    """The catalogue's text for `key`, with `{name}` placeholders filled; English when the
    language lacks it, the key itself when no catalogue has it (a test keeps both whole)."""
    text = catalog(language).get(key) or catalog("en").get(key) or key
    return text.format(**values) if values else text


@cache
def templates() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"),
                              autoescape=True, undefined=jinja2.StrictUndefined,
                              trim_blocks=True, lstrip_blocks=True)


def over_tls(request: Request) -> bool:
    """Whether the browser reached us over TLS: directly, or through a proxy that says so.
    Trusting the proxy's header here is safe: it can only make a cookie `Secure`."""
    return (request.url.scheme == "https"
            or request.headers.get("x-forwarded-proto", "").lower() == "https")


def language_of(request: Request) -> str:
    chosen = request.cookies.get(LANGUAGE_COOKIE, "")
    if chosen in LANGUAGES:
        return chosen
    for part in request.headers.get("accept-language", "").split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in LANGUAGES:
            return tag
    return "en"


class SignInNeeded(Exception):
    """No live session: the answer is the sign-in page."""


class Refusal(Exception):
    """The console refuses the request: `status` (403, 429, ...) and a catalogue key."""

    def __init__(self, status: int, message_key: str, **values: object) -> None:
        super().__init__(message_key)
        self.status = status
        self.message_key = message_key
        self.values = values


@dataclass(frozen=True, slots=True)
class Viewer:
    """The person signed in: their session (and so their key and role) and language."""

    session: Session
    language: str
    context: Context

    @property
    def can_write(self) -> bool:
        return self.session.key.role.allows(Role.WRITE)

    @property
    def is_admin(self) -> bool:
        return self.session.key.role.allows(Role.ADMIN)


def viewer(request: Request, context: Annotated[Context, Depends(get_context)]) -> Viewer:
    """FastAPI dependency: the signed-in viewer, or the sign-in page."""
    session = read_session(context.store, request.cookies.get(SESSION_COOKIE, ""))
    if session is None:
        raise SignInNeeded
    request.state.key_id = session.key.id  # the access log names the key, as for the API
    return Viewer(session, language_of(request), context)


def _needs(role: Role) -> Callable[[Viewer], Viewer]:
    def check(who: Annotated[Viewer, Depends(viewer)]) -> Viewer:
        if not who.session.key.role.allows(role):
            raise Refusal(403, "error.role", role=role.value, has=who.session.key.role.value)
        return who

    return check


Reading = Annotated[Viewer, Depends(viewer)]
Writing = Annotated[Viewer, Depends(_needs(Role.WRITE))]
Administering = Annotated[Viewer, Depends(_needs(Role.ADMIN))]


async def posted_form(request: Request, who: Reading) -> FormData:
    """The posted form, refused (403) unless it carries the session's CSRF token."""
    form = await request.form()
    sent = form.get("csrf")
    if not isinstance(sent, str) or not hmac.compare_digest(sent.encode(),
                                                            who.session.csrf.encode()):
        raise Refusal(403, "error.csrf")
    return form


Form = Annotated[FormData, Depends(posted_form)]


def text_field(form: FormData, name: str, default: str = "") -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else default


def attempt(call: Callable[[], T], language: str) -> tuple[T | None, str | None]:
    """Run one of the API's own functions: its result, or the error it answers with, as
    `error_text` says it in `language` (naming the bad value)."""
    try:
        return call(), None
    except Problem as problem:
        return None, error_text(language, problem.detail, problem.code, problem.values)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        message = str(first.get("msg", "invalid"))
        return None, error_text(language, f"{where}: {message}" if where else message)
    except (InvalidNumberError, InvalidEntryError, FeedError, SyncRefusedError) as error:
        return None, error_text(language, str(error), error.code, error.values)


def error_text(language: str, detail: str, code: ErrorCode | None = None,
               values: Mapping[str, str] | None = None) -> str:
    """An error as the console shows it: the catalogue's `problem.<code>` in `language`,
    filled with `values`, when the error has a code the catalogue knows; otherwise the API's
    English `detail`, which a language other than English leads with a short "the API
    says" (`problem.api_says`)."""
    if code is not None and f"problem.{code}" in catalog("en"):
        try:
            return translate(language, f"problem.{code}", **(values or {}))
        except (KeyError, IndexError):  # values lack a placeholder: the detail names them
            pass
    return translate(language, "problem.api_says", detail=detail)


def page(request: Request, who: Viewer | None, template: str, *, status: int = 200,
         **values: Any) -> HTMLResponse:
    """Render `template` for `who` (None on the sign-in page)."""
    language = who.language if who is not None else language_of(request)

    def t(key: str, **fill: object) -> str:
        return translate(language, key, **fill)

    body = templates().get_template(template).render(
        t=t, lang=language, viewer=who, csrf=who.session.csrf if who else "",
        path=request.url.path, query=str(request.url.query), prefix=PREFIX,
        flash=_flash(request, language), **values)
    return HTMLResponse(body, status_code=status, headers=SECURITY_HEADERS)


def _flash(request: Request, language: str) -> str:
    """The confirmation a redirect after a change asked for (`?done=<key>&subject=...`)."""
    key = request.query_params.get("done", "")
    if not key or f"done.{key}" not in catalog("en"):
        return ""
    return translate(language, f"done.{key}", subject=request.query_params.get("subject", "")[:80])


def after_change(path: str, done: str, subject: str = "",
                 extra: Mapping[str, str] | None = None) -> RedirectResponse:
    """Post/redirect/get: back to `path`, saying what was done."""
    query = {"done": done, "subject": subject, **(extra or {})}
    separator = "&" if "?" in path else "?"
    target = path + separator + "&".join(f"{k}={quote(v, safe='')}" for k, v in query.items())
    return RedirectResponse(target, status_code=303)


def local_path(candidate: str) -> str:
    """`candidate` if it is a console path on this server, else the console's home (never an
    open redirect)."""
    if candidate.startswith(PREFIX) and not candidate.startswith("//") and "\\" not in candidate:
        return candidate
    return PREFIX + "/lookup"
