"""Experiments, their units' assignments, and the customer lifetime values the offers weigh."""

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.database import Base, utcnow

UNITS = ("customer", "conversation")
STATUSES = ("draft", "running", "stopped")


class Experiment(Base):
    __tablename__ = "experiments"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)  # part of the assignment hash: never changes
    name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(16))  # customer or conversation
    # [{"name": "control", "weight": 0.5}, ...]; the first variant is the control the others are compared
    # with.
    variants: Mapped[list] = mapped_column(default=list)
    primary_outcome: Mapped[str] = mapped_column(String(64))
    guardrails: Mapped[list] = mapped_column(default=list)  # outcome names watched for harm
    # The power calculation's inputs and result (backend/experiments/stats.py): the planned units per arm.
    baseline_rate: Mapped[float] = mapped_column(Float)
    minimum_effect: Mapped[float] = mapped_column(Float)  # absolute difference in proportions to detect
    alpha: Mapped[float] = mapped_column(Float)
    power: Mapped[float] = mapped_column(Float)
    planned_per_arm: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default="draft")
    stop_reason: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    stopped_at: Mapped[datetime | None]


class Assignment(Base):
    """A unit's first exposure: its variant (sticky: a hash, so this row records rather than decides) and the
    decision row that logged it; outcomes are joined later by backend/experiments/outcomes.py."""

    __tablename__ = "experiment_assignments"
    __table_args__ = (
        UniqueConstraint("experiment_id", "unit_id", name="uq_experiment_assignments_unit"),
        Index("ix_experiment_assignments_pending", "outcome_final", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[str] = mapped_column(String(64))
    variant: Mapped[str] = mapped_column(String(64))
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id", ondelete="SET NULL"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    conversation_id: Mapped[str | None] = mapped_column(ForeignKey("conversations.id", ondelete="SET NULL"))
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)
    outcome: Mapped[dict] = mapped_column(default=dict)  # metric name -> True/False (None: not known yet)
    outcome_at: Mapped[datetime | None]
    outcome_final: Mapped[bool] = mapped_column(default=False, server_default=false())


class CustomerValue(Base):
    """Lifetime value per customer, written by `python -m ml.clv` (the backend only reads it)."""

    __tablename__ = "customer_values"

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True)
    value: Mapped[float] = mapped_column(Float)  # expected discounted revenue over the horizon, in USD
    monthly_retention: Mapped[float] = mapped_column(Float)
    horizon_months: Mapped[int]
    method: Mapped[str] = mapped_column(String(128))
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)
