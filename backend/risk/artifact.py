"""The saved model: a calibrated pipeline plus what scoring, reason codes, drift and the promotion gate need.

One `RiskModel` is one joblib file under `risk_model_dir`; the registry row (`ModelVersion`) points at it.
It keeps its hold-out rows so that the promotion gate can score a candidate and the production model on the
very same rows (backend/risk/registry.py). Training builds it (ml/risk/training.py `to_artifact`); the class
stays here, at this path, because every saved artifact is pickled under it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.calibration import CalibratedClassifierCV
from sklearn.pipeline import Pipeline

from backend.risk import fast, tabular
from backend.risk.reasons import Reason, top_reasons

EPS = 1e-6


@dataclass
class Scored:
    score: float
    reasons: list[Reason]
    features: dict[str, Any]


@dataclass
class RiskModel:
    kind: str
    schema: tabular.FeatureSchema
    algorithm: str
    estimator: CalibratedClassifierCV
    typical: dict[str, Any]
    marginals: dict[str, list[tuple[Any, float]]]  # each feature's training distribution (reasons)
    phrasebook: str  # "crm" (CRM feature names, agent wording) or "generic" (any export)
    drift_reference: dict[str, Any]
    holdout_X: pd.DataFrame
    holdout_y: np.ndarray
    metrics: dict[str, Any] = field(default_factory=dict)
    logistic_groups: list[str] = field(default_factory=list)
    compiled: fast.FastScorer | None = None  # None: score through scikit-learn (slower, same numbers)

    # ------------------------------------------------------------------------------------------ scoring

    def frame(self, rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
        return fast.to_frame(rows, self.schema)

    def predict_frame(self, X: pd.DataFrame) -> np.ndarray:
        """Probabilities for a frame, through scikit-learn (batch evaluation, the promotion gate)."""
        return self.estimator.predict_proba(X[list(self.schema.features)])[:, 1]

    def predict(self, rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
        if self.compiled is not None:
            return self.compiled.predict(rows)
        return self.predict_frame(self.frame(rows))

    def score(self, row: Mapping[str, Any], top: int = 3) -> Scored:
        """The calibrated probability and the reason codes of one row."""
        if self.algorithm == "gbm":
            probability, contributions = self._counterfactual(row)
        else:
            probability, contributions = self._linear(row)
        clean = {name: _present(row.get(name)) for name in self.schema.features}
        reasons = top_reasons(contributions, clean, self.typical, self.phrasebook, top)
        return Scored(probability, reasons, clean)

    # --------------------------------------------------------------------------------------- explaining

    def _linear(self, row: Mapping[str, Any]) -> tuple[float, dict[str, float]]:
        """Coefficient x standardized value, summed per input feature (see backend/risk/reasons.py)."""
        if isinstance(self.compiled, fast.FastLogistic):
            design = self.compiled.design([row])[0]
            coef = self.compiled.coef
            probability = float(self.compiled.proba(np.array([design @ coef + self.compiled.intercept]))[0])
        else:
            base: Pipeline = tabular.base_estimator(self.estimator)
            design = base.named_steps["columns"].transform(self.frame([row]))[0]
            coef = base.named_steps["model"].coef_[0]
            probability = float(self.predict_frame(self.frame([row]))[0])
        totals: dict[str, float] = dict.fromkeys(self.schema.features, 0.0)
        for name, value in zip(self.logistic_groups, coef * design, strict=True):
            totals[name] += float(value)
        return probability, totals

    def _counterfactual(self, row: Mapping[str, Any]) -> tuple[float, dict[str, float]]:
        """Log-odds of the row minus the average log-odds with one feature redrawn from its training
        distribution (backend/risk/reasons.py); every variant is scored in one batch."""
        if isinstance(self.compiled, fast.FastGBM):
            logit, drops = self.compiled.counterfactual_logits(row)
            return float(expit(logit)), dict(zip(self.schema.features, drops.tolist(), strict=True))
        variants, owners, weights = [dict(row)], [], []
        for name in self.schema.features:
            for value, weight in self.marginals[name]:
                variants.append({**row, name: value})
                owners.append(name)
                weights.append(weight)
        probabilities = self.predict(variants)
        logits = _logit(probabilities)
        contributions = dict.fromkeys(self.schema.features, 0.0)
        for name, weight, logit in zip(owners, weights, logits[1:], strict=True):
            contributions[name] += weight * float(logits[0] - logit)
        return float(probabilities[0]), contributions

    # ------------------------------------------------------------------------------------------ the gate

    def holdout_auc(self, other: RiskModel) -> float | None:
        """ROC-AUC of `other` on this model's hold-out, or None when it cannot read these columns."""
        if not set(other.schema.features) <= set(self.holdout_X.columns):
            return None
        return tabular.holdout_roc_auc(self.holdout_y, other.predict_frame(self.holdout_X))


def _present(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, EPS, 1 - EPS)
    return np.log(p / (1 - p))


def save(model: RiskModel, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # A temporary name of this writer's own: concurrent savers (pods of the model Job, threads) must not
    # write into one file or move it from under each other.
    temporary = path.with_name(f"{path.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    try:
        joblib.dump(model, temporary)
        temporary.replace(path)  # atomic: a reader never sees half a file
    finally:
        temporary.unlink(missing_ok=True)


def load(path: Path) -> RiskModel:
    model = joblib.load(path)
    if not isinstance(model, RiskModel):
        raise TypeError(f"{path} is not a risk model artifact")
    return model
