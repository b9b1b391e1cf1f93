"""The admin page in Chromium: an admin builds a rule in the form (no JSON), dry-runs it, enables it, and a
customer message makes it fire. The app runs in a uvicorn server on loopback with the scripted Rasa
(`app_server`), so the test needs no trained model."""

import httpx

from tests.automation.helpers import ADMIN, wait_for
from tests.browser.conftest import browser, new_page, screenshot, sign_in  # noqa: F401 - fixtures


def test_an_admin_builds_dry_runs_and_enables_a_rule_that_then_fires(app_server: str, new_page):  # noqa: F811
    with httpx.Client(base_url=app_server, timeout=30) as http:
        before = customer_says(http, "my order is late")  # yesterday's traffic, for the dry-run to replay
    page = sign_in(new_page(), f"{app_server}/admin/automation", ADMIN)
    page.locator("#name").fill("Order questions get a tag")
    page.locator("#trigger").select_option("message_received")
    page.get_by_role("button", name="Add condition").click()
    page.locator(".condition .c-field").select_option("intent")
    page.locator(".condition .c-op").select_option("eq")
    page.locator(".condition .c-value").fill("order_status")
    page.locator(".action .a-type").select_option("add_tag")
    page.locator(".action [data-name=tag]").fill("orders")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Saved as version 1").wait_for()
    assert page.get_by_role("button", name="Enable", exact=True).is_disabled()  # not before a dry-run

    page.get_by_role("button", name="Dry-run").click()
    page.get_by_text("Dry-run recorded").wait_for()
    assert page.locator("#dry-run-results").is_visible()
    replayed = page.locator("#planned tr")
    assert replayed.count() == 1 and "would run" in replayed.inner_text()
    assert before in replayed.inner_text()
    page.get_by_role("button", name="Enable", exact=True).click()
    page.get_by_text("Enabled: version 1 runs from now on.").wait_for()
    screenshot(page, "automation-rule-enabled")

    with httpx.Client(base_url=app_server, timeout=30) as http:
        conversation_id = customer_says(http, "where is my order?")
        token = page.evaluate("sessionStorage.getItem('sd-staff-token')")
        staff = {"Authorization": f"Bearer {token}"}
        url = f"/api/automation/tags?conversation_id={conversation_id}"
        assert wait_for(lambda: http.get(url, headers=staff).json())[0]["tag"] == "orders"
        before_tags = http.get(f"/api/automation/tags?conversation_id={before}", headers=staff).json()
        assert before_tags == []  # the dry-run changed nothing
    assert page.locator("#rules").get_by_text("version 1").is_visible()  # running
    page.locator("#versions").get_by_text("1 (active)").wait_for()


def customer_says(http: httpx.Client, text: str) -> str:
    widget = http.post("/api/v1/widget/sessions", json={}).json()
    auth = {"Authorization": f"Bearer {widget['token']}"}
    url = f"/api/v1/widget/conversations/{widget['conversation_id']}/messages"
    sent = http.post(url, json={"text": text}, headers=auth)
    assert sent.status_code == 200, sent.text
    return str(widget["conversation_id"])
