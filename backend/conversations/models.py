"""Conversations and every message in them, with the bot's understanding of each customer message."""

import uuid
from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.core.database import Base, utcnow


def new_conversation_id() -> str:
    return uuid.uuid4().hex


class Conversation(Base):
    __tablename__ = "conversations"
    # The analytics idle sweep looks for open conversations quiet for a while (backend/analytics/service.py).
    __table_args__ = (Index("ix_conversations_status_last_message", "status", "last_message_at"),)

    # A random public id: it is also the Rasa sender id, and is safe to show in URLs.
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_conversation_id)
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    channel: Mapped[str] = mapped_column(String(16), default="web")
    owner: Mapped[str] = mapped_column(String(8), default="bot")  # bot, human
    assigned_agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default="open")  # open, resolved
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_message_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When the transcript's text was removed (customer erasure or the retention purge, backend/privacy).
    transcript_erased_at: Mapped[datetime | None]

    messages: Mapped[list["Message"]] = relationship(back_populates="conversation", order_by="Message.id")


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        # The widget's idempotency key: a message re-sent after a dropped connection is stored once.
        UniqueConstraint("conversation_id", "client_message_id", name="uq_messages_conversation_client_id"),
        Index("ix_messages_conversation_created", "conversation_id", "created_at"),
        # The privacy worker's queue: messages still waiting for their redacted copy.
        Index(
            "ix_messages_unredacted",
            "id",
            sqlite_where=text("text_redacted IS NULL"),
            postgresql_where=text("text_redacted IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    sender: Mapped[str] = mapped_column(String(12))  # customer, bot, agent, system
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    # The agent's name as the customer saw it when the message was sent.
    author_name: Mapped[str | None] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    # The text with PII replaced by [EMAIL], [PHONE], [CARD], [IBAN], [NAME]: what analytics and training
    # read. Filled off the hot path by backend/privacy/worker.py; None until then.
    text_redacted: Mapped[str | None] = mapped_column(Text)
    buttons: Mapped[list | None]  # quick replies offered by the bot: [{"title": str, "payload": str}]
    # Knowledge articles a bot answer was taken from: [{"title": str, "url": str}], shown as links.
    citations: Mapped[list | None]
    client_message_id: Mapped[str | None] = mapped_column(String(64))
    in_reply_to: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    # What the bot understood, on customer messages only.
    intent: Mapped[str | None] = mapped_column(String(64))
    intent_confidence: Mapped[float | None] = mapped_column(Float)
    entities: Mapped[list | None]
    sentiment_label: Mapped[str | None] = mapped_column(String(8))
    sentiment_score: Mapped[float | None] = mapped_column(Float)
    # The sentence embedding the NLU computed (contract/embedding.py, 768 bytes): the hand-off policy's text
    # models read it for this message and the next. Erased with the text (GDPR erase).
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary)
    # pending -> answered | failed (bot unreachable) | skipped (a human owns the conversation);
    # retrying: a re-sent message whose first worker died mid-turn is being answered by another one.
    bot_status: Mapped[str | None] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[datetime | None]

    conversation: Mapped[Conversation] = relationship(back_populates="messages")
