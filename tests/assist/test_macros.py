"""Macros: supervisors write them, variables are filled from the case, a variable that cannot be filled is a
clear 422, and sending one applies its tags, priority and resolve."""

import pytest

from tests.app_fixtures import staff_headers
from tests.assist.seeding import conversation, customer_id, online
from tests.dbcheck import rows

WISMO = {
    "name": "Where is my order",
    "team": "all",
    "body": "Hi {customer_name}, your order {order_id} is on its way: {tracking_link}",
    "add_tags": ["wismo"],
    "set_priority": 5,
    "resolve_disposition": "solved",
}
ORDER_ENTITY = [{"entity": "order_id", "value": "ORD-100001", "start": 0, "end": 10}]


@pytest.fixture
def cases(database_url):
    alex = online(database_url, "alex@northwind.example")
    demo = customer_id(database_url, "demo@northwind.example")
    asked = conversation(
        database_url,
        demo,
        ["where is ORD-100001?"],
        [],
        alex,
        status="accepted",
        days_ago=0,
        entities=ORDER_ENTITY,
    )
    visitor = conversation(
        database_url, None, ["where is my parcel?"], [], alex, status="accepted", days_ago=0
    )
    return {"asked": asked, "visitor": visitor}


def test_only_supervisors_write_macros_and_unknown_variables_are_refused(cases, client):
    supervisor = staff_headers(client, "jordan@northwind.example")
    assert client.post("/api/assist/macros", json=WISMO, headers=staff_headers(client)).status_code == 403
    bad = client.post("/api/assist/macros", json={**WISMO, "body": "Hi {first_name}"}, headers=supervisor)
    assert bad.status_code == 422 and "first_name" in bad.text
    unpaired = client.post(
        "/api/assist/macros", json={**WISMO, "body": "Hi {customer_name"}, headers=supervisor
    )
    assert unpaired.status_code == 422
    made = client.post("/api/assist/macros", json=WISMO, headers=supervisor)
    assert made.status_code == 201, made.text
    again = client.post("/api/assist/macros", json=WISMO, headers=supervisor)
    assert again.status_code == 409
    changed = client.put(
        f"/api/assist/macros/{made.json()['id']}", json={**WISMO, "team": "billing"}, headers=supervisor
    )
    assert changed.status_code == 200 and changed.json()["team"] == "billing"
    # Alex is not in billing: the macro is out of his list.
    names = [
        m["name"] for m in client.get("/api/assist/macros?q=order", headers=staff_headers(client)).json()
    ]
    assert "Where is my order" not in names


def test_variables_are_filled_from_the_case_and_a_missing_one_is_named(cases, client, database_url):
    supervisor = staff_headers(client, "jordan@northwind.example")
    macro = client.post("/api/assist/macros", json=WISMO, headers=supervisor).json()
    alex = staff_headers(client)
    assert [m["id"] for m in client.get("/api/assist/macros?q=where", headers=alex).json()] == [macro["id"]]
    filled = client.post(
        f"/api/assist/cases/{cases['asked']['case_id']}/macros/{macro['id']}/fill", headers=alex
    )
    assert filled.status_code == 200, filled.text
    (order,) = rows(database_url, "SELECT * FROM orders WHERE order_number = 'ORD-100001'")
    (customer,) = rows(database_url, "SELECT name FROM customers WHERE email = 'demo@northwind.example'")
    link = f"https://track.northwind.example/{order['carrier']}/{order['tracking_number']}"
    assert filled.json()["text"] == f"Hi {customer['name']}, your order ORD-100001 is on its way: {link}"
    assert filled.json()["effects"] == {"add_tags": ["wismo"], "set_priority": 5.0, "resolve": "solved"}

    missing = client.post(
        f"/api/assist/cases/{cases['visitor']['case_id']}/macros/{macro['id']}/fill", headers=alex
    )
    assert missing.status_code == 422 and "{customer_name}" in missing.json()["detail"]
    sent = client.post(
        f"/api/assist/cases/{cases['visitor']['case_id']}/macros/{macro['id']}/send", json={}, headers=alex
    )
    assert sent.status_code == 422
    assert not rows(database_url, "SELECT id FROM messages WHERE sender = 'agent'")


def test_sending_a_macro_replies_tags_sets_priority_and_resolves(cases, client, database_url):
    supervisor = staff_headers(client, "jordan@northwind.example")
    macro = client.post("/api/assist/macros", json=WISMO, headers=supervisor).json()
    case_id = cases["asked"]["case_id"]
    edited = "Your order ORD-100001 is on its way."
    url = f"/api/assist/cases/{case_id}/macros/{macro['id']}/send"
    sent = client.post(url, json={"text": edited}, headers=staff_headers(client))
    assert sent.status_code == 201, sent.text
    assert sent.json()["text"] == edited and sent.json()["sender"] == "agent"
    (case,) = rows(database_url, "SELECT * FROM cases WHERE id = :i", i=case_id)
    assert case["status"] == "resolved" and case["disposition"] == "solved" and case["priority"] == 5.0
    tags = rows(
        database_url, "SELECT tag FROM automation_tags WHERE conversation_id = :c", c=case["conversation_id"]
    )
    assert [t["tag"] for t in tags] == ["wismo"]
    audited = rows(database_url, "SELECT action FROM audit_events WHERE action LIKE 'assist.macro%'")
    assert [a["action"] for a in audited] == ["assist.macro.create", "assist.macro.send"]
