"""One row per automated decision: what the decider saw and scored, what was done, what came of it."""

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.database import Base, utcnow

KINDS = (
    "handoff",
    "kb_answer",
    "routing",
    "priority",
    "retention_offer",
    "override",
    "automation",
    "suggestion",  # an agent-assist suggestion shown, used, edited or ignored (backend/assist/)
    "experiment",  # a unit's variant in an experiment (backend/experiments/)
    # A turn's escalation score while a challenger runs: one row per model, the one that did not act with
    # inputs["shadow"] = True (backend/risk/challenger.py).
    "escalation",
    "lead",  # a sales lead's conversion score and whether it went to the sales team (backend/leads/)
)
# Which feedback labels fit which kind: a hand-off was needed or not, any other decision was right or wrong.
LABELS_BY_KIND = {kind: ("right", "wrong") for kind in KINDS} | {"handoff": ("needed", "not_needed")}


class Decision(Base):
    __tablename__ = "decisions"
    __table_args__ = (
        Index("ix_decisions_kind_created_at", "kind", "created_at"),
        Index("ix_decisions_outcome_pending", "outcome_final", "id"),
        Index("ix_decisions_outcome_due", "outcome_final", "outcome_due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    # What the decision was about; each may be unknown (an anonymous visitor has no customer). The rows
    # outlive an erased conversation or customer as anonymous aggregates, hence SET NULL.
    conversation_id: Mapped[str | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL"), index=True
    )
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    # The evidence: a snapshot of the decider's inputs (features, never message text), its scores, the
    # threshold it compared against, and the model or rule version that decided.
    inputs: Mapped[dict] = mapped_column(default=dict)
    scores: Mapped[dict] = mapped_column(default=dict)
    score: Mapped[float | None] = mapped_column(Float)  # the one score compared with the threshold
    threshold: Mapped[float | None] = mapped_column(Float)
    reasons: Mapped[list] = mapped_column(default=list)
    version: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    fallback: Mapped[str | None] = mapped_column(Text)  # why the rules decided instead of the model
    latency_ms: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # What happened later, filled by backend/decisions/outcomes.py, never by hand.
    outcome: Mapped[dict | None]
    outcome_at: Mapped[datetime | None]
    # Set once every window the outcome looks at has passed (7 days, 30 for a retention offer): the job
    # refreshes earlier outcomes as more happens, and never reads a final one again.
    outcome_final: Mapped[bool] = mapped_column(default=False, server_default=false())
    # When the job reads a pending outcome again (NULL: at once); later the older the decision is.
    outcome_due_at: Mapped[datetime | None]
    # A person's verdict: inline feedback in the inbox, or a supervisor's review of the daily sample.
    feedback_label: Mapped[str | None] = mapped_column(String(16))
    feedback_note: Mapped[str | None] = mapped_column(Text)
    feedback_by: Mapped[str | None] = mapped_column(String(320))
    feedback_at: Mapped[datetime | None]
    reviewed_by: Mapped[str | None] = mapped_column(String(320))
    reviewed_at: Mapped[datetime | None]
    overrides_decision_id: Mapped[int | None] = mapped_column(
        ForeignKey("decisions.id", ondelete="SET NULL"), index=True
    )
