"""Queries for conversations and messages, and the turn bookkeeping that changes no conversation state.

A conversation's transitions (opened, a customer or bot turn, hand-off, ended, erased) are in
backend/lifecycle/. Every function takes the session it works in."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, and_, bindparam, func, inspect, select, update
from sqlalchemy.exc import NoResultFound
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from backend.conversations.models import Conversation, Message
from backend.conversations.worded_answers import says_yes, still_cancels
from backend.core.database import attach_as_stored, mark_saved
from backend.handoff.features import TurnView
from contract.embedding import PARSE_KEY as EMBEDDING_KEY
from contract.embedding import as_bytes
from contract.quick_replies import AFFIRM, DENY, offers_a_person, offers_to_stay


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


# The message path's queries are built once, with bound parameters: building a statement costs more CPU
# (about 50-120 us each) than SQLAlchemy's cached compilation of it.
_BY_CLIENT_ID = select(Message).where(
    Message.conversation_id == bindparam("conversation_id"),
    Message.client_message_id == bindparam("client_id"),
)


async def find_by_client_id(session: AsyncSession, conversation_id: str, client_id: str) -> Message | None:
    params = {"conversation_id": conversation_id, "client_id": client_id}
    return (await session.execute(_BY_CLIENT_ID, params)).scalar_one_or_none()


async def replies_to(session: AsyncSession, message_id: int) -> list[Message]:
    query = select(Message).where(Message.in_reply_to == message_id).order_by(Message.id)
    return list((await session.execute(query)).scalars())


# The bot's quick-reply titles are short ("No, I still want to cancel"), and so is an answer typed to its
# yes/no question (worded_answers.py): a longer message is neither, and costs no read of the buttons.
MAX_BUTTON_ANSWER_CHARS = 160


def _latest_buttons(before_id: bool) -> Select[tuple[list | None]]:
    """The buttons of the bot's latest turn in a conversation (before message `before_id`, if it says so)."""
    bot = (Message.conversation_id == bindparam("conversation_id"), Message.sender == "bot")
    answered = select(func.max(Message.in_reply_to)).where(*bot)
    if before_id:
        answered = answered.where(Message.in_reply_to < bindparam("before_id"))
    return select(Message.buttons).where(*bot, Message.in_reply_to == answered.scalar_subquery())


_LATEST_BUTTONS = _latest_buttons(before_id=False)


async def quick_reply_payload(
    session: AsyncSession, conversation_id: str, text: str, before_id: int | None = None
) -> str | None:
    """The payload of the quick reply titled `text` in the bot's latest turn (before message `before_id`).

    The widget sends a clicked quick reply as its title, which is what the customer, the agent inbox and the
    transcript read; Rasa is sent its payload ("/deny"), which its rules answer whatever the NLU makes of the
    words. Only the latest turn's buttons count: the widget retires older ones. Clients that send the payload
    itself match no title and are sent as they are.
    """
    if len(text) > MAX_BUTTON_ANSWER_CHARS:
        return None
    query, params = _LATEST_BUTTONS, {"conversation_id": conversation_id}
    if before_id is not None:
        query, params = _latest_buttons(before_id=True), {**params, "before_id": before_id}
    return reply_payload(text, list((await session.execute(query, params)).scalars()))


def reply_payload(text: str, replies_buttons: Sequence[list | None]) -> str | None:
    """The payload `text` stands for, given the buttons of the bot's latest turn: a clicked quick reply's, the
    Yes button's for a yes typed in words to an offer of a person, the No button's for the cancellation asked
    again while the retention offer is on screen (worded_answers.py); None for other text."""
    for buttons in replies_buttons:
        for button in buttons or []:
            if isinstance(button, dict) and button.get("title") == text and button.get("payload"):
                return str(button["payload"])
    if any(offers_a_person(buttons) for buttons in replies_buttons) and says_yes(text):
        return AFFIRM
    if any(offers_to_stay(buttons) for buttons in replies_buttons) and still_cancels(text):
        return DENY
    return None


