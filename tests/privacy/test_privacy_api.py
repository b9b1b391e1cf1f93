"""Customer export and erasure through the API, on SQLite and PostgreSQL: admins only, audited, and after
an erasure no table anywhere still holds the customer's name, e-mail, phone or card number."""

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import JSON, String, Text, column, create_engine, inspect, select, table
from starlette.websockets import WebSocketDisconnect

from backend.auth.sockets import subprotocols
from backend.core.config import to_sync_url
from tests.app_fixtures import TEST_EMBEDDING
from tests.dbcheck import execute, rows
from tests.privacy.conftest import (
    ADMIN,
    PII,
    SAID,
    customer_id,
    rasa_tracker_store,
    resolve,
    say,
    staff_headers,
    widget_for,
)


def anonymous_widget(client: TestClient) -> dict[str, str]:
    data = client.post("/api/v1/widget/sessions", json={}).json()
    return {**data, "auth": f"Bearer {data['token']}"}


def audit_rows(database_url: str, action: str) -> list[dict]:
    return rows(database_url, "SELECT * FROM audit_events WHERE action = :a ORDER BY id", a=action)


def leftovers(database_url: str, needles: list[str]) -> list[str]:
    """Every text or JSON value of every table (whoever created it) that still holds one of `needles`."""
    engine = create_engine(to_sync_url(database_url))
    found = []
    try:
        schema = inspect(engine)
        with engine.connect() as connection:
            for name in schema.get_table_names():
                columns = [c for c in schema.get_columns(name) if isinstance(c["type"], String | Text | JSON)]
                if not columns:
                    continue
                query = select(*(table(name, *[column(c["name"]) for c in columns]).c))
                for row in connection.execute(query):
                    for described, value in zip(columns, row, strict=True):
                        text = value if isinstance(value, str) else json.dumps(value)
                        found += [
                            f"{name}.{described['name']}: {text[:80]}" for n in needles if n in text.lower()
                        ]
    finally:
        engine.dispose()
    return found


NEEDLES = [
    PII["email"],
    "zebulon",
    "quixworth",
    PII["phone"].lower(),
    "4155550134",
    PII["card"],
    PII["card"].replace(" ", ""),
]


def test_export_returns_everything_held_and_is_audited(client: TestClient, history, database_url):
    admin = staff_headers(client, ADMIN)
    response = client.get(f"/api/v1/privacy/customers/{history['customer_id']}/export", headers=admin)
    assert response.status_code == 200, response.text
    export = response.json()
    assert export["customer"]["email"] == PII["email"] and export["customer"]["phone"] == PII["phone"]
    assert export["orders"] and all(o["customer_id"] == history["customer_id"] for o in export["orders"])
    [conversation] = export["conversations"]
    texts = [m["text"] for m in conversation["messages"]]
    assert SAID[0] in texts and SAID[1] in texts and any(t.startswith("You said:") for t in texts)
    customer_said = [m for m in conversation["messages"] if m["sender"] == "customer"]
    assert customer_said and all(m["embedding"] == TEST_EMBEDDING for m in customer_said)
    assert [c["id"] for c in export["cases"]] == [history["case_id"]]
    assert [s["subject_type"] for s in export["risk_scores"]].count("customer") == 1
    assert "case.handoff" in [e["action"] for e in export["audit_events"]]
    [event] = audit_rows(database_url, "privacy.export")
    admin_id = rows(database_url, "SELECT id FROM agents WHERE email = :e", e=ADMIN)[0]["id"]
    assert event["actor"] == f"agent:{admin_id}" and event["entity_id"] == str(history["customer_id"])
    summary = event["after"] if isinstance(event["after"], dict) else json.loads(event["after"])
    assert summary["messages"] == len(texts) and summary["orders"] == len(export["orders"])
    assert PII["email"] not in json.dumps(summary)


@pytest.mark.parametrize("who", ["alex@northwind.example", "jordan@northwind.example"])
def test_agents_and_supervisors_are_refused(client: TestClient, history, who):
    headers = staff_headers(client, who)
    customer = history["customer_id"]
    assert client.get(f"/api/v1/privacy/customers/{customer}/export", headers=headers).status_code == 403
    assert client.delete(f"/api/v1/privacy/customers/{customer}", headers=headers).status_code == 403
    assert client.get("/api/v1/privacy/transcripts", headers=headers).status_code == 403
    assert client.get("/api/v1/privacy/status", headers=headers).status_code == 403
    assert client.delete(f"/api/v1/privacy/customers/{customer}").status_code == 401


