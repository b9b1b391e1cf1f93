"""The widget's launcher icon and its Markdown subset in bot bubbles, in Chromium without the stack.

widget.js is served from a made-up backend origin through Playwright's request routing, with a saved session
and a canned history, so the messages below reach the real render() path as they would from the API; the
WebSocket cannot connect there, which the widget survives (it retries and reads the history again).
"""

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import EXPECT_TIMEOUT_MS
from tests.browser.offline_widget import BACKEND, CONVERSATION_API, open_on_shop

XSS = "<img src=x onerror=alert(1)><script>window.__pwned=1</script>"
PLAIN = "Hello! I can help with orders, returns and plans.\nWhat would you like to do?"

MESSAGES = [
    {"id": 1, "sender": "bot", "text": PLAIN},
    {
        "id": 2,
        "sender": "bot",
        "text": (
            "Our **Plus** plan is *popular*; use code `SAVE10`.\n"
            "- free returns\n- express shipping\n"
            "1. open [your account](https://shop.example/account)\n2. pick a [plan](/kb/articles/plans)\n\n"
            "| Plan | Monthly | Yearly |\n|---|---|---|\n| Basic | $4.99 | $49 |\n| Plus | $14.99 | $149 |"
        ),
    },
    {"id": 3, "sender": "bot", "text": XSS},
    {
        "id": 4,
        "sender": "bot",
        "text": "[x](javascript:alert(1)) and [y](//evil.example/z) and [z](data:text/html,hi)",
    },
    {"id": 5, "sender": "agent", "author_name": "Alex", "text": "**bold** <b>nor this</b>"},
    {"id": 6, "sender": "customer", "text": "- not a list **nor bold** " + XSS},
    {
        "id": 7,
        "sender": "bot",
        "text": "| n | v |\n|---|---|\n" + "\n".join(f"| {i} | x |" for i in range(13)),
    },
]


@pytest.fixture
def widget(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(EXPECT_TIMEOUT_MS)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    open_on_shop(page, {f"{CONVERSATION_API}/messages": MESSAGES})
    expect(page.locator(".sd-msg")).to_have_count(len(MESSAGES))
    yield page
    assert not dialogs, f"a message ran script: {dialogs}"
    assert page.evaluate("window.__pwned") is None
    context.close()


def test_the_launcher_is_an_svg_icon_with_its_accessible_name(widget: Page) -> None:
    launcher = widget.get_by_role("button", name="Open chat")
    expect(launcher.locator("svg")).to_have_count(1)
    assert launcher.locator("svg").get_attribute("aria-hidden") == "true"
    assert launcher.evaluate("b => b.textContent.trim()") == ""  # no emoji glyph left to draw as a box
    box = launcher.locator("svg").bounding_box()
    assert box and box["width"] > 10 and box["height"] > 10


def test_bot_markdown_renders_as_elements(widget: Page) -> None:
    bubble = widget.locator(".sd-bot").nth(1)
    expect(bubble.locator("strong")).to_have_text("Plus")
    expect(bubble.locator("em")).to_have_text("popular")
    expect(bubble.locator("code")).to_have_text("SAVE10")
    expect(bubble.locator("ul > li")).to_have_text(["free returns", "express shipping"])
    expect(bubble.locator("ol > li")).to_have_text(["open your account", "pick a plan"])
    external = bubble.get_by_role("link", name="your account")
    expect(external).to_have_attribute("href", "https://shop.example/account")
    expect(external).to_have_attribute("rel", "noopener noreferrer")
    expect(external).to_have_attribute("target", "_blank")
    # A site-relative link points at the widget's backend, not at the page that embeds it.
    expect(bubble.get_by_role("link", name="plan", exact=True)).to_have_attribute(
        "href", f"{BACKEND}/kb/articles/plans"
    )
    table = bubble.locator("table")
    expect(table.locator("th")).to_have_text(["Plan", "Monthly", "Yearly"])
    expect(table.locator("tbody tr")).to_have_count(2)
    expect(table.locator("tbody tr").nth(1).locator("td")).to_have_text(["Plus", "$14.99", "$149"])
    assert "|" not in bubble.inner_text()


def test_html_and_unsafe_links_stay_text(widget: Page) -> None:
    assert widget.locator(".sd-messages img, .sd-messages script, .sd-messages b").count() == 0
    expect(widget.locator(".sd-bot").nth(2)).to_have_text(XSS)
    unsafe = widget.locator(".sd-bot").nth(3)
    expect(unsafe.locator("a")).to_have_count(0)
    expect(unsafe).to_have_text(
        "[x](javascript:alert(1)) and [y](//evil.example/z) and [z](data:text/html,hi)"
    )


def test_agent_bubbles_get_markdown_and_customer_bubbles_stay_plain_text(widget: Page) -> None:
    agent = widget.locator(".sd-agent .sd-md")
    expect(agent).to_have_text("bold <b>nor this</b>")
    expect(agent.locator("strong")).to_have_text("bold")
    customer = widget.locator(".sd-customer p")
    expect(customer).to_have_text("- not a list **nor bold** " + XSS)
    assert widget.locator(".sd-customer strong, .sd-customer ul").count() == 0


def test_plain_text_and_a_big_table_are_unchanged(widget: Page) -> None:
    plain = widget.locator(".sd-bot").first.locator(".sd-md")
    assert plain.evaluate("m => m.children.length === 1 && m.firstElementChild.children.length === 0")
    assert plain.evaluate("m => m.textContent") == PLAIN
    big = widget.locator(".sd-bot").last
    expect(big.locator("table")).to_have_count(0)  # over the size limit: the pipes stay as written
    expect(big).to_contain_text("| 12 | x |")
