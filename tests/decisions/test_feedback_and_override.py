"""People's verdicts and overrides through the API: a label that fits the kind is stored and audited (and one
that does not is a 422); an override changes the case through the lifecycle and logs a decision pointing at
the automated one it overrides."""

import time

import pytest

from tests.app_fixtures import SERVICE_HEADERS, staff_headers
from tests.dbcheck import rows
from tests.decisions.helpers import decisions, parses, send


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"routing_interval_s": 0.05})


def handed_over(client, widget, rasa) -> list[dict]:
    """Two dissatisfied turns: a `continue`, then a hand-off (with its priority decision), as a supervisor
    sees them (the case is still queued: no agent's yet)."""
    rasa.answer = parses(("complaint", "negative"), ("complaint", "negative"))
    send(client, widget, "this is the worst service")
    send(client, widget, "you are useless")
    supervisor = staff_headers(client, "jordan@northwind.example")
    listed = client.get(
        "/api/decisions", params={"conversation_id": widget["conversation_id"]}, headers=supervisor
    )
    assert listed.status_code == 200, listed.text
    return listed.json()


def assigned_to_alex(client, database_url, case_id: int) -> dict[str, str]:
    """Alex goes online; routing offers Alex the (general-skill) case."""
    alex = staff_headers(client, "alex@northwind.example")
    assert client.put("/api/v1/agents/me/status", json={"status": "online"}, headers=alex).status_code == 200
    deadline = time.monotonic() + 30  # liveness: the routing loop on a loaded machine
    while not decisions(database_url, "routing", case_id=case_id) and time.monotonic() < deadline:
        time.sleep(0.05)
    return alex


def test_an_agent_marks_a_hand_off_not_needed(client, widget, database_url, rasa):
    listed = handed_over(client, widget, rasa)
    assert [d["kind"] for d in listed] == ["priority", "handoff", "handoff"]  # newest first
    handoff = listed[1]
    other = staff_headers(client, "priya@northwind.example")  # same team, but nobody's case yet
    queued = client.get(
        "/api/decisions", params={"conversation_id": widget["conversation_id"]}, headers=other
    )
    assert queued.status_code == 404
    assert (
        client.post(
            f"/api/decisions/{handoff['id']}/feedback", json={"label": "needed"}, headers=other
        ).status_code
        == 404
    )
    assert client.get("/api/decisions", headers=other).status_code == 422  # agents name a case of theirs
    agent = assigned_to_alex(client, database_url, handoff["case_id"])
    body = {"label": "not_needed", "note": "a refund question the bot could finish"}
    answer = client.post(f"/api/decisions/{handoff['id']}/feedback", json=body, headers=agent)
    assert answer.status_code == 200, answer.text
    labelled = answer.json()
    assert labelled["feedback_label"] == "not_needed" and labelled["feedback_by"] == "alex@northwind.example"
    assert labelled["feedback_note"] == body["note"] and labelled["feedback_at"] is not None
    sql = "SELECT actor, entity_id FROM audit_events WHERE action = 'decision.feedback'"
    (audited,) = rows(database_url, sql)
    assert audited["actor"].startswith("agent:") and audited["entity_id"] == str(handoff["id"])
    only_handoffs = client.get(
        "/api/decisions",
        params={"conversation_id": widget["conversation_id"], "kind": "handoff"},
        headers=agent,
    ).json()
    assert [d["id"] for d in only_handoffs] == [handoff["id"], listed[2]["id"]]


def test_a_label_of_another_kind_is_refused_and_an_unknown_decision_is_404(client, widget, rasa):
    listed = handed_over(client, widget, rasa)
    agent = staff_headers(client, "jordan@northwind.example")
    handoff, priority = listed[1], listed[0]
    wrong_kind = client.post(
        f"/api/decisions/{handoff['id']}/feedback", json={"label": "right"}, headers=agent
    )
    assert wrong_kind.status_code == 422 and "needed or not_needed" in wrong_kind.text
    assert (
        client.post(
            f"/api/decisions/{priority['id']}/feedback", json={"label": "needed"}, headers=agent
        ).status_code
        == 422
    )
    assert (
        client.post(
            f"/api/decisions/{priority['id']}/feedback", json={"label": "wrong"}, headers=agent
        ).status_code
        == 200
    )
    assert (
        client.post("/api/decisions/999999/feedback", json={"label": "right"}, headers=agent).status_code
        == 404
    )
    assert (
        client.post(
            f"/api/decisions/{handoff['id']}/feedback", json={"label": "maybe"}, headers=agent
        ).status_code
        == 422
    )
    assert client.get("/api/decisions").status_code == 401


