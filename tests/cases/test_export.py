"""A conversation exported by staff through the API: JSON and a printable page, with the transcript, the
cases and the customer; staff only; every export audited; bad input a clear 4xx."""

import json

import pytest

from tests.app_fixtures import staff_headers
from tests.cases.test_routing_flow import case_row, go_online, hand_off, wait_for
from tests.dbcheck import rows


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"routing_interval_s": 0.05})


def say(client, widget, text: str) -> None:
    response = client.post(
        f"/api/v1/widget/conversations/{widget['conversation_id']}/messages",
        json={"text": text},
        headers={"Authorization": widget["auth"]},
    )
    assert response.status_code == 200, response.text


def export_url(widget, fmt: str | None = None) -> str:
    url = f"/api/v1/conversations/{widget['conversation_id']}/export"
    return f"{url}?format={fmt}" if fmt else url


def served_conversation(client, widget, database_url) -> int:
    say(client, widget, "Where is my order? <script>alert(1)</script>")
    alex = go_online(client, "alex@northwind.example")
    case_id = hand_off(client, widget)
    wait_for(lambda: case_row(database_url, case_id)["status"] == "assigned")
    sent = client.post(
        f"/api/v1/cases/{case_id}/messages", json={"text": "Alex here: it ships today"}, headers=alex
    )
    assert sent.status_code == 201
    client.post(f"/api/v1/cases/{case_id}/resolve", json={"disposition": "solved"}, headers=alex)
    return case_id


def test_an_agent_exports_a_conversation_as_json(client, widget, database_url):
    case_id = served_conversation(client, widget, database_url)
    alex = staff_headers(client, "alex@northwind.example")
    response = client.get(export_url(widget), headers=alex)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert "attachment" in response.headers["content-disposition"]
    body = json.loads(response.text)
    assert body["conversation"]["id"] == widget["conversation_id"]
    assert body["customer"]["email"] == "demo@northwind.example"
    assert body["exported_by"] == "alex@northwind.example"
    [case] = body["cases"]
    assert case["id"] == case_id and case["disposition"] == "solved"
    senders = [m["sender"] for m in body["messages"]]
    assert senders[0] == "customer" and "agent" in senders and senders[-1] == "system"
    assert body["messages"][0]["intent"] == "order_status"  # what the bot understood, for staff


def test_an_admin_exports_a_printable_page_with_everything_escaped(client, widget, database_url):
    served_conversation(client, widget, database_url)
    admin = staff_headers(client, "admin@northwind.example")
    response = client.get(export_url(widget, "html"), headers=admin)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in response.headers["content-security-policy"]
    page = response.text
    assert f"Conversation {widget['conversation_id']}" in page and "Alex here: it ships today" in page
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "@media print" in page


def test_every_export_is_audited(client, widget, database_url):
    alex = staff_headers(client, "alex@northwind.example")
    client.get(export_url(widget), headers=alex)
    client.get(export_url(widget, "html"), headers=alex)
    alex_id = client.get("/api/v1/auth/me", headers=alex).json()["id"]
    audited = rows(
        database_url,
        "SELECT actor, entity_id, after FROM audit_events WHERE action = 'conversation.export' ORDER BY id",
    )
    formats = [json.loads(a["after"]) if isinstance(a["after"], str) else a["after"] for a in audited]
    assert [a["actor"] for a in audited] == [f"agent:{alex_id}"] * 2
    assert {a["entity_id"] for a in audited} == {widget["conversation_id"]}
    assert formats == [{"format": "json"}, {"format": "html"}]


def test_only_staff_export_and_bad_input_is_a_clear_4xx(client, widget):
    assert client.get(export_url(widget)).status_code == 401
    # The customer's own widget token is not a staff sign-in.
    assert client.get(export_url(widget), headers={"Authorization": widget["auth"]}).status_code == 401
    alex = staff_headers(client, "alex@northwind.example")
    bad = client.get(export_url(widget, "pdf"), headers=alex)
    assert bad.status_code == 422 and "format" in bad.text
    missing = client.get("/api/v1/conversations/no-such-conversation/export", headers=alex)
    assert missing.status_code == 404 and missing.json()["detail"] == "conversation not found"
