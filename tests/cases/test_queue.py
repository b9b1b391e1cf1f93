"""Each team's waiting queue through the API: its maximum length and the overflow path, the customer's place
and estimated wait (REST and live over the widget socket), and a case whose agent does not reply in time
going to the next agent."""

import json
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from backend.auth.sockets import subprotocols
from backend.cases import routing
from backend.core.database import utcnow
from backend.lifecycle.handoff import OVERFLOW_TEXT
from tests.app_fixtures import SERVICE_HEADERS, staff_headers
from tests.cases.test_routing_flow import case_row, go_online, routing_rounds, wait_for
from tests.dbcheck import execute, rows


@pytest.fixture
def overrides() -> dict[str, object]:
    """Settings a test changes, by parametrizing this fixture."""
    return {}


@pytest.fixture
def settings(settings, overrides):
    defaults = {"routing_interval_s": 0.05, "queue_default_handle_s": 120}
    return settings.model_copy(update={**defaults, **overrides})


def with_overrides(**values: object) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("overrides", [values], ids=["-".join(values)])


def new_widget(client: TestClient) -> dict[str, str]:
    """An anonymous widget session (a customer not signed in at the shop)."""
    body = client.post("/api/v1/widget/sessions", json={}).json()
    return {**body, "auth": f"Bearer {body['token']}"}


def hand_off(client: TestClient, conversation_id: str) -> int:
    url = f"/api/v1/service/conversations/{conversation_id}/handoff"
    response = client.post(url, json={"reason": "customer asked for a person"}, headers=SERVICE_HEADERS)
    assert response.status_code == 200, response.text
    return response.json()["case_id"]


def place(client: TestClient, widget: dict[str, str]) -> dict:
    url = f"/api/v1/widget/conversations/{widget['conversation_id']}/queue"
    response = client.get(url, headers={"Authorization": widget["auth"]})
    assert response.status_code == 200, response.text
    return response.json()


def audits(database_url: str, action: str) -> list[dict]:
    """The audit rows' `after`, as dicts (SQLite returns the JSON as text, PostgreSQL as a dict)."""
    found = rows(database_url, "SELECT after FROM audit_events WHERE action = :a ORDER BY id", a=action)
    return [json.loads(r["after"]) if isinstance(r["after"], str) else r["after"] for r in found]


def owner(database_url: str, conversation_id: str) -> str:
    return rows(database_url, "SELECT owner FROM conversations WHERE id = :c", c=conversation_id)[0]["owner"]


@with_overrides(queue_max_length=1)
def test_a_hand_off_into_a_full_queue_gets_the_leave_a_message_path_not_silence(client, database_url, rasa):
    first, second = new_widget(client), new_widget(client)
    queued = hand_off(client, first["conversation_id"])
    with client.websocket_connect("/ws/widget", subprotocols=subprotocols(second["token"])) as customer:
        overflowed = hand_off(client, second["conversation_id"])
        pushed = customer.receive_json()
    assert pushed["type"] == "message" and pushed["message"]["text"] == OVERFLOW_TEXT
    assert case_row(database_url, queued)["status"] == "queued"
    follow_up = case_row(database_url, overflowed)
    assert follow_up["status"] == "follow_up" and follow_up["skill"] == "general"
    # A person owns it: what the customer writes next is their message for the follow-up, not the bot's.
    assert owner(database_url, second["conversation_id"]) == "human"
    calls = len(rasa.calls)
    left = client.post(
        f"/api/v1/widget/conversations/{second['conversation_id']}/messages",
        json={"text": "Please email me at me@example.com about my refund"},
        headers={"Authorization": second["auth"]},
    )
    assert left.status_code == 200 and left.json()["replies"] == [] and len(rasa.calls) == calls
    assert audits(database_url, "case.overflow") == [
        {"action": "leave_message", "team": "general", "to_team": "general"}
    ]
    # Supervisors find it in the inbox by its status; the queue itself stays at its limit.
    jordan = staff_headers(client, "jordan@northwind.example")
    listed = client.get("/api/v1/cases?status=follow_up", headers=jordan).json()
    assert [c["id"] for c in listed] == [overflowed]
    assert place(client, second)["position"] is None


