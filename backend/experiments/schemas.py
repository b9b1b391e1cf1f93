"""Request and response bodies of the experiments API and of customers' contact preferences."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from backend.core.text import TEXT

Key = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$"), TEXT]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200), TEXT]
VariantName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,64}$"), TEXT]
Metric = Annotated[str, StringConstraints(min_length=1, max_length=64), TEXT]
UnitId = Annotated[str, StringConstraints(min_length=1, max_length=64), TEXT]
Channel = Literal["chat", "email", "phone"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class VariantIn(Strict):
    name: VariantName
    weight: float = Field(gt=0, le=1000)


class ExperimentIn(Strict):
    key: Key
    name: Name
    unit: Literal["customer", "conversation"]
    variants: list[VariantIn] = Field(min_length=2, max_length=10)
    primary_outcome: Metric
    guardrails: list[Metric] = Field(default_factory=list, max_length=5)
    baseline_rate: float = Field(gt=0, lt=1, description="The primary outcome's rate expected in control.")
    minimum_effect: float = Field(gt=-1, lt=1, description="Smallest absolute difference worth detecting.")
    alpha: float = Field(default=0.05, gt=0, lt=0.5)
    power: float = Field(default=0.8, ge=0.5, lt=1)


class ExperimentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    key: str
    name: str
    unit: str
    variants: list[dict]
    primary_outcome: str
    guardrails: list[str]
    baseline_rate: float
    minimum_effect: float
    alpha: float
    power: float
    planned_per_arm: int
    status: str
    stop_reason: str | None
    created_by: str
    created_at: datetime
    started_at: datetime | None
    stopped_at: datetime | None


class StopIn(Strict):
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500), TEXT]


class AssignIn(Strict):
    unit_id: UnitId


class AssignOut(BaseModel):
    experiment: str
    unit_id: str
    variant: str | None = Field(description="None: the experiment takes no new units (not running, or full).")


class FlowVariantOut(BaseModel):
    flow: str
    conversation_id: str
    variant: str = Field(description="The way the bot handles the flow in this conversation.")
    experiment: str | None = Field(
        description="The experiment's key; None: the flow's default, no experiment."
    )


class IntervalOut(BaseModel):
    estimate: float | None
    low: float
    high: float


class ArmOut(BaseModel):
    variant: str
    assigned: int
    measured: int
    successes: int
    rate: IntervalOut


class ComparisonOut(BaseModel):
    variant: str
    metric: str
    difference: IntervalOut


class ResultsOut(BaseModel):
    experiment: ExperimentOut
    metrics: dict[str, list[ArmOut]]
    comparisons: list[ComparisonOut]
    confidence: float
    final: bool
    note: str
    method: str


class PreferencesIn(Strict):
    marketing_consent: bool
    contact_channels: list[Channel] = Field(default_factory=list, max_length=3)
    max_offers_per_month: int | None = Field(default=None, ge=0, le=100)


class PreferencesOut(BaseModel):
    customer_id: int
    marketing_consent: bool
    contact_channels: list[str]
    max_offers_per_month: int | None
    lifetime_value_estimate: float | None = Field(
        default=None, description="The ml/clv.py estimate (expected discounted revenue), None until computed."
    )
    lifetime_value_method: str | None = None