def test_unknown_customers_are_404(client: TestClient):
    admin = staff_headers(client, ADMIN)
    assert client.get("/api/v1/privacy/customers/999999/export", headers=admin).status_code == 404
    response = client.delete("/api/v1/privacy/customers/999999", headers=admin)
    assert response.status_code == 404 and "999999" in response.json()["detail"]
    assert client.delete(f"/api/v1/privacy/customers/{2**40}", headers=admin).status_code == 422


def test_erasure_waits_for_open_cases_then_leaves_no_pii_anywhere(client: TestClient, history, database_url):
    admin = staff_headers(client, ADMIN)
    url = f"/api/v1/privacy/customers/{history['customer_id']}"
    blocked = client.delete(url, headers=admin)
    assert blocked.status_code == 409 and str(history["case_id"]) in blocked.json()["detail"]
    assert leftovers(database_url, [PII["email"]])  # nothing was touched
    resolve(client, history["case_id"], database_url)
    consent = "UPDATE customers SET marketing_consent = true, max_offers_per_month = 2 WHERE id = :i"
    execute(database_url, consent, i=history["customer_id"])
    # Not signed in on the shop, the customer typed their e-mail: that chat is theirs too. Another stays.
    anonymous, stranger = anonymous_widget(client), anonymous_widget(client)
    say(client, anonymous, f"it's me again, {PII['email'].upper()}")
    say(client, stranger, "where is ORD-100003?")
    export = client.get(f"{url}/export", headers=admin).json()  # its audit entry must not keep PII either
    assert {c["id"] for c in export["conversations"]} == {
        history["conversation_id"],
        anonymous["conversation_id"],
    }

    response = client.delete(url, headers=admin)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["already_erased"] is False and body["summary"]["conversations"] == 2
    assert body["summary"]["messages"] >= 4 and body["summary"]["orders"] >= 1
    # No tracker store is configured in this test: the erasure is owed, and the answer says so.
    assert body["rasa_trackers"] == {"erased": 0, "pending": 2, "detail": body["rasa_trackers"]["detail"]}
    stranger_texts = rows(
        database_url, "SELECT text FROM messages WHERE conversation_id = :c", c=stranger["conversation_id"]
    )
    assert "where is ORD-100003?" in {r["text"] for r in stranger_texts}
    assert "no tracker store configured" in body["rasa_trackers"]["detail"]

    assert leftovers(database_url, NEEDLES) == []
    # Aggregate-safe rows stay: the case (with its rating), messages with intent and sentiment.
    [case] = rows(database_url, "SELECT * FROM cases WHERE id = :c", c=history["case_id"])
    assert case["csat"] == 4 and case["status"] == "resolved" and case["reason"] == "[erased]"
    messages = rows(
        database_url, "SELECT * FROM messages WHERE conversation_id = :c", c=history["conversation_id"]
    )
    assert {m["text"] for m in messages} == {"[erased]"}
    assert {m["embedding"] for m in messages} == {None}  # derived from the words: erased with them
    assert "order_status" in {m["intent"] for m in messages}
    [customer] = rows(database_url, "SELECT * FROM customers WHERE id = :i", i=history["customer_id"])
    assert customer["status"] == "erased" and customer["phone"] is None
    assert not customer["marketing_consent"] and customer["max_offers_per_month"] is None
    assert rows(database_url, "SELECT * FROM orders WHERE customer_id = :i", i=history["customer_id"]) == []

    [event] = audit_rows(database_url, "privacy.erase")
    before = event["before"] if isinstance(event["before"], dict) else json.loads(event["before"])
    assert before == body["summary"]

    again = client.delete(url, headers=admin)
    assert again.status_code == 200 and again.json()["already_erased"] is True
    assert again.json()["rasa_trackers"]["pending"] == 2
    assert (
        again.json()["erased_at"] == body["erased_at"] and len(audit_rows(database_url, "privacy.erase")) == 1
    )


def test_erasure_deletes_the_rasa_tracker_or_owes_it_until_the_store_is_back(
    client: TestClient, history, database_url, tmp_path: Path
):
    store = tmp_path / "rasa_tracker.db"
    client.app.state.settings.rasa_tracker_db = store  # not there yet: Rasa has not started
    resolve(client, history["case_id"], database_url)
    admin = staff_headers(client, ADMIN)
    url = f"/api/v1/privacy/customers/{history['customer_id']}"
    first = client.delete(url, headers=admin).json()["rasa_trackers"]
    assert first["pending"] == 1 and "does not exist" in first["detail"]
    status = client.get("/api/v1/privacy/status", headers=admin).json()
    assert status["tracker_erasures_pending"] == 1 and status["tracker_store_configured"] is True

    rasa_tracker_store(store, [history["conversation_id"], "someone-else"])
    retried = client.delete(url, headers=admin).json()
    assert retried["already_erased"] is True and retried["rasa_trackers"]["pending"] == 0
    assert retried["rasa_trackers"]["erased"] == 1
    left = rows(f"sqlite:///{store}", "SELECT sender_id FROM events")
    assert left == [{"sender_id": "someone-else"}]
    [owed] = rows(database_url, "SELECT * FROM tracker_erasures")
    assert owed["completed_at"] is not None and owed["attempts"] >= 2  # the worker may have tried too


