"""Every page, as a first-time visitor opens it: nothing it asks the server for fails (the icon included)
and nothing is logged to the console as an error. Headless Chromium against the real stack."""

import pytest
from playwright.sync_api import Page

pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("stack", ["sqlite"], indirect=True)]

PAGES = [
    "/", "/demo", "/inbox", "/admin", "/admin/models", "/admin/audit", "/admin/automation",
    "/admin/dashboard", "/admin/experiments", "/admin/review",
]  # fmt: skip


def problems_of(page: Page, url: str) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("requestfailed", lambda request: problems.append(f"failed: {request.url}"))
    page.on(
        "response",
        lambda response: (
            problems.append(f"{response.status}: {response.url}") if response.status >= 400 else None
        ),
    )
    page.goto(url, wait_until="networkidle")
    return problems


def test_every_page_loads_without_a_failed_request_or_a_console_error(stack, new_page):
    base = stack.config.url(stack.config.backend_port)
    found = {path: problems_of(new_page(), base + path) for path in PAGES}
    assert {path: p for path, p in found.items() if p} == {}
