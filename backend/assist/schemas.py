"""What the assist routes take and return."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from backend.assist.macros import variables_of
from backend.core.text import Text


class StatementOut(BaseModel):
    section: Literal["wants", "answered", "facts", "sentiment", "handover"]
    text: str
    message_id: int = Field(description="The message this statement is taken from.")
    data: dict[str, object] = {}
    sources: list[int] = Field(
        description="Every message the statement rests on, oldest first (a sentiment trend cites several)."
    )


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
    used: Text | None = Field(default=None, max_length=80, description="The suggestion inserted, if any.")
    suggestion_text: Text | None = Field(default=None, max_length=8000)


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


Team = Literal["all", "general", "billing", "technical", "retention", "sales"]
Disposition = Literal["solved", "refunded", "replaced", "escalated_internally", "no_response", "other"]
Tag = Annotated[Text, StringConstraints(min_length=1, max_length=64)]


class MacroIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[Text, StringConstraints(min_length=1, max_length=120)]
    team: Team = "all"
    body: Annotated[Text, StringConstraints(min_length=1, max_length=4000)] = Field(
        description="The reply; {customer_name}, {order_id} and {tracking_link} are filled when it is used."
    )
    add_tags: list[Tag] = Field(default_factory=list, max_length=10)
    set_priority: float | None = Field(default=None, ge=0, le=1000)
    resolve_disposition: Disposition | None = Field(
        default=None, description="Set: sending resolves the case."
    )

    @field_validator("body")
    @classmethod
    def known_variables(cls, body: str) -> str:
        variables_of(body)  # the one parser of macro bodies: unknown variables are refused here
        return body


class MacroOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    team: str
    body: str
    add_tags: list[str]
    set_priority: float | None
    resolve_disposition: str | None
    created_by: str
    updated_at: datetime


class FilledOut(BaseModel):
    macro_id: int
    text: str
    values: dict[str, str]
    effects: dict[str, object]


class MacroSendIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Annotated[Text, StringConstraints(min_length=1, max_length=4000)] | None = Field(
        default=None, description="The filled text as the agent edited it; empty: the macro filled as is."
    )


class GapClusterOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    run_at: datetime
    size: int
    label: str
    examples: list[dict[str, object]] = Field(description="Redacted questions, nearest the centre first.")
    replies: list[dict[str, object]] = Field(description="Redacted agent replies that resolved them.")
    article_slug: str | None
    answered_since: int | None = Field(
        default=None,
        description="Customer questions the bot answered with this cluster's article since it was published.",
    )


class GapArticleOut(BaseModel):
    slug: str
    title: str
    status: str = Field(description="draft or published")
    cluster_id: int = Field(description="The knowledge-gap cluster the article was made from.")
    cluster_size: int
    published_at: datetime | None = Field(description="Its first publication; null while a draft.")
    answered: int = Field(
        description="Questions the bot answered in customer conversations with this article as the top hit "
        "(kb_answer decisions, action answer) since published_at."
    )
    conversations: int = Field(description="The conversations those answers were in.")
    last_answered_at: datetime | None


class DraftOut(BaseModel):
    cluster_id: int
    slug: str
    title: str
    status: str
    url: str = Field(
        description="The admin API path that publishes it: POST /api/v1/kb/articles/{slug}/publish."
    )


class SearchHitOut(BaseModel):
    case_id: int
    conversation_id: str
    status: str
    skill: str
    message_id: int
    sender: str
    snippet: str
    created_at: datetime