@with_overrides(
    queue_max_length_by_team={"general": 1, "sales": 1},
    queue_overflow_action="overflow_team",
    queue_overflow_team="sales",
)
def test_a_full_queue_overflows_to_the_overflow_team_while_that_one_has_room(client, database_url):
    widgets = [new_widget(client) for _ in range(3)]
    ids = [hand_off(client, w["conversation_id"]) for w in widgets]
    statuses = [(case_row(database_url, i)["status"], case_row(database_url, i)["skill"]) for i in ids]
    # general is full after one; the second goes to sales; sales full too, the third is a follow-up.
    assert statuses == [("queued", "general"), ("queued", "sales"), ("follow_up", "general")]
    assert [a["action"] for a in audits(database_url, "case.overflow")] == ["overflow_team", "leave_message"]


def test_no_limit_by_default_and_bad_limits_are_refused(settings):
    assert settings.queue_max_length == 0
    with pytest.raises(ValueError, match="queue_overflow_action"):
        settings.model_validate({**settings.model_dump(), "queue_overflow_action": "drop"})
    with pytest.raises(ValueError, match="queue_max_length"):
        settings.model_validate({**settings.model_dump(), "queue_max_length": -1})


def test_the_customer_sees_their_place_and_wait_and_it_drops_live_as_agents_take_cases(client, database_url):
    widgets = [new_widget(client) for _ in range(4)]
    for w in widgets:
        hand_off(client, w["conversation_id"])
    # Nobody online: capacity counts as 1 and no case was resolved yet, so each place is 120 s.
    assert [place(client, w)["position"] for w in widgets] == [1, 2, 3, 4]
    assert place(client, widgets[3]) == {
        "team": "general",
        "position": 4,
        "waiting": 4,
        "estimate_minutes": 8,
    }
    last = widgets[3]
    with client.websocket_connect("/ws/widget", subprotocols=subprotocols(last["token"])) as customer:
        go_online(client, "alex@northwind.example")  # general, three cases at a time: takes the first three
        frame = customer.receive_json()
        while frame["type"] != "queue" or frame["position"] != 1:
            frame = customer.receive_json()
    # Next in line; Alex's capacity of 3 makes a place 40 s: about a minute.
    assert frame == {"type": "queue", "position": 1, "estimate_minutes": 1, "team": "general"}
    assert place(client, widgets[0])["position"] is None  # offered to Alex: out of the queue
    assert place(client, last)["waiting"] == 1


def test_the_estimate_follows_the_teams_recent_handle_times(client, database_url):
    waiting = new_widget(client)
    hand_off(client, waiting["conversation_id"])
    # Five resolved general cases that took ten minutes each: H = 600 s, nobody online: C = 1.
    done = new_widget(client)
    now = utcnow()
    for _ in range(5):
        execute(
            database_url,
            "INSERT INTO cases (conversation_id, status, reason, skill, language, priority, created_at,"
            " assigned_at, resolved_at, requeue_count) VALUES (:c, 'resolved', 'r', 'general', 'en', 0,"
            " :a, :a, :r, 0)",
            c=done["conversation_id"],
            a=now - timedelta(minutes=20),
            r=now - timedelta(minutes=10),
        )
    assert place(client, waiting)["estimate_minutes"] == 10


def test_the_queue_place_of_another_conversation_is_refused(client):
    mine, other = new_widget(client), new_widget(client)
    url = f"/api/v1/widget/conversations/{other['conversation_id']}/queue"
    assert client.get(url, headers={"Authorization": mine["auth"]}).status_code in (401, 403)
    assert client.get(url).status_code == 401


