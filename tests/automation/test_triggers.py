"""Each trigger through the API: a rule made by an admin, dry-run and enabled, fires on the real event."""

import asyncio
from datetime import UTC, datetime, timedelta

from backend.analytics.events import Event, Kind
from backend.auth.tokens import customer_hash
from backend.core.database import utcnow
from tests.app_fixtures import SERVICE_HEADERS, staff_headers
from tests.automation.helpers import (
    admin,
    decisions,
    dry_run,
    hand_over,
    live,
    rule,
    say,
    settle,
    sweep,
    tags,
    wait_for,
)
from tests.dbcheck import execute, rows

TAG = "add_tag"


def tag(name: str) -> list[dict]:
    return [{"type": TAG, "tag": name}]


def new_session(client) -> dict[str, str]:
    email = "demo@northwind.example"
    signature = customer_hash(email, client.app.state.settings.identity_secret)
    body = client.post("/api/v1/widget/sessions", json={"customer_email": email, "customer_hash": signature})
    assert body.status_code in (200, 201), body.text
    session = body.json()
    return {**session, "auth": f"Bearer {session['token']}"}


def test_conversation_opened_and_message_received(client):
    headers = admin(client)
    live(client, headers, rule({"type": "conversation_opened"}, tag("new")), "opened")
    only_orders = {"field": "intent", "op": "eq", "value": "order_status"}
    live(client, headers, rule({"type": "message_received"}, tag("orders"), conditions=only_orders), "orders")
    live(client, headers, rule({"type": "message_received"}, tag("never"),
                               conditions={"not": only_orders}), "not-orders")  # fmt: skip
    widget = new_session(client)
    settle(client)
    assert tags(client, headers, widget["conversation_id"]) == ["new"]
    say(client, widget, "where is my order?")
    assert tags(client, headers, widget["conversation_id"]) == ["new", "orders"]
    logged = decisions(client, headers, widget["conversation_id"])
    assert sorted(d["action"] for d in logged) == [TAG, TAG]
    message = next(d for d in logged if d["inputs"]["event"]["trigger"] == "message_received")
    # The decision's evidence: the rule version, the event and the context the conditions read.
    assert message["version"].startswith("rule:") and "/version:" in message["version"]
    assert message["inputs"]["context"]["intent"] == "order_status"
    assert message["inputs"]["context"]["plan"] is not None and message["message_id"] is not None


def agent_resolves(client, widget) -> int:
    """Hand the conversation over; an online agent gets it offered, answers and resolves it; the customer
    rates it 4."""
    alex = staff_headers(client, "alex@northwind.example")
    client.put("/api/v1/agents/me/status", json={"status": "online"}, headers=alex)
    handoff = f"/api/v1/service/conversations/{widget['conversation_id']}/handoff"
    response = client.post(handoff, json={"reason": "asked for a person"}, headers=SERVICE_HEADERS)
    case_id = response.json()["case_id"]
    settle(client)
    status = "SELECT status FROM cases WHERE id = :i"
    url = client.app.state.settings.database_url
    wait_for(lambda: rows(url, status, i=case_id)[0]["status"] == "assigned")
    assert (
        client.post(f"/api/v1/cases/{case_id}/messages", json={"text": "On it"}, headers=alex).status_code
        == 201
    )
    resolved = client.post(f"/api/v1/cases/{case_id}/resolve", json={"disposition": "solved"}, headers=alex)
    assert resolved.status_code == 200, resolved.text
    settle(client)
    rate = f"/api/v1/widget/conversations/{widget['conversation_id']}/csat"
    assert client.post(rate, json={"score": 4}, headers={"Authorization": widget["auth"]}).status_code == 200
    settle(client)
    return case_id


def test_case_created_resolved_and_csat_received(client, widget, database_url):
    headers = admin(client)
    live(client, headers, rule({"type": "case_created"}, tag("handed-over")), "created")
    live(client, headers, rule({"type": "case_resolved"}, tag("resolved")), "resolved")
    happy = {"field": "csat", "op": "ge", "value": 4}
    live(client, headers, rule({"type": "csat_received"}, tag("happy"), conditions=happy), "happy")
    live(client, headers, rule({"type": "csat_received"}, tag("unhappy"),
                               conditions={"field": "csat", "op": "le", "value": 2}), "unhappy")  # fmt: skip
    say(client, widget, "I need help")
    agent_resolves(client, widget)
    assert tags(client, headers, widget["conversation_id"]) == ["handed-over", "happy", "resolved"]


def test_time_based_triggers_fire_once_from_the_sweep(client, widget, database_url):
    headers = admin(client)
    live(client, headers, rule({"type": "case_waiting", "minutes": 5}, tag("waited")), "waiting")
    live(client, headers, rule({"type": "case_waiting", "minutes": 60}, tag("waited-long")), "waiting long")
    live(client, headers, rule({"type": "conversation_idle", "minutes": 10}, tag("idle")), "idle")
    crossed = {"type": "score_crossed", "score": "churn_score", "threshold": 0.5}
    live(client, headers, rule(crossed, tag("churn-risk")), "churn")
    half = {"type": "first_response_sla", "percent": 50}
    sla_rule = live(client, headers, rule(half, tag("sla-half-gone")), "sla")
    say(client, widget, "I need a person")
    hand_over(client, widget["conversation_id"])
    sweep(client)
    assert tags(client, headers, widget["conversation_id"]) == []  # nothing has waited yet
    conversation = widget["conversation_id"]
    past = utcnow() - timedelta(minutes=11)
    execute(database_url, "UPDATE cases SET created_at = :t, churn_risk = 0.7 WHERE conversation_id = :c",
            t=past, c=conversation)  # fmt: skip
    execute(
        database_url, "UPDATE conversations SET last_message_at = :t WHERE id = :c", t=past, c=conversation
    )
    sweep(client)
    # The SLA was due five minutes after the hand-off; the case now looks eleven minutes old, so more than
    # half of its first-response time is gone.
    assert tags(client, headers, conversation) == ["churn-risk", "idle", "sla-half-gone", "waited"]
    before = len(decisions(client, headers, conversation))
    sweep(client)  # found again: the ledger knows these events
    assert len(decisions(client, headers, conversation)) == before == 4
    # The replay finds the same moments in the stored rows: the dry-run plans what the sweep did.
    replayed = dry_run(client, headers, sla_rule)["planned"]
    assert [(p["event"]["trigger"], p["event"]["conversation_id"]) for p in replayed] == [
        ("first_response_sla", conversation)
    ]


def test_two_quick_messages_are_two_events(client, widget, database_url):
    """Both analytics events arrive after both messages are stored: each still finds its own message."""
    headers = admin(client)
    say(client, widget, "first")
    say(client, widget, "second")
    live(client, headers, rule({"type": "message_received"}, tag("seen")), "each message")
    query = (
        "SELECT id, created_at FROM messages WHERE conversation_id = :c AND sender = 'customer' ORDER BY id"
    )
    stored = rows(database_url, query, c=widget["conversation_id"])
    engine = client.app.state.automation
    for message in stored:
        at = message["created_at"]
        at = datetime.fromisoformat(at) if isinstance(at, str) else at
        at = at if at.tzinfo else at.replace(tzinfo=UTC)
        event = Event(
            Kind.MESSAGE_RECEIVED, datetime.fromtimestamp(at.timestamp(), UTC), widget["conversation_id"]
        )
        client.portal.call(lambda e=event: asyncio.sleep(0, engine.apply(e)))
    settle(client)
    logged = decisions(client, headers, widget["conversation_id"])
    assert sorted(d["message_id"] for d in logged) == [m["id"] for m in stored]
