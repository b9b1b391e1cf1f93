"""The widget in Chromium: after an agent resolves the case the customer answers a three-question survey
(the satisfaction score, a configured rating and a comment) and the answers reach the case; a customer
waiting in the queue lets the bot help instead. Served like tests/cases/test_queue_page.py."""

import json
import time

import httpx
import pytest
from playwright.sync_api import Page, expect

from backend.core.config import Settings
from tests.browser.conftest import browser, new_page, screenshot  # noqa: F401 - fixtures
from tests.cases.test_queue_page import hand_off, signed_in

# How long the test waits for something that must happen (a routing round): generous, so a loaded machine
# passes; speed is `make bench`'s business.
LIVENESS_S = 30.0

QUESTIONS = [
    {"id": "resolved", "kind": "rating", "text": "Did we solve your problem?"},
    {"id": "comment", "kind": "text", "text": "Anything we could do better?"},
]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    extra = {"routing_interval_s": 0.1, "csat_extra_questions": QUESTIONS}
    return Settings.model_validate({**settings.model_dump(), **extra})


def waiting_in_widget(page: Page, server: str, api: httpx.Client) -> str:
    """The shopper opens the chat, writes, and is handed over; their conversation id."""
    page.goto(f"{server}/demo")
    page.get_by_role("button", name="Open chat").click()
    page.get_by_label("Message").fill("I'd like to talk to a person please")
    page.get_by_role("button", name="Send").click()
    expect(page.locator(".sd-bot").first).to_be_visible()
    conversation_id = json.loads(page.evaluate(f"localStorage.getItem('supportdesk:{server}')"))[
        "conversation_id"
    ]
    hand_off(api, conversation_id)
    return conversation_id


@pytest.mark.browser
def test_the_customer_answers_three_questions_after_the_resolution(app_server, new_page):  # noqa: F811
    api = httpx.Client(base_url=app_server, timeout=10)
    alex = signed_in(api, "alex@northwind.example")
    page = new_page()
    conversation_id = waiting_in_widget(page, app_server, api)
    mine = []
    deadline = time.monotonic() + LIVENESS_S  # the routing loop offers Alex the case: waited for, not timed
    while not mine:
        assert time.monotonic() < deadline, "the case was not offered to Alex"
        page.wait_for_timeout(100)
        mine = [
            c for c in api.get("/api/v1/cases?mine=true", headers=alex).json() if c["status"] == "assigned"
        ]
    url = f"/api/v1/cases/{mine[0]['id']}/resolve"
    assert api.post(url, json={"disposition": "solved"}, headers=alex).status_code == 200

    survey = page.locator(".sd-rating")
    page.get_by_role("group", name="Rate this conversation from 1 to 5 stars").get_by_role(
        "button", name="4 stars"
    ).click()
    page.get_by_role("group", name="Did we solve your problem?").get_by_role("button", name="5 stars").click()
    page.get_by_label("Anything we could do better?").fill("Quicker please, mail me at jo@example.com")
    screenshot(page, "widget-csat-survey")
    page.get_by_role("button", name="Send answers").click()
    # Free text is redacted before it is stored: the redactor's first use loads spaCy (seconds).
    expect(survey).to_contain_text("Thank you for rating us 4 out of 5.", timeout=60_000)

    export = api.get(f"/api/v1/conversations/{conversation_id}/export", headers=alex).json()
    case = export["cases"][0]
    assert case["csat"] == 4
    answers = {a["id"]: a for a in case["csat_answers"]}
    assert answers["resolved"]["rating"] == 5
    assert answers["comment"]["text"] == "Quicker please, mail me at [EMAIL]"
    api.close()


@pytest.mark.browser
def test_a_waiting_customer_lets_the_bot_help_instead(app_server, new_page):  # noqa: F811
    api = httpx.Client(base_url=app_server, timeout=10)  # nobody online: the shopper waits
    page = new_page()
    waiting_in_widget(page, app_server, api)
    expect(page.locator(".sd-queue")).to_contain_text("You are number 1 in the queue")
    page.get_by_role("button", name="Let the bot help instead").click()
    expect(page.locator(".sd-system").last).to_contain_text("You're back with our virtual assistant")
    expect(page.locator(".sd-queue")).to_be_hidden()
    expect(page.get_by_role("button", name="Let the bot help instead")).to_be_hidden()
    api.close()
