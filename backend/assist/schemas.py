"""What the assist routes take and return."""

from typing import Literal

from pydantic import BaseModel, Field


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