@with_overrides(reply_timeout_s=30)
def test_a_case_whose_agent_does_not_reply_in_time_goes_to_the_next_agent(client, widget, database_url):
    alex = go_online(client, "alex@northwind.example")
    case_id = hand_off(client, widget["conversation_id"])
    wait_for(lambda: case_row(database_url, case_id)["status"] == "assigned")
    assert client.post(f"/api/v1/cases/{case_id}/accept", headers=alex).status_code == 200
    go_online(client, "priya@northwind.example")
    # Priya was assigned a moment ago, Alex long ago: the idlest rule alone would give it back to Alex.
    execute(database_url, "UPDATE agents SET last_assigned_at = :t WHERE email LIKE 'priya@%'", t=utcnow())
    execute(
        database_url,
        "UPDATE cases SET assigned_at = :t WHERE id = :i",
        t=utcnow() - timedelta(seconds=31),
        i=case_id,
    )
    execute(
        database_url,
        "UPDATE agents SET last_assigned_at = :t WHERE email LIKE 'alex@%'",
        t=utcnow() - timedelta(hours=1),
    )
    priya_id = rows(database_url, "SELECT id FROM agents WHERE email LIKE 'priya@%'")[0]["id"]
    alex_id = rows(database_url, "SELECT id FROM agents WHERE email LIKE 'alex@%'")[0]["id"]
    moved = wait_for(lambda: (r := case_row(database_url, case_id))["assigned_agent_id"] == priya_id and r)
    assert moved["status"] == "assigned" and moved["passed_over_agent_id"] == alex_id
    assert moved["requeue_count"] == 1
    assert audits(database_url, "case.requeue") == [{"reason": "no reply in time", "agent_id": alex_id}]
    # Alex's late reply is refused: the case is Priya's now, never both agents'.
    late = client.post(f"/api/v1/cases/{case_id}/messages", json={"text": "sorry, here now"}, headers=alex)
    assert late.status_code in (404, 409)
    routed = rows(
        database_url, "SELECT action FROM decisions WHERE kind = 'routing' AND case_id = :i", i=case_id
    )
    assert [r["action"] for r in routed] == [f"agent:{alex_id}", f"agent:{priya_id}"]


@with_overrides(reply_timeout_s=30)
def test_an_agent_who_replies_in_time_keeps_the_case(client, widget, database_url):
    alex = go_online(client, "alex@northwind.example")
    case_id = hand_off(client, widget["conversation_id"])
    wait_for(lambda: case_row(database_url, case_id)["status"] == "assigned")
    sent = client.post(f"/api/v1/cases/{case_id}/messages", json={"text": "Hi, Alex here"}, headers=alex)
    assert sent.status_code == 201
    old = utcnow() - timedelta(minutes=5)
    execute(database_url, "UPDATE cases SET assigned_at = :t WHERE id = :i", t=old, i=case_id)
    client.app.state.dispatcher.poke()
    routing_rounds(client)  # several routing rounds, counted (a fixed sleep may hold none under load)
    row = case_row(database_url, case_id)
    assert row["status"] == "accepted" and row["requeue_count"] == 0


def _agent(agent_id: int, last_minutes_ago: float | None) -> routing.AgentSnapshot:
    now = utcnow()
    last = now - timedelta(minutes=last_minutes_ago) if last_minutes_ago is not None else None
    return routing.AgentSnapshot(agent_id, "online", {"general": 3}, ("en",), 3, 0, last)


def test_routing_prefers_anyone_but_the_passed_over_agent_and_falls_back_to_them():
    now = utcnow()
    case = routing.WaitingCase(1, "general", "en", 10.0, now, passed_over=1)
    # Agent 1 has been idle longest, which would win; passed over, the next agent gets it.
    assert routing.plan([case], [_agent(1, 60), _agent(2, 1)], now) == [(1, 2)]
    # Nobody else is eligible: the case does not starve, it goes back to the agent it came from.
    assert routing.plan([case], [_agent(1, 60)], now) == [(1, 1)]