# The message path's first read, in one SELECT: the conversation's row and, for a short message, the buttons
# of each reply of the bot's latest turn (a LEFT JOIN: one row with no buttons when there are none). One
# statement instead of two: each costs SQLAlchemy's execution and a crossing to the database's thread.
CONVERSATIONS, MESSAGES = Conversation.__table__, Message.__table__
CONVERSATION_KEYS = [attr.key for attr in inspect(Conversation).column_attrs]
_CONVERSATION_COLUMNS = [CONVERSATIONS.c[key] for key in CONVERSATION_KEYS]
CONVERSATION_ROW = select(*_CONVERSATION_COLUMNS).where(CONVERSATIONS.c.id == bindparam("id"))
_LATEST_REPLIES = MESSAGES.alias("latest_replies")
_LATEST_TURN = (
    select(func.max(MESSAGES.c.in_reply_to))
    .where(MESSAGES.c.conversation_id == bindparam("id"), MESSAGES.c.sender == "bot")
    .scalar_subquery()
)
_CONVERSATION_AND_BUTTONS = (
    select(*_CONVERSATION_COLUMNS, _LATEST_REPLIES.c.buttons)
    .select_from(
        CONVERSATIONS.outerjoin(
            _LATEST_REPLIES,
            and_(
                _LATEST_REPLIES.c.conversation_id == CONVERSATIONS.c.id,
                _LATEST_REPLIES.c.sender == "bot",
                _LATEST_REPLIES.c.in_reply_to == _LATEST_TURN,
            ),
        )
    )
    .where(CONVERSATIONS.c.id == bindparam("id"))
)


async def conversation_for_turn(
    session: AsyncSession, conversation_id: str, text: str
) -> tuple[Conversation | None, str | None]:
    """The conversation (as `session.get` would load it, for a session that has not loaded it yet) and what
    `quick_reply_payload` says of `text`, from one SELECT; (None, None) when there is no such conversation."""
    short = len(text) <= MAX_BUTTON_ANSWER_CHARS
    query = _CONVERSATION_AND_BUTTONS if short else CONVERSATION_ROW
    rows = (await session.execute(query, {"id": conversation_id})).all()
    if not rows:
        return None, None
    payload = reply_payload(text, [row.buttons for row in rows]) if short else None
    return _attached(session, rows[0]), payload


def _attached(session: AsyncSession, row: Row[Any]) -> Conversation:
    """The conversation's row as a clean persistent object of `session`, as its loading would leave it."""
    conversation: Conversation = inspect(Conversation).class_manager.new_instance()
    reread(conversation, row)
    return attach_as_stored(session, conversation)


def reread(conversation: Conversation, row: Row[Any]) -> None:
    """Set the conversation's column attributes from `row` (its columns first, in CONVERSATION_KEYS' order),
    as loaded values: what `session.refresh` does to them."""
    mark_saved(conversation, dict(zip(CONVERSATION_KEYS, row, strict=False)))


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


@dataclass(frozen=True)
class CustomerTurn:
    """One stored customer message as the bot parsed it (None fields: never parsed)."""

    created_at: datetime
    intent: str | None
    sentiment_label: str | None
    sentiment_score: float | None
    text: str
    embedding: bytes | None


async def customer_turns(session: AsyncSession, conversation_id: str, up_to: int) -> list[CustomerTurn]:
    """Every customer message so far, oldest first: what both the hand-off decision and escalation scoring
    read after a turn, so the hub reads it once for both."""
    params = {"conversation_id": conversation_id, "up_to": up_to}
    return [CustomerTurn(*row) for row in (await session.execute(_CUSTOMER_TURNS, params)).all()]


