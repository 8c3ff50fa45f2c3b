"""The API's own docs page (/docs) in a real browser, on a network with nothing but the
server."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page

from tests.browser.conftest import Browser

OPERATIONS = {"/v1/entries", "/v1/numbers/{number}", "/v1/allowlist", "/v1/feeds",
              "/v1/audit", "/healthz"}


def test_docs_page_shows_the_operations_with_no_request_beyond_the_server(
        server_url: str, browser: Browser, screenshot: Callable[[Page, str], Path]) -> None:
    """/docs renders the API's operations, and every request the page makes goes to the server."""
    page = browser.page()
    try:
        page.goto(f"{server_url}/docs", wait_until="networkidle")
        # First the cause of a blank page: assets asked of anyone but the server.
        assert browser.requests_elsewhere(server_url) == []
        page.locator(".opblock").first.wait_for(timeout=15_000)
        page.wait_for_load_state("networkidle")
        # Swagger UI breaks long paths with zero-width spaces after each slash.
        shown = {path.replace("\u200b", "")
                 for path in page.locator(".opblock-summary-path").all_inner_texts()}
    finally:
        print(f"screenshot: {screenshot(page, 'api-docs')}")

    assert shown >= OPERATIONS
    assert f"{server_url}/docs/assets/swagger-ui-bundle.js" in browser.requests
    assert f"{server_url}/openapi.json" in browser.requests
    assert browser.requests_elsewhere(server_url) == []
