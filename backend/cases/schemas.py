"""Case bodies."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from backend.conversations.schemas import ConversationOut, ParsedMessageOut, SentimentTrajectoryOut
from backend.core.text import Text
from backend.customers.schemas import CustomerIdentityOut, CustomerOut

Skill = Literal["general", "billing", "technical", "retention", "sales"]


class HandoffIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Text = Field(min_length=1, max_length=500, description="Why the bot hands over, in words.")


class HandoffOut(BaseModel):
    case_id: int
    message: str


class CsatAnswerOut(BaseModel):
    """One answer to a survey question after the satisfaction score (backend/cases/csat.py)."""

    id: str
    kind: Literal["rating", "text"]
    question: str = Field(description="The wording the customer was asked.")
    rating: int | None
    text: str | None = Field(description="Redacted: PII replaced by placeholders such as [PHONE].")


class CaseOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    conversation_id: str
    customer_id: int | None
    status: str
    reason: str
    skill: str
    language: str
    priority: float
    escalation_risk: float | None
    churn_risk: float | None
    assigned_agent_id: int | None
    created_at: datetime
    sla_due_at: datetime | None
    assigned_at: datetime | None
    accepted_at: datetime | None
    first_response_at: datetime | None
    sla_breached_at: datetime | None
    resolved_at: datetime | None
    disposition: str | None
    csat: int | None
    csat_answers: list[CsatAnswerOut] | None = None


class CaseDetailOut(CaseOut):
    """Everything an agent needs beside a live case."""

    conversation: ConversationOut
    messages: list[ParsedMessageOut]
    sentiment: SentimentTrajectoryOut
    customer: CustomerOut | None
    customer_open_cases: list[CaseOut]
    customer_past_conversations: list[ConversationOut]


class AgentReplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Text = Field(min_length=1, max_length=4000)


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    disposition: Literal["solved", "refunded", "replaced", "escalated_internally", "no_response", "other"]


class TransferIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    skill: Skill


class CsatIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    score: int = Field(ge=1, le=5, description="The satisfaction score: 1 (poor) to 5 (excellent).")
    # Checked against the configured questions in backend/cases/csat.py (the settings are not known here);
    # strict ints, so a rating is never a string and a text answer never a number.
    answers: dict[Text, StrictInt | Text] = Field(
        default_factory=dict,
        max_length=2,
        description="The other questions' answers by question id: 1-5 for a rating, text (at most 500 "
        "characters) for a text question; unanswered ones are left out.",
    )


class CsatQuestionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    kind: Literal["rating", "text"]
    text: str


class QueuePlaceOut(BaseModel):
    """A waiting customer's place in their team's queue (backend/cases/queue.py says how the estimate is
    made); every field null when the conversation is not waiting in a queue."""

    team: str | None
    position: int | None = Field(description="1 is next.")
    waiting: int | None = Field(description="Cases in the team's queue.")
    estimate_minutes: int | None


class ConversationExportOut(BaseModel):
    """One conversation as staff export it (GET /api/v1/conversations/{id}/export)."""

    exported_at: datetime
    exported_by: str = Field(description="The staff member's email; the export is in the audit log too.")
    conversation: ConversationOut
    customer: CustomerIdentityOut | None
    cases: list[CaseOut]
    messages: list[ParsedMessageOut]
