"""A customer talks to the real system over the widget's WebSocket; the database holds every turn."""

import asyncio
import json
import time
import uuid
from typing import Any

import httpx
import pytest
import websockets

from backend.auth.sockets import subprotocols
from backend.auth.tokens import customer_hash
from backend.conversations.hub import HANDOFF_NOTICE
from scripts.stack import Stack
from tests.dbcheck import rows

pytestmark = pytest.mark.e2e


def open_session(stack: Stack, email: str | None = "demo@northwind.example") -> dict[str, Any]:
    base = stack.config.url(stack.config.backend_port)
    secret = "e2e-identity-secret"
    body = {"customer_email": email, "customer_hash": customer_hash(email, secret)} if email else {}
    response = httpx.post(f"{base}/api/v1/widget/sessions", json=body)
    response.raise_for_status()
    return response.json()


# How long one turn may take before the test fails: a liveness bound for a loaded machine, not a speed target.
TURN_LIVENESS_S = 120.0


async def say(
    stack: Stack, session: dict[str, Any], texts: list[str], quiet_s: float = 1.5
) -> list[dict[str, Any]]:
    """Send each text over the WebSocket, waiting for the whole turn (below); returns every frame received."""
    url = f"ws://127.0.0.1:{stack.config.backend_port}/ws/widget"
    frames: list[dict[str, Any]] = []
    async with websockets.connect(url, subprotocols=subprotocols(session["token"])) as ws:
        for text in texts:
            await ws.send(
                json.dumps({"type": "message", "text": text, "client_message_id": uuid.uuid4().hex})
            )
            frames += await _whole_turn(ws, stack, session["conversation_id"], quiet_s)
    return frames


async def _whole_turn(
    ws: websockets.ClientConnection, stack: Stack, conversation_id: str, quiet_s: float
) -> list[dict[str, Any]]:
    """A turn's frames: the bot's replies, the ack, and what the hand-off decision after the ack adds (a
    hand-off notice). That decision runs after the ack, so the notice used to be caught by waiting quiet_s
    after the ack, which a loaded machine overran. Now: until the backend has ended the turn, then until every
    message the database holds in reply to it has arrived; then quiet_s more for anything pushed later."""
    frames: list[dict[str, Any]] = []
    deadline = time.monotonic() + TURN_LIVENESS_S

    async def receive(timeout: float) -> None:
        frames.append(json.loads(await asyncio.wait_for(ws.recv(), timeout)))

    while not (acks := [f for f in frames if f["type"] == "ack"]):
        await _within(receive, deadline, frames, "the ack")
    replies = await asyncio.to_thread(
        _replies_once_ended, stack, conversation_id, acks[0]["message_id"], deadline
    )
    while not replies <= {f["message"]["id"] for f in frames if f["type"] == "message"}:
        await _within(receive, deadline, frames, f"messages {sorted(replies)}")
    while True:
        try:
            await receive(quiet_s)
        except TimeoutError:
            return frames


async def _within(receive: Any, deadline: float, frames: list[dict[str, Any]], what: str) -> None:
    try:
        await receive(max(deadline - time.monotonic(), 0.001))
    except TimeoutError:
        raise AssertionError(f"{what} not received within {TURN_LIVENESS_S} s; got {frames}") from None


def _replies_once_ended(stack: Stack, conversation_id: str, message_id: int, deadline: float) -> set[int]:
    """The ids of the messages stored in reply to `message_id` once its turn has ended in the backend: the
    hub logs "... answered" as the very last step of a turn the bot answered (after the hand-off decision
    and its notice); a turn the bot did not answer (a holding reply, a person's conversation) has no
    decision after its ack."""
    database = stack.config.database_url
    ended = f"conversation {conversation_id}: message {message_id} answered"
    log = stack.config.log_dir / "backend.log"
    while True:
        [message] = rows(database, "SELECT bot_status FROM messages WHERE id = :m", m=message_id)
        if message["bot_status"] != "answered" or ended in log.read_text(errors="replace"):
            break
        assert time.monotonic() < deadline, f"the backend did not end the turn of message {message_id}"
        time.sleep(0.1)
    return {r["id"] for r in rows(database, "SELECT id FROM messages WHERE in_reply_to = :m", m=message_id)}


