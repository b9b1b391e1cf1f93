"""The inbox draws bot and agent messages, suggested replies and the brief's quotations of the bot with the
widget's Markdown subset (the shared markdown.js), in Chromium without the stack.

The real inbox page and its scripts are served from the repository under a made-up origin; its API is a small
fake that answers by path and stores the agent's reply, so the page runs its real code paths (sign-in, opening
a case, Insert, Send, reopening the case). The agent socket cannot connect there, which the inbox survives.
"""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Route, expect

ROOT = Path(__file__).resolve().parents[2] / "backend" / "web"
INBOX = "http://inbox.test"
CASE = 41
CONVERSATION = "c0ffee00-0000-4000-8000-000000000041"

XSS = "<img src=x onerror=\"window.__pwned='img'\"><script>window.__pwned='script'</script>"
TABLE = "| Plan | Monthly | Yearly |\n|---|---|---|\n| Basic | $4.99 | $49 |\n| Plus | $14.99 | $149 |"
KB_PASSAGE = f"Our **Plus** plan adds express shipping. See [plans](/kb/articles/plans).\n{TABLE}"
ARTICLE_WITH_HTML = f"Gift wrap is free. {XSS} [click](javascript:alert(1))"
PAST_REPLY = "Hi, I've *refunded* the order: it reaches your card in `3-5` days."
BOT_ANSWER = f"Here are our plans:\n{TABLE}\nAnything else?"
CUSTOMER = f"Which plan is **cheapest**? {XSS}"


def message(id_: int, sender: str, text: str, **more: Any) -> dict[str, Any]:
    return {
        "id": id_,
        "conversation_id": CONVERSATION,
        "sender": sender,
        "text": text,
        "created_at": "2026-12-05T10:00:00Z",
        "intent": None,
        "intent_confidence": None,
        "sentiment_label": None,
        "sentiment_score": None,
        "author_name": None,
        **more,
    }


class FakeApi:
    """The inbox's API for one agent with one accepted case; a reply sent is stored and shown on reopening."""

    def __init__(self) -> None:
        self.messages = [
            message(1, "customer", CUSTOMER),
            message(2, "bot", BOT_ANSWER),
            message(3, "bot", ARTICLE_WITH_HTML),
            message(4, "agent", "**Alex** here. " + XSS, author_name="Alex Morgan"),
        ]
        self.sent: list[str] = []

    def case(self) -> dict[str, Any]:
        return {
            "id": CASE,
            "conversation_id": CONVERSATION,
            "skill": "billing",
            "status": "accepted",
            "reason": "asked for a person",
            "priority": 50.0,
            "sla_due_at": None,
            "first_response_at": None,
            "assigned_agent_id": 7,
        }

    def answer(self, method: str, path: str, body: Any) -> Any:
        if path == "/api/v1/auth/token":
            return {"access_token": "t", "token_type": "bearer"}
        if path == "/api/v1/auth/me":
            return {"id": 7, "name": "Alex Morgan", "role": "agent", "team": "billing", "status": "online"}
        if path == "/api/v1/cases":
            return [self.case()]
        if path == f"/api/v1/cases/{CASE}":
            return {
                **self.case(),
                "escalation_risk": None,
                "churn_risk": None,
                "sentiment": None,
                "messages": self.messages,
                "customer": None,
                "customer_open_cases": [],
                "customer_past_conversations": [],
            }
        if path == f"/api/v1/cases/{CASE}/messages" and method == "POST":
            self.sent.append(body["text"])
            sent = message(len(self.messages) + 1, "agent", body["text"], author_name="Alex Morgan")
            self.messages.append(sent)
            return sent
        if path == f"/api/assist/cases/{CASE}/brief":
            flat = " ".join(BOT_ANSWER.split())  # the brief quotes a message on one line (brief.py quote())
            flat_customer = " ".join(CUSTOMER.split())
            return {
                "facts_source": "read back from the bot's replies",
                "statements": [
                    {
                        "section": "wants",
                        "text": f"Wrote, not read by the bot: “{flat_customer}”",
                        "message_id": 1,
                        "sources": [1],
                    },
                    {
                        "section": "answered",
                        "text": f"Bot replied (from Plans): “{flat}”",
                        "message_id": 2,
                        "sources": [2],
                    },
                    {
                        "section": "answered",
                        "text": f"Bot replied: “{ARTICLE_WITH_HTML}”",
                        "message_id": 3,
                        "sources": [3],
                    },
                ],
            }
        if path == f"/api/assist/cases/{CASE}/suggestions":
            return {
                "question_message_id": 1,
                "shown_decision_id": 99,
                "suggestions": [
                    {
                        "id": "kb:plans#0",
                        "kind": "kb",
                        "text": KB_PASSAGE,
                        "score": 0.81,
                        "source": {"article": "Plans and prices", "url": "/kb/articles/plans"},
                    },
                    {
                        "id": "kb:gift#0",
                        "kind": "kb",
                        "text": ARTICLE_WITH_HTML,
                        "score": 0.52,
                        "source": {"article": f"Gift wrap {XSS}", "url": "/kb/articles/gift"},
                    },
                    {
                        "id": "reply:12",
                        "kind": "reply",
                        "text": PAST_REPLY,
                        "score": 0.5,
                        "source": {"conversation_id": "abcdef0123", "date": "2026-11-30T09:00:00Z"},
                    },
                ],
            }
        if path in (f"/api/assist/cases/{CASE}/similar", "/api/decisions", "/api/v1/agents"):
            return []
        if path == f"/api/assist/cases/{CASE}/suggestions/outcome":
            return {}
        return None

    def handle(self, route: Route) -> None:
        request = route.request
        path = request.url.removeprefix(INBOX).split("?")[0]
        if path == "/inbox":
            route.fulfill(body=(ROOT / "pages" / "inbox.html").read_text(), content_type="text/html")
            return
        if path.startswith("/static/") and "/" not in path.removeprefix("/static/"):
            kind = "text/css" if path.endswith(".css") else "text/javascript"
            text = (ROOT / "static" / path.removeprefix("/static/")).read_text()
            route.fulfill(body=text, content_type=kind)
            return
        body = (
            request.post_data_json
            if request.method == "POST" and "json" in (request.headers.get("content-type") or "")
            else None
        )
        found = self.answer(request.method, path, body)
        if found is None:
            route.fulfill(status=404, body="{}", content_type="application/json")
        else:
            route.fulfill(body=json.dumps(found), content_type="application/json")


