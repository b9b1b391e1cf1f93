"""The widget's WebSocket: customer messages in, bot and agent messages out, live.

Connect to /ws/widget offering the subprotocols "supportdesk" and "bearer.<widget token>" (never a token in
the URL: backend/auth/sockets.py). A bad token, or a conversation that was erased, closes it with 1008.
Frames in:  {"type": "message", "text": str, "client_message_id": str}
Frames out: {"type": "ack", "client_message_id", "message_id", "duplicate"}
            {"type": "message", "message": {...}}          (every new message in the conversation)
            {"type": "error", "code": str, "detail": str}  (the frame was refused; the socket stays open)
            code "rate_limited" also carries "retry_after" (seconds): the message was not taken.
A frame larger than the configured limit closes the socket with code 1009 and the reason.
An erasure of the conversation revokes its sockets too: the next message frame closes the socket with 1008.
The customer closing the widget (or the network dropping) ends the handler quietly: it is not an error.
A message's ack follows the bot's replies to it; escalation scoring runs after the ack, so a hand-off
notice, if scoring decides on one, comes after it as one more message.
"""

import asyncio
import contextlib
import functools
import json
import logging

from fastapi import APIRouter, WebSocket, WebSocketDisconnect, status
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.auth.dependencies import CONVERSATION_ERASED, conversation_erased
from backend.auth.policy import audience
from backend.auth.sockets import CLOSED, PROTOCOL, offered_token
from backend.auth.tokens import InvalidToken, conversation_of_widget_token
from backend.conversations.hub import ConversationErased, ConversationHub, ConversationNotFound
from backend.conversations.models import Message
from backend.conversations.notifier import Notifier, offer
from backend.conversations.schemas import WidgetFrameIn
from backend.core.config import Settings
from backend.core.correlation import new_request_id
from backend.core.ratelimit import RateLimiter

router = APIRouter()
log = logging.getLogger(__name__)


@router.websocket("/ws/widget")
@audience("widget")  # the token names the conversation; checked below before the socket is accepted
async def widget_socket(websocket: WebSocket) -> None:
    settings: Settings = websocket.app.state.settings
    sessions: async_sessionmaker[AsyncSession] = websocket.app.state.sessions
    try:
        conversation_id = conversation_of_widget_token(offered_token(websocket), settings.secret_key)
    except InvalidToken as exc:
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason=f"invalid widget token: {exc}")
        return
    if await conversation_erased(sessions, conversation_id):
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason=CONVERSATION_ERASED)
        return
    await websocket.accept(subprotocol=PROTOCOL)
    hub: ConversationHub = websocket.app.state.hub
    notifier: Notifier = websocket.app.state.notifier
    async with notifier.subscribe(conversation_id) as events:
        forwarder = asyncio.create_task(_forward(websocket, events))
        try:
            await _receive_loop(websocket, events, hub, conversation_id, settings.max_request_bytes)
        except CLOSED:  # the customer closed the widget or the connection dropped: a normal end
            pass
        finally:
            forwarder.cancel()
            # The forwarder may have ended first, on a send to the closed socket; that is the same normal end.
            with contextlib.suppress(asyncio.CancelledError, *CLOSED):
                await forwarder


async def _forward(websocket: WebSocket, events: asyncio.Queue[dict[str, object]]) -> None:
    while True:
        await websocket.send_json(await events.get())


async def _receive_loop(
    websocket: WebSocket,
    outbox: asyncio.Queue[dict[str, object]],
    hub: ConversationHub,
    conversation_id: str,
    max_bytes: int,
) -> None:
    # The ack goes out with the bot's replies, before escalation scoring: no customer waits for it.
    ack = functools.partial(_queue_ack, outbox)
    while True:
        raw = await _receive_frame(websocket)
        if len(raw.encode() if isinstance(raw, str) else raw) > max_bytes:
            await websocket.close(code=1009, reason=f"frame larger than {max_bytes} bytes")
            return
        frame = _parse_frame(raw) if isinstance(raw, str) else BINARY_FRAME
        if isinstance(frame, dict):
            await websocket.send_json(frame)
            continue
        refused = await _rate_limited(websocket, conversation_id)
        if refused is not None:  # refused before it is stored: the widget may re-send it later
            await websocket.send_json(refused)
            continue
        try:
            with new_request_id():  # one id per message: a socket carries a whole conversation
                await hub.customer_message(conversation_id, frame.text, frame.client_message_id, ack)
        except ConversationNotFound:
            await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason="conversation not found")
            return
        except ConversationErased:
            # A socket opened before an erasure must not post into the erased conversation (the token itself
            # stays valid until it expires): the hub refuses the message before storing it.
            await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason=CONVERSATION_ERASED)
            return


BINARY_FRAME = {"type": "error", "code": "invalid_json", "detail": "send JSON as a text frame, not binary"}


async def _receive_frame(websocket: WebSocket) -> str | bytes:
    """The next frame's text, or its bytes for a binary frame (receive_text would fail on one with a
    KeyError: an error logged for what is only a client's mistake)."""
    message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000), message.get("reason"))
    text = message.get("text")
    return text if text is not None else message.get("bytes") or b""


async def _queue_ack(outbox: asyncio.Queue[dict[str, object]], message: Message, duplicate: bool) -> None:
    """Behind the turn's replies in this socket's queue, so the widget gets the replies before their ack."""
    ids = {"message_id": message.id, "client_message_id": message.client_message_id}
    offer(outbox, {"type": "ack", **ids, "duplicate": duplicate})


async def _rate_limited(websocket: WebSocket, conversation_id: str) -> dict[str, object] | None:
    """The error frame when this frame is over the conversation's or the address's message limit."""
    limiter: RateLimiter = websocket.app.state.rate_limiter
    address = websocket.client.host if websocket.client else "unknown"
    for rule, key in (("messages_per_ip", address), ("messages_per_conversation", conversation_id)):
        refusal = await limiter.hit(rule, key)
        if refusal is not None:
            return {
                "type": "error",
                "code": "rate_limited",
                "detail": refusal.detail,
                "retry_after": refusal.retry_after_s,
            }
    return None


def _parse_frame(raw: str) -> WidgetFrameIn | dict[str, str]:
    """The validated frame, or the error frame to send back."""
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        return {"type": "error", "code": "invalid_json", "detail": f"frame is not JSON: {exc.msg}"}
    try:
        return WidgetFrameIn.model_validate(data)
    except ValidationError as exc:
        detail = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'frame'}: {e['msg']}" for e in exc.errors())
        return {"type": "error", "code": "invalid_message", "detail": detail}
