"""Customer journeys in the real widget (headless Chromium), against the real backend, Rasa and actions."""

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot
from tests.dbcheck import rows

pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("stack", ["sqlite"], indirect=True)]
XSS = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=1</script>'


def open_chat(page: Page, base: str) -> None:
    page.goto(f"{base}/demo")
    page.get_by_role("button", name="Open chat").click()
    expect(page.get_by_label("Message")).to_be_focused()


def say(page: Page, text: str) -> None:
    page.get_by_label("Message").fill(text)
    page.get_by_label("Message").press("Enter")


SAVED = "JSON.parse(localStorage.getItem(Object.keys(localStorage).find(k => {}k.endsWith(':outbox'))))"


def conversation_id(page: Page) -> str:
    return page.evaluate(SAVED.format("!") + ".conversation_id")


def outbox_size(page: Page) -> int:
    return page.evaluate(SAVED.format("") + ".length")


def test_order_status_asks_for_the_order_id_and_answers_from_the_backend(stack, new_page):
    base = stack.config.url(stack.config.backend_port)
    tracking = rows(
        stack.config.database_url, "SELECT tracking_number FROM orders WHERE order_number = 'ORD-100001'"
    )
    page = new_page(width=390, height=844)  # a phone-sized viewport
    open_chat(page, base)
    say(page, "where is my order?")
    expect(page.locator(".sd-bot").last).to_contain_text("order", ignore_case=True)
    say(page, "ORD-100001")
    expect(page.locator(".sd-messages")).to_contain_text(tracking[0]["tracking_number"], timeout=30_000)
    screenshot(page, "widget-order-status")


def test_history_comes_back_after_a_reload_and_offline_messages_arrive_once(stack, new_page):
    base = stack.config.url(stack.config.backend_port)
    page = new_page()
    open_chat(page, base)
    say(page, "hello")
    expect(page.locator(".sd-bot")).not_to_have_count(0)
    page.reload()
    page.get_by_role("button", name="Open chat").click()
    expect(page.locator(".sd-customer").first).to_contain_text("hello")

    # Drop the connection, type while offline, come back: each message is delivered exactly once, in order.
    page.context.set_offline(True)
    page.evaluate("window.SupportdeskWidget.disconnect()")
    say(page, "first while offline")
    say(page, "second while offline")
    assert outbox_size(page) == 2
    page.context.set_offline(False)
    page.evaluate("window.SupportdeskWidget.reconnect()")
    expect(page.locator(".sd-customer")).to_have_count(3, timeout=30_000)
    stored = rows(
        stack.config.database_url,
        "SELECT text FROM messages WHERE conversation_id = :c AND sender = 'customer' ORDER BY id",
        c=conversation_id(page),
    )
    assert [m["text"] for m in stored] == ["hello", "first while offline", "second while offline"]


def test_an_xss_payload_is_shown_as_text(stack, new_page):
    base = stack.config.url(stack.config.backend_port)
    page = new_page()
    open_chat(page, base)
    say(page, XSS)
    expect(page.locator(".sd-customer").last).to_have_text(XSS)
    expect(page.locator(".sd-bot")).not_to_have_count(0)
    assert page.locator(".sd-messages img, .sd-messages script").count() == 0
    assert page.evaluate("window.__pwned") is None


def test_a_knowledge_question_gets_a_cited_answer_with_a_working_link(stack, new_page):
    base = stack.config.url(stack.config.backend_port)
    page = new_page()
    open_chat(page, base)
    say(page, "How much does the Plus plan cost per month?")
    link = page.locator(".sd-sources a", has_text="Subscription plans and pricing")
    expect(link).to_be_visible(timeout=30_000)
    expect(link.locator("xpath=ancestor::li[contains(@class, 'sd-bot')]")).to_contain_text("$14.99")
    screenshot(page, "widget-cited-answer")
    with page.context.expect_page() as opened:
        link.click()
    article = opened.value
    article.wait_for_load_state()
    assert article.url == f"{base}/kb/plans-and-pricing"
    expect(article.locator("h1")).to_have_text("Subscription plans and pricing")
