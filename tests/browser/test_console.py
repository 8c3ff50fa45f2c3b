"""The fraud desk's console (/console) in a real browser against the real API server: the
tasks of issue 10, each saving screenshots of the screens it passes through."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Dialog, Page, expect

from blocklist.entries import Category
from blocklist.store.admin import Store
from tests.agi.asterisk_peer import call_fastagi, environment
from tests.agi.test_fastagi import fastagi
from tests.browser.conftest import Browser
from tests.browser.console import Keys, csrf_of, listed, make_keys, sign_in

Shot = Callable[[Page, str], Path]
XSS_REASON = '<script>window.pwned = 1</script>"><img src=x onerror="window.pwned = 2">'


@pytest.fixture
def keys(store: Store) -> Keys:
    return make_keys(store)


@pytest.fixture(scope="module")
def fastagi_port(redis_url: str) -> Iterator[int]:
    """A FastAGI server (`callscreen fastagi`) on the session's Redis, over a real socket."""
    with fastagi(redis_url) as (port, _metrics_port, _process):
        yield port


def _accept(dialog: Dialog) -> None:
    dialog.accept()


def call_action(port: int, caller: str) -> str:
    """What the FastAGI server tells Asterisk to do with an inbound call from `caller`."""
    conversation = call_fastagi(port, environment(callerid=caller, extension="0201234567",
                                                  args=("inbound",)))
    return conversation.variables["SCREEN_ACTION"]


def test_sign_in_and_look_up_a_listed_number_in_national_format(
        server_url: str, browser: Browser, store: Store, keys: Keys, screenshot: Shot) -> None:
    """A national-format look-up of a listed number shows BLOCK with its rule and entry."""
    listed(store, "31855550101", Category.REVOKED, source="acm", reference="ACM-2026-17")
    page = browser.page()
    page.goto(f"{server_url}/console/lookup")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    screenshot(page, "console-signin")
    sign_in(page, server_url, keys.read)

    page.get_by_label("Number").fill("085 555 0101")
    page.get_by_role("button", name="Look up").click()

    expect(page.get_by_test_id("action")).to_have_text("BLOCK")
    expect(page.get_by_test_id("number")).to_have_text("+31855550101")
    expect(page.get_by_test_id("rule")).to_contain_text("revoked")
    row = page.get_by_role("row").filter(has_text="ACM-2026-17")
    expect(row).to_contain_text("+31855550101")
    expect(row).to_contain_text("acm")
    screenshot(page, "console-lookup")
    assert browser.requests_elsewhere(server_url) == []


def test_entry_added_in_the_console_blocks_a_fastagi_call_and_its_removal_allows_the_next(
        server_url: str, browser: Browser, store: Store, keys: Keys, fastagi_port: int,
        screenshot: Shot) -> None:
    """An entry added in the console blocks the next FastAGI call; removed, the next is
    allowed."""
    assert call_action(fastagi_port, "+31855550177") == "allow"
    page = browser.page()
    page.on("dialog", _accept)
    sign_in(page, server_url, keys.write, "/console/entries/new")
    page.get_by_label("Number, or block ending in *").fill("085 555 0177")
    page.get_by_label("Category").select_option("fraud")
    page.get_by_label("Reason").fill("fake Microsoft helpdesk")
    screenshot(page, "console-entry-new")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("+31855550177 added")
    expect(page.get_by_test_id("action")).to_have_text("BLOCK")

    assert call_action(fastagi_port, "+31855550177") == "block"

    page.goto(f"{server_url}/console/entries?source=manual")
    screenshot(page, "console-entries")
    page.get_by_role("button", name="Remove +31855550177").click()
    expect(page.get_by_role("status")).to_contain_text("+31855550177 removed")

    assert call_action(fastagi_port, "+31855550177") == "allow"