def test_training_export_is_redacted_and_audited_while_staff_still_read_the_original(
    client: TestClient, history, database_url
):
    admin = staff_headers(client, ADMIN)
    response = client.get("/api/v1/privacy/transcripts", headers=admin)
    assert response.status_code == 200, response.text
    [conversation] = response.json()["conversations"]
    texts = [m["text"] for m in conversation["messages"]]
    assert "Hi, I'm [NAME], write to [EMAIL] or call [PHONE]" in texts
    assert "you charged my card [CARD] twice for ORD-100001" in texts
    assert not any(n in json.dumps(response.json()).lower() for n in NEEDLES)
    [event] = audit_rows(database_url, "privacy.transcripts.export")
    counts = event["after"] if isinstance(event["after"], dict) else json.loads(event["after"])
    assert counts == {"conversations": 1, "messages": len(texts)}
    # The redacted copies are stored; the agent's inbox still shows what the customer wrote.
    stored = rows(database_url, "SELECT text_redacted FROM messages WHERE text_redacted IS NULL")
    assert stored == []
    alex = staff_headers(client, "alex@northwind.example")
    detail = client.get(f"/api/v1/conversations/{history['conversation_id']}", headers=alex).json()
    assert SAID[0] in [m["text"] for m in detail["messages"]]

    bad = client.get("/api/v1/privacy/transcripts", params={"since": "2026-01-01T00:00:00"}, headers=admin)
    assert bad.status_code == 422


def test_export_pages_through_conversations(client: TestClient, history, database_url):
    admin = staff_headers(client, ADMIN)
    first = client.get("/api/v1/privacy/transcripts", params={"limit": 1}, headers=admin).json()
    assert len(first["conversations"]) == 1 and first["next_after"] == history["conversation_id"]
    rest = client.get(
        "/api/v1/privacy/transcripts", params={"limit": 1, "after": first["next_after"]}, headers=admin
    ).json()
    assert rest == {"conversations": [], "next_after": None}


def test_erasure_revokes_the_customers_widget_sessions_over_rest_and_websocket(
    client: TestClient, database_url
):
    """A widget opened before the erasure (its token still signed and unexpired, a socket still open) can
    neither read nor post into the erased conversation; a stranger's widget is untouched."""
    widget = widget_for(client, "demo@northwind.example")
    customer = customer_id(database_url, "demo@northwind.example")
    admin = staff_headers(client, ADMIN)
    stranger = anonymous_widget(client)
    say(client, widget, f"my card is {PII['card']}")
    conversation = widget["conversation_id"]
    messages = f"/api/v1/widget/conversations/{conversation}/messages"
    auth = {"Authorization": widget["auth"]}
    with client.websocket_connect("/ws/widget", subprotocols=subprotocols(widget["token"])) as socket:
        erased = client.delete(f"/api/v1/privacy/customers/{customer}", headers=admin)
        assert erased.status_code == 200, erased.text
        count = "SELECT count(*) AS n FROM messages WHERE conversation_id = :c"
        stored = rows(database_url, count, c=conversation)

        socket.send_json({"type": "message", "text": "still there?", "client_message_id": "after-1"})
        with pytest.raises(WebSocketDisconnect) as closed:
            while True:  # frames pushed before the erasure may still be queued
                socket.receive_json()
    assert closed.value.code == 1008 and "erased" in closed.value.reason

    for response in (
        client.post(messages, json={"text": "hello again"}, headers=auth),
        client.get(messages, headers=auth),
        client.post(f"/api/v1/widget/conversations/{conversation}/csat", json={"score": 5}, headers=auth),
    ):
        assert response.status_code == 410 and "erased" in response.json()["detail"]
    with (
        pytest.raises(WebSocketDisconnect) as refused,
        client.websocket_connect("/ws/widget", subprotocols=subprotocols(widget["token"])) as again,
    ):
        again.receive_json()
    assert refused.value.code == 1008 and "erased" in refused.value.reason

    assert rows(database_url, count, c=conversation) == stored
    distinct = "SELECT DISTINCT text FROM messages WHERE conversation_id = :c"
    texts = rows(database_url, distinct, c=conversation)
    assert texts == [{"text": "[erased]"}]
    say(client, stranger, "where is ORD-100003?")  # other conversations go on
