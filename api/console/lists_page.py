"""The allowlist, and subscribers (mode, prompt language, personal allowlist), through the
API's own handlers (`api.allowlist`, `api.subscribers`), checked and audited as there."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from api import allowlist, subscribers
from api.console.web import PREFIX, Form, Reading, Writing, after_change, attempt, page
from api.console.web import text_field as field
from api.models import AllowCreate, PersonalAllow, SubscriberChange

router = APIRouter(prefix=PREFIX, include_in_schema=False)
PAGE_SIZE = 100


@router.get("/allowlist", response_class=HTMLResponse)
def allowlist_page(request: Request, who: Reading, cursor: str = "") -> Response:
    listed, error = attempt(lambda: allowlist.list_allowlist(
        who.context, who.session.key, cursor[:400] or None, PAGE_SIZE), who.language)
    return page(request, who, "allowlist.html", listed=listed, error=error,
                values={"number": request.query_params.get("number", "")[:64]})


@router.post("/allowlist", response_class=HTMLResponse)
def allow(request: Request, who: Writing, form: Form) -> Response:
    typed, reason = field(form, "number"), field(form, "reason")
    key_field = "prefix" if typed.endswith(("*", "x", "X")) else "number"
    added, error = attempt(lambda: allowlist.add_allow(
        AllowCreate.model_validate({key_field: typed, "reason": reason}), who.context,
        who.session.key), who.language)
    if added is None:
        listed, _ = attempt(lambda: allowlist.list_allowlist(
            who.context, who.session.key, None, PAGE_SIZE), who.language)
        return page(request, who, "allowlist.html", status=422, listed=listed, error=error,
                    values={"number": typed[:64], "reason": reason[:500]})
    return after_change(PREFIX + "/allowlist", "allowed", added.key)


@router.post("/allowlist/remove", response_class=HTMLResponse)
def disallow(request: Request, who: Writing, form: Form) -> Response:
    key = field(form, "key")[:20]
    _, error = attempt(lambda: allowlist.remove_allow(key, who.context, who.session.key,
                                                      field(form, "reason")[:500]), who.language)
    if error is not None:
        listed, _ = attempt(lambda: allowlist.list_allowlist(
            who.context, who.session.key, None, PAGE_SIZE), who.language)
        return page(request, who, "allowlist.html", status=404, listed=listed, error=error,
                    values={})
    return after_change(PREFIX + "/allowlist", "disallowed", key)


@router.get("/subscribers", response_class=HTMLResponse)
def subscriber_page(request: Request, who: Reading, number: str = "") -> Response:
    found, error = None, None
    if number.strip():
        found, error = attempt(lambda: subscribers.read_subscriber(
            number.strip()[:64], who.context, who.session.key), who.language)
    return page(request, who, "subscribers.html", number=number[:64], found=found,
                error=error)


def _back(number: str, done: str, subject: str = "") -> Response:
    return after_change(f"{PREFIX}/subscribers?number={number.replace('+', '%2B')}", done,
                        subject or number)


@router.post("/subscribers/settings", response_class=HTMLResponse)
def set_settings(request: Request, who: Writing, form: Form) -> Response:
    number = field(form, "number")[:64]
    changed, error = attempt(lambda: subscribers.set_subscriber(
        number, SubscriberChange.model_validate({
            "mode": field(form, "mode") or None, "language": field(form, "language") or None}),
        who.context, who.session.key), who.language)
    if changed is None:
        return page(request, who, "subscribers.html", status=422, number=number, found=None,
                    error=error)
    return _back(changed.number, "subscriber_set")


@router.post("/subscribers/forget", response_class=HTMLResponse)
def forget(request: Request, who: Writing, form: Form) -> Response:
    number = field(form, "number")[:64]
    _, error = attempt(lambda: subscribers.delete_subscriber(number, who.context,
                                                             who.session.key), who.language)
    if error is not None:
        return page(request, who, "subscribers.html", status=404, number=number, found=None,
                    error=error)
    return _back(number, "subscriber_forgotten")


@router.post("/subscribers/allow", response_class=HTMLResponse)
def personal_allow(request: Request, who: Writing, form: Form) -> Response:
    number, other = field(form, "number")[:64], field(form, "other")[:64]
    changed, error = attempt(lambda: subscribers.personal_allow(
        number, PersonalAllow.model_validate({"number": other}), who.context,
        who.session.key), who.language)
    if changed is None:
        found, _ = attempt(lambda: subscribers.read_subscriber(number, who.context,
                                                               who.session.key), who.language)
        return page(request, who, "subscribers.html", status=422, number=number, found=found,
                    error=error)
    return _back(changed.number, "personal_allowed", other)


@router.post("/subscribers/disallow", response_class=HTMLResponse)
def personal_disallow(request: Request, who: Writing, form: Form) -> Response:
    number, other = field(form, "number")[:64], field(form, "other")[:64]
    _, error = attempt(lambda: subscribers.personal_disallow(number, other, who.context,
                                                             who.session.key), who.language)
    if error is not None:
        found, _ = attempt(lambda: subscribers.read_subscriber(number, who.context,
                                                               who.session.key), who.language)
        return page(request, who, "subscribers.html", status=404, number=number, found=found,
                    error=error)
    return _back(number, "personal_disallowed", other)
