"""The widget in Chromium: a customer waiting for a person sees their place in the queue and the estimated
wait, and sees the place drop, live, as the agent frees up. The app runs in a uvicorn server on loopback with
a scripted Rasa (`app_server`, as for the admin pages' tests)."""

import json
import re
import time

import httpx
import pytest
from playwright.sync_api import expect

from backend.core.config import Settings
from tests.app_fixtures import SERVICE_HEADERS
from tests.browser.conftest import browser, new_page, screenshot  # noqa: F401 - fixtures

ALEX = "alex@northwind.example"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Routing rounds every 0.1 s; no value points, so the queue is first come, first served and the demo
    # shopper (a customer of some value) queues behind the anonymous customers who asked first.
    return settings.model_copy(
        update={"routing_interval_s": 0.1, "priority_weight_value": 0.0, "queue_default_handle_s": 120}
    )


def hand_off(api: httpx.Client, conversation_id: str) -> int:
    url = f"/api/v1/service/conversations/{conversation_id}/handoff"
    response = api.post(url, json={"reason": "asked for a person"}, headers=SERVICE_HEADERS)
    assert response.status_code == 200, response.text
    return int(response.json()["case_id"])


def waiting_customer(api: httpx.Client) -> str:
    """Another customer, anonymous, handed over; their conversation id."""
    conversation_id = api.post("/api/v1/widget/sessions", json={}).json()["conversation_id"]
    hand_off(api, conversation_id)
    return conversation_id


def signed_in(api: httpx.Client, email: str) -> dict[str, str]:
    token = api.post("/api/v1/auth/token", data={"username": email, "password": "northwind-demo"})
    token.raise_for_status()
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    assert api.put("/api/v1/agents/me/status", json={"status": "online"}, headers=headers).status_code == 200
    return headers


def alex_is_full(api: httpx.Client, alex: dict[str, str], deadline_s: float = 30.0) -> None:
    """Wait until the routing loop has given Alex his three cases: until then the shopper's case competes with
    the earlier ones for his places instead of queueing behind them (seen on a loaded machine)."""
    ends = time.monotonic() + deadline_s
    while time.monotonic() < ends:
        mine = api.get("/api/v1/cases?mine=true", headers=alex).json()
        if len([c for c in mine if c["status"] in ("assigned", "accepted")]) == 3:
            return
        time.sleep(0.1)
    raise AssertionError(f"Alex was not given three cases within {deadline_s} s")


def resolve_one(api: httpx.Client, alex: dict[str, str]) -> None:
    """Alex finishes one of his cases: a place frees up and the queue moves."""
    mine = api.get("/api/v1/cases?mine=true", headers=alex).json()
    open_ones = [c for c in mine if c["status"] in ("assigned", "accepted")]
    url = f"/api/v1/cases/{open_ones[0]['id']}/resolve"
    assert api.post(url, json={"disposition": "solved"}, headers=alex).status_code == 200


@pytest.mark.browser
def test_a_waiting_customer_sees_their_queue_position_drop_as_agents_free_up(
    app_server,
    new_page,  # noqa: F811
):
    api = httpx.Client(base_url=app_server, timeout=10)
    alex = signed_in(api, ALEX)  # general skill, three cases at a time
    for _ in range(5):  # three go to Alex, two wait
        waiting_customer(api)
    alex_is_full(api, alex)

    page = new_page()
    page.goto(f"{app_server}/demo")
    page.get_by_role("button", name="Open chat").click()
    page.get_by_label("Message").fill("I'd like to talk to a person please")
    page.get_by_role("button", name="Send").click()
    expect(page.locator(".sd-bot").first).to_be_visible()
    session = page.evaluate(f"localStorage.getItem('supportdesk:{app_server}')")
    hand_off(api, json.loads(session)["conversation_id"])

    place = page.locator(".sd-queue")
    # Third in line; Alex's three places turn over every 120 s (no case resolved yet): about 2 minutes.
    expect(place).to_have_text("You are number 3 in the queue, about 2 minutes")
    screenshot(page, "widget-queue-position")
    resolve_one(api, alex)
    expect(place).to_have_text(re.compile(r"^You are number 2 in the queue, about \d+ minutes?$"))
    resolve_one(api, alex)
    expect(place).to_have_text(re.compile(r"^You are number 1 in the queue, about \d+ minutes?$"))
    resolve_one(api, alex)  # the shopper's case goes to Alex: out of the queue
    expect(place).to_be_hidden()
    api.close()
