"""The segmentation itself, apart from where its rows come from (segments.py reads the CRM and the churn
model): K-Means over standardized behaviour features, k by silhouette among K_RANGE (seeded), each segment
labelled by its two most distinctive features. The fairness audit (backend/risk/customer_segments.py) uses the
same code, which is why it lives apart: segments.py reads backend/risk, and the audit is part of backend/risk.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import StandardScaler

FEATURES = (
    "contacts_30d",
    "contacts_90d",
    "sentiment_30d",
    "unresolved_cases",
    "csat_avg",
    "days_since_activity",
    "orders_90d",
    "problem_orders_90d",
    "payment_failures_90d",
    "tenure_months",
    "monthly_charge",
)
WORDS = {  # feature -> (word when high, word when low)
    "contacts_30d": ("many recent contacts", "few recent contacts"),
    "contacts_90d": ("frequent contacts", "rare contacts"),
    "sentiment_30d": ("positive sentiment", "negative sentiment"),
    "unresolved_cases": ("open cases", "no open cases"),
    "csat_avg": ("high CSAT", "low CSAT"),
    "days_since_activity": ("inactive", "recently active"),
    "orders_90d": ("many orders", "few orders"),
    "problem_orders_90d": ("problem orders", "smooth orders"),
    "payment_failures_90d": ("payment failures", "clean payments"),
    "tenure_months": ("long-standing", "new"),
    "monthly_charge": ("high spend", "low spend"),
}
K_RANGE = range(2, 7)
SEED = 0


@dataclass(frozen=True)
class Segment:
    segment: int
    label: str
    size: int
    churn_rate: float | None  # None: no churn figure for any member (predicted, nobody scored yet)
    centroid: dict[str, float]  # in the features' own units


@dataclass(frozen=True)
class Segmentation:
    k: int
    silhouette: float | None
    churn_source: str
    customers: int
    features: list[str] = field(default_factory=lambda: list(FEATURES))
    segments: list[Segment] = field(default_factory=list)


def segment(X: np.ndarray, churn: np.ndarray, churn_source: str) -> Segmentation:
    """Pure: rows of FEATURES (NaN allowed) and a churn value per row (0/1 observed, or a probability)."""
    n = len(X)
    if n < 2 * min(K_RANGE):
        return Segmentation(0, None, churn_source, n)
    X = fill_missing(X)
    scaled = StandardScaler().fit_transform(X)
    best: tuple[float, int, np.ndarray, np.ndarray] | None = None
    for k in K_RANGE:
        if k >= n:
            break
        model = KMeans(n_clusters=k, n_init=10, random_state=SEED).fit(scaled)
        if len(set(model.labels_)) < 2:
            continue
        score = float(silhouette_score(scaled, model.labels_, random_state=SEED))
        if best is None or score > best[0]:
            best = (score, k, model.labels_, model.cluster_centers_)
    if best is None:
        return Segmentation(1, None, churn_source, n)
    score, k, labels, centers = best
    segments = []
    for i in range(k):
        members = labels == i
        segments.append(
            Segment(
                segment=i,
                label=_label(centers[i]),
                size=int(members.sum()),
                churn_rate=_mean(churn[members]),
                centroid={
                    name: round(float(v), 3)
                    for name, v in zip(FEATURES, X[members].mean(axis=0), strict=True)
                },
            )
        )
    segments.sort(key=lambda s: -(s.churn_rate or 0.0))
    return Segmentation(k, score, churn_source, n, list(FEATURES), segments)


def _mean(values: np.ndarray) -> float | None:
    known = values[~np.isnan(values)]
    return float(known.mean()) if len(known) else None


def fill_missing(X: np.ndarray) -> np.ndarray:
    """A missing value (no rating yet, never active) takes its column's median."""
    X = np.asarray(X, dtype=float).copy()
    for j in range(X.shape[1]):
        column = X[:, j]
        missing = np.isnan(column)
        if missing.any():
            column[missing] = np.nanmedian(column) if (~missing).any() else 0.0
    return X


def _label(center: np.ndarray) -> str:
    strongest = np.argsort(-np.abs(center))[:2]
    return ", ".join(WORDS[FEATURES[j]][0 if center[j] > 0 else 1] for j in strongest)
