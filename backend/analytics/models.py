"""Per-minute analytics buckets, shared by every backend worker: each adds its events' sums with an upsert."""

from datetime import datetime

from sqlalchemy import Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.database import Base, utcnow


class AnalyticsBucket(Base):
    __tablename__ = "analytics_buckets"

    minute: Mapped[int] = mapped_column(Integer, primary_key=True)  # minutes since the Unix epoch, UTC
    metric: Mapped[str] = mapped_column(String(32), primary_key=True)  # see analytics/events.py
    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # the intent, or "" for totals
    count: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[float] = mapped_column(Float, default=0.0)
    squares: Mapped[float] = mapped_column(Float, default=0.0)
    # When a worker last added to the row: the others re-read only rows changed since their last look.
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class AnalyticsAppliedEvent(Base):
    """A Rasa event from RabbitMQ whose figures are in the buckets, written in the same commit as they are.

    The broker delivers at least once: a worker that committed a batch but lost its channel before the
    acknowledgement gets the batch again (it or another worker). A redelivered event already here is not
    counted twice. The key is a SHA-256 digest of the message body (no text kept); rows older than a day
    are deleted, long after any redelivery."""

    __tablename__ = "analytics_applied_events"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    applied_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
