"""Queries and writes for conversations and messages. Every function takes the session it works in."""

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from backend.analytics import publisher
from backend.analytics.events import Event, Kind
from backend.conversations.models import Conversation, Message
from backend.conversations.rasa_client import BotReply
from backend.database import utcnow
from backend.handoff.features import TurnView


async def create_conversation(
    session: AsyncSession, customer_id: int | None, channel: str = "web"
) -> Conversation:
    conversation = Conversation(customer_id=customer_id, channel=channel)
    session.add(conversation)
    await session.commit()
    publisher.publish(Event(Kind.CONVERSATION_STARTED, conversation.started_at, conversation.id))
    return conversation


async def get_conversation(session: AsyncSession, conversation_id: str) -> Conversation | None:
    return await session.get(Conversation, conversation_id)


async def get_conversation_with_messages(session: AsyncSession, conversation_id: str) -> Conversation | None:
    query = (
        select(Conversation)
        .where(Conversation.id == conversation_id)
        .options(selectinload(Conversation.messages))
    )
    return (await session.execute(query)).scalar_one_or_none()


async def list_conversations(session: AsyncSession, limit: int, offset: int) -> list[Conversation]:
    query = select(Conversation).order_by(Conversation.last_message_at.desc()).limit(limit).offset(offset)
    return list((await session.execute(query)).scalars())


async def find_by_client_id(session: AsyncSession, conversation_id: str, client_id: str) -> Message | None:
    query = select(Message).where(
        Message.conversation_id == conversation_id, Message.client_message_id == client_id
    )
    return (await session.execute(query)).scalar_one_or_none()


async def replies_to(session: AsyncSession, message_id: int) -> list[Message]:
    query = select(Message).where(Message.in_reply_to == message_id).order_by(Message.id)
    return list((await session.execute(query)).scalars())


async def store_customer_message(
    session: AsyncSession, conversation: Conversation, text: str, client_id: str | None
) -> tuple[Message, bool]:
    """Commit the customer's message before anything else happens; returns (message, was_duplicate)."""
    if client_id is not None:
        existing = await find_by_client_id(session, conversation.id, client_id)
        if existing is not None:
            return existing, True
    status = "pending" if conversation.owner == "bot" else "skipped"
    message = Message(
        conversation_id=conversation.id,
        sender="customer",
        text=text,
        client_message_id=client_id,
        bot_status=status,
    )
    session.add(message)
    conversation.last_message_at = message.created_at = utcnow()
    conversation.status = "open"  # a conversation the idle sweep ended is reopened (analytics/service.py)
    try:
        await session.commit()
    except IntegrityError:
        # Two connections raced with the same idempotency key: the other one stored it.
        await session.rollback()
        existing = await find_by_client_id(session, conversation.id, client_id or "")
        if existing is None:
            raise
        return existing, True
    return message, False


async def claim_pending(session: AsyncSession, message: Message) -> bool:
    """Take over a pending turn (pending -> retrying); True for the one caller whose claim won."""
    result = await session.execute(
        update(Message)
        .where(Message.id == message.id, Message.bot_status == "pending")
        .values(bot_status="retrying")
        .execution_options(synchronize_session=False)
    )
    await session.refresh(message)
    await session.commit()  # after the refresh, so no transaction stays open while the turn is answered
    return result.rowcount == 1


async def parsed_customer_turns(session: AsyncSession, conversation_id: str, up_to: int) -> list[TurnView]:
    """The bot's parse of each customer message so far (the hand-off decision's input), oldest first.
    Messages the bot never parsed (Rasa was down, a person owned the conversation) say nothing about it."""
    query = (
        select(Message.intent, Message.sentiment_label, Message.sentiment_score)
        .where(
            Message.conversation_id == conversation_id,
            Message.sender == "customer",
            Message.id <= up_to,
            Message.intent.is_not(None),
        )
        .order_by(Message.id)
    )
    return [TurnView(*row) for row in (await session.execute(query)).all()]


def apply_parse(message: Message, parse: dict[str, Any]) -> None:
    """Copy what the bot understood onto the stored customer message."""
    intent = parse.get("intent") or {}
    sentiment = parse.get("sentiment") or {}
    message.intent = intent.get("name")
    message.intent_confidence = _as_float(intent.get("confidence"))
    message.entities = [_entity(e) for e in parse.get("entities") or []]
    message.sentiment_label = sentiment.get("label")
    message.sentiment_score = _as_float(sentiment.get("score"))


def _entity(raw: dict[str, Any]) -> dict[str, Any]:
    keys = ("entity", "value", "start", "end", "confidence_entity", "extractor")
    return {k: raw[k] for k in keys if k in raw}


def _as_float(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


async def store_bot_replies(
    session: AsyncSession,
    conversation: Conversation,
    in_reply_to: Message,
    replies: list[BotReply],
    status: str,
    owned_as: str | None = None,
) -> list[Message] | None:
    """Commit a turn's replies and the message's new status. With `owned_as`, only while the message still
    has that status, in the same transaction: a turn and another worker's take-over of it (claim_pending)
    then never both answer. None when the message was no longer ours (nothing stored)."""
    now = utcnow()
    if owned_as is not None:
        taken = await session.execute(
            update(Message)
            .where(Message.id == in_reply_to.id, Message.bot_status == owned_as)
            .values(bot_status=status, answered_at=now)
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount != 1:
            # Nothing is committed: the caller's session ends without a commit, so the parse it set on
            # the message is dropped too (no rollback: it would expire objects the caller still reads).
            return None
    rows = [
        Message(
            conversation_id=conversation.id,
            sender="bot",
            text=reply.text,
            buttons=reply.buttons,
            citations=reply.citations,
            in_reply_to=in_reply_to.id,
            created_at=now,
        )
        for reply in replies
    ]
    session.add_all(rows)
    in_reply_to.bot_status = status
    in_reply_to.answered_at = now
    conversation.last_message_at = now
    await session.commit()
    return rows


async def list_messages(session: AsyncSession, conversation_id: str, after_id: int = 0) -> list[Message]:
    query = (
        select(Message)
        .where(Message.conversation_id == conversation_id, Message.id > after_id)
        .order_by(Message.id)
    )
    return list((await session.execute(query)).scalars())
