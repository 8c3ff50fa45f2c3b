"""Browser tests: Debian's headless Chromium (`/usr/bin/chromium`, which `tools/bootstrap`
installs), driven by Playwright for Python against a real API server (uvicorn on a free port,
on the session's Redis). Tests that use the `browser` fixture are marked `browser`.

Playwright, not Selenium: it drives the system Chromium directly (`executable_path`, no
driver binary to keep in step with the browser), and it reports every request a page makes,
which is how a test proves that a page needs nothing beyond the server. Playwright's own
browser download is never used. A missing Chromium fails the test with the reason; it never
skips.

Screenshots go to `var/screenshots/` in the working tree (git-ignored), kept after the run for
review."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import BrowserContext, Page, Request, sync_playwright

from blocklist.settings import Settings
from tests.api.conftest import serve

CHROMIUM = Path("/usr/bin/chromium")
# Flags for a closed network: nothing that phones home (component updates, sync, background
# fetches, QUIC), no GPU, no sandbox (tests run as root in CI), no first-run pages. Playwright
# adds --headless itself; the profile is a fresh directory per test.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="package")
def server_url(redis_url: str) -> Iterator[str]:
    """The admin API, served by uvicorn on a free port of 127.0.0.1, for this package's tests
    only (its background tasks write to the shared Redis: see tests/api/conftest.py)."""
    settings = Settings(redis_url=redis_url, region="NL", lookup_timeout_s=0.5,
                        feed_sync=False)
    with serve(settings) as url:
        yield url


@dataclass
class Browser:
    """A fresh headless Chromium (its own profile directory) that records every request."""

    context: BrowserContext
    requests: list[str] = field(default_factory=list)

    def page(self) -> Page:
        return self.context.new_page()

    def requests_elsewhere(self, base_url: str) -> list[str]:
        """The recorded requests that went anywhere but `base_url`'s scheme, host and port."""
        base = urlsplit(base_url)
        return [url for url in self.requests
                if (urlsplit(url).scheme, urlsplit(url).netloc) != (base.scheme, base.netloc)]


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    """Chromium for one test, with a profile in the test's tmp_path; fails without Chromium."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"no Chromium at {CHROMIUM}: run tools/bootstrap "
                    "(or apt-get install chromium) to run the browser tests", pytrace=False)
    # Playwright per test, not per session: its sync API marks an asyncio loop as running in
    # this thread while it is open, which would break every async test that runs after.
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            tmp_path / "chromium-profile", executable_path=CHROMIUM, headless=True,
            args=CHROMIUM_ARGS, viewport={"width": 1280, "height": 900})
        recorder = Browser(context)

        def record(request: Request) -> None:
            recorder.requests.append(request.url)

        context.on("request", record)
        try:
            yield recorder
        finally:
            context.close()


@pytest.fixture
def screenshot() -> Callable[[Page, str], Path]:
    """`screenshot(page, name)` saves a full-page PNG as var/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def save(page: Page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=path, full_page=True)
        return path

    return save
