"""A conversation's own transitions: opened, a customer turn (which reopens an ended one), a bot turn, ended
idle, erased.

Each function stores the change and publishes its analytics event after the commit that made it true, so a
figure never counts what a rollback undid. The message path's guarantees live here because these functions
are its writes: the customer's message is committed before anything else (store_customer_message), and a
turn's replies are stored only while the turn is still this worker's (store_bot_replies' `owned_as`).
"""

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Insert, bindparam, exists, insert, inspect, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from backend.analytics import publisher
from backend.analytics.events import Event, Kind
from backend.cases.models import Case
from backend.conversations.models import Conversation, Message
from backend.conversations.rasa_client import BotReply
from backend.conversations.service import find_by_client_id
from backend.core.database import Base, attach_as_stored, conflict_insert, mark_saved, utcnow

# Conversations ended per idle sweep round: one short transaction, whatever the backlog.
IDLE_BATCH = 500
MESSAGES = Message.__table__
CONVERSATIONS = Conversation.__table__
_MESSAGE_UPDATE = update(MESSAGES).where(MESSAGES.c.id == bindparam("_id"))
_OWNED_MESSAGE_UPDATE = _MESSAGE_UPDATE.where(MESSAGES.c.bot_status == bindparam("_owned_as"))
_LAST_MESSAGE_AT = update(CONVERSATIONS).where(CONVERSATIONS.c.id == bindparam("_id"))
_REPLIES_INSERT = insert(MESSAGES).returning(MESSAGES.c.id, sort_by_parameter_order=True)
_MESSAGE_KEYS = [attr.key for attr in inspect(Message).column_attrs]
_NEW_MESSAGE: dict[str, Insert] = {
    name: conflict_insert(name, MESSAGES)
    .on_conflict_do_nothing(index_elements=[MESSAGES.c.conversation_id, MESSAGES.c.client_message_id])
    .returning(MESSAGES.c.id)
    for name in ("sqlite", "postgresql")
}


async def open_conversation(
    session: AsyncSession, customer_id: int | None, channel: str = "web"
) -> Conversation:
    """Opened: a widget session starts a conversation the bot owns."""
    conversation = Conversation(customer_id=customer_id, channel=channel)
    session.add(conversation)
    await session.commit()
    publisher.publish(Event(Kind.CONVERSATION_STARTED, conversation.started_at, conversation.id))
    return conversation


async def store_customer_message(
    session: AsyncSession, conversation: Conversation, text: str, client_id: str | None
) -> tuple[Message, bool]:
    """Customer turn (and reopened): commit the customer's message before anything else happens; returns
    (message, was_duplicate). A conversation the idle sweep ended is open again from this message on.

    The idempotency key's unique constraint tells a re-sent message: the INSERT does nothing on a conflict
    (no SELECT before it), and then the stored one is read. The conversation's UPDATE comes first, as the
    ORM's flush ordered them (parent row, then child), so row locks are taken in the same order as before."""
    now = utcnow()
    status = "pending" if conversation.owner == "bot" else "skipped"
    values = {"conversation_id": conversation.id, "sender": "customer", "text": text,
              "client_message_id": client_id, "bot_status": status, "created_at": now}  # fmt: skip
    opened = {"last_message_at": now, "status": "open"}
    new_id = await session.run_sync(_write_customer_message, conversation.id, values, opened)
    if new_id is None:
        return await _stored_before(session, conversation, client_id or ""), True
    mark_saved(conversation, opened)
    return _persistent(session, Message(id=new_id, **values)), False


def _write_customer_message(
    session: Session, conversation_id: str, values: dict[str, Any], opened: dict[str, Any]
) -> int | None:
    """The conversation's UPDATE, the message's INSERT and, unless the INSERT conflicted (None), the commit.
    Run by `run_sync`, so the three share one greenlet: the async session starts one per call."""
    session.execute(_LAST_MESSAGE_AT, {"_id": conversation_id, **opened})
    new_id: int | None = session.execute(_insert_new_message(session), values).scalar_one_or_none()
    if new_id is not None:
        session.commit()
    return new_id


def _insert_new_message(session: Session) -> Insert:
    """INSERT ... ON CONFLICT (the idempotency key) DO NOTHING RETURNING id, in the session's dialect."""
    return _NEW_MESSAGE[session.bind.dialect.name]


async def _stored_before(session: AsyncSession, conversation: Conversation, client_id: str) -> Message:
    """The message stored earlier under this idempotency key; this turn's conversation UPDATE is undone."""
    await session.rollback()
    await session.refresh(conversation)  # the rollback expired it
    existing = await find_by_client_id(session, conversation.id, client_id)
    if existing is None:  # the conflicting row is gone again (an erasure in between): nothing to answer
        raise LookupError(f"message {client_id!r} of conversation {conversation.id} conflicted but is gone")
    return existing


def _persistent(session: AsyncSession, message: Message) -> Message:
    """The row just inserted as a clean persistent object of the session, as the ORM's flush leaves it:
    every column loaded (None where the INSERT left SQL NULL), no pending changes."""
    mark_saved(message, {key: None for key in _MESSAGE_KEYS if key not in message.__dict__})
    return attach_as_stored(session, message)