_CUSTOMER_TURNS = (
    select(
        Message.created_at,
        Message.intent,
        Message.sentiment_label,
        Message.sentiment_score,
        Message.text,
        Message.embedding,
    )
    .where(
        Message.conversation_id == bindparam("conversation_id"),
        Message.sender == "customer",
        Message.id <= bindparam("up_to"),
    )
    .order_by(Message.id)
)


_TURN_KEYS = ("created_at", "intent", "sentiment_label", "sentiment_score", "text", "embedding")

# The scoring session's read, in one SELECT: the conversation's row again (an action may have handed it over
# during the turn) and its customer turns, each row carrying the conversation's columns (a LEFT JOIN, so a
# conversation with no turn still comes back).
_CONVERSATION_AND_TURNS = (
    select(
        *_CONVERSATION_COLUMNS,
        *(MESSAGES.c[key] for key in _TURN_KEYS),
    )
    .select_from(
        CONVERSATIONS.outerjoin(
            MESSAGES,
            and_(
                MESSAGES.c.conversation_id == CONVERSATIONS.c.id,
                MESSAGES.c.sender == "customer",
                MESSAGES.c.id <= bindparam("up_to"),
            ),
        )
    )
    .where(CONVERSATIONS.c.id == bindparam("id"))
    .order_by(MESSAGES.c.id)
)


async def reread_with_turns(
    session: AsyncSession, conversation: Conversation, up_to: int
) -> list[CustomerTurn]:
    """Read `conversation`'s row again into it (`reread`) and return `customer_turns` up to message `up_to`,
    from one SELECT. NoResultFound when the conversation is gone."""
    params = {"id": conversation.id, "up_to": up_to}
    rows = (await session.execute(_CONVERSATION_AND_TURNS, params)).all()
    if not rows:
        raise NoResultFound(f"conversation {conversation.id} is gone")
    reread(conversation, rows[0])
    width = len(CONVERSATION_KEYS)
    return [CustomerTurn(*row[width:]) for row in rows if row[width] is not None]


def parsed_turns(turns: Sequence[CustomerTurn]) -> list[TurnView]:
    """The hand-off decision's input. Messages the bot never parsed (Rasa was down, a person owned the
    conversation) say nothing about it."""
    return [
        TurnView(t.intent, t.sentiment_label, t.sentiment_score, t.text, t.embedding)
        for t in turns
        if t.intent is not None
    ]


async def parsed_customer_turns(session: AsyncSession, conversation_id: str, up_to: int) -> list[TurnView]:
    """The bot's parse of each customer message so far, oldest first."""
    return parsed_turns(await customer_turns(session, conversation_id, up_to))


def apply_parse(message: Message, parse: dict[str, Any]) -> None:
    """Copy what the bot understood onto the stored customer message."""
    for key, value in parse_columns(parse).items():
        setattr(message, key, value)


def parse_columns(parse: dict[str, Any]) -> dict[str, Any]:
    """What the bot understood, as the customer message's column values."""
    intent = parse.get("intent") or {}
    sentiment = parse.get("sentiment") or {}
    return {
        "intent": intent.get("name"),
        "intent_confidence": _as_float(intent.get("confidence")),
        "entities": [_entity(e) for e in parse.get("entities") or []],
        "sentiment_label": sentiment.get("label"),
        "sentiment_score": _as_float(sentiment.get("score")),
        "embedding": as_bytes(parse.get(EMBEDDING_KEY)),
    }


def _entity(raw: dict[str, Any]) -> dict[str, Any]:
    keys = ("entity", "value", "start", "end", "confidence_entity", "extractor")
    return {k: raw[k] for k in keys if k in raw}


def _as_float(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


async def list_messages(session: AsyncSession, conversation_id: str, after_id: int = 0) -> list[Message]:
    query = (
        select(Message)
        .where(Message.conversation_id == conversation_id, Message.id > after_id)
        .order_by(Message.id)
    )
    return list((await session.execute(query)).scalars())