def bot_texts(frames: list[dict[str, Any]]) -> list[str]:
    return [
        f["message"]["text"] for f in frames if f["type"] == "message" and f["message"]["sender"] == "bot"
    ]


def test_customer_message_and_bot_reply_are_stored_with_the_parse(stack: Stack):
    session = open_session(stack)
    frames = asyncio.run(say(stack, session, ["hello there"]))
    # The ack follows the bot's replies, and a greeting is never handed to a person: nothing follows it.
    kinds = [f["type"] for f in frames]
    assert "ack" in kinds and bot_texts(frames[: kinds.index("ack")]), frames
    assert bot_texts(frames[kinds.index("ack") + 1 :]) == [], frames
    assert HANDOFF_NOTICE not in bot_texts(frames)
    replies = bot_texts(frames)
    assert replies, f"no bot reply in {frames}"

    stored = rows(
        stack.config.database_url,
        "SELECT sender, text, intent, intent_confidence, bot_status FROM messages"
        " WHERE conversation_id = :c ORDER BY id",
        c=session["conversation_id"],
    )
    customer, *bot = stored
    assert customer["sender"] == "customer" and customer["text"] == "hello there"
    assert customer["intent"] == "greet"
    assert 0.0 < customer["intent_confidence"] <= 1.0
    assert customer["bot_status"] == "answered"
    assert [m["text"] for m in bot] == replies and all(m["sender"] == "bot" for m in bot)


def test_order_status_is_looked_up_through_the_action_server_and_backend(stack: Stack):
    order = rows(
        stack.config.database_url,
        "SELECT tracking_number, carrier FROM orders WHERE order_number = 'ORD-100001'",
    )[0]
    session = open_session(stack)
    frames = asyncio.run(say(stack, session, ["where is my order ORD-100001?"]))
    answer = " ".join(bot_texts(frames))
    # The tracking number exists only in the backend's database: the action really asked it.
    assert order["tracking_number"] in answer, answer
    assert order["carrier"] in answer


def test_the_history_survives_a_new_connection(stack: Stack):
    session = open_session(stack, email=None)
    asyncio.run(say(stack, session, ["hi"]))
    base = stack.config.url(stack.config.backend_port)
    history = httpx.get(
        f"{base}/api/v1/widget/conversations/{session['conversation_id']}/messages",
        headers={"Authorization": f"Bearer {session['token']}"},
    ).json()
    assert history[0]["text"] == "hi" and history[0]["sender"] == "customer"
    assert len(history) >= 2


def test_an_angry_message_is_stored_with_negative_sentiment_and_its_intent(stack: Stack):
    session = open_session(stack, email=None)
    text = "this is the third time my order is late, I'm furious"
    asyncio.run(say(stack, session, [text]))
    [stored] = rows(
        stack.config.database_url,
        "SELECT intent, sentiment_label, sentiment_score FROM messages"
        " WHERE conversation_id = :c AND sender = 'customer'",
        c=session["conversation_id"],
    )
    assert stored["intent"] in {"shipping_delay", "complaint"}, stored
    assert stored["sentiment_label"] == "negative" and stored["sentiment_score"] < -0.3, stored


def test_a_likely_churner_gets_a_retention_offer_and_a_person_when_refusing(stack: Stack):
    # The e2e stack sets CHURN_HIGH_THRESHOLD=0.01, so the signed-in demo shopper counts as a likely churner.
    session = open_session(stack)
    frames = asyncio.run(say(stack, session, ["I want to cancel my subscription"]))
    assert any("3 months at 25% off" in t for t in bot_texts(frames)), bot_texts(frames)
    asyncio.run(say(stack, session, ["/deny"]))
    cases = rows(
        stack.config.database_url,
        "SELECT status FROM cases WHERE conversation_id = :c",
        c=session["conversation_id"],
    )
    assert len(cases) == 1, cases