async def store_bot_replies(
    session: AsyncSession,
    conversation: Conversation,
    in_reply_to: Message,
    replies: list[BotReply],
    status: str,
    owned_as: str | None = None,
    parse: dict[str, Any] | None = None,
) -> list[Message] | None:
    """Bot turn: commit a turn's replies and the message's new status. With `owned_as`, only while the
    message still has that status, in the same transaction: a turn and another worker's take-over of it
    (claim_pending) then never both answer. None when the message was no longer ours (nothing stored).

    The message's status and what the caller set on it (the bot's parse) are one UPDATE, the replies one
    INSERT: the reply rows are built here and returned, with the ids the INSERT gave them. `parse`: the
    bot's parse as column values (conversations/service.parse_columns), written by that UPDATE and then set
    on the message as stored, so its commit has nothing to flush; not set on it when nothing is stored."""
    now = utcnow()
    changes = {**_unsaved_columns(in_reply_to), **(parse or {}), "bot_status": status, "answered_at": now}
    # One greenlet for the turn's statements and commit (`run_sync`): the async session starts one per call.
    return await session.run_sync(_write_bot_turn, conversation, in_reply_to, replies, changes, owned_as)


def _write_bot_turn(
    session: Session,
    conversation: Conversation,
    in_reply_to: Message,
    replies: list[BotReply],
    changes: dict[str, Any],
    owned_as: str | None,
) -> list[Message] | None:
    """`store_bot_replies`' statements and commit; None, with nothing written, when the turn was not ours."""
    if not _claimed(session, in_reply_to, changes, owned_as):
        # Nothing is committed: the caller's session ends without a commit, so the parse it set on
        # the message is dropped too (no rollback: it would expire objects the caller still reads).
        return None
    mark_saved(in_reply_to, changes)
    now = changes["answered_at"]
    rows = _insert_replies(session, conversation.id, in_reply_to.id, replies, now)
    session.execute(_LAST_MESSAGE_AT, {"_id": conversation.id, "last_message_at": now})
    mark_saved(conversation, {"last_message_at": now})
    session.commit()
    return rows


def _claimed(session: Session, message: Message, changes: dict[str, Any], owned_as: str | None) -> bool:
    """Write `changes` to the message (only while its status is `owned_as`, if given); False if it was not."""
    # Core statements on the tables, built once (the SET clause is the parameters' keys): the ORM's bulk DML
    # layer, and building a statement per call, cost more CPU than the statement itself.
    statement, where = _MESSAGE_UPDATE, {"_id": message.id}
    if owned_as is not None:
        statement, where = _OWNED_MESSAGE_UPDATE, {**where, "_owned_as": owned_as}
    # No autoflush: it would write the caller's changes to the message ahead of this UPDATE, which has them.
    # (SQLAlchemy autoflushes before every Core statement whatever its `autoflush` execution option says.)
    with session.no_autoflush:
        taken = session.execute(statement, {**changes, **where})
    return owned_as is None or taken.rowcount == 1


def _unsaved_columns(row: Base) -> dict[str, Any]:
    """The column attributes set on a loaded row since it was last written or read."""
    state = inspect(row)
    if not state.modified:  # nothing set since it was loaded or flushed: no attribute's history to read
        return {}
    keys = (column.key for column in state.mapper.column_attrs)
    return {key: state.attrs[key].value for key in keys if state.attrs[key].history.added}


def _insert_replies(
    session: Session, conversation_id: str, in_reply_to: int, replies: list[BotReply], now: datetime
) -> list[Message]:
    if not replies:
        return []
    values = [
        {
            "conversation_id": conversation_id,
            "sender": "bot",
            "text": reply.text,
            "buttons": reply.buttons,
            "citations": reply.citations,
            "in_reply_to": in_reply_to,
            "created_at": now,
        }
        for reply in replies
    ]
    ids = session.execute(_REPLIES_INSERT, values).scalars().all()
    return [Message(id=row_id, **row) for row_id, row in zip(ids, values, strict=True)]


async def end_idle(session: AsyncSession, now: datetime, idle: timedelta) -> int:
    """Ended idle: conversations quiet for `idle` with no open case are resolved; returns how many.

    Each is ended with a conditional update, so with several workers sweeping exactly one ends it and emits
    `conversation_ended`, timed at last message + idle (when it became idle, whenever the sweep ran). It
    ended "without a human" when no case was ever opened for it. A customer who writes again reopens it.
    """
    open_case = exists().where(Case.conversation_id == Conversation.id, Case.status != "resolved")
    query = (
        select(Conversation.id)
        .where(Conversation.status == "open", Conversation.last_message_at < now - idle, ~open_case)
        .limit(IDLE_BATCH)
    )
    ended = []
    for conversation_id in list((await session.execute(query)).scalars()):
        result = await session.execute(
            update(Conversation)
            .where(Conversation.id == conversation_id, Conversation.status == "open",
                   Conversation.last_message_at < now - idle)
            .values(status="resolved")
            .returning(Conversation.last_message_at)
        )  # fmt: skip
        last = result.scalar_one_or_none()
        if last is None:
            continue  # another worker ended it, or the customer just wrote again
        human = exists().where(Case.conversation_id == conversation_id)
        had_case = bool((await session.execute(select(human))).scalar())
        ended.append(Event(Kind.CONVERSATION_ENDED, last + idle, conversation_id, human=had_case))
    await session.commit()
    publisher.publish(*ended)
    return len(ended)


async def mark_erased(session: AsyncSession, conversation_ids: Sequence[str]) -> None:
    """Erased: the transcripts' text is gone (customer erasure or the retention purge). Not committed here:
    it belongs to the caller's erasure transaction, which also replaces the messages' text."""
    await session.execute(
        update(Conversation)
        .where(Conversation.id.in_(conversation_ids))
        .values(transcript_erased_at=utcnow())
    )
