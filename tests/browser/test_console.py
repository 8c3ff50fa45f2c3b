"""The fraud desk's console (/console) in a real browser against the real API server: the
tasks of issue 10, each saving screenshots of the screens it passes through."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Dialog, Page, expect

from blocklist.entries import Category
from blocklist.store import activity
from blocklist.store.admin import Store
from blocklist.store.feeds import save_config
from blocklist.store.reports import add_report
from blocklist.sync.config import FeedConfig
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
    """A FastAGI server (`callscreen fastagi`) on the session's Redis, over a real socket,
    flushing its activity counts every half second (the shortest interval allowed)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CALLSCREEN_ACTIVITY_FLUSH_S", "0.5")
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


def test_a_dutch_viewer_reads_a_bad_number_refused_in_dutch_naming_it(
        server_url: str, browser: Browser, store: Store, keys: Keys, screenshot: Shot) -> None:
    """The entry form, in Dutch, refuses a number that is none with a Dutch message naming
    what was typed, and keeps it in the field; nothing is listed."""
    page = browser.page()
    sign_in(page, server_url, keys.write, "/console/entries/new")
    page.get_by_role("link", name="NL").click()
    expect(page.get_by_role("heading", name="Vermelding toevoegen")).to_be_visible()
    page.get_by_label("Nummer, of blok eindigend op *").fill("085 555 01")
    page.get_by_label("Categorie").select_option("fraud")
    page.get_by_role("button", name="Opslaan").click()

    expect(page.get_by_role("alert")).to_have_text(
        "Geen geldig telefoonnummer: '085 555 01' (gelezen als +318555501).")
    expect(page.get_by_label("Nummer, of blok eindigend op *")).to_have_value("085 555 01")
    screenshot(page, "console-entry-refused-nl")
    key = ("318555501", False)
    assert store.entries_for([key])[key] == []


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


def test_feeds_show_staleness_dry_run_diff_sync_and_promotion(
        server_url: str, browser: Browser, store: Store, keys: Keys, tmp_path: Path,
        screenshot: Shot) -> None:
    """A never-synced shadow feed is stale; its dry run shows the diff, a sync applies it, and
    promotion takes it out of shadow."""
    feed_file = tmp_path / "acm.csv"
    feed_file.write_text("number,reference\n085 555 0401,ACM-1\n085 555 0402,ACM-2\n")
    save_config(store, "acm", FeedConfig.from_dict({
        "id": "acm", "path": str(feed_file), "format": "delimited", "category": "revoked",
        "interval_s": 3600, "shadow": True}).as_dict())
    page = browser.page()
    page.on("dialog", _accept)
    sign_in(page, server_url, keys.admin, "/console/feeds")  # a path feed: admin
    row = page.get_by_role("row").filter(has_text="acm")
    expect(row.get_by_test_id("stale")).to_have_text("stale")
    screenshot(page, "console-feeds")

    row.get_by_role("link", name="acm").click()
    page.get_by_role("button", name="Dry run (show the diff)").click()
    expect(page.get_by_role("heading", name="Sync: dry-run")).to_be_visible()
    expect(page.locator(".keys")).to_contain_text("+31855550401")
    assert store.sources() == []
    screenshot(page, "console-feed-dry-run")

    page.get_by_role("button", name="Sync now").click()
    expect(page.get_by_role("heading", name="Sync: ok")).to_be_visible()
    assert store.sources() == ["acm"]
    page.get_by_role("button", name="Promote from shadow").click()
    expect(page.get_by_role("status")).to_contain_text("Feed acm is live")
    expect(page.get_by_role("button", name="Promote from shadow")).to_have_count(0)
    expect(page.locator(".fresh")).to_have_text("fresh")
    screenshot(page, "console-feed")


