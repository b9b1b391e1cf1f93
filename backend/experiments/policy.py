"""The uplift policy: which retention offer, if any, for a customer, from per-arm stay probabilities.

Trained offline by `make train-uplift ARGS="--from-decisions --save"` (ml/uplift.py, a T-learner on the
retention experiment's logged units) into UPLIFT_POLICY_PATH; the retention offer uses it when no retention
experiment takes the customer (backend/experiments/retention.py). The rule lives here, not in ml/, so the
evaluation and the serving apply the same one:

    uplift_k = P(stay | x, offer k) - P(stay | x, no offer)
    value_k  = uplift_k * CLV - cost_k * monthly_charge * P(stay | x, offer k)   (the stayers take the offer)

the offer with the highest value, and none where that value or its uplift is <= 0.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from backend.experiments.offers import CONTROL, OFFERS
from backend.risk.features import CHURN_NUMERIC

log = logging.getLogger(__name__)
CATEGORIES = (
    ("plan", ("basic", "plus", "premium")),
    ("contract", ("month-to-month", "one-year", "two-year")),
)


def design(X: pd.DataFrame) -> np.ndarray:
    """The churn features as the model's matrix: numbers (missing as -1) and one-hot plan and contract."""
    numeric = X.reindex(columns=list(CHURN_NUMERIC)).astype(float).fillna(-1.0)
    dummies = [
        (X[name] == value).astype(float).rename(f"{name}={value}")
        for name, values in CATEGORIES
        for value in values
    ]
    return pd.concat([numeric, *dummies], axis=1).to_numpy(dtype=float)


@dataclass(frozen=True)
class Choice:
    offer: np.ndarray  # the offer code per customer, or CONTROL for none
    uplift: np.ndarray  # estimated uplift of the chosen offer (of the best one where none is made)
    value: np.ndarray  # estimated net value of the chosen offer (0 where none is made)


def choose(stay: Mapping[str, np.ndarray], clv: np.ndarray, charge: np.ndarray) -> Choice:
    offers = list(OFFERS)
    uplift = np.column_stack([stay[k] - stay[CONTROL] for k in offers])
    cost = np.column_stack([OFFERS[k].cost_months * charge * stay[k] for k in offers])
    value = uplift * clv[:, None] - cost
    best = value.argmax(axis=1)
    rows = np.arange(len(best))
    chosen_value, chosen_uplift = value[rows, best], uplift[rows, best]
    make = (chosen_value > 0) & (chosen_uplift > 0)
    offer = np.where(make, np.array(offers)[best], CONTROL)
    return Choice(offer, np.where(make, chosen_uplift, uplift.max(axis=1)), np.where(make, chosen_value, 0.0))


@dataclass(frozen=True)
class UpliftPolicy:
    version: str
    models: dict[str, Any]  # arm -> fitted classifier of P(stay)

    def stay(self, X: pd.DataFrame) -> dict[str, np.ndarray]:
        features = design(X)
        return {arm: model.predict_proba(features)[:, 1] for arm, model in self.models.items()}

    def decide(self, features: dict[str, Any], clv: float, charge: float) -> tuple[str | None, float, float]:
        """(offer code or None, estimated uplift, estimated net value) for one customer."""
        frame = pd.DataFrame([features])
        choice = choose(self.stay(frame), np.array([clv]), np.array([charge]))
        offer = str(choice.offer[0])
        return (None if offer == CONTROL else offer), float(choice.uplift[0]), float(choice.value[0])


_loaded: dict[Path, tuple[float, UpliftPolicy]] = {}


def load(path: Path) -> UpliftPolicy | None:
    """The saved policy (re-read when the file changes), or None without a usable file (logged)."""
    try:
        mtime = path.stat().st_mtime
    except FileNotFoundError:
        return None
    cached = _loaded.get(path)
    if cached is not None and cached[0] == mtime:
        return cached[1]
    try:
        import joblib  # scikit-learn's own serialiser; loaded only when a policy file exists

        saved = joblib.load(path)
        policy = UpliftPolicy(str(saved["version"]), dict(saved["models"]))
    except Exception as exc:  # noqa: BLE001 - a broken file must not stop retention offers: rules decide
        log.warning("uplift policy %s not usable: %s", path, exc)
        return None
    _loaded[path] = (mtime, policy)
    return policy
