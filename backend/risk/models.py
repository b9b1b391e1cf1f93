"""The model registry (every trained model version, its data fingerprint, metrics and lifecycle status) and
every risk score served, each naming the model version that made it."""

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.database import Base, utcnow


class ModelVersion(Base):
    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("kind", "version", name="uq_model_versions_kind_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # churn, escalation, churn_csv, nlu, sentiment
    version: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="candidate")  # candidate, production, retired
    data_fingerprint: Mapped[str] = mapped_column(String(64))
    metrics: Mapped[dict] = mapped_column(default=dict)
    artifact_path: Mapped[str | None] = mapped_column(String(500))  # relative to settings.risk_model_dir
    # PSI bins of every feature and of the score on the training rows (backend/risk/drift.py).
    drift_reference: Mapped[dict | None]
    # The production version this one replaced when it was promoted: what a rollback restores.
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("model_versions.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    promoted_at: Mapped[datetime | None]  # when it last became the production version


class RiskScore(Base):
    """One served score. `subject_id` is text because conversation ids are text and customer ids numbers."""

    __tablename__ = "risk_scores"
    __table_args__ = (
        Index("ix_risk_scores_subject", "subject_type", "subject_id", "kind", "created_at"),
        Index("ix_risk_scores_model_version", "model_version_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_type: Mapped[str] = mapped_column(String(16))  # customer, conversation
    subject_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))  # churn, escalation
    score: Mapped[float] = mapped_column(Float)
    reasons: Mapped[list] = mapped_column(default=list)  # [{"feature", "value", "contribution", "text"}]
    features: Mapped[dict] = mapped_column(default=dict)  # the model's input, for drift monitoring
    # The customer message a conversation score was computed after (None for customer scores).
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    decision: Mapped[str | None] = mapped_column(String(16))  # escalate, continue (turn scores only)
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
