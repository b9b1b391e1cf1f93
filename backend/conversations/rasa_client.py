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
    citations: list[dict[str, str]] | None = None


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
    replies: list[BotReply] = []
    for message in messages:
        text = message.get("text") or ""
        buttons = [
            {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
            for b in message.get("buttons") or []
        ]
        citations = _citations(message.get("custom"))
        if text or buttons:
            replies.append(BotReply(text=text, buttons=buttons or None, citations=citations or None))
        elif citations and replies:
            # Rasa's output channel sends an utterance's text and its custom JSON as two messages: the
            # citations belong to the text just before them.
            previous = replies[-1]
            merged = (previous.citations or []) + citations
            replies[-1] = BotReply(text=previous.text, buttons=previous.buttons, citations=merged)
    return replies


def _citations(custom: object) -> list[dict[str, str]]:
    """Source links an action attached (`json_message={"citations": [...]}`); only site-relative or http(s)
    URLs are kept, so a bad article link can never become a `javascript:` link in the widget."""
    if not isinstance(custom, dict) or not isinstance(custom.get("citations"), list):
        return []
    kept = []
    for item in custom["citations"]:
        if not isinstance(item, dict):
            continue
        title, url = str(item.get("title", "")).strip(), str(item.get("url", "")).strip()
        safe = url.startswith(("http://", "https://")) or (url.startswith("/") and not url.startswith("//"))
        if title and safe:
            kept.append({"title": title[:200], "url": url[:500]})
    return kept