def test_paste_allowlist_subscribers_and_export(
        server_url: str, browser: Browser, store: Store, keys: Keys, screenshot: Shot) -> None:
    """Pasted numbers become entries line by line; the allowlist, a subscriber's settings and
    the export work from their screens."""
    page = browser.page()
    sign_in(page, server_url, keys.write, "/console/entries/paste")
    page.get_by_label("Numbers").fill("085 555 0501\nnot a number\n+31 85 555 0502\n")
    page.get_by_label("Reason").fill("pasted")
    page.get_by_role("button", name="Add them").click()
    expect(page.get_by_role("heading", name="2 added, 1 rejected")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="not a number")).to_contain_text("rejected")
    screenshot(page, "console-paste")

    page.goto(f"{server_url}/console/allowlist")
    page.get_by_label("Number, or block ending in *").fill("020 555 0199")
    page.get_by_label("Reason").fill("bank's fraud line")
    page.get_by_role("button", name="Allowlist").click()
    expect(page.get_by_role("status")).to_contain_text("+31205550199 is on the allowlist")
    screenshot(page, "console-allowlist")

    page.goto(f"{server_url}/console/subscribers")
    page.get_by_label("Subscriber").fill("06 1234 5678")
    page.get_by_role("button", name="Show").click()
    page.get_by_label("Mode").select_option("strict")
    page.get_by_label("Prompt language").select_option("nl")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Settings of +31612345678 saved")
    page.get_by_label("Always allow this number for the subscriber").fill("085 555 0501")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator("ul.plain")).to_contain_text("+31855550501")
    screenshot(page, "console-subscribers")
    found = store.subscriber("31612345678")
    assert found is not None
    assert (found[0].mode.value, found[0].language, found[1]) == ("strict", "nl",
                                                                   ["31855550501"])

    page.goto(f"{server_url}/console/export")
    screenshot(page, "console-export")
    page.get_by_label("Source").select_option("manual")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download").click()
    exported = Path(download.value.path()).read_text().splitlines()
    assert '"source":"manual"' in exported[0]
    assert len(exported) == 3


def test_audit_language_phone_layout_and_sign_out(
        server_url: str, browser: Browser, store: Store, keys: Keys, screenshot: Shot) -> None:
    """The audit trail filters by action; the console speaks Dutch on request and fits a
    phone; after sign-out the session no longer opens a page."""
    listed(store, "31855550601", source="manual", reason="fraud desk")
    page = browser.page()
    sign_in(page, server_url, keys.admin, "/console/lookup?number=0855550601")
    page.get_by_role("button", name="Allowlist this number").click()
    page.goto(f"{server_url}/console/audit")
    page.get_by_label("Action (or its start, e.g. entry)").fill("allowlist")
    page.get_by_role("button", name="Filter").click()
    audit_rows = page.get_by_test_id("audit").locator("tbody tr")
    expect(audit_rows).to_have_count(1)
    expect(audit_rows).to_contain_text("+31855550601")
    screenshot(page, "console-audit")

    page.get_by_role("link", name="NL").click()
    expect(page.get_by_role("heading", name="Audittrail")).to_be_visible()
    page.goto(f"{server_url}/console/lookup?number=0855550601")
    expect(page.get_by_role("heading", name="Nummer opzoeken")).to_be_visible()
    screenshot(page, "console-lookup-nl")
    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.get_by_test_id("action")).to_have_text("ALLOW")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "console-lookup-phone")

    page.get_by_role("button", name="Afmelden").click()
    expect(page.get_by_role("heading", name="Aanmelden")).to_be_visible()
    page.goto(f"{server_url}/console/lookup")
    expect(page.get_by_label("API-sleutel")).to_be_visible()


def test_activity_shows_the_hits_of_screened_calls(
        server_url: str, browser: Browser, store: Store, keys: Keys, fastagi_port: int,
        screenshot: Shot) -> None:
    """After four FastAGI calls from a listed number, the activity page ranks it with four
    inbound blocks, in the top list and in its own figures, with a chart."""
    listed(store, "31855550701", Category.FRAUD)
    listed(store, "31855550702", Category.SUSPECTED)
    assert [call_action(fastagi_port, "+31855550701") for _ in range(4)] == ["block"] * 4
    assert call_action(fastagi_port, "+31855550702") == "warn"
    deadline = time.monotonic() + 15  # the server flushes its counts every half second
    while activity.entry_activity(store, "31855550702").windows[activity.Window.DAY].total < 1:
        assert time.monotonic() < deadline, "the FastAGI server never flushed its counts"
        time.sleep(0.1)
    page = browser.page()
    sign_in(page, server_url, keys.read, "/console/activity")
    top = page.get_by_test_id("activity-top").locator("tbody tr")
    expect(top.first).to_contain_text("+31855550701")  # the most hits first
    expect(top.filter(has_text="+31855550702").locator("td").nth(2)).to_contain_text(
        "0 / 1 / 0")
    expect(top.first.locator("td").nth(1)).to_have_text("4")
    expect(top.first.locator("td").nth(2)).to_contain_text("4 / 0 / 0")
    expect(page.locator("svg.chart")).to_be_visible()
    screenshot(page, "console-activity")

    page.get_by_role("link", name="details +31855550701").click()
    day = page.get_by_test_id("activity-one").get_by_role("row").filter(
        has_text="the last 24 hours")
    expect(day.locator("td").first).to_have_text("4")
    screenshot(page, "console-activity-number")


