"""RASA_TIMEOUT_S bounds a turn from the message's arrival: under overload a turn that waited its time away
gets the holding reply at once, without asking Rasa, and its message stays stored for follow-up."""

import asyncio
import json
import time

import httpx
from fastapi.testclient import TestClient

from backend.core.config import Settings
from backend.main import create_app
from tests.app_fixtures import default_answer
from tests.dbcheck import rows

RASA_TURN_S = 0.5
TIMEOUT_S = 0.8


def test_queued_turns_get_the_holding_reply_once_their_time_is_spent(settings: Settings, database_url):
    asked: list[str] = []

    async def slow_rasa(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        asked.append(body["message"])
        await asyncio.sleep(RASA_TURN_S)
        return httpx.Response(200, json=default_answer(body))

    app = create_app(
        settings.model_copy(update={"rasa_timeout_s": TIMEOUT_S}),
        rasa_transport=httpx.MockTransport(slow_rasa),
    )
    with TestClient(app) as client:
        conversation = client.post("/api/v1/widget/sessions", json={}).json()["conversation_id"]
        hub = client.app.state.hub

        async def three_at_once() -> list[tuple[float, list[str]]]:
            started = time.monotonic()

            async def one(text: str) -> tuple[float, list[str]]:
                turn = await hub.customer_message(conversation, text, f"id-{text}")
                return time.monotonic() - started, [r.text for r in turn.replies]

            # One conversation: the turns queue on its lock, as a burst of messages does under overload.
            return await asyncio.gather(one("first"), one("second"), one("third"))

        (_, first), (t2, second), (t3, third) = client.portal.call(three_at_once)
    holding = settings.holding_reply
    assert first == ["You said: first", "Anything else?"]
    # Asked with 0.3 s left, Rasa needs 0.5: the holding reply when the time is up, not when Rasa answers.
    assert second == [holding] and t2 < TIMEOUT_S + 0.15
    # No time left when its turn came: Rasa is not even asked.
    assert third == [holding] and asked == ["first", "second"] and t3 < TIMEOUT_S + 0.3
    stored = rows(
        database_url,
        "SELECT text, bot_status FROM messages WHERE conversation_id = :c AND sender = 'customer' "
        "ORDER BY id",
        c=conversation,
    )
    assert stored == [
        {"text": "first", "bot_status": "answered"},
        {"text": "second", "bot_status": "failed"},
        {"text": "third", "bot_status": "failed"},
    ]
