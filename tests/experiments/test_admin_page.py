"""The experiments page in Chromium: an admin creates the retention-offer experiment from the form, starts it,
customers ask to cancel, and the results show every arm with the counts the API gives. The app runs in a
uvicorn server on loopback with the scripted Rasa, so the test needs no trained model."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn

from backend.auth.tokens import customer_hash
from backend.core.config import Settings
from backend.main import create_app
from tests.app_fixtures import SERVICE_HEADERS, ScriptedRasa
from tests.browser.conftest import browser, new_page, screenshot, sign_in  # noqa: F401 - fixtures
from tests.experiments.helpers import ADMIN, customers


@pytest.fixture
def server(settings: Settings, rasa: ScriptedRasa) -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
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


def test_an_admin_starts_an_offer_experiment_and_reads_both_arms(server, new_page, settings, database_url):  # noqa: F811
    page = sign_in(new_page(), f"{server}/admin/experiments", ADMIN)
    page.get_by_role("button", name="Create (draft)").click()  # the form's defaults: the retention offers
    page.get_by_text("units per arm planned").wait_for()
    page.get_by_role("button", name="Start").click()
    page.get_by_role("button", name="Stop").wait_for()
    with httpx.Client(base_url=server, timeout=30) as http:
        for person in customers(database_url, 30):
            signature = customer_hash(person["email"], settings.identity_secret)
            session = http.post(
                "/api/v1/widget/sessions",
                json={"customer_email": person["email"], "customer_hash": signature},
            ).json()
            url = f"/api/v1/service/conversations/{session['conversation_id']}/retention-offer"
            http.post(url, headers=SERVICE_HEADERS).raise_for_status()
        token = http.post(
            "/api/v1/auth/token", data={"username": ADMIN, "password": "northwind-demo"}
        ).json()["access_token"]
        api = http.get(
            "/api/experiments/retention-offers/results", headers={"Authorization": f"Bearer {token}"}
        ).json()
    page.get_by_role("button", name="Results").click()
    table = page.locator("#results-body table").first
    table.wait_for()
    shown = {
        cells[0]: int(cells[1])
        for cells in (row.locator("td").all_inner_texts() for row in table.locator("tr").all()[1:])
    }
    expected = {arm["variant"]: arm["assigned"] for arm in api["metrics"]["still_subscribed_30d"]}
    assert shown == expected and shown["control"] > 0 and sum(shown.values()) > shown["control"]
    assert "interim" in page.locator("#results-note").inner_text()
    screenshot(page, "experiments-results")