def test_a_dispute_opened_and_upheld_allows_the_number_with_audit_events(
        server_url: str, browser: Browser, store: Store, keys: Keys, screenshot: Shot) -> None:
    """A dispute about a feed-listed number shows on its look-up; upheld, the number is
    allowed, and the audit trail has the dispute's steps."""
    listed(store, "31855550801", Category.REVOKED, source="acm")
    page = browser.page()
    sign_in(page, server_url, keys.admin, "/console/lookup?number=0855550801")
    expect(page.get_by_test_id("action")).to_have_text("BLOCK")
    page.get_by_role("link", name="Record a dispute").click()
    page.get_by_label("Owner's contact").fill("security@bank.example")
    page.get_by_label("What the owner says").fill("Our fraud line; customers call it.")
    page.get_by_role("button", name="Record", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Dispute about +31855550801 recorded")
    screenshot(page, "console-disputes")

    page.goto(f"{server_url}/console/lookup?number=0855550801")
    expect(page.get_by_test_id("open-disputes")).to_contain_text("security@bank.example")
    screenshot(page, "console-lookup-disputed")

    page.goto(f"{server_url}/console/disputes")
    dispute = page.get_by_test_id("dispute").filter(has_text="+31855550801")
    dispute.get_by_label("Reason").first.fill("confirmed with the bank")
    dispute.get_by_role("button", name="Uphold").click()
    expect(page.get_by_role("status")).to_contain_text("upheld")

    page.goto(f"{server_url}/console/lookup?number=0855550801")
    expect(page.get_by_test_id("action")).to_have_text("ALLOW")
    expect(page.get_by_test_id("open-disputes")).to_have_count(0)
    page.goto(f"{server_url}/console/audit?target=%2B31855550801")
    actions = page.get_by_test_id("audit").locator("tbody tr td:nth-child(3)")
    expect(actions).to_have_text(["allowlist.add", "dispute.uphold", "dispute.open"])
    screenshot(page, "console-audit-dispute")


def test_reports_queue_promotes_and_dismisses(
        server_url: str, browser: Browser, store: Store, keys: Keys, screenshot: Shot) -> None:
    """Reported numbers are queued with their reporters; one promoted becomes a manual fraud
    entry, one dismissed leaves the queue."""
    for reporter in ("31611111111", "31622222222", "31633333333"):
        add_report(store, "31855550901", reporter, threshold=3, window_s=3600, listing_days=30)
    add_report(store, "31855550902", "31611111111", threshold=3, window_s=3600,
               listing_days=30)
    page = browser.page()
    sign_in(page, server_url, keys.write, "/console/reports")
    rows = page.get_by_test_id("reports").locator("tbody tr")
    expect(rows).to_have_count(2)
    first = rows.filter(has_text="+31855550901")
    expect(first.locator("td").nth(1)).to_have_text("3")
    expect(first.locator("td").nth(4)).to_contain_text("reports (suspected)")
    screenshot(page, "console-reports")

    first.get_by_label("Category").select_option("fraud")
    first.get_by_label("Reason").first.fill("confirmed by a test call")
    first.get_by_role("button", name="Promote").click()
    expect(page.get_by_role("status")).to_contain_text("+31855550901 is listed by hand")
    second = page.get_by_test_id("reports").locator("tbody tr").filter(has_text="+31855550902")
    second.get_by_label("Reason").last.fill("a school's switchboard")
    second.get_by_role("button", name="Dismiss").click()
    expect(page.get_by_role("status")).to_contain_text("Reports of +31855550902 dismissed")
    expect(page.get_by_text("No numbers were reported within the window.")).to_be_visible()
    manual = [e for e in store.explain("31855550901") if e.source == "manual"]
    assert [(e.category.value, e.reason) for e in manual] == [
        ("fraud", "confirmed by a test call")]
