"""The message path through the backend: store first, then ask the bot, then store the parse and replies."""

import asyncio
import threading

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from starlette.websockets import WebSocketDisconnect

from backend.auth.sockets import subprotocols
from backend.conversations.hub import HANDOFF_NOTICE
from backend.risk import service as risk
from tests.app_fixtures import ScriptedRasa, default_answer, staff_headers
from tests.dbcheck import execute, rows


def send(client: TestClient, widget: dict[str, str], text: str, client_id: str | None = None):
    body = {"text": text} if client_id is None else {"text": text, "client_message_id": client_id}
    return client.post(
        f"/api/v1/widget/conversations/{widget['conversation_id']}/messages",
        json=body,
        headers={"Authorization": widget["auth"]},
    )


def test_message_and_replies_are_stored_with_the_parse(client, widget, database_url, rasa: ScriptedRasa):
    response = send(client, widget, "  where is ORD-100001?  ")
    assert response.status_code == 200, response.text
    turn = response.json()
    assert turn["message"]["text"] == "where is ORD-100001?"
    assert [r["text"] for r in turn["replies"]] == ["You said: where is ORD-100001?", "Anything else?"]
    assert turn["replies"][1]["buttons"] == [{"title": "No", "payload": "/deny"}]
    # Rasa got the backend's message id, so the parse can be matched to the stored row.
    assert rasa.calls[0]["message_id"] == str(turn["message"]["id"])
    assert rasa.calls[0]["sender"] == widget["conversation_id"]

    stored = rows(
        database_url,
        "SELECT * FROM messages WHERE conversation_id = :c ORDER BY id",
        c=widget["conversation_id"],
    )
    assert [m["sender"] for m in stored] == ["customer", "bot", "bot"]
    customer = stored[0]
    assert customer["intent"] == "order_status"
    assert customer["intent_confidence"] == 0.91
    assert customer["sentiment_label"] == "neutral" and customer["sentiment_score"] == -0.2
    assert customer["bot_status"] == "answered" and customer["answered_at"] is not None
    assert all(m["in_reply_to"] == customer["id"] for m in stored[1:])


def test_message_is_kept_and_customer_gets_a_holding_reply_when_rasa_is_down(
    client, widget, database_url, rasa
):
    rasa.down = True
    response = send(client, widget, "is anyone there?")
    assert response.status_code == 200
    replies = response.json()["replies"]
    assert len(replies) == 1 and "message is saved" in replies[0]["text"]
    stored = rows(
        database_url,
        "SELECT sender, text, bot_status FROM messages WHERE conversation_id = :c ORDER BY id",
        c=widget["conversation_id"],
    )
    assert stored[0] == {"sender": "customer", "text": "is anyone there?", "bot_status": "failed"}
    assert stored[1]["sender"] == "bot"


def test_a_resent_message_is_stored_once(client, widget, database_url, rasa):
    first = send(client, widget, "hello", client_id="c-1").json()
    again = send(client, widget, "hello", client_id="c-1").json()
    assert again["duplicate"] is True and first["duplicate"] is False
    assert again["message"]["id"] == first["message"]["id"]
    assert [r["id"] for r in again["replies"]] == [r["id"] for r in first["replies"]]
    assert len(rasa.calls) == 1
    count = rows(
        database_url,
        "SELECT count(*) AS n FROM messages WHERE sender = 'customer' AND conversation_id = :c",
        c=widget["conversation_id"],
    )
    assert count[0]["n"] == 1


def test_bot_stays_silent_while_a_human_owns_the_conversation(client, widget, database_url, rasa):
    handoff = client.post(
        f"/api/v1/service/conversations/{widget['conversation_id']}/handoff",
        json={"reason": "customer asked for a person"},
        headers={"X-Service-Token": "test-service-token"},
    )
    assert handoff.status_code == 200, handoff.text
    response = send(client, widget, "hello? are you a human?")
    assert response.status_code == 200 and response.json()["replies"] == []
    assert rasa.calls == []
    stored = rows(
        database_url,
        "SELECT bot_status FROM messages WHERE conversation_id = :c",
        c=widget["conversation_id"],
    )
    assert stored == [{"bot_status": "skipped"}]


