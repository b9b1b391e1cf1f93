"""The staff API: who may read leads, status changes (audited, final once won or lost), bad input 4xx."""

from __future__ import annotations

import json
from typing import get_args

from backend.leads import views
from backend.leads.models import STATUSES
from tests.app_fixtures import staff_headers
from tests.dbcheck import rows
from tests.leads.test_capture import BUYER, capture, say


def a_lead(client, widget) -> int:
    say(client, widget, BUYER)
    return capture(client, widget["conversation_id"]).json()["lead_id"]


def test_staff_read_leads_and_others_may_not(client, widget):
    lead_id = a_lead(client, widget)
    agent = staff_headers(client)
    listed = client.get("/api/leads", headers=agent)
    assert listed.status_code == 200 and [lead["id"] for lead in listed.json()] == [lead_id]
    one = client.get(f"/api/leads/{lead_id}", headers=agent).json()
    assert one["conversation_id"] == widget["conversation_id"] and one["reasons"] and one["features"]
    assert client.get("/api/leads?status=won", headers=agent).json() == []
    assert client.get("/api/leads?min_score=0", headers=agent).json()[0]["id"] == lead_id
    for headers in ({}, {"Authorization": widget["auth"]}, {"Authorization": "Bearer nonsense"}):
        assert client.get("/api/leads", headers=headers).status_code == 401
        assert client.get(f"/api/leads/{lead_id}", headers=headers).status_code == 401
        response = client.post(f"/api/leads/{lead_id}/status", json={"status": "won"}, headers=headers)
        assert response.status_code == 401


def test_status_changes_are_audited_and_an_outcome_is_final(client, widget, database_url):
    lead_id = a_lead(client, widget)
    agent = staff_headers(client)
    contacted = client.post(
        f"/api/leads/{lead_id}/status", json={"status": "contacted", "note": "called"}, headers=agent
    )
    assert contacted.status_code == 200, contacted.text
    assert contacted.json()["contacted_at"] and contacted.json()["outcome_at"] is None
    won = client.post(f"/api/leads/{lead_id}/status", json={"status": "won"}, headers=agent)
    assert won.status_code == 200 and won.json()["status"] == "won" and won.json()["outcome_at"]
    again = client.post(f"/api/leads/{lead_id}/status", json={"status": "lost"}, headers=agent)
    assert again.status_code == 409 and "final" in again.json()["detail"]
    events = rows(database_url, "SELECT * FROM audit_events WHERE action = 'lead.status' ORDER BY id")
    assert len(events) == 2
    before, after = (
        json.loads(v) if isinstance(v, str) else v for v in (events[1]["before"], events[1]["after"])
    )
    assert (before["status"], after["status"]) == ("contacted", "won")
    assert events[1]["actor"].startswith("agent:") and events[1]["entity_id"] == str(lead_id)


def test_the_api_names_every_state():
    assert get_args(views.LeadStatus) == STATUSES


def test_bad_input_is_a_4xx(client, widget):
    lead_id = a_lead(client, widget)
    agent = staff_headers(client)
    bad = [
        ("post", f"/api/leads/{lead_id}/status", {"status": "new"}),
        ("post", f"/api/leads/{lead_id}/status", {"status": "maybe"}),
        ("post", f"/api/leads/{lead_id}/status", {}),
        ("post", f"/api/leads/{lead_id}/status", {"status": "won", "note": "x" * 1001}),
        ("post", f"/api/leads/{lead_id}/status", {"status": "won", "extra": 1}),
        ("get", "/api/leads?status=open", None),
        ("get", "/api/leads?min_score=2", None),
        ("get", "/api/leads?limit=0", None),
        ("get", f"/api/leads/{2**63}", None),
    ]
    for method, url, body in bad:
        response = getattr(client, method)(url, headers=agent, **({"json": body} if body is not None else {}))
        assert response.status_code == 422, (url, body, response.text)
    assert client.get("/api/leads/999999", headers=agent).status_code == 404
    assert client.post("/api/leads/999999/status", json={"status": "won"}, headers=agent).status_code == 404
    contacted = client.post(f"/api/leads/{lead_id}/status", json={"status": "contacted"}, headers=agent)
    assert contacted.status_code == 200
    twice = client.post(f"/api/leads/{lead_id}/status", json={"status": "contacted"}, headers=agent)
    assert twice.status_code == 409