def agent_id(database_url: str, email: str) -> int:
    return rows(database_url, "SELECT id FROM agents WHERE email = :e", e=email)[0]["id"]


def test_overriding_priority_and_agent_changes_the_case_and_logs_both(client, widget, database_url, rasa):
    listed = handed_over(client, widget, rasa)
    priority_decision = listed[0]
    case_id = priority_decision["case_id"]
    supervisor = staff_headers(client, "jordan@northwind.example")
    alex = staff_headers(client, "alex@northwind.example")
    assert client.put("/api/v1/agents/me/status", json={"status": "online"}, headers=alex).status_code == 200
    deadline = time.monotonic() + 30  # liveness: the routing loop on a loaded machine
    while not decisions(database_url, "routing", case_id=case_id) and time.monotonic() < deadline:
        time.sleep(0.05)
    (routed,) = decisions(database_url, "routing", case_id=case_id)
    assert routed["action"] == f"agent:{agent_id(database_url, 'alex@northwind.example')}"
    assert (
        client.put("/api/v1/agents/me/status", json={"status": "online"}, headers=supervisor).status_code
        == 200
    )
    jordan = agent_id(database_url, "jordan@northwind.example")

    body = {"priority": 95.0, "agent_id": jordan, "reason": "VIP customer, supervisor takes it"}
    answer = client.post(f"/api/cases/{case_id}/override", json=body, headers=supervisor)
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert (
        result["priority"] == 95.0
        and result["assigned_agent_id"] == jordan
        and result["status"] == "assigned"
    )
    case = rows(database_url, "SELECT priority, assigned_agent_id FROM cases WHERE id = :i", i=case_id)[0]
    assert case == {"priority": 95.0, "assigned_agent_id": jordan}
    overrides = decisions(database_url, "override", case_id=case_id)
    assert [o["overrides_decision_id"] for o in overrides] == [priority_decision["id"], routed["id"]]
    assert [o["action"] for o in overrides] == ["priority 95.00", f"agent:{jordan}"]
    assert all(o["reasons"] == [body["reason"]] for o in overrides)
    audited = rows(database_url, "SELECT after FROM audit_events WHERE action = 'case.override'")
    assert len(audited) == 1


def test_an_override_that_cannot_apply_gets_a_clear_4xx(client, widget, database_url):
    url = f"/api/v1/service/conversations/{widget['conversation_id']}/handoff"
    case_id = client.post(url, json={"reason": "asked"}, headers=SERVICE_HEADERS).json()["case_id"]
    agent = staff_headers(client, "jordan@northwind.example")  # a queued case: supervisors see it
    offline = agent_id(database_url, "hanna@northwind.example")
    refused = client.post(
        f"/api/cases/{case_id}/override", json={"agent_id": offline, "reason": "x"}, headers=agent
    )
    assert refused.status_code == 409 and "offline" in refused.text
    assert (
        client.post(f"/api/cases/{case_id}/override", json={"reason": "nothing"}, headers=agent).status_code
        == 422
    )
    assert (
        client.post(
            "/api/cases/999999/override", json={"priority": 1, "reason": "x"}, headers=agent
        ).status_code
        == 404
    )
    assert (
        client.post(
            f"/api/cases/{case_id}/override", json={"agent_id": 999999, "reason": "x"}, headers=agent
        ).status_code
        == 404
    )
    assert decisions(database_url, "override") == []
    # No automated priority decision on this case yet: the override is logged pointing at nothing.
    done = client.post(
        f"/api/cases/{case_id}/override", json={"priority": 10, "reason": "calm"}, headers=agent
    )
    assert done.status_code == 200 and done.json()["decisions"][0]["overrides_decision_id"] is None
