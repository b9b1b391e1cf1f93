"""Macros (canned replies per team) and the knowledge-gap job's clusters."""

from datetime import datetime

from sqlalchemy import Float, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.database import Base, utcnow


class Macro(Base):
    __tablename__ = "assist_macros"
    __table_args__ = (UniqueConstraint("team", "name", name="uq_assist_macros_team_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    # A skill (general, billing, ...) or "all": agents see their team's macros and everyone's.
    team: Mapped[str] = mapped_column(String(32), default="all")
    # The reply text with {customer_name}, {order_id}, {tracking_link}; filled when used, never stored filled.
    body: Mapped[str] = mapped_column(Text)
    # Optional effects, applied through backend/lifecycle/ when the agent sends the macro.
    add_tags: Mapped[list] = mapped_column(default=list)
    set_priority: Mapped[float | None] = mapped_column(Float)
    resolve_disposition: Mapped[str | None] = mapped_column(String(64))  # set: sending it resolves the case
    created_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class GapCluster(Base):
    """One cluster of questions the bot could not answer, from one run of the knowledge-gap job."""

    __tablename__ = "assist_gap_clusters"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    size: Mapped[int]
    label: Mapped[str] = mapped_column(Text)  # the question nearest the cluster's centre
    # [{"message_id", "conversation_id", "text", "why"}]: PII-redacted questions, nearest the centre first.
    examples: Mapped[list] = mapped_column(default=list)
    # [{"message_id", "conversation_id", "text"}]: redacted agent replies of those conversations' cases.
    replies: Mapped[list] = mapped_column(default=list)
    article_slug: Mapped[str | None] = mapped_column(String(200))  # the draft made from it, if any