def test_history_returns_the_whole_conversation_in_order(client, widget):
    send(client, widget, "one")
    send(client, widget, "two")
    history = client.get(
        f"/api/v1/widget/conversations/{widget['conversation_id']}/messages",
        headers={"Authorization": widget["auth"]},
    ).json()
    assert [m["text"] for m in history if m["sender"] == "customer"] == ["one", "two"]
    later = client.get(
        f"/api/v1/widget/conversations/{widget['conversation_id']}/messages?after_id={history[2]['id']}",
        headers={"Authorization": widget["auth"]},
    ).json()
    assert [m["id"] for m in later] == [m["id"] for m in history[3:]]


def test_staff_view_shows_intent_and_sentiment(client, widget):
    send(client, widget, "my order is late, where is it?")
    detail = client.get(
        f"/api/v1/conversations/{widget['conversation_id']}", headers=staff_headers(client)
    ).json()
    customer = detail["messages"][0]
    assert customer["intent"] == "order_status" and customer["sentiment_label"] == "neutral"
    assert detail["customer_id"] is not None  # the demo shopper's session was linked to their record


def test_the_conversation_keeps_a_sentiment_trajectory(client, widget, rasa: ScriptedRasa):
    moods = iter([("positive", 0.5), ("neutral", 0.2), ("negative", 0.6), ("negative", 0.9)])

    def answer(body: dict) -> dict:
        label, score = next(moods)
        turn = default_answer(body)
        turn["parse"]["sentiment"] = {"label": label, "score": score, "confidence": 0.9}
        return turn

    rasa.answer = answer
    for text in ("thanks for the quick reply", "ok", "this is not ok", "I am furious now"):
        send(client, widget, text)
    detail = client.get(
        f"/api/v1/conversations/{widget['conversation_id']}", headers=staff_headers(client)
    ).json()
    trend = detail["sentiment"]
    assert [p["score"] for p in trend["points"]] == [0.5, 0.0, -0.6, -0.9]
    assert trend["latest"] == -0.9 and trend["negative_streak"] == 2 and trend["trend"] < -0.3


def test_cited_articles_are_stored_and_unsafe_links_dropped(client, widget, rasa: ScriptedRasa):
    def cited_answer(body: dict) -> dict:
        citations = [
            {"title": "Shipping times", "url": "/kb/shipping-times"},
            {"title": "Evil", "url": "javascript:alert(1)"},
            {"title": "Protocol-relative", "url": "//evil.example/x"},
            {"title": "", "url": "/kb/untitled"},
        ]
        # As Rasa's collecting channel sends it: the text, then the custom JSON as its own message.
        reply = {"recipient_id": body["sender"], "text": "Standard shipping takes 3-5 days."}
        custom = {"recipient_id": body["sender"], "custom": {"citations": citations}}
        return {"messages": [reply, custom], "parse": {}}

    rasa.answer = cited_answer
    turn = send(client, widget, "how long does shipping take?").json()
    expected = [{"title": "Shipping times", "url": "/kb/shipping-times"}]
    assert turn["replies"][0]["citations"] == expected
    history = client.get(
        f"/api/v1/widget/conversations/{widget['conversation_id']}/messages",
        headers={"Authorization": widget["auth"]},
    ).json()
    assert history[-1]["citations"] == expected


