"""Response bodies of the privacy API."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class CustomerExportOut(BaseModel):
    """Everything the CRM holds about one customer (GDPR art. 15 / 20), every column of every row."""

    exported_at: datetime
    customer: dict[str, Any]
    erasure: dict[str, Any] | None = Field(description="the erasure receipt, if the customer was erased")
    orders: list[dict[str, Any]]
    conversations: list[dict[str, Any]] = Field(description="each with its messages, as written")
    cases: list[dict[str, Any]]
    csat: list[dict[str, Any]]
    risk_scores: list[dict[str, Any]]
    leads: list[dict[str, Any]] = Field(description="sales interest shown in the customer's conversations")
    audit_events: list[dict[str, Any]]


class TrackerErasureOut(BaseModel):
    erased: int = Field(description="conversations whose Rasa tracker is deleted")
    pending: int = Field(description="owed: the tracker store was not configured or not reachable; retried")
    detail: str | None = None


class ErasureOut(BaseModel):
    customer_id: int
    erased_at: datetime
    erased_by: str
    already_erased: bool = Field(description="true when an earlier request erased this customer")
    summary: dict[str, int] = Field(description="what was erased, by count")
    rasa_trackers: TrackerErasureOut


class TrainingMessageOut(BaseModel):
    id: int
    sender: str
    text: str = Field(description="PII replaced by [EMAIL], [PHONE], [CARD], [IBAN], [NAME]")
    intent: str | None
    intent_confidence: float | None
    sentiment_label: str | None
    sentiment_score: float | None
    created_at: datetime


class TrainingConversationOut(BaseModel):
    conversation_id: str
    channel: str
    started_at: datetime
    messages: list[TrainingMessageOut]


class TranscriptExportOut(BaseModel):
    conversations: list[TrainingConversationOut]
    next_after: str | None = Field(description="pass as `after` for the next page; null on the last one")


class PrivacyStatusOut(BaseModel):
    transcript_retention_days: int
    unredacted_messages: int
    expired_conversations: int = Field(description="waiting for the next retention purge")
    tracker_erasures_pending: int
    tracker_store_configured: bool
    last_tracker_error: str | None
