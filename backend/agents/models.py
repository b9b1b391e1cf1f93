"""Staff who work cases: agents, supervisors and admins."""

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.database import Base, TimestampMixin


class Agent(TimestampMixin, Base):
    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320), unique=True)
    role: Mapped[str] = mapped_column(String(16), default="agent")  # agent, supervisor, admin
    team: Mapped[str | None] = mapped_column(String(64))
    skills: Mapped[dict] = mapped_column(default=dict)  # {"billing": 3, "technical": 1}; level 1 (basic) to 5
    languages: Mapped[list] = mapped_column(default=lambda: ["en"])
    max_concurrent_cases: Mapped[int] = mapped_column(default=3)
    status: Mapped[str] = mapped_column(String(16), default="offline")  # online, away, offline
    avatar_url: Mapped[str | None] = mapped_column(String(500))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    last_assigned_at: Mapped[datetime | None]
