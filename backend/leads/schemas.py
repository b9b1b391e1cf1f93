"""Request and response bodies of the leads API, and of the action server's capture call (whose fields are
contract/service_api.py's `LeadRequest` and `LeadResult`, checked by tests/service_api/test_contract.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints

from backend.core.text import TEXT

Intent = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$"), TEXT]
PlanName = Annotated[str, StringConstraints(max_length=64), TEXT]
Note = Annotated[str, StringConstraints(max_length=1000), TEXT]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LeadCaptureIn(Strict):
    intent: Intent
    # change_plan: the plan the bot heard asked for (its `product` entity), else None. Optional on the
    # wire: an action server from before upgrade leads (during a rolling update) sends only the intent, and
    # never on a plan change, so a missing plan means exactly "none named".
    plan: PlanName | None = None


class LeadCaptureOut(BaseModel):
    lead_id: int | None  # None: no lead (a plan change that is not an upgrade)
    created: bool
    score: float | None
    routed: bool
    message: str | None


class StatusIn(Strict):
    status: Literal["contacted", "won", "lost"]
    note: Note | None = None


class LeadOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    customer_id: int | None
    conversation_id: str | None
    source_message_id: int | None
    source_intent: str
    interest: str
    quantity: int | None
    created_at: datetime
    score: float
    rules_score: float
    reasons: list[dict[str, Any]]
    features: dict[str, Any]
    model_version: str
    routed_to: str | None
    decision_id: int | None
    status: str
    status_note: str | None
    status_by: str | None
    contacted_at: datetime | None
    outcome_at: datetime | None
