"""Agent assist in the inbox, end to end (issue 17): an agent opens a handed-over case, reads the brief,
inserts a suggested reply with one click, edits and sends it (the transcript holds the edited text, the
decision log says "edited"), then a macro found with "/" fills the order number the customer gave the bot."""

import re
import time
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, Response, expect

from ml.brief_support import Stored, verify
from scripts.stack import Stack
from tests.browser.conftest import screenshot, sign_in
from tests.dbcheck import rows

pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("stack", ["sqlite"], indirect=True)]

MACRO = {
    "name": "Order number check",
    "team": "all",
    "body": "Hi {customer_name}, I have your order {order_id} open in front of me and I'm checking it now.",
}
REFUND_QUESTION = "How long does a refund take to reach my card?"
EDIT = " Alex here, from the care team."


def demo_order(stack: Stack) -> str:
    """The demo shopper's latest order: the one they ask the bot about."""
    return rows(
        stack.config.database_url,
        "SELECT o.order_number FROM orders o JOIN customers c ON c.id = o.customer_id"
        " WHERE c.email = 'demo@northwind.example' ORDER BY o.placed_at DESC LIMIT 1",
    )[0]["order_number"]


def create_macro(stack: Stack) -> int:
    """A supervisor writes the macro (there is no macro editor page yet: the API is the way)."""
    base = stack.config.url(stack.config.backend_port)
    token = httpx.post(
        f"{base}/api/v1/auth/token",
        data={"username": "jordan@northwind.example", "password": "northwind-demo"},
    ).json()["access_token"]
    made = httpx.post(f"{base}/api/assist/macros", json=MACRO, headers={"Authorization": f"Bearer {token}"})
    assert made.status_code == 201, made.text
    return made.json()["id"]


def customer_hands_over(page: Page, base: str, order: str) -> None:
    page.goto(f"{base}/demo")
    page.get_by_role("button", name="Open chat").click()
    for text in (f"Where is my order {order}?", "I want to talk to a real person please", REFUND_QUESTION):
        before = page.locator(".sd-bot").count()
        page.get_by_label("Message").fill(text)
        page.get_by_label("Message").press("Enter")
        expect(page.locator(".sd-customer").last).to_have_text(text)
        if text != REFUND_QUESTION:  # the last one goes to the person: the bot stays silent
            expect(page.locator(".sd-bot")).not_to_have_count(before)
    expect(page.locator(".sd-messages")).to_contain_text("connecting you with a member of our team")


