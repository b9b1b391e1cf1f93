"""The widget's quick replies answer the bot's latest question only (issue 14), in Chromium without the stack.

As in test_widget_markdown.py, widget.js is served from a made-up backend origin with a saved session and a
canned history; the WebSocket cannot connect, which the widget survives. Stale buttons were the visible half
of an offer of a person made in the turn the backend handed over: clicked later, "/affirm" reached the team.
"""

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import EXPECT_TIMEOUT_MS
from tests.browser.offline_widget import CONVERSATION_API, open_on_shop

YES_NO = [{"title": "Yes, connect me", "payload": "/affirm"}, {"title": "No, thanks", "payload": "/deny"}]
PERSON = [{"title": "Talk to a person", "payload": "/request_human"}]

HISTORY = [
    {"id": 1, "sender": "customer", "text": "that didn't help"},
    {"id": 2, "sender": "bot", "text": "Would you like me to connect you with a person?", "buttons": YES_NO},
    {"id": 3, "sender": "customer", "text": "where is ORD-100001"},
    {"id": 4, "sender": "bot", "text": "Order ORD-100001 has been delivered.", "buttons": PERSON},
    {"id": 5, "sender": "bot", "text": "Is there anything else I can help you with?"},
]
NOT_QUEUED = {"position": None, "estimate_minutes": None, "team": None}
QUEUED = {"position": 2, "estimate_minutes": 4, "team": "general"}


@pytest.fixture
def open_widget(browser: Browser) -> Iterator[Callable[..., Page]]:
    contexts = []

    def make(queue: dict[str, Any], socket: bool = False) -> Page:
        context = browser.new_context()
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(EXPECT_TIMEOUT_MS)
        if socket:  # a socket that opens (and says nothing), so the widget reads its place in the queue
            page.route_web_socket("ws://support.test/ws/widget", lambda ws: None)
        open_on_shop(page, {f"{CONVERSATION_API}/messages": HISTORY, f"{CONVERSATION_API}/queue": queue})
        expect(page.locator(".sd-msg")).to_have_count(len(HISTORY))
        return page

    yield make
    for context in contexts:
        context.close()


def test_only_the_buttons_of_the_bots_latest_turn_stay(open_widget):
    page = open_widget(NOT_QUEUED)
    # The offer was answered by the customer's next message: its Yes/No are gone.
    expect(page.locator(".sd-msg").nth(1).locator(".sd-quick")).to_have_count(0)
    # The latest turn's button stays, also under the "anything else?" that follows it in the same turn.
    expect(page.locator(".sd-quick")).to_have_count(1)
    expect(page.get_by_role("button", name="Talk to a person")).to_be_visible()


def test_a_clicked_quick_reply_takes_its_buttons_away(open_widget):
    page = open_widget(NOT_QUEUED)
    page.get_by_role("button", name="Talk to a person").click()
    expect(page.locator(".sd-quick")).to_have_count(0)


def test_waiting_in_the_queue_for_a_person_leaves_no_bot_question_to_click(open_widget):
    page = open_widget(QUEUED, socket=True)
    expect(page.locator(".sd-queue")).to_contain_text("number 2 in the queue")
    expect(page.locator(".sd-quick")).to_have_count(0)
