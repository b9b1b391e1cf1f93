"""A customer with a history full of personal data: messages, bot echoes, a hand-off quoting them, a case,
a rating."""

import json
import sqlite3
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from backend.auth.tokens import customer_hash
from tests.app_fixtures import SERVICE_HEADERS, staff_headers
from tests.dbcheck import execute, rows

ADMIN = "admin@northwind.example"
# Distinctive values, so a scan of the whole database finds them anywhere they are left.
PII = {
    "name": "Zebulon Quixworth",
    "email": "zebulon.quixworth@example.org",
    "phone": "+1 415 555 0134",
    "card": "4111 1111 1111 1111",
}
SAID = [
    f"Hi, I'm {PII['name']}, write to {PII['email']} or call {PII['phone']}",
    f"you charged my card {PII['card']} twice for ORD-100001",
]


def widget_for(http: TestClient, email: str) -> dict[str, str]:
    signature = customer_hash(email, http.app.state.settings.identity_secret)
    body = http.post("/api/v1/widget/sessions", json={"customer_email": email, "customer_hash": signature})
    assert body.status_code == 201, body.text
    data = body.json()
    return {**data, "auth": f"Bearer {data['token']}"}


def say(http: TestClient, widget: dict[str, str], text: str) -> None:
    url = f"/api/v1/widget/conversations/{widget['conversation_id']}/messages"
    response = http.post(url, json={"text": text}, headers={"Authorization": widget["auth"]})
    assert response.status_code == 200, response.text


def hand_off(http: TestClient, conversation_id: str, reason: str) -> int:
    url = f"/api/v1/service/conversations/{conversation_id}/handoff"
    response = http.post(url, json={"reason": reason}, headers=SERVICE_HEADERS)
    assert response.status_code == 200, response.text
    return response.json()["case_id"]


def customer_id(database_url: str, email: str = PII["email"]) -> int:
    return rows(database_url, "SELECT id FROM customers WHERE email = :e", e=email)[0]["id"]


@pytest.fixture
def history(client: TestClient, database_url: str) -> dict[str, object]:
    """The demo customer renamed to PII's values, with one conversation, an open case and a churn score."""
    execute(
        database_url,
        "UPDATE customers SET name = :n, email = :e, phone = :p WHERE email = 'demo@northwind.example'",
        n=PII["name"],
        e=PII["email"],
        p=PII["phone"],
    )
    widget = widget_for(client, PII["email"])
    for text in SAID:
        say(client, widget, text)
    case_id = hand_off(client, widget["conversation_id"], f'Customer wrote: "{SAID[0]}"')
    ident = customer_id(database_url)
    execute(
        database_url,
        "INSERT INTO model_versions (kind, version, status, data_fingerprint, metrics, created_at) "
        "VALUES ('churn', 'test-1', 'production', 'f', '{}', CURRENT_TIMESTAMP)",
    )
    model = rows(database_url, "SELECT id FROM model_versions WHERE version = 'test-1'")[0]["id"]
    features = json.dumps({"tenure_months": 20, "note": PII["name"]})
    execute(
        database_url,
        "INSERT INTO risk_scores (subject_type, subject_id, kind, score, reasons, features, "
        "model_version_id, created_at) "
        "VALUES ('customer', :s, 'churn', 0.4, '[]', :f, :m, CURRENT_TIMESTAMP)",
        s=str(ident),
        f=features,
        m=model,
    )
    return {"customer_id": ident, "conversation_id": widget["conversation_id"], "case_id": case_id}


def resolve(http: TestClient, case_id: int, database_url: str) -> None:
    """Alex goes online, is offered the case by the dispatcher, resolves it; the customer rates it."""
    alex = staff_headers(http, "alex@northwind.example")
    online = http.put("/api/v1/agents/me/status", json={"status": "online"}, headers=alex)
    assert online.status_code == 200, online.text
    deadline = time.monotonic() + 30  # liveness: the dispatcher's loop on a loaded machine
    while rows(database_url, "SELECT status FROM cases WHERE id = :c", c=case_id)[0]["status"] != "assigned":
        assert time.monotonic() < deadline, "the case was not offered to the online agent"
        time.sleep(0.05)
    response = http.post(f"/api/v1/cases/{case_id}/resolve", json={"disposition": "solved"}, headers=alex)
    assert response.status_code == 200, response.text
    execute(database_url, "UPDATE cases SET csat = 4 WHERE id = :c", c=case_id)


def rasa_tracker_store(path: Path, sender_ids: list[str]) -> None:
    """A tracker store file laid out as Rasa's SQLTrackerStore creates it (table `events`)."""
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id VARCHAR(255) NOT NULL, "
            "type_name VARCHAR(255) NOT NULL, timestamp FLOAT, intent_name VARCHAR(255), "
            "action_name VARCHAR(255), data TEXT)"
        )
        for sender in sender_ids:
            data = json.dumps({"event": "user", "text": SAID[0]})
            db.execute(
                "INSERT INTO events (sender_id, type_name, timestamp, data) VALUES (?, 'user', 1.0, ?)",
                (sender, data),
            )
