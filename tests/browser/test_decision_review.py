"""The feedback loop in the browser: an agent says a hand-off was not needed and overrides the case's
priority in the inbox; a supervisor sees the overridden decision in the day's review queue and labels it,
sees the hand-off's label there, and finds the label counted in the dashboard's decision-quality table."""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot, sign_in
from tests.dbcheck import rows

pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("stack", ["sqlite"], indirect=True)]
AGENT = "hanna@northwind.example"  # sales: the pricing question makes a sales case
SUPERVISOR = "jordan@northwind.example"
KB_QUESTION = "How much does the Plus plan cost per month?"
ASK_FOR_A_PERSON = "Please connect me to an agent, I would like to talk to a person"
NOTE = "the bot had already answered with the price list"
OVERRIDE_REASON = "long-standing customer waiting on a refund"
REVIEW_NOTE = "the risk score undervalued a refund wait"
SAMPLE_SIZE = 20  # REVIEW_SAMPLE_SIZE's default, which the test stack keeps


@contextmanager
def staff_client(base: str, email: str) -> Iterator[httpx.Client]:
    """An API client signed in as a seeded staff member, to compare the pages with the routes."""
    with httpx.Client(base_url=base, timeout=30) as client:
        token = client.post("/api/v1/auth/token", data={"username": email, "password": "northwind-demo"})
        token.raise_for_status()
        client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        yield client


def poll(database_url: str, sql: str, timeout_s: float = 60.0, **params: object) -> list[dict]:
    """The rows of `sql` once there are any: the hand-off and its decision commit after the bot's reply."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = rows(database_url, sql, **params)
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"nothing after {timeout_s} s: {sql} {params}")


def this_week() -> str:
    """The Monday (UTC) that starts the quality table's current week."""
    today = datetime.now(UTC).date()
    return (today - timedelta(days=today.weekday())).isoformat()


def labelled_handoffs(client: httpx.Client) -> int:
    """This week's labelled hand-off decisions over every version, from the quality route."""
    quality = client.get("/api/decisions/quality", params={"weeks": 8}).raise_for_status().json()
    return sum(q["labelled"] for q in quality if q["kind"] == "handoff" and q["week"] == this_week())


def percent(value: float | None) -> str:
    """As dashboard.js writes a share."""
    return "—" if value is None else f"{100 * value:.1f} %"


def hand_over(base: str, page: Page, database_url: str) -> tuple[int, dict]:
    """A customer asks a knowledge question, then for a person in the widget; returns the case opened and
    its hand-off decision."""
    page.goto(f"{base}/demo")
    page.get_by_role("button", name="Open chat").click()
    page.get_by_label("Message").fill(KB_QUESTION)
    page.get_by_label("Message").press("Enter")
    expect(page.locator(".sd-sources a").first).to_be_visible(timeout=30_000)
    page.get_by_label("Message").fill(ASK_FOR_A_PERSON)
    page.get_by_label("Message").press("Enter")
    expect(page.locator(".sd-bot").last).to_be_visible()
    case_sql = (
        "SELECT c.id FROM cases c JOIN messages m ON m.conversation_id = c.conversation_id WHERE m.text = :t"
    )
    case = poll(database_url, case_sql, t=ASK_FOR_A_PERSON)
    assert len(case) == 1, case
    decision_sql = "SELECT id, action, version FROM decisions WHERE kind = 'handoff' AND case_id = :case"
    decision = poll(database_url, decision_sql, case=case[0]["id"])
    assert len(decision) == 1, decision  # one decision per turn, the one that opened the case
    return case[0]["id"], decision[0]


