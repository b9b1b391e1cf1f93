"""The admin's audit log page in headless Chromium: staff actions listed, filtered, and shown as text."""

import json

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("stack", ["sqlite"], indirect=True)]
ADMIN = "admin@northwind.example"
MARKUP_TITLE = '<img src=x onerror="window.pwned=1">Draft about gift cards'


def test_admin_filters_the_audit_log_and_markup_in_records_is_text(stack, new_page):
    base = stack.config.url(stack.config.backend_port)
    signed_in = httpx.post(
        f"{base}/api/v1/auth/token", data={"username": ADMIN, "password": "northwind-demo"}
    )
    headers = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
    # A draft (never searchable) whose title is markup: the audit page must show it, not run it.
    created = httpx.post(
        f"{base}/api/v1/kb/articles",
        json={"slug": "audit-page-draft", "title": MARKUP_TITLE, "body": "Gift cards.", "status": "draft"},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    try:
        page = sign_in(new_page(), f"{base}/admin/audit", ADMIN)
        page.get_by_label("Action").select_option("kb.article.create")
        page.get_by_role("button", name="Filter").click()
        row = page.locator("#events tr").first
        expect(row).to_contain_text("admin@northwind.example")
        expect(row).to_contain_text(json.dumps(MARKUP_TITLE))  # the "after" snapshot, as JSON text
        expect(page.locator("#page")).to_contain_text("of")
        assert page.locator("#events img").count() == 0
        assert page.evaluate("window.pwned") is None
        screenshot(page, "admin-audit-log")
    finally:
        httpx.delete(f"{base}/api/v1/kb/articles/audit-page-draft", headers=headers)
