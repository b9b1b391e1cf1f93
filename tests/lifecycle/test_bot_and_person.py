"""Who answers the customer, through the API: the bot stays silent while a person owns the conversation
(queued, offered or accepted), and a conversation the customer reopens after its case was resolved is the
bot's again, unless an automation rule sends it to a person."""

import pytest
from fastapi.testclient import TestClient

from backend.auth.sockets import subprotocols
from tests.automation.helpers import admin, live, rule, settle
from tests.cases.test_routing_flow import case_row, go_online, hand_off, wait_for
from tests.dbcheck import execute, rows


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"routing_interval_s": 0.05})


def say(client: TestClient, widget: dict[str, str], text: str) -> dict:
    response = client.post(
        f"/api/v1/widget/conversations/{widget['conversation_id']}/messages",
        json={"text": text},
        headers={"Authorization": widget["auth"]},
    )
    assert response.status_code == 200, response.text
    return response.json()


def conversation(database_url: str, conversation_id: str) -> dict:
    return rows(database_url, "SELECT * FROM conversations WHERE id = :c", c=conversation_id)[0]


def test_the_bot_stays_silent_while_a_person_owns_the_conversation(client, widget, rasa, database_url):
    assert say(client, widget, "where is my order")["replies"]  # the bot's conversation: it answers
    asked = len(rasa.calls)
    case_id = hand_off(client, widget)
    # Queued: nobody has it yet, and still the bot says nothing.
    queued = say(client, widget, "hello? anyone there?")
    assert queued["replies"] == [] and len(rasa.calls) == asked
    alex = go_online(client, "alex@northwind.example")
    wait_for(lambda: case_row(database_url, case_id)["status"] == "assigned")
    token = alex["Authorization"].split()[1]
    with client.websocket_connect("/ws/agent", subprotocols=subprotocols(token)) as inbox:
        offered = say(client, widget, "I was charged twice")  # offered to Alex, not yet accepted
        event = inbox.receive_json()
    assert offered["replies"] == [] and event["message"]["text"] == "I was charged twice"
    client.post(f"/api/v1/cases/{case_id}/accept", headers=alex)
    # Accepted, over the widget's socket too: the ack comes with no bot message before it.
    with client.websocket_connect("/ws/widget", subprotocols=subprotocols(widget["token"])) as socket:
        socket.send_json({"type": "message", "text": "thanks", "client_message_id": "m-1"})
        frames = [socket.receive_json()]
        while frames[-1]["type"] != "ack":
            frames.append(socket.receive_json())
    assert [f["message"]["sender"] for f in frames if f["type"] == "message"] == ["customer"]
    assert len(rasa.calls) == asked
    skipped = rows(
        database_url,
        "SELECT bot_status FROM messages WHERE conversation_id = :c AND sender = 'customer' ORDER BY id",
        c=widget["conversation_id"],
    )
    assert [m["bot_status"] for m in skipped] == ["answered", "skipped", "skipped", "skipped"]


def resolved_and_ended(client: TestClient, widget: dict[str, str], database_url: str) -> int:
    """A case resolved by Alex, then the conversation ended idle (as the analytics sweep ends it)."""
    alex = go_online(client, "alex@northwind.example")
    case_id = hand_off(client, widget)
    wait_for(lambda: case_row(database_url, case_id)["status"] == "assigned")
    resolved = client.post(f"/api/v1/cases/{case_id}/resolve", json={"disposition": "solved"}, headers=alex)
    assert resolved.status_code == 200
    execute(
        database_url,
        "UPDATE conversations SET status = 'resolved' WHERE id = :c",
        c=widget["conversation_id"],
    )
    return case_id


def test_a_conversation_reopened_after_resolution_returns_to_the_bot(client, widget, rasa, database_url):
    resolved_and_ended(client, widget, database_url)
    asked = len(rasa.calls)
    turn = say(client, widget, "one more question about my order")
    assert [r["sender"] for r in turn["replies"]] == ["bot", "bot"] and len(rasa.calls) == asked + 1
    reopened = conversation(database_url, widget["conversation_id"])
    assert reopened["status"] == "open" and reopened["owner"] == "bot"
    assert reopened["assigned_agent_id"] is None


def test_a_rule_can_send_a_reopened_conversation_to_a_person(client, widget, database_url):
    first = resolved_and_ended(client, widget, database_url)
    live(
        client,
        admin(client),
        rule({"type": "message_received"}, [{"type": "assign_team", "skill": "billing"}]),
    )
    say(client, widget, "it's about the refund again")
    settle(client)
    reopened = conversation(database_url, widget["conversation_id"])
    assert reopened["status"] == "open" and reopened["owner"] == "human"
    cases = rows(
        database_url,
        "SELECT id, status, skill FROM cases WHERE conversation_id = :c ORDER BY id",
        c=widget["conversation_id"],
    )
    assert cases[0] == {"id": first, "status": "resolved", "skill": "general"}
    assert cases[1]["skill"] == "billing" and cases[1]["status"] in ("queued", "assigned")
