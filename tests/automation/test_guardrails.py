"""Guardrails end to end: the contact cap, a rule loop stopped by the per-conversation cap, a rule not
re-triggered by its own actions, business-hours scopes."""

from datetime import datetime
from zoneinfo import ZoneInfo

from tests.automation.conftest import ACTIONS_PER_HOUR
from tests.automation.helpers import admin, decisions, exceptions, hand_over, live, rule, say
from tests.dbcheck import rows

ON_MESSAGE = {"type": "message_received"}
OFFER = "Here is 20% off your next month if you stay with us."


def firings(database_url: str, conversation_id: str) -> list[dict]:
    query = "SELECT * FROM automation_firings WHERE conversation_id = :c ORDER BY id"
    return rows(database_url, query, c=conversation_id)


def test_the_contact_cap_blocks_the_third_message_in_a_day(client, widget, database_url):
    headers = admin(client)
    live(client, headers, rule(ON_MESSAGE, [{"type": "send_message", "text": OFFER}]), "offer")
    for text in ("I want to cancel", "really", "cancel it now"):
        say(client, widget, text)
    query = "SELECT text FROM messages WHERE conversation_id = :c AND sender = 'system'"
    assert [r["text"] for r in rows(database_url, query, c=widget["conversation_id"])] == [OFFER, OFFER]
    (blocked,) = exceptions(client)
    assert blocked["kind"] == "blocked" and blocked["reason"].startswith("contact cap: 2 messages")
    actions = [d["action"] for d in decisions(client, headers, widget["conversation_id"])]
    assert sorted(actions) == ["blocked:send_message", "send_message", "send_message"]


def test_a_rule_loop_stops_at_the_cap_per_conversation(client, widget, database_url):
    """Two rules that trigger each other: closing resolves the case, re-assigning opens a new one. Loop
    protection only keeps a rule from its *own* events, so the per-conversation cap has to end it."""
    headers = admin(client)
    live(client, headers, rule({"type": "case_created"}, [{"type": "close"}]), "close new cases")
    live(
        client,
        headers,
        rule({"type": "case_resolved"}, [{"type": "assign_team", "skill": "billing"}]),
        "reopen",
    )
    say(client, widget, "help")
    hand_over(client, widget["conversation_id"])  # returns once the engine has nothing left to handle
    fired = firings(database_url, widget["conversation_id"])
    assert sum(f["outcome"] == "done" for f in fired) == ACTIONS_PER_HOUR
    assert [f["outcome"] for f in fired][-1] == "blocked"
    (stopped,) = exceptions(client)
    assert stopped["reason"].startswith(f"cap: {ACTIONS_PER_HOUR} automated actions")


def test_a_rule_is_not_triggered_by_its_own_actions(client, widget, database_url):
    headers = admin(client)
    # Closing resolves the case and re-routing opens a new one: a case_created event this rule caused.
    actions = [{"type": "close"}, {"type": "assign_team", "skill": "billing"}]
    live(client, headers, rule({"type": "case_created"}, actions), "self")
    say(client, widget, "help")
    hand_over(client, widget["conversation_id"])
    assert [f["outcome"] for f in firings(database_url, widget["conversation_id"])] == ["done", "done"]
    query = "SELECT status, skill FROM cases WHERE conversation_id = :c ORDER BY id"
    assert rows(database_url, query, c=widget["conversation_id"]) == [
        {"status": "resolved", "skill": "general"},
        {"status": "queued", "skill": "billing"},
    ]


def test_business_hours_rules_do_nothing_outside_the_calendar(client, widget):
    headers = admin(client)
    # Every day is a working day, all day long, in Tokyo, except today there (a holiday): whenever this
    # runs, now is outside the calendar.
    tokyo_today = datetime.now(tz=ZoneInfo("Asia/Tokyo")).date().isoformat()
    calendar = {"timezone": "Asia/Tokyo", "days": [0, 1, 2, 3, 4, 5, 6], "opens": "00:00", "closes": "23:59",
                "holidays": [tokyo_today]}  # fmt: skip
    inside = rule(
        ON_MESSAGE, [{"type": "add_tag", "tag": "in-hours"}], active="business_hours", calendar=calendar
    )
    outside = rule(ON_MESSAGE, [{"type": "add_tag", "tag": "after-hours"}], active="outside_business_hours",
                   calendar=calendar)  # fmt: skip
    live(client, headers, inside, "in hours")
    live(client, headers, outside, "after hours")
    say(client, widget, "hello")
    response = client.get(
        f"/api/automation/tags?conversation_id={widget['conversation_id']}", headers=headers
    )
    assert [t["tag"] for t in response.json()] == ["after-hours"]