def label_handoff_not_needed(agent: Page, decision: dict) -> None:
    """The hand-off's evidence is shown; the agent labels it by keyboard alone, with a note."""
    handoff = agent.locator("#handoff-decision")
    expect(handoff).to_be_visible()
    expect(agent.locator("#handoff-why")).to_contain_text(f"{decision['action']}:")
    expect(agent.locator("#handoff-facts")).to_contain_text(decision["version"])
    group = handoff.get_by_role("group", name="Was this hand-off needed?")
    group.get_by_label("Note (optional)").fill(NOTE)
    group.get_by_role("button", name="Not needed").focus()
    agent.keyboard.press("Enter")
    status = group.get_by_role("status")
    expect(status).to_contain_text(f'Labelled "Not needed" by {AGENT}')
    expect(status).to_contain_text(NOTE)
    expect(group.get_by_role("button", name="Not needed")).to_have_attribute("aria-pressed", "true")
    expect(group.get_by_role("button", name="Hand-off needed")).to_have_attribute("aria-pressed", "false")


def label_knowledge_answer_right(agent: Page) -> None:
    """Beside the bot's cited answer: its knowledge decision, and Right / Wrong."""
    answer = agent.locator("#transcript li.bot", has=agent.locator(".decision-label"))
    expect(answer).to_have_count(1)
    expect(answer).to_contain_text("$14.99")
    expect(answer.locator(".kb-tag")).to_contain_text("knowledge answer · top article plans-and-pricing")
    answer.get_by_role("button", name="Right").click()
    expect(answer.get_by_role("status")).to_contain_text(f'Labelled "Right" by {AGENT}')


