"""What the assist routes take and return."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class StatementOut(BaseModel):
    section: Literal["wants", "answered", "facts", "sentiment", "handover"]
    text: str
    message_id: int = Field(description="The message this statement is taken from.")
    data: dict[str, object] = {}


class BriefOut(BaseModel):
    case_id: int
    conversation_id: str
    statements: list[StatementOut]
    handover_reason: str
    handover_decision_id: int | None
    facts_source: str


class SuggestionOut(BaseModel):
    id: str = Field(description="kb:<article slug> or reply:<message id>")
    kind: Literal["kb", "reply"]
    text: str
    score: float = Field(description="Cosine similarity to the question (a BM25-only passage: confidence).")
    source: dict[str, object] = Field(description="The article (title, url), or conversation id and date.")


class SuggestionsOut(BaseModel):
    question_message_id: int | None
    shown_decision_id: int | None = Field(description="The decision-log row of this list (kind suggestion).")
    suggestions: list[SuggestionOut]


class OutcomeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    shown_decision_id: int = Field(ge=1)
    message_id: int = Field(ge=1, description="The agent reply just sent.")
    used: str | None = Field(default=None, max_length=80, description="The suggestion inserted, if any.")
    suggestion_text: str | None = Field(default=None, max_length=8000)


class OutcomeOut(BaseModel):
    decision_id: int
    action: Literal["used", "edited", "ignored"]


class SimilarCaseOut(BaseModel):
    case_id: int
    conversation_id: str
    same_customer: bool
    summary: str = Field(description="What the customer wrote before the hand-off, PII-redacted.")
    disposition: str | None
    skill: str
    resolved_at: datetime | None
    similarity: float | None
