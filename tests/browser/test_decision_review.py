"""The feedback loop in the browser: an agent says a hand-off was not needed in the inbox, a supervisor sees
that verdict in the review queue and counted in the dashboard's decision-quality table."""

import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot, sign_in
from tests.dbcheck import rows

pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("stack", ["sqlite"], indirect=True)]
AGENT = "alex@northwind.example"
SUPERVISOR = "jordan@northwind.example"
ASK_FOR_A_PERSON = "Please connect me to an agent, I would like to talk to a person"
NOTE = "only wanted the tracking link, the bot could have sent it"


def staff_client(base: str, email: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=30)
    token = client.post("/api/v1/auth/token", data={"username": email, "password": "northwind-demo"})
    token.raise_for_status()
    client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
    return client


def handed_over_case(database_url: str, text: str, timeout_s: float = 60.0) -> int:
    """The case opened by the conversation with this customer message, once the hand-off has committed."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = rows(
            database_url,
            "SELECT c.id FROM cases c JOIN messages m ON m.conversation_id = c.conversation_id"
            " WHERE m.text = :text",
            text=text,
        )
        if found:
            assert len(found) == 1, found
            return found[0]["id"]
        time.sleep(0.5)
    raise AssertionError(f"no case was opened for {text!r}")


def labelled_handoffs(client: httpx.Client) -> int:
    """This week's labelled hand-offs over every version, from the quality route."""
    quality = client.get("/api/decisions/quality", params={"weeks": 8}).raise_for_status().json()
    return sum(q["labelled"] for q in quality if q["kind"] == "handoff" and q["week"] == this_week())


def percent(value: float | None) -> str:
    """As dashboard.js writes a share."""
    return "—" if value is None else f"{100 * value:.1f} %"


def this_week() -> str:
    """The Monday (UTC) that starts the quality table's current week."""
    today = datetime.now(UTC).date()
    return (today - timedelta(days=today.weekday())).isoformat()


def test_an_unneeded_handoff_marked_in_the_inbox_reaches_review_and_dashboard(stack, new_page):
    base = stack.config.url(stack.config.backend_port)
    agent = sign_in(new_page(), f"{base}/inbox", AGENT)
    expect(agent.locator("#me")).to_contain_text("Alex Morgan")
    agent.get_by_label("Status").select_option("online")

    customer = new_page(width=420, height=820)
    customer.goto(f"{base}/demo")
    customer.get_by_role("button", name="Open chat").click()
    customer.get_by_label("Message").fill(ASK_FOR_A_PERSON)
    customer.get_by_label("Message").press("Enter")
    expect(customer.locator(".sd-bot").last).to_be_visible()
    case_id = handed_over_case(stack.config.database_url, ASK_FOR_A_PERSON)
    with staff_client(base, SUPERVISOR) as client:
        labelled_before = labelled_handoffs(client)

    case_item = agent.locator("#cases li", has_text=f"#{case_id} · ")
    expect(case_item).to_have_count(1, timeout=30_000)
    case_item.click()
    expect(agent.locator("#transcript")).to_contain_text(ASK_FOR_A_PERSON)

    # Why the bot handed over, with its score against the threshold and the deciding version.
    handoff = agent.locator("#handoff-decision")
    expect(handoff).to_be_visible()
    expect(agent.locator("#handoff-facts")).to_contain_text("threshold")
    group = handoff.get_by_role("group", name="Was this hand-off needed?")
    group.get_by_label("Note (optional)").fill(NOTE)
    # Keyboard only: focus the button and press Enter, as an agent without a mouse would.
    group.get_by_role("button", name="Not needed").focus()
    agent.keyboard.press("Enter")
    expect(group.get_by_role("status")).to_contain_text('Labelled "Not needed"')
    expect(group.get_by_role("status")).to_contain_text(NOTE)
    expect(group.get_by_role("button", name="Not needed")).to_have_attribute("aria-pressed", "true")
    screenshot(agent, "inbox-handoff-not-needed")

    stored = rows(
        stack.config.database_url,
        "SELECT id, label, feedback_note, feedback_by FROM decisions"
        " WHERE kind = 'handoff' AND conversation_id = (SELECT conversation_id FROM cases WHERE id = :case)"
        " AND label IS NOT NULL",
        case=case_id,
    )
    assert len(stored) == 1, stored
    decision = stored[0]
    assert decision["label"] == "not_needed" and decision["feedback_note"] == NOTE
    assert decision["feedback_by"] == AGENT

    # The supervisor's review queue shows the day's sample with each item's label and the progress.
    review = sign_in(new_page(1280, 1400), f"{base}/admin/review", SUPERVISOR)
    today = datetime.now(UTC).date().isoformat()
    expect(review.locator(f"body[data-loaded='{today}']")).to_have_count(1)
    with staff_client(base, SUPERVISOR) as client:
        sample = client.get("/api/review-queue", params={"day": today}).raise_for_status().json()
    assert sample, "today's review sample is empty though decisions were logged today"
    labelled = sum(1 for item in sample if item["feedback_label"])
    expect(review.locator("#progress")).to_have_text(f"{labelled} of {len(sample)} labelled")
    expect(review.locator("#items > li")).to_have_count(len(sample))
    item = review.locator(f"#items > li[data-decision-id='{decision['id']}']")
    expect(item).to_have_count(1)
    expect(item.get_by_role("status")).to_contain_text('Labelled "Not needed"')
    expect(item.get_by_role("button", name="Not needed")).to_have_attribute("aria-pressed", "true")
    expect(item.get_by_role("list", name=f"Conversation around decision #{decision['id']}")).to_contain_text(
        ASK_FOR_A_PERSON
    )
    screenshot(review, "review-queue")

    # The dashboard counts the label in this week's hand-off row of the decision-quality table.
    dashboard = sign_in(new_page(1280, 1600), f"{base}/admin/dashboard", SUPERVISOR)
    expect(dashboard.locator("body[data-quality='loaded']")).to_have_count(1)
    with staff_client(base, SUPERVISOR) as client:
        quality = client.get("/api/decisions/quality", params={"weeks": 8}).raise_for_status().json()
        assert labelled_handoffs(client) == labelled_before + 1  # the agent's label, counted once
    week_rows = [q for q in quality if q["kind"] == "handoff" and q["week"] == this_week()]
    assert week_rows, quality
    for q in week_rows:  # the table shows the route's figures, row for row
        row = dashboard.locator(
            f"#quality-rows tr[data-kind='handoff'][data-week='{q['week']}'][data-version='{q['version']}']"
        )
        expect(row).to_have_count(1)
        expect(row.locator("[data-column='labelled']")).to_have_text(str(q["labelled"]))
        expect(row.locator("[data-column='n']")).to_have_text(str(q["n"]))
        expect(row.locator("[data-column='precision']")).to_have_text(percent(q["precision"]))
    # A "not needed" label is a false hand-off: this week's hand-off precision cannot be perfect.
    assert any(q["precision"] is not None and q["precision"] < 1.0 for q in week_rows), week_rows
    screenshot(dashboard, "dashboard-decision-quality")