def brief_of(stack: Stack, case_id: int) -> dict[str, Any]:
    """The brief as the inbox got it (the agent's own route)."""
    base = stack.config.url(stack.config.backend_port)
    login = {"username": "alex@northwind.example", "password": "northwind-demo"}
    token = httpx.post(f"{base}/api/v1/auth/token", data=login).json()["access_token"]
    answer = httpx.get(
        f"{base}/api/assist/cases/{case_id}/brief", headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def stored(stack: Stack, case_id: int) -> Stored:
    """What the brief may cite, read straight from the database (ml/brief_support.py checks against it)."""
    database = stack.config.database_url
    (case,) = rows(database, "SELECT * FROM cases WHERE id = :i", i=case_id)
    conversation = case["conversation_id"]
    messages = rows(database, "SELECT * FROM messages WHERE conversation_id = :c", c=conversation)
    handoffs = rows(
        database, "SELECT * FROM decisions WHERE kind = 'handoff' AND conversation_id = :c", c=conversation
    )
    return Stored({m["id"]: m for m in messages}, case, handoffs)


def stored_within(database_url: str, sql: str, seconds: float = 30, **params: Any) -> list[dict[str, Any]]:
    """Rows the inbox writes after its own request returns (the suggestion outcome): polled, not slept on.
    `seconds` is a liveness bound for a loaded machine, not a speed target."""
    deadline = time.monotonic() + seconds
    while not (found := rows(database_url, sql, **params)) and time.monotonic() < deadline:
        time.sleep(0.25)
    return found


def test_brief_one_click_suggestion_edited_and_a_macro_filling_the_order_number(stack, new_page):
    base = stack.config.url(stack.config.backend_port)
    database = stack.config.database_url
    order = demo_order(stack)
    create_macro(stack)

    agent = sign_in(new_page(), f"{base}/inbox", "alex@northwind.example")
    expect(agent.locator("#me")).to_contain_text("Alex Morgan")
    agent.locator("#status").select_option("online")
    customer_hands_over(new_page(width=420, height=820), base, order)

    # The case (order status: the general team) reaches Alex live; its brief says what happened.
    case_item = agent.locator("#cases li", has_text=order)  # the bot's reason names the order
    expect(case_item.first).to_be_visible(timeout=30_000)
    # The suggestion lists the inbox reads: it shows them rendered (Markdown); Insert gives the source.
    listed: list[Response] = []
    agent.on("response", lambda r: listed.append(r) if "/suggestions?" in r.url and r.ok else None)
    case_item.first.click()
    expect(agent.locator("#transcript")).to_contain_text(REFUND_QUESTION)
    brief = agent.locator("#brief-body")
    wants = brief.locator("li[data-section=wants]", has_text="order status")
    expect(wants.first).to_contain_text(order)
    expect(brief.locator("li[data-section=facts]").first).to_contain_text(order)  # the bot's lookup
    expect(brief.locator("li[data-section=handover]")).to_have_count(1)
    # Written after the hand-off, so never parsed: the brief still shows it.
    expect(brief.locator("li[data-section=wants]", has_text=REFUND_QUESTION)).to_contain_text(
        "not read by the bot"
    )
    # Each statement links the message it rests on; a click marks that message in the transcript.
    wants.first.locator("a.cite").first.click()
    expect(agent.locator("#transcript li.cited")).to_contain_text(order)
    # Every statement of this brief (real parses, the real order lookup) is supported by the rows it cites.
    case_id = int(agent.locator("#cases li[aria-current=true]").get_attribute("data-case-id"))
    problems = [
        (v.statement["text"], v.problems) for v in verify(brief_of(stack, case_id), stored(stack, case_id))
    ]
    assert [p for p in problems if p[1]] == []

    # One click puts the top suggestion in the reply box; the agent adds a line and sends it.
    insert = agent.locator("#suggestions button[data-suggestion]").first
    expect(insert).to_be_visible(timeout=30_000)
    suggestion_id = insert.get_attribute("data-suggestion")
    suggested = next(x["text"] for r in listed for x in r.json()["suggestions"] if x["id"] == suggestion_id)
    insert.click()
    reply = agent.get_by_label("Reply to the customer")
    expect(reply).to_have_value(suggested)
    reply.press("End")
    reply.type(EDIT)
    screenshot(agent, "inbox-assist-suggestion-edited")
    agent.get_by_role("button", name="Send").click()
    sent_text = suggested + EDIT
    (conversation,) = {
        r["conversation_id"]
        for r in rows(database, "SELECT conversation_id FROM messages WHERE text = :t", t=REFUND_QUESTION)
    }
    sent = stored_within(
        database,
        "SELECT id FROM messages WHERE conversation_id = :c AND sender = 'agent' AND text = :t",
        c=conversation,
        t=sent_text,
    )
    assert len(sent) == 1, "the edited reply is not in the stored transcript"
    logged = stored_within(
        database,
        "SELECT action, inputs FROM decisions WHERE kind = 'suggestion' AND message_id = :m",
        m=sent[0]["id"],
    )
    assert [r["action"] for r in logged] == ["edited"]
    assert suggestion_id in str(logged[0]["inputs"])

    # "/" in the reply box finds the macro; Enter fills it with the order number the customer gave the bot.
    reply.fill("/order number")
    option = agent.locator("#macro-menu li.macro", has_text=MACRO["name"])
    expect(option).to_be_visible()
    reply.press("Enter")
    expect(reply).to_have_value(re.compile(re.escape(order)))
    filled = reply.input_value()
    assert "{" not in filled and filled.startswith("Hi ")
    agent.get_by_role("button", name="Send").click()
    assert stored_within(
        database,
        "SELECT id FROM messages WHERE conversation_id = :c AND sender = 'agent' AND text = :t",
        c=conversation,
        t=filled,
    ), "the macro's filled reply is not in the stored transcript"
    screenshot(agent, "inbox-assist-macro-sent")
