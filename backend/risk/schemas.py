"""API shapes of the risk domain: model versions, promotion, rollback, churn risk and drift."""

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, computed_field

from backend.core.text import TEXT
from backend.risk.registry import PROMOTED_ELSEWHERE

ModelKind = Literal["churn", "escalation", "churn_csv"]


class ModelVersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    version: str
    status: str
    data_fingerprint: str
    metrics: dict[str, Any]
    artifact_path: str | None
    replaces_id: int | None
    created_at: datetime
    promoted_at: datetime | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def managed_elsewhere(self) -> str | None:
        """Why this page cannot promote, roll back or measure drift of the version (a hand-off policy has
        no risk artifact and is promoted by its own command); None for the registry's own kinds."""
        return PROMOTED_ELSEWHERE.get(self.kind)


class PromotionOut(BaseModel):
    version: ModelVersionOut
    comparison: dict[str, Any] | None = Field(
        description="The gate's measurement: both models' ROC-AUC on the candidate's hold-out rows."
    )


class PromoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fairness_override: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=1000), TEXT] | None
    ) = Field(
        default=None,
        description="Why to promote a version the fairness audit flagged (audited); ignored if not flagged.",
    )


class RollbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: ModelKind


class FairnessOut(BaseModel):
    kind: str
    report: dict[str, Any] = Field(
        description="Selection rate, precision and recall per group of plan, tenure band, language and "
        "channel (logged data; a hold-out has the attributes its rows carry), with "
        "fairlearn's difference and ratio per metric, the supported-group gap and whether it is flagged."
    )


class ChallengerOut(BaseModel):
    kind: str
    champion: dict[str, Any] | None
    challenger: dict[str, Any] | None
    slice: float
    lift: dict[str, Any] | None = Field(
        description="ROC-AUC of both models on the same logged turns with final outcomes, the lift with its "
        "95 % bootstrap interval, n, and whether promotion is allowed (and why not)."
    )


class ReasonOut(BaseModel):
    feature: str
    value: Any
    contribution: float = Field(description="Log-odds points; above 0 raises the risk.")
    direction: Literal["raises", "lowers"]
    text: str


class ChurnRiskOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    customer_id: int
    score: float = Field(description="Calibrated probability of churn.")
    high_risk: bool
    threshold: float
    reasons: list[ReasonOut]
    model_version_id: int
    model_version: str
    score_id: int
    scored_at: datetime


class PsiOut(BaseModel):
    psi: float | None
    status: Literal["stable", "moderate", "significant", "no data"]


class DriftOut(BaseModel):
    model_version_id: int
    kind: str
    version: str
    source: Literal["scores", "population"]
    n: int
    score: PsiOut
    features: dict[str, PsiOut]


class RetentionOfferOut(BaseModel):
    offer: str | None = Field(
        description="What the bot offers before a cancellation; None when the customer's churn risk is below "
        "the threshold (or unknown), and the cancellation is handled as asked."
    )
    churn_risk: float | None = Field(description="The churn score the decision was made on.")
    threshold: float
