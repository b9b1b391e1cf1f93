"""The admin page in Chromium: an admin builds a rule in the form (no JSON), dry-runs it, enables it, and a
customer message makes it fire. The app runs in a uvicorn server on loopback with the scripted Rasa, so the
test needs no trained model."""

import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn

from backend.core.config import Settings
from backend.main import create_app
from tests.app_fixtures import ScriptedRasa
from tests.automation.helpers import ADMIN, wait_for
from tests.browser.conftest import browser, new_page, screenshot, sign_in  # noqa: F401 - fixtures


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server(settings: Settings, rasa: ScriptedRasa) -> Iterator[str]:
    port = free_port()
    app = create_app(settings, rasa_transport=httpx.MockTransport(rasa.handle))
    running = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not running.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the app did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    running.should_exit = True
    thread.join(15)


def test_an_admin_builds_dry_runs_and_enables_a_rule_that_then_fires(server: str, new_page):  # noqa: F811
    with httpx.Client(base_url=server, timeout=30) as http:
        before = customer_says(http, "my order is late")  # yesterday's traffic, for the dry-run to replay
    page = sign_in(new_page(), f"{server}/admin/automation", ADMIN)
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

    with httpx.Client(base_url=server, timeout=30) as http:
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
