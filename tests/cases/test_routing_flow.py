"""A handed-off conversation reaches the right online agent, whose reply reaches the customer's widget."""

import time
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from backend.auth.sockets import subprotocols
from backend.core.database import utcnow
from tests.app_fixtures import SERVICE_HEADERS, staff_headers
from tests.dbcheck import execute, rows


@pytest.fixture
def settings(settings):
    # Route at once in tests: a short loop interval, and pokes from every hand-off.
    return settings.model_copy(update={"routing_interval_s": 0.05})


def hand_off(client: TestClient, widget) -> int:
    url = f"/api/v1/service/conversations/{widget['conversation_id']}/handoff"
    response = client.post(url, json={"reason": "customer asked for a person"}, headers=SERVICE_HEADERS)
    assert response.status_code == 200, response.text
    return response.json()["case_id"]


def go_online(client: TestClient, email: str) -> dict[str, str]:
    headers = staff_headers(client, email)
    assert (
        client.put("/api/v1/agents/me/status", json={"status": "online"}, headers=headers).status_code == 200
    )
    return headers


def wait_for(predicate, timeout_s: float = 30.0):
    """`predicate`'s first truthy value. The routing loop runs on its own clock: `timeout_s` is a liveness
    bound for a loaded machine, not a speed target."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def routing_rounds(client: TestClient, n: int = 3) -> None:
    """Wait until the routing loop has run `n` more rounds (the first may have begun before this call), for a
    check that something did NOT happen: a fixed sleep before it is vacuous when a loaded machine ran no round
    in it."""
    loop = client.app.state.dispatcher.loop
    start = loop.health().rounds
    wait_for(lambda: loop.health().rounds >= start + n)


def next_frame(socket) -> dict:
    """The widget socket's next frame that is not a `queue` frame. The routing loop pushes a customer's place
    (and 'left the queue') after its own rounds, on its own clock: a round that saw the case waiting can push
    one just before or after the frame a test waits for."""
    frame = socket.receive_json()
    while frame["type"] == "queue":
        frame = socket.receive_json()
    return frame


def case_row(database_url: str, case_id: int) -> dict:
    return rows(database_url, "SELECT * FROM cases WHERE id = :i", i=case_id)[0]


def test_case_goes_to_the_online_agent_with_the_skill_and_the_reply_reaches_the_widget(
    client, widget, database_url
):
    # Diego has billing skill; Priya has not. Both online: the billing case must go to Diego.
    client.post(
        f"/api/v1/widget/conversations/{widget['conversation_id']}/messages",
        json={"text": "I was charged twice"},
        headers={"Authorization": widget["auth"]},
    )
    execute(database_url, "UPDATE messages SET intent = 'billing_question' WHERE sender = 'customer'")
    diego = go_online(client, "diego@northwind.example")
    go_online(client, "priya@northwind.example")
    diego_token = diego["Authorization"].split()[1]
    with client.websocket_connect("/ws/agent", subprotocols=subprotocols(diego_token)) as inbox:
        case_id = hand_off(client, widget)
        offered = inbox.receive_json()
    assert offered["type"] == "case_assigned" and offered["case"]["id"] == case_id
    assert offered["case"]["skill"] == "billing"

    detail = client.get(f"/api/v1/cases/{case_id}", headers=diego).json()
    assert detail["messages"][0]["text"] == "I was charged twice"
    assert detail["customer"]["email"] == "demo@northwind.example"

    with client.websocket_connect("/ws/widget", subprotocols=subprotocols(widget["token"])) as customer:
        sent = client.post(
            f"/api/v1/cases/{case_id}/messages", json={"text": "Hi, I'm Diego. Let me check."}, headers=diego
        )
        assert sent.status_code == 201
        pushed = next_frame(customer)
    assert (
        pushed["message"]["sender"] == "agent" and pushed["message"]["text"] == "Hi, I'm Diego. Let me check."
    )
    row = case_row(database_url, case_id)
    assert row["status"] == "accepted" and row["first_response_at"] is not None


def test_resolution_asks_for_a_rating_and_stores_it_once(client, widget, database_url):
    alex = go_online(client, "alex@northwind.example")
    case_id = hand_off(client, widget)
    wait_for(lambda: case_row(database_url, case_id)["status"] == "assigned")
    with client.websocket_connect("/ws/widget", subprotocols=subprotocols(widget["token"])) as customer:
        resolved = client.post(
            f"/api/v1/cases/{case_id}/resolve", json={"disposition": "solved"}, headers=alex
        )
        assert resolved.status_code == 200
        assert next_frame(customer)["message"]["sender"] == "system"
        assert next_frame(customer) == {"type": "csat_request", "case_id": case_id}
    rate = f"/api/v1/widget/conversations/{widget['conversation_id']}/csat"
    auth = {"Authorization": widget["auth"]}
    assert client.post(rate, json={"score": 6}, headers=auth).status_code == 422
    assert client.post(rate, json={"score": 4}, headers=auth).json()["csat"] == 4
    again = client.post(rate, json={"score": 5}, headers=auth)
    assert again.status_code == 409 and "already been rated" in again.json()["detail"]
    assert case_row(database_url, case_id)["csat"] == 4
    owner = rows(database_url, "SELECT owner FROM conversations WHERE id = :c", c=widget["conversation_id"])
    assert owner == [{"owner": "bot"}]


def test_an_agent_going_offline_sends_the_case_back_to_the_queue_and_to_someone_else(
    client, widget, database_url
):
    alex = go_online(client, "alex@northwind.example")
    case_id = hand_off(client, widget)
    wait_for(lambda: case_row(database_url, case_id)["assigned_agent_id"] is not None)
    first = case_row(database_url, case_id)["assigned_agent_id"]
    go_online(client, "jordan@northwind.example")  # supervisor with the general skill
    client.put("/api/v1/agents/me/status", json={"status": "offline"}, headers=alex)
    moved = wait_for(
        lambda: (r := case_row(database_url, case_id))["assigned_agent_id"] not in (None, first) and r
    )
    assert moved["requeue_count"] == 1 and moved["status"] == "assigned"


def test_transfer_and_state_errors_are_clear(client, widget, database_url):
    alex = go_online(client, "alex@northwind.example")
    case_id = hand_off(client, widget)
    wait_for(lambda: case_row(database_url, case_id)["status"] == "assigned")
    bad = client.post(f"/api/v1/cases/{case_id}/transfer", json={"skill": "astrology"}, headers=alex)
    assert bad.status_code == 422
    moved = client.post(f"/api/v1/cases/{case_id}/transfer", json={"skill": "technical"}, headers=alex)
    assert moved.status_code == 200 and moved.json()["skill"] == "technical"
    # Back in the queue (nobody online has the technical skill): no longer Alex's to see,
    # and a supervisor cannot resolve a case nobody has taken.
    assert client.get(f"/api/v1/cases/{case_id}", headers=alex).status_code == 404
    jordan = staff_headers(client, "jordan@northwind.example")
    refused = client.post(f"/api/v1/cases/{case_id}/resolve", json={"disposition": "solved"}, headers=jordan)
    assert refused.status_code == 409 and "queued" in refused.json()["detail"]
    audit = rows(
        database_url,
        "SELECT action FROM audit_events WHERE entity_type = 'case' AND entity_id = :i ORDER BY id",
        i=str(case_id),
    )
    assert [a["action"] for a in audit] == ["case.handoff", "case.assign", "case.transfer"]
    # The admin's audit view shows who moved it, from where to where.
    admin = staff_headers(client, "admin@northwind.example")
    page = client.get(f"/api/v1/audit?action=case.transfer&entity_id={case_id}", headers=admin).json()
    alex_id = client.get("/api/v1/auth/me", headers=alex).json()["id"]
    [event] = page["items"]
    assert event["actor"] == f"agent:{alex_id}" and event["after"] == {"skill": "technical"}
    assert event["before"]["agent_id"] == alex_id and event["before"]["skill"] in ("general", "billing")


def test_sla_breach_is_flagged_once_for_supervisors(client, widget, database_url):
    jordan = staff_headers(client, "jordan@northwind.example")
    case_id = hand_off(client, widget)
    jordan_token = jordan["Authorization"].split()[1]
    # The deadline passes only once the supervisor is connected: the breach is pushed once, when a routing
    # round flags it, and a round between the UPDATE and the connect would push it to nobody (the test then
    # waited forever on the socket).
    with client.websocket_connect("/ws/agent", subprotocols=subprotocols(jordan_token)) as supervisor:
        execute(
            database_url,
            "UPDATE cases SET sla_due_at = :t WHERE id = :i",
            t=utcnow() - timedelta(minutes=1),
            i=case_id,
        )
        alert = supervisor.receive_json()
        while alert["type"] != "sla_breach":
            alert = supervisor.receive_json()
    assert alert["type"] == "sla_breach" and alert["case"]["id"] == case_id
    wait_for(lambda: case_row(database_url, case_id)["sla_breached_at"] is not None)
    breaches = rows(database_url, "SELECT count(*) AS n FROM audit_events WHERE action = 'case.sla_breach'")
    routing_rounds(client)
    assert (
        rows(database_url, "SELECT count(*) AS n FROM audit_events WHERE action = 'case.sla_breach'")
        == breaches
    )


def test_agents_see_only_their_own_and_their_teams_cases(client, widget, database_url):
    alex = go_online(client, "alex@northwind.example")  # team care
    case_id = hand_off(client, widget)
    wait_for(lambda: case_row(database_url, case_id)["assigned_agent_id"] is not None)
    priya = staff_headers(client, "priya@northwind.example")  # team care
    hanna = staff_headers(client, "hanna@northwind.example")  # team growth
    assert client.get(f"/api/v1/cases/{case_id}", headers=priya).status_code == 200
    assert client.get(f"/api/v1/cases/{case_id}", headers=hanna).status_code == 404
    assert [c["id"] for c in client.get("/api/v1/cases", headers=hanna).json()] == []
    assert [c["id"] for c in client.get("/api/v1/cases?mine=true", headers=alex).json()] == [case_id]
    assert case_id in [c["id"] for c in client.get("/api/v1/cases", headers=priya).json()]
    # Another team's agent can neither see nor act on it; supervisors and admins see every case.
    for action, body in [("accept", None), ("messages", {"text": "hi"}), ("transfer", {"skill": "sales"})]:
        refused = client.post(f"/api/v1/cases/{case_id}/{action}", json=body, headers=hanna)
        assert refused.status_code == 404, (action, refused.text)
    for email in ("jordan@northwind.example", "admin@northwind.example"):
        overseer = staff_headers(client, email)
        assert client.get(f"/api/v1/cases/{case_id}", headers=overseer).status_code == 200
        assert case_id in [c["id"] for c in client.get("/api/v1/cases", headers=overseer).json()]
    assert case_row(database_url, case_id)["assigned_agent_id"] is not None  # nothing Hanna tried took effect
