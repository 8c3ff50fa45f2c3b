"""Helpers for the console's browser tests: keys of each role, signing in, and reading what a
page shows."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from playwright.sync_api import Page

from blocklist.entries import AppliesTo, Category, Entry
from blocklist.store.admin import Store
from blocklist.store.apikeys import Role, create_key


@dataclass(frozen=True)
class Keys:
    """A token of each role, made for one test."""

    read: str
    write: str
    admin: str


def make_keys(store: Store) -> Keys:
    tokens = {role: create_key(store, f"desk-{role.value}", role, created_by="tests")[1]
              for role in Role}
    return Keys(tokens[Role.READ], tokens[Role.WRITE], tokens[Role.ADMIN])


def sign_in(page: Page, base_url: str, token: str, then: str = "/console/lookup") -> None:
    """Sign in through the sign-in form, landing on `then`."""
    page.goto(f"{base_url}/console/signin?next={quote(then)}")
    page.get_by_label("API key").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: url.startswith(base_url + then.partition("?")[0]))


def listed(store: Store, digits: str, category: Category = Category.REVOKED,
           source: str = "acm", reason: str = "", reference: str = "") -> None:
    store.add_entries([Entry(key=digits, is_prefix=False, category=category,
                             applies_to=AppliesTo.default_for(category), source=source,
                             reason=reason, reference=reference)])


def csrf_of(page: Page) -> str:
    """The session's CSRF token, as the page's own forms carry it."""
    token = page.locator("input[name=csrf]").first.get_attribute("value")
    assert token
    return token
