"""HTTP client for the Rasa server's `hub` input channel (bot/channels/hub.py).

One request per customer turn returns both the bot's replies and the parse of the customer's message
(intent, confidence, entities, sentiment), so the backend needs no second call to /model/parse.
"""

from dataclasses import dataclass, field
from typing import Any

import httpx


class BotUnavailable(Exception):
    """The Rasa server could not be reached or answered with an error."""


@dataclass(frozen=True)
class BotReply:
    text: str
    buttons: list[dict[str, str]] | None = None


@dataclass(frozen=True)
class BotTurn:
    replies: list[BotReply]
    parse: dict[str, Any] = field(default_factory=dict)


class RasaClient:
    def __init__(
        self, base_url: str, timeout_s: float, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self._client = httpx.AsyncClient(base_url=base_url, timeout=timeout_s, transport=transport)

    async def close(self) -> None:
        await self._client.aclose()

    async def send(
        self, conversation_id: str, text: str, message_id: int, metadata: dict[str, Any]
    ) -> BotTurn:
        payload = {
            "sender": conversation_id,
            "message": text,
            "message_id": str(message_id),
            "metadata": metadata,
        }
        try:
            response = await self._client.post("/webhooks/hub/webhook", json=payload)
            response.raise_for_status()
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise BotUnavailable(f"Rasa did not answer: {exc!r}") from exc
        return BotTurn(replies=_replies(body.get("messages", [])), parse=body.get("parse") or {})

    async def is_healthy(self) -> bool:
        try:
            response = await self._client.get("/", timeout=2.0)
        except httpx.HTTPError:
            return False
        return response.status_code == 200


def _replies(messages: list[dict[str, Any]]) -> list[BotReply]:
    replies = []
    for message in messages:
        text = message.get("text") or ""
        buttons = [
            {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
            for b in message.get("buttons") or []
        ]
        if text or buttons:
            replies.append(BotReply(text=text, buttons=buttons or None))
    return replies
