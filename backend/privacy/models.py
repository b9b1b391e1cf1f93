"""Receipts of customer erasures, and the Rasa tracker erasures still owed."""

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.database import Base, utcnow


class CustomerErasure(Base):
    """One per erased customer: makes a repeated erasure answer the same, and proves when it happened.

    Holds counts only (what was erased, never the erased content itself)."""

    __tablename__ = "customer_erasures"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), unique=True)
    erased_by: Mapped[str] = mapped_column(String(320))  # "agent:7"
    summary: Mapped[dict] = mapped_column(default=dict)  # {"orders": 3, "messages": 41, ...}
    erased_at: Mapped[datetime] = mapped_column(default=utcnow)


class TrackerErasure(Base):
    """A Rasa conversation tracker that must be deleted from Rasa's tracker store.

    Written in the same transaction as the erasure (or purge) of the backend's copy, so it is never
    forgotten; done at once when the tracker store is reachable, otherwise retried by the privacy worker."""

    __tablename__ = "tracker_erasures"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(64), unique=True)  # the Rasa sender id
    reason: Mapped[str] = mapped_column(String(16))  # erasure, retention
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
