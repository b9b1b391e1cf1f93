"""Bad input gets a 4xx (or an error/close frame) with a clear reason, and nothing is stored or crashes."""

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from tests.dbcheck import rows


def post_raw(client: TestClient, widget, content: bytes | str, content_type: str = "application/json"):
    return client.post(
        f"/api/v1/widget/conversations/{widget['conversation_id']}/messages",
        content=content,
        headers={"Authorization": widget["auth"], "Content-Type": content_type},
    )


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        ('{"text": ""}', 422, "must not be empty"),
        ('{"text": "   "}', 422, "must not be empty"),
        ('{"text": "' + "x" * 2001 + '"}', 422, "the limit is 2000"),
        ('{"text": 123}', 422, "valid string"),
        ('{"text": ["a"]}', 422, "valid string"),
        ('{"txt": "hello"}', 422, "Field required"),
        ('{"text": "hi", "client_message_id": "has spaces"}', 422, "pattern"),
        ('{"text": "hi", "extra": 1}', 422, "Extra inputs"),
        ("{not json", 422, "JSON decode error"),
        ("", 422, "Field required"),
    ],
)
def test_invalid_messages_are_refused_with_a_reason(client, widget, database_url, body, status, reason):
    response = post_raw(client, widget, body)
    assert response.status_code == status
    assert reason in response.text
    assert (
        rows(database_url, "SELECT id FROM messages WHERE conversation_id = :c", c=widget["conversation_id"])
        == []
    )


def test_a_100_kb_body_is_refused_before_parsing(client, widget, database_url):
    response = post_raw(client, widget, '{"text": "' + "x" * 100_000 + '"}')
    assert response.status_code == 413
    assert "larger than" in response.json()["detail"]
    assert rows(database_url, "SELECT id FROM messages") == []


def test_widget_routes_need_the_conversation_token(client, widget):
    url = f"/api/v1/widget/conversations/{widget['conversation_id']}/messages"
    assert client.post(url, json={"text": "hi"}).status_code == 401
    assert client.post(url, json={"text": "hi"}, headers={"Authorization": "Bearer nope"}).status_code == 401
    other = client.post("/api/v1/widget/sessions", json={}).json()
    response = client.post(url, json={"text": "hi"}, headers={"Authorization": f"Bearer {other['token']}"})
    assert response.status_code == 403 and "another conversation" in response.text


def test_service_routes_need_the_service_token(client):
    assert client.get("/api/v1/service/orders/ORD-100001").status_code == 401
    bad = client.get("/api/v1/service/orders/ORD-100001", headers={"X-Service-Token": "wrong"})
    assert bad.status_code == 401


def test_session_with_a_malformed_email_is_refused(client):
    response = client.post("/api/v1/widget/sessions", json={"customer_email": "not-an-email"})
    assert response.status_code == 422 and "email" in response.text


@pytest.mark.parametrize("claimed", [None, "0" * 64, "not-hex"])
def test_nobody_can_claim_a_customer_without_the_host_sites_signature(client, database_url, claimed):
    body = {"customer_email": "demo@northwind.example", "customer_hash": claimed}
    response = client.post("/api/v1/widget/sessions", json=body)
    assert response.status_code == 403 and "does not verify" in response.json()["detail"]
    assert rows(database_url, "SELECT id FROM conversations") == []


def ws_url(widget) -> str:
    return f"/ws/widget?token={widget['token']}"


def test_websocket_reports_bad_frames_and_stays_open(client, widget, database_url):
    with client.websocket_connect(ws_url(widget)) as ws:
        ws.send_text("{not json")
        assert ws.receive_json() == {
            "type": "error",
            "code": "invalid_json",
            "detail": ws_error_detail("{not json"),
        }
        ws.send_json({"type": "message", "text": 42})
        error = ws.receive_json()
        assert error["code"] == "invalid_message" and "text" in error["detail"]
        ws.send_json({"type": "message", "text": ""})
        assert "must not be empty" in ws.receive_json()["detail"]
        ws.send_json({"type": "typing"})
        assert ws.receive_json()["code"] == "invalid_message"
        # Still open: a good message now goes through.
        ws.send_json({"type": "message", "text": "hello", "client_message_id": "m1"})
        frames = [ws.receive_json() for _ in range(4)]
    kinds = [f["type"] for f in frames]
    assert kinds.count("message") == 3 and kinds[-1] == "ack"
    assert rows(database_url, "SELECT text FROM messages WHERE sender = 'customer'") == [{"text": "hello"}]


def ws_error_detail(raw: str) -> str:
    import json

    try:
        json.loads(raw)
    except json.JSONDecodeError as exc:
        return f"frame is not JSON: {exc.msg}"
    raise AssertionError("valid JSON")


def test_websocket_closes_on_a_100_kb_frame_with_the_reason(client, widget, database_url):
    with client.websocket_connect(ws_url(widget)) as ws:
        ws.send_text('{"type": "message", "text": "' + "x" * 100_000 + '"}')
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 1009 and "larger than" in closed.value.reason
    assert rows(database_url, "SELECT id FROM messages") == []


def test_websocket_refuses_a_bad_token(client):
    with (
        pytest.raises(WebSocketDisconnect) as closed,
        client.websocket_connect("/ws/widget?token=forged") as ws,
    ):
        ws.receive_json()
    assert closed.value.code == 1008 and "invalid widget token" in closed.value.reason