def test_an_unneeded_handoff_marked_in_the_inbox_reaches_review_and_dashboard(stack, new_page):
    base = stack.config.url(stack.config.backend_port)
    db = stack.config.database_url
    agent = sign_in(new_page(), f"{base}/inbox", AGENT)
    expect(agent.locator("#me")).to_contain_text("Hanna Berg")
    agent.get_by_label("Status").select_option("online")

    case_id, handoff = hand_over(base, new_page(width=420, height=820), db)
    with staff_client(base, SUPERVISOR) as client:
        labelled_before = labelled_handoffs(client)

    case_item = agent.locator("#cases li", has_text=f"#{case_id} · ")
    expect(case_item).to_have_count(1, timeout=30_000)
    case_item.press("Enter")
    expect(agent.locator("#transcript")).to_contain_text(ASK_FOR_A_PERSON)
    label_handoff_not_needed(agent, handoff)
    label_knowledge_answer_right(agent)
    feedback_sql = "SELECT feedback_label, feedback_note, feedback_by FROM decisions WHERE id = :id"
    stored = rows(db, feedback_sql, id=handoff["id"])
    assert stored == [{"feedback_label": "not_needed", "feedback_note": NOTE, "feedback_by": AGENT}]
    kb = rows(
        db,
        "SELECT action, feedback_label FROM decisions WHERE kind = 'kb_answer'"
        " AND conversation_id = (SELECT conversation_id FROM cases WHERE id = :c)",
        c=case_id,
    )
    assert kb == [{"action": "answer", "feedback_label": "right"}]

    # The agent raises the case's priority by hand: an override decision of its own, pointing at the automated
    # one it replaces.
    agent.get_by_label("New priority").fill("90")
    agent.get_by_label("Reason").fill(OVERRIDE_REASON)
    agent.get_by_role("button", name="Override").click()
    expect(agent.locator("#override-result")).to_contain_text(f"Case #{case_id} overridden: priority 90")
    expect(agent.locator(f"#cases li[data-case-id='{case_id}']")).to_contain_text("priority 90")
    screenshot(agent, "inbox-decision-feedback")
    priority = rows(db, "SELECT id FROM decisions WHERE kind = 'priority' AND case_id = :c", c=case_id)
    override = rows(
        db,
        "SELECT overrides_decision_id FROM decisions WHERE kind = 'override' AND case_id = :c",
        c=case_id,
    )
    assert len(priority) == 1 and len(override) == 1, (priority, override)
    assert override[0]["overrides_decision_id"] == priority[0]["id"]
    overridden_id = priority[0]["id"]

    # The supervisor's review queue: today's sample as the API gives it, every overridden decision in it.
    review = sign_in(new_page(1280, 1400), f"{base}/admin/review", SUPERVISOR)
    today = datetime.now(UTC).date().isoformat()
    expect(review.locator(f"body[data-loaded='{today}']")).to_have_count(1)
    with staff_client(base, SUPERVISOR) as client:
        sample = client.get("/api/review-queue", params={"day": today}).raise_for_status().json()
    shown = review.locator("#items > li")
    expect(shown).to_have_count(len(sample))
    assert [int(i) for i in shown.evaluate_all("items => items.map((i) => i.dataset.decisionId)")] == [
        item["id"] for item in sample
    ]
    labelled = sum(1 for item in sample if item["feedback_label"])
    expect(review.locator("#progress")).to_have_text(f"{labelled} of {len(sample)} labelled")

    item = review.locator(f"#items > li[data-decision-id='{overridden_id}']")
    expect(item).to_contain_text("sampled as overridden")
    expect(item).to_contain_text("priority")
    excerpt = item.get_by_role("list", name=f"Conversation around decision #{overridden_id}")
    expect(excerpt).to_contain_text(ASK_FOR_A_PERSON)
    item.get_by_label("Note (optional)").fill(REVIEW_NOTE)
    item.get_by_role("button", name="Wrong").click()
    expect(item.get_by_role("status")).to_contain_text(f'Labelled "Wrong" by {SUPERVISOR}')
    expect(review.locator("#progress")).to_have_text(f"{labelled + 1} of {len(sample)} labelled")
    reviewed = rows(db, "SELECT feedback_label, reviewed_by FROM decisions WHERE id = :id", id=overridden_id)
    assert reviewed == [{"feedback_label": "wrong", "reviewed_by": SUPERVISOR}]

    # The agent's hand-off label shows in the queue when the day's decisions left it a place in the sample.
    candidates = rows(
        db,
        "SELECT count(*) AS n FROM decisions WHERE kind != 'override' AND created_at >= :day",
        day=f"{today} 00:00:00",
    )[0]["n"]
    if candidates <= SAMPLE_SIZE:
        handoff_item = review.locator(f"#items > li[data-decision-id='{handoff['id']}']")
        expect(handoff_item.get_by_role("status")).to_contain_text('Labelled "Not needed"')
        not_needed = handoff_item.get_by_role("button", name="Not needed")
        expect(not_needed).to_have_attribute("aria-pressed", "true")
    screenshot(review, "review-queue")

    # The dashboard counts the agent's label in this week's hand-off rows of the decision-quality table.
    dashboard = sign_in(new_page(1280, 1600), f"{base}/admin/dashboard", SUPERVISOR)
    expect(dashboard.locator("body[data-quality='loaded']")).to_have_count(1)
    with staff_client(base, SUPERVISOR) as client:
        quality = client.get("/api/decisions/quality", params={"weeks": 8}).raise_for_status().json()
        assert labelled_handoffs(client) == labelled_before + 1  # the agent's label, counted once
    week_rows = [q for q in quality if q["week"] == this_week()]
    for q in week_rows:  # the table shows the route's figures, row for row
        match = f"[data-kind='{q['kind']}'][data-week='{q['week']}'][data-version='{q['version']}']"
        row = dashboard.locator(f"#quality-rows tr{match}")
        expect(row).to_have_count(1)
        expect(row.locator("[data-column='labelled']")).to_have_text(str(q["labelled"]))
        expect(row.locator("[data-column='n']")).to_have_text(str(q["n"]))
        expect(row.locator("[data-column='precision']")).to_have_text(percent(q["precision"]))
        expect(row.locator("[data-column='override_rate']")).to_have_text(percent(q["override_rate"]))
    deciding = next(q for q in week_rows if q["kind"] == "handoff" and q["version"] == handoff["version"])
    assert deciding["labelled"] >= 1
    if handoff["action"] == "handoff":  # a hand-off labelled "not needed" is a false positive
        assert deciding["precision"] is not None and deciding["precision"] < 1.0, deciding
    priority_rows = [q for q in week_rows if q["kind"] == "priority"]
    assert any(q["override_rate"] and q["override_rate"] > 0 for q in priority_rows), priority_rows
    screenshot(dashboard, "dashboard-decision-quality")
