"""An agent gets a routed case live, replies into the customer's widget and resolves; the customer rates."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.dbcheck import rows

pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("stack", ["sqlite"], indirect=True)]


def test_handoff_reply_resolve_and_rating_across_inbox_and_widget(stack, new_page):
    base = stack.config.url(stack.config.backend_port)

    agent = new_page()
    agent.goto(f"{base}/inbox")
    agent.get_by_label("Email").fill("alex@northwind.example")
    agent.get_by_label("Password").fill("northwind-demo")
    agent.get_by_role("button", name="Sign in").click()
    expect(agent.locator("#me")).to_contain_text("Alex Morgan")
    agent.get_by_label("Status").select_option("online")

    customer = new_page(width=420, height=820)
    customer.goto(f"{base}/demo")
    customer.get_by_role("button", name="Open chat").click()
    customer.get_by_label("Message").fill("I want to talk to a real person please")
    customer.get_by_label("Message").press("Enter")
    expect(customer.locator(".sd-bot").last).to_be_visible()

    # The routed case arrives in Alex's inbox live, without a reload.
    case_item = agent.locator("#cases li").first
    expect(case_item).to_contain_text("general", timeout=30_000)
    case_item.click()
    expect(agent.locator("#transcript")).to_contain_text("I want to talk to a real person please")
    expect(agent.locator("#transcript")).to_contain_text("intent request_human")
    screenshot(agent, "inbox-case")

    agent.get_by_label("Reply to the customer").fill("Hi, this is Alex. <b>How</b> can I help?")
    agent.get_by_role("button", name="Send").click()
    agent_message = customer.locator(".sd-agent").last
    expect(agent_message).to_contain_text("Hi, this is Alex. <b>How</b> can I help?")
    expect(agent_message.locator(".sd-author")).to_have_text("Alex Morgan")
    assert customer.locator(".sd-agent b").count() == 0  # rendered as text, not HTML

    agent.get_by_label("Disposition").select_option("solved")
    agent.get_by_role("button", name="Resolve").click()
    customer.get_by_role("button", name="5 stars").click()
    expect(customer.locator(".sd-rating")).to_contain_text("Thank you for rating us 5 out of 5.")
    screenshot(customer, "widget-rated")

    conversation = rows(
        stack.config.database_url,
        "SELECT conversation_id FROM cases WHERE csat = 5 ORDER BY id DESC LIMIT 1",
    )
    assert conversation, "no rated case stored"
    case = rows(
        stack.config.database_url,
        "SELECT c.status, c.disposition, c.first_response_at, a.email FROM cases c JOIN agents a"
        " ON a.id = c.assigned_agent_id WHERE c.conversation_id = :c",
        c=conversation[0]["conversation_id"],
    )[0]
    assert case["status"] == "resolved" and case["disposition"] == "solved"
    assert case["first_response_at"] is not None and case["email"] == "alex@northwind.example"
    senders = [
        m["sender"]
        for m in rows(
            stack.config.database_url,
            "SELECT sender FROM messages WHERE conversation_id = :c ORDER BY id",
            c=conversation[0]["conversation_id"],
        )
    ]
    assert senders[0] == "customer" and "agent" in senders and senders[-1] == "system"
