"""What the analytics API returns."""

from datetime import datetime

from pydantic import BaseModel, Field


class Figures(BaseModel):
    messages: int = Field(description="Customer messages received.")
    conversations: int = Field(description="Conversations started.")
    bot_replies: int
    intent_mix: dict[str, int] = Field(description="Customer messages per intent ('none': not parsed).")
    sentiment_avg: float | None = Field(description="Mean signed sentiment of labelled messages, -1 to 1.")
    negative_share: float | None = Field(description="Share of labelled messages that are negative.")
    handoffs: int
    handoff_rate: float | None = Field(description="Hand-offs / conversations started in the window.")
    conversations_ended: int
    deflection_rate: float | None = Field(description="Ended conversations no human took part in / ended.")
    cases_assigned: int
    first_response_s: float | None = Field(description="Mean seconds from hand-off to the first agent reply.")
    resolution_s: float | None = Field(description="Mean seconds from hand-off to resolution.")
    cases_resolved: int
    csat_avg: float | None
    csat_count: int
    sla_breaches: int


class SummaryOut(Figures):
    window: str
    as_of: datetime


class PointOut(Figures):
    start: datetime


class SeriesOut(BaseModel):
    window: str
    minutes_per_point: int
    points: list[PointOut]


class AnomalyOut(BaseModel):
    figure: str
    intent: str | None
    value: float
    baseline: float
    z: float
    n: int
    direction: str
    description: str


class SegmentOut(BaseModel):
    segment: int
    label: str
    size: int
    churn_rate: float | None
    centroid: dict[str, float]


class SegmentsOut(BaseModel):
    k: int
    silhouette: float | None
    churn_source: str = Field(description="observed (cancelled customers) or predicted (mean churn risk)")
    customers: int
    features: list[str]
    segments: list[SegmentOut]