def test_import_preview_names_the_bad_row_and_apply_adds_the_entries(
        server_url: str, browser: Browser, store: Store, keys: Keys, screenshot: Shot) -> None:
    """A CSV with one bad row: the preview names its line; applied, the entries are listed."""
    csv = b"number,reason\n085 555 0201,helpdesk scam\n112,emergency\n085 555 0202,idem\n"
    page = browser.page()
    sign_in(page, server_url, keys.write, "/console/import")
    page.get_by_label("File").set_input_files(
        {"name": "desk.csv", "mimeType": "text/csv", "buffer": csv})
    page.get_by_label("Format").select_option("delimited")
    page.get_by_label("Source").fill("desk")
    page.get_by_label("Category").select_option("fraud")
    screenshot(page, "console-import")
    page.get_by_role("button", name="Preview").click()

    expect(page.get_by_test_id("count-added")).to_have_text("2")
    expect(page.get_by_test_id("count-rejected")).to_have_text("1")
    rejected = page.get_by_test_id("rejected")
    expect(rejected.get_by_role("row").nth(1)).to_contain_text("3")
    expect(rejected).to_contain_text("112")
    screenshot(page, "console-import-preview")
    assert store.sources() == []  # a preview changes nothing

    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("heading", name="Applied to source desk")).to_be_visible()
    screenshot(page, "console-import-applied")
    page.get_by_role("link", name="See the entries").click()
    expect(page.get_by_role("link", name="+31855550201")).to_be_visible()
    expect(page.get_by_role("link", name="+31855550202")).to_be_visible()


def test_a_read_key_sees_no_write_controls_and_its_forged_post_is_refused(
        server_url: str, browser: Browser, store: Store, keys: Keys) -> None:
    """A read session shows no write control; a POST made by hand with it gets 403."""
    listed(store, "31855550101", source="manual", reason="manual one")
    page = browser.page()
    sign_in(page, server_url, keys.read, "/console/lookup?number=0855550101")
    expect(page.get_by_test_id("action")).to_have_text("BLOCK")
    for name in ("Allowlist this number", "Add an entry", "Remove +31855550101"):
        expect(page.get_by_role("button", name=name)).to_have_count(0)
        expect(page.get_by_role("link", name=name)).to_have_count(0)
    page.goto(f"{server_url}/console/entries")
    expect(page.get_by_role("link", name="Add an entry")).to_have_count(0)
    expect(page.get_by_role("link", name="Import")).to_have_count(0)

    forged = page.request.post(f"{server_url}/console/allowlist",
                               form={"csrf": csrf_of(page), "number": "0855550101"})
    assert forged.status == 403
    assert "write role" in forged.text()
    assert store.allowlist() == {}


def test_a_post_without_the_csrf_token_is_refused(
        server_url: str, browser: Browser, store: Store, keys: Keys) -> None:
    """A write session's POST without the CSRF token, or with a wrong one, gets 403."""
    page = browser.page()
    sign_in(page, server_url, keys.write)
    missing = page.request.post(f"{server_url}/console/allowlist",
                                form={"number": "0855550101"})
    wrong = page.request.post(f"{server_url}/console/allowlist",
                              form={"csrf": "x" * 43, "number": "0855550101"})
    right = page.request.post(f"{server_url}/console/allowlist", max_redirects=0,
                              form={"csrf": csrf_of(page), "number": "0855550101"})
    assert (missing.status, wrong.status, right.status) == (403, 403, 303)
    assert list(store.allowlist()) == [("31855550101", False)]


def test_an_entry_reason_with_markup_is_shown_as_text(
        server_url: str, browser: Browser, store: Store, keys: Keys) -> None:
    """A reason holding <script> and an onerror attribute is shown as text; nothing runs."""
    listed(store, "31855550303", source="manual", reason=XSS_REASON)
    page = browser.page()
    sign_in(page, server_url, keys.admin, "/console/lookup?number=%2B31855550303")
    reason = page.get_by_test_id("reason")
    expect(reason).to_have_text(XSS_REASON)
    assert reason.locator("script, img").count() == 0
    page.goto(f"{server_url}/console/entries?text=pwned")
    expect(page.get_by_test_id("reason")).to_have_text(XSS_REASON)
    assert page.evaluate("window.pwned") is None
