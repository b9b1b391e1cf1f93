"""Each action through the API, carried out through the lifecycle, and the webhook against a real local
HTTP server: signed, retried, and after its last try a supervisor's exception to retry or dismiss."""

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from backend.auth.sockets import subprotocols
from backend.automation.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from tests.app_fixtures import staff_headers
from tests.automation.helpers import (
    admin,
    decisions,
    exceptions,
    hand_over,
    live,
    rule,
    say,
    supervisor,
)
from tests.dbcheck import rows

SECRET = "a-webhook-secret-of-some-length"
ON_MESSAGE = {"type": "message_received"}


def conversation(database_url: str, conversation_id: str) -> dict:
    return rows(database_url, "SELECT * FROM conversations WHERE id = :c", c=conversation_id)[0]


def cases(database_url: str, conversation_id: str) -> list[dict]:
    return rows(database_url, "SELECT * FROM cases WHERE conversation_id = :c ORDER BY id", c=conversation_id)


def system_messages(database_url: str, conversation_id: str) -> list[str]:
    query = "SELECT text FROM messages WHERE conversation_id = :c AND sender = 'system' ORDER BY id"
    return [r["text"] for r in rows(database_url, query, c=conversation_id)]


def test_assign_team_and_set_priority(client, widget, database_url):
    headers = admin(client)
    live(client, headers, rule(ON_MESSAGE, [{"type": "assign_team", "skill": "billing"}]), "to billing")
    live(client, headers, rule({"type": "case_created"}, [{"type": "set_priority", "value": 77}]), "urgent")
    say(client, widget, "my invoice is wrong")
    (case,) = cases(database_url, widget["conversation_id"])
    assert case["skill"] == "billing" and case["priority"] == 77
    assert conversation(database_url, widget["conversation_id"])["owner"] == "human"
    audit = rows(
        database_url, "SELECT actor, action FROM audit_events WHERE entity_id = :i", i=str(case["id"])
    )
    assert {"actor": "rule:2", "action": "case.priority"} in audit


def test_send_message_and_notify_supervisors(client, widget, database_url):
    headers = admin(client)
    text = "Thanks for writing. We answer within a day."
    notice = {"type": "notify_supervisors", "text": "look at this"}
    live(client, headers, rule(ON_MESSAGE, [{"type": "send_message", "text": text}, notice]))
    jordan = supervisor(client)["Authorization"].removeprefix("Bearer ")
    with client.websocket_connect("/ws/agent", subprotocols=subprotocols(jordan)) as inbox:
        say(client, widget, "hello")
        event = inbox.receive_json()
        while event.get("type") != "automation":
            event = inbox.receive_json()
    assert event["text"] == "look at this" and event["conversation_id"] == widget["conversation_id"]
    assert system_messages(database_url, widget["conversation_id"]) == [text]


def test_hand_back_and_close(client, widget, database_url):
    headers = admin(client)
    tagged = {"field": "tags", "op": "contains", "value": "bot-can-do-it"}
    live(client, headers, rule(ON_MESSAGE, [{"type": "add_tag", "tag": "bot-can-do-it"}]), "tag")
    live(client, headers, rule({"type": "case_created"}, [{"type": "hand_back"}], conditions=tagged), "back")
    live(client, headers, rule(ON_MESSAGE, [{"type": "close"}], conditions=tagged), "close")
    conversation_id = widget["conversation_id"]
    say(client, widget, "hi")  # tags the conversation; the close rule read the context before the tag
    assert conversation(database_url, conversation_id)["status"] == "open"
    hand_over(client, conversation_id)
    (case,) = cases(database_url, conversation_id)
    assert case["status"] == "resolved" and case["disposition"] == "handed_back_by_rule"
    assert conversation(database_url, conversation_id)["owner"] == "bot"
    say(client, widget, "thanks, that's all")
    assert conversation(database_url, conversation_id)["status"] == "resolved"
    assert system_messages(database_url, conversation_id)[-1].startswith("This conversation was closed")


@dataclass
class Receiver:
    """A real HTTP server on loopback that records each call and answers with `status`."""

    status: int = 200
    calls: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.calls.append((dict(self.headers), body))
            self.send_response(state.status)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def signed(call: tuple[dict[str, str], bytes]) -> bool:
    headers, body = call
    return verify(SECRET, headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])


def test_webhook_is_signed_and_delivered(client, widget, receiver: Receiver):
    headers = admin(client)
    rule_id = live(
        client, headers, rule(ON_MESSAGE, [{"type": "webhook", "url": receiver.url, "secret": SECRET}])
    )
    say(client, widget, "where is my order?")
    (call,) = receiver.calls
    assert signed(call)
    assert not verify(
        "another-secret-entirely!", call[0][TIMESTAMP_HEADER], call[1], call[0][SIGNATURE_HEADER]
    )
    payload = json.loads(call[1])
    assert payload["rule_id"] == rule_id and payload["event"]["conversation_id"] == widget["conversation_id"]
    assert payload["context"]["intent"] == "order_status"
    assert exceptions(client) == []
    logged = decisions(client, headers, widget["conversation_id"])
    assert "secret" not in logged[0]["inputs"]["action"]


def test_a_failing_webhook_lands_in_the_exception_queue_after_its_retries(client, widget, receiver: Receiver):
    headers = admin(client)
    receiver.status = 500
    live(client, headers, rule(ON_MESSAGE, [{"type": "webhook", "url": receiver.url, "secret": SECRET}]))
    say(client, widget, "hello")
    assert len(receiver.calls) == client.app.state.settings.automation_webhook_attempts == 3
    assert all(signed(call) for call in receiver.calls)
    (item,) = exceptions(client)
    assert item["kind"] == "failed" and "HTTP 500 after 3 tries" in item["reason"]
    assert item["conversation_id"] == widget["conversation_id"]
    # Agents do not work the queue; a supervisor does: the receiver is fixed, the retry goes through.
    agent = client.get("/api/automation/exceptions", headers=staff_headers(client))
    assert agent.status_code == 403
    receiver.status = 200
    retried = client.post(f"/api/automation/exceptions/{item['id']}/retry", headers=supervisor(client))
    assert retried.status_code == 200 and retried.json()["state"] == "done", retried.text
    assert len(receiver.calls) == 4 and signed(receiver.calls[-1])
    again = client.post(f"/api/automation/exceptions/{item['id']}/retry", headers=supervisor(client))
    assert again.status_code == 409
    # Another failure, dismissed instead.
    receiver.status = 500
    say(client, widget, "hello again")
    (second,) = exceptions(client)
    dismissed = client.post(f"/api/automation/exceptions/{second['id']}/dismiss", headers=supervisor(client))
    assert dismissed.status_code == 200 and dismissed.json()["state"] == "dismissed"
    assert exceptions(client) == [] and len(exceptions(client, "dismissed")) == 1


def test_a_webhook_refused_with_a_client_error_is_not_retried(client, widget, receiver: Receiver):
    receiver.status = 410
    live(
        client, admin(client), rule(ON_MESSAGE, [{"type": "webhook", "url": receiver.url, "secret": SECRET}])
    )
    say(client, widget, "hello")
    assert len(receiver.calls) == 1
    (item,) = exceptions(client)
    assert "HTTP 410 (not retried)" in item["reason"]