@pytest.fixture
def inbox(browser: Browser) -> Iterator[tuple[Page, FakeApi]]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    api = FakeApi()
    page.route(f"{INBOX}/**", api.handle)
    page.goto(f"{INBOX}/inbox")
    page.get_by_label("Email").fill("alex@northwind.example")
    page.get_by_label("Password").fill("northwind-demo")
    page.get_by_role("button", name="Sign in").click()
    page.locator(f"#cases li[data-case-id='{CASE}']").click()
    expect(page.locator("#transcript li")).to_have_count(len(api.messages))
    expect(page.locator("#suggestions li.suggestion")).to_have_count(3)
    yield page, api
    assert not dialogs, f"a message ran script: {dialogs}"
    assert page.evaluate("window.__pwned") is None
    assert page.locator("#app img, #app script").count() == 0
    context.close()


def test_a_kb_suggestion_shows_its_table_and_bold_and_insert_gives_the_markdown_source(inbox) -> None:
    page, api = inbox
    kb = page.locator("#suggestions li.suggestion-kb").first
    expect(kb.locator(".text strong")).to_have_text("Plus")
    expect(kb.locator(".text table th")).to_have_text(["Plan", "Monthly", "Yearly"])
    expect(kb.locator(".text table tbody tr").nth(1).locator("td")).to_have_text(["Plus", "$14.99", "$149"])
    link = kb.locator(".text").get_by_role("link", name="plans")
    expect(link).to_have_attribute("href", f"{INBOX}/kb/articles/plans")
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    assert "|" not in kb.locator(".text").inner_text() and "**" not in kb.locator(".text").inner_text()
    reply = page.locator("#suggestions li.suggestion-reply .text")
    expect(reply.locator("em")).to_have_text("refunded")
    expect(reply.locator("code")).to_have_text("3-5")

    # One click puts the Markdown source in the reply box: what the widget renders for the customer.
    kb.get_by_role("button", name="Insert suggestion: Our Plus plan adds express shipping").click()
    expect(page.get_by_label("Reply to the customer")).to_have_value(KB_PASSAGE)
    page.get_by_role("button", name="Send").click()
    # The sent reply, as the inbox shows it once the case reloads, is drawn as the customer sees it.
    sent = page.locator("#transcript li.agent").last
    expect(sent.locator(".text table th")).to_have_text(["Plan", "Monthly", "Yearly"])
    expect(sent.locator(".text strong")).to_have_text("Plus")
    assert api.sent == [KB_PASSAGE]


def test_messages_render_like_the_widget_and_the_customer_stays_plain_text(inbox) -> None:
    page, _ = inbox
    bot = page.locator("#transcript li.bot").first
    expect(bot.locator(".text table tbody tr")).to_have_count(2)
    expect(bot.locator(".text p").last).to_have_text("Anything else?")
    agent = page.locator("#transcript li.agent").first
    expect(agent.locator(".text strong")).to_have_text("Alex")
    expect(agent.locator(".text")).to_have_text("Alex here. " + XSS)
    customer = page.locator("#transcript li.customer .text")
    expect(customer).to_have_text(CUSTOMER)
    assert customer.locator("strong").count() == 0


def test_html_in_an_article_or_a_message_stays_text(inbox) -> None:
    page, _ = inbox
    article = page.locator("#suggestions li.suggestion-kb").nth(1)
    expect(article.locator(".text")).to_have_text(f"Gift wrap is free. {XSS} [click](javascript:alert(1))")
    expect(article.locator(".text a")).to_have_count(0)  # a javascript: link stays its source text
    expect(article.locator(".muted")).to_contain_text(f"Article: Gift wrap {XSS}")
    bot = page.locator("#transcript li.bot").nth(1)
    expect(bot.locator(".text")).to_have_text(ARTICLE_WITH_HTML)
    page.locator("#suggestions li.suggestion-kb").nth(1).get_by_role("button").click()
    expect(page.get_by_label("Reply to the customer")).to_have_value(ARTICLE_WITH_HTML)


def test_the_brief_quotes_the_bot_as_drawn_and_the_customer_as_written(inbox) -> None:
    page, _ = inbox
    answered = page.locator("#brief-body li[data-section=answered]")
    expect(answered.first.locator(".quote table th")).to_have_text(["Plan", "Monthly", "Yearly"])
    expect(answered.first.locator(".quote table tbody tr")).to_have_count(2)
    expect(answered.first).to_contain_text("Anything else?”")
    expect(answered.first.locator("a.cite")).to_have_text("#2")
    expect(answered.nth(1).locator(".quote")).to_have_text(ARTICLE_WITH_HTML)
    wants = page.locator("#brief-body li[data-section=wants]")
    expect(wants).to_contain_text(f"“{CUSTOMER}”")
    assert wants.locator("strong, table").count() == 0
