"""Browser tests: Debian's Chromium driven by Playwright against the real stack on SQLite."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.stack import ARTIFACTS, stack  # noqa: F401 - the fixture

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ARTIFACTS / "screenshots"

# Every `expect(...)` assertion waits up to this long for its state. Playwright's own default is 5 s, which a
# loaded CI machine overruns (a page load, a Rasa turn, a routing round): these are liveness bounds, not
# speed targets (`make bench` measures speed). A passing check returns as soon as the state holds. Every
# browser test imports its `browser` fixture from here, so this applies to all of them.
EXPECT_TIMEOUT_MS = 30_000
expect.set_options(timeout=EXPECT_TIMEOUT_MS)


# Module scope, not session: Playwright's sync API keeps an event loop running in the main thread while it is
# open, and every later test that calls asyncio.run() (the e2e and risk tests) would fail beside it.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is not installed; scripts/bootstrap.sh installs it")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-background-networking", "--disable-gpu"],
        )
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser: Browser) -> Iterator:
    """Pages in separate contexts (separate storage), like different people on different machines."""
    contexts = []

    def make(width: int = 1280, height: int = 860) -> Page:
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(EXPECT_TIMEOUT_MS)
        return page

    yield make
    for context in contexts:
        context.close()


def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in(page: Page, url: str, email: str) -> Page:
    """Open a staff page and sign in with a seeded account (demo password)."""
    page.goto(url)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("northwind-demo")
    page.get_by_role("button", name="Sign in").click()
    return page
