"""The `assign_agent` action: a rule offers a conversation's case to one named agent (issue 16: "assign to a
team or agent"), who accepts it as any offer; an agent who cannot take it fails the action into the
exception queue instead of handing the conversation to someone who will not see it."""

from tests.app_fixtures import staff_headers
from tests.automation.helpers import admin, exceptions, live, rule, say
from tests.dbcheck import rows

ON_MESSAGE = {"type": "message_received"}
DIEGO = "diego@northwind.example"


def case_of(database_url: str, conversation_id: str) -> dict:
    (case,) = rows(database_url, "SELECT * FROM cases WHERE conversation_id = :c", c=conversation_id)
    return case


def agent_id(database_url: str, email: str) -> int:
    return rows(database_url, "SELECT id FROM agents WHERE email = :e", e=email)[0]["id"]


def test_a_rule_offers_the_case_to_the_named_agent_who_accepts_it(client, widget, database_url):
    diego = staff_headers(client, DIEGO)
    online = client.put("/api/v1/agents/me/status", json={"status": "online"}, headers=diego)
    assert online.status_code == 200, online.text
    live(client, admin(client), rule(ON_MESSAGE, [{"type": "assign_agent", "agent": DIEGO}]), "key account")
    say(client, widget, "my invoice is wrong")
    case = case_of(database_url, widget["conversation_id"])
    assert case["status"] == "assigned" and case["assigned_agent_id"] == agent_id(database_url, DIEGO)
    accepted = client.post(f"/api/v1/cases/{case['id']}/accept", headers=diego)
    assert accepted.status_code == 200, accepted.text
    query = "SELECT action, version FROM decisions WHERE kind = 'routing' AND case_id = :i"
    routing = rows(database_url, query, i=case["id"])
    assert routing == [{"action": f"agent:{case['assigned_agent_id']}", "version": "rule:1"}]


def test_an_agent_who_is_not_online_fails_the_action_into_the_exception_queue(client, widget, database_url):
    live(client, admin(client), rule(ON_MESSAGE, [{"type": "assign_agent", "agent": DIEGO}]), "key account")
    say(client, widget, "my invoice is wrong")
    # Nothing changed hands: the bot keeps the conversation, and a supervisor sees why in the queue.
    query = "SELECT id FROM cases WHERE conversation_id = :c"
    assert rows(database_url, query, c=widget["conversation_id"]) == []
    (failed,) = exceptions(client)
    assert failed["action"]["type"] == "assign_agent" and "online" in failed["reason"]


def test_an_assign_agent_action_needs_an_email(client):
    response = client.post(
        "/api/automation/rules",
        json={"name": "x", "definition": rule(ON_MESSAGE, [{"type": "assign_agent", "agent": "diego"}])},
        headers=admin(client),
    )
    assert response.status_code == 422