def test_the_widget_ack_comes_with_the_replies_and_a_hand_off_notice_follows(
    client, widget, rasa, monkeypatch
):
    """Escalation scoring runs after the ack: the customer has the bot's answer without waiting for it."""

    def asks_for_a_human(body: dict) -> dict:
        turn = default_answer(body)
        turn["parse"]["intent"] = {"name": "request_human", "confidence": 0.97}
        return turn

    acked = threading.Event()
    scored_after_ack: list[bool] = []
    score_turn = risk.score_turn

    async def scoring_held_until_the_ack(*args, **kwargs):
        # Before the change this waited out its bound: the ack only went out after scoring. The bound is
        # liveness (the test thread sets `acked` once it has read the ack), generous for a loaded machine.
        scored_after_ack.append(await asyncio.to_thread(acked.wait, 30))
        return await score_turn(*args, **kwargs)

    monkeypatch.setattr(risk, "score_turn", scoring_held_until_the_ack)
    rasa.answer = asks_for_a_human
    with client.websocket_connect("/ws/widget", subprotocols=subprotocols(widget["token"])) as socket:
        socket.send_json({"type": "message", "text": "let me talk to a person", "client_message_id": "h-1"})
        frames = [socket.receive_json()]
        while frames[-1]["type"] != "ack":
            frames.append(socket.receive_json())
        acked.set()
        while HANDOFF_NOTICE not in [f.get("message", {}).get("text") for f in frames]:
            frames.append(socket.receive_json())
    assert scored_after_ack == [True]
    # The replies, their ack, then the notice scoring added. The queue's own frame (the customer's place,
    # published when the case is queued) may come before the notice on a busy machine: it is not the turn's.
    turn = [f for f in frames if f["type"] != "queue"]
    assert {f["type"] for f in frames} - {"message", "ack"} <= {"queue"}
    ack = turn[3]
    assert ack["type"] == "ack" and ack["client_message_id"] == "h-1" and ack["duplicate"] is False
    texts = [f["message"]["text"] for f in turn if f["type"] == "message"]
    assert texts == [
        "let me talk to a person", "You said: let me talk to a person", "Anything else?", HANDOFF_NOTICE
    ]  # fmt: skip
    assert len(turn) == 5
    # The REST path returns the whole turn; a human owns the conversation now, so the bot stays silent.
    assert send(client, widget, "still there?").json()["replies"] == []


def test_a_turn_writes_the_customer_message_once_after_storing_it(client, widget, database_url):
    """The parse and the answered status are one UPDATE of the customer's message (there were three: the
    parse autoflushed, the guarded status update, the status again from the ORM at commit), and the replies
    come back with the ids they were stored under. Every UPDATE of a message counts: SQLAlchemy autoflushes
    before a Core statement too, so the parse's own UPDATE did not name bot_status."""
    engine = client.app.state.sessions.kw["bind"].sync_engine
    updates: list[str] = []

    def count(_conn, _cursor, statement: str, *_args) -> None:
        if statement.startswith("UPDATE messages"):
            updates.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        turn = send(client, widget, "where is ORD-100001?").json()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(updates) == 1, updates
    stored = rows(
        database_url,
        "SELECT id, text, intent, bot_status FROM messages WHERE conversation_id = :c ORDER BY id",
        c=widget["conversation_id"],
    )
    assert stored[0]["intent"] == "order_status" and stored[0]["bot_status"] == "answered"
    assert [(r["id"], r["text"]) for r in turn["replies"]] == [(r["id"], r["text"]) for r in stored[1:]]


def test_an_erased_conversation_refuses_the_next_message_before_storing_it(client, widget, database_url):
    """The message route no longer asks for the erased mark in a session of its own: the hub refuses the
    message from the conversation row it reads, over REST (410) and on a socket opened before (1008)."""
    assert send(client, widget, "hello").status_code == 200
    with client.websocket_connect("/ws/widget", subprotocols=subprotocols(widget["token"])) as socket:
        execute(
            database_url,
            "UPDATE conversations SET transcript_erased_at = CURRENT_TIMESTAMP WHERE id = :c",
            c=widget["conversation_id"],
        )
        refused = send(client, widget, "hello again", client_id="after-erasure")
        socket.send_json({"type": "message", "text": "still there?", "client_message_id": "ws-after"})
        with pytest.raises(WebSocketDisconnect) as closed:
            while True:
                socket.receive_json()
    assert refused.status_code == 410 and "erased" in refused.json()["detail"]
    assert closed.value.code == 1008 and "erased" in closed.value.reason
    texts = rows(
        database_url,
        "SELECT text FROM messages WHERE conversation_id = :c AND sender = 'customer'",
        c=widget["conversation_id"],
    )
    assert texts == [{"text": "hello"}]
