"""Sales leads: who wanted to buy what, how likely they were to convert, and what came of it."""

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.database import Base, utcnow

STATUSES = ("new", "contacted", "won", "lost")
FINAL = ("won", "lost")


class Lead(Base):
    __tablename__ = "leads"
    __table_args__ = (
        # One lead per conversation: capture is idempotent (a repeated sales message scores nothing new).
        UniqueConstraint("conversation_id", name="uq_leads_conversation_id"),
        Index("ix_leads_status_created_at", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    # None for the demo's seeded past leads, which have no conversation (backend/leads/seeding.py).
    conversation_id: Mapped[str | None] = mapped_column(ForeignKey("conversations.id", ondelete="SET NULL"))
    # The message that showed the interest: its text stays in `messages`, where erasure reaches it.
    source_message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    source_intent: Mapped[str] = mapped_column(String(64))
    interest: Mapped[str] = mapped_column(String(32))  # backend/leads/signals.py INTERESTS
    quantity: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    score: Mapped[float] = mapped_column(Float)  # calibrated conversion probability (or the rules' score)
    rules_score: Mapped[float] = mapped_column(Float)  # the rules-only baseline, always kept beside it
    reasons: Mapped[list] = mapped_column(default=list)  # [{feature, value, contribution, direction, text}]
    features: Mapped[dict] = mapped_column(default=dict)
    model_version: Mapped[str] = mapped_column(String(128))
    routed_to: Mapped[str | None] = mapped_column(String(32))  # the team handed the conversation, if any
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default="new")
    status_note: Mapped[str | None] = mapped_column(Text)
    status_by: Mapped[str | None] = mapped_column(String(320))
    contacted_at: Mapped[datetime | None]
    outcome_at: Mapped[datetime | None]  # when it was won or lost
