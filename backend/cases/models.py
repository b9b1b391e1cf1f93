"""Cases: a conversation handed to humans, with its routing state, SLA clock and outcome."""

from datetime import datetime

from sqlalchemy import Float, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.database import Base, utcnow


class Case(Base):
    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    # queued -> assigned (offered to an agent) -> accepted -> resolved. Re-queued when not accepted in time,
    # not replied to in time, when the agent goes offline, or on transfer. `follow_up`: handed over while
    # the team's queue was full (QUEUE_OVERFLOW_ACTION=leave_message); not routed live, a person follows up.
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    reason: Mapped[str] = mapped_column(Text)
    skill: Mapped[str] = mapped_column(String(32), default="general")
    language: Mapped[str] = mapped_column(String(8), default="en")
    priority: Mapped[float] = mapped_column(Float, default=0.0)  # base priority at hand-off, see routing.py
    escalation_risk: Mapped[float | None] = mapped_column(Float)
    churn_risk: Mapped[float | None] = mapped_column(Float)
    customer_value: Mapped[float | None] = mapped_column(Float)
    assigned_agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    # The agent it was taken from for not replying within REPLY_TIMEOUT_S: routing offers it to anyone else
    # eligible first (backend/cases/routing.py), and back to them only when nobody else can take it.
    passed_over_agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sla_due_at: Mapped[datetime | None]
    assigned_at: Mapped[datetime | None]
    accepted_at: Mapped[datetime | None]
    requeue_count: Mapped[int] = mapped_column(default=0, server_default="0")
    first_response_at: Mapped[datetime | None]
    sla_breached_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    disposition: Mapped[str | None] = mapped_column(String(64))
    csat: Mapped[int | None]  # the survey's first question, the 1-5 satisfaction score
    # The other questions' answers (backend/cases/csat.py): [{id, kind, question, rating, text}], the text
    # redacted.
    csat_answers: Mapped[list | None]
