"""Decision-log bodies: a decision out, feedback and review in, an override in, quality rows out."""

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from backend.core.params import MAX_DB_INTEGER
from backend.core.text import TEXT

Label = Literal["needed", "not_needed", "right", "wrong"]
Kind = Literal[
    "handoff",
    "kb_answer",
    "routing",
    "priority",
    "retention_offer",
    "override",
    "automation",
    "suggestion",
    "experiment",
    "escalation",
]
Note = Annotated[str, StringConstraints(max_length=2000), TEXT]


class DecisionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    conversation_id: str | None
    case_id: int | None
    customer_id: int | None
    message_id: int | None
    inputs: dict[str, Any]
    scores: dict[str, Any]
    score: float | None
    threshold: float | None
    reasons: list[str]
    version: str
    action: str
    fallback: str | None
    latency_ms: float | None
    created_at: datetime
    outcome: dict[str, Any] | None
    outcome_at: datetime | None
    outcome_final: bool
    feedback_label: str | None
    feedback_note: str | None
    feedback_by: str | None
    feedback_at: datetime | None
    reviewed_by: str | None
    reviewed_at: datetime | None
    overrides_decision_id: int | None


class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: Label = Field(description="needed / not_needed for a hand-off; right / wrong for the others.")
    note: Note | None = None


class OverrideIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    priority: float | None = Field(default=None, ge=0, le=1000, description="The case's new base priority.")
    agent_id: int | None = Field(default=None, ge=0, le=MAX_DB_INTEGER, description="Offer the case to them.")
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500), TEXT]

    @model_validator(mode="after")
    def _changes_something(self) -> "OverrideIn":
        if self.priority is None and self.agent_id is None:
            raise ValueError("an override changes the priority, the agent, or both")
        return self


class OverrideOut(BaseModel):
    case_id: int
    priority: float
    assigned_agent_id: int | None
    status: str
    decisions: list[DecisionOut] = Field(description="The override decisions written, one per change.")


class ReviewItemOut(DecisionOut):
    stratum: Literal["overridden", "low_confidence", "other"]


class QualityRowOut(BaseModel):
    week: date = Field(description="The Monday the week starts on (UTC).")
    kind: str
    version: str
    n: int
    labelled: int
    precision: float | None
    recall: float | None
    override_rate: float | None
