"""Customer segments: K-Means over standardized behaviour features, each segment with its churn rate.

Features are the CRM's churn features (backend/risk/features.py, read by backend/risk/crm.py), the behavioural
ones only: how often the customer contacts support, how they feel, whether their cases and orders go wrong,
how recently they were active, how long they have been a customer and what they pay. Missing values (no rating
yet, never active) take the column's median. k is chosen by silhouette score among 2..6 (seeded, so the same
CRM gives the same segments). A segment is labelled by its two most distinctive features (largest
|standardized centroid|), e.g. "many recent contacts, negative sentiment".

Churn rate: the observed one (share of the segment's customers who cancelled) when the CRM has both active and
cancelled customers; otherwise the mean predicted churn risk, every customer scored in one batch by the
production churn model (not stored), or without a production model each customer's latest stored score.
`churn_source` says which ("observed" or "predicted").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import StandardScaler
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.config import Settings
from backend.risk import service as risk
from backend.risk.crm import customer_snapshots
from backend.risk.features import churn_features
from backend.risk.models import RiskScore

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
    X = _fill_missing(X)
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


def _fill_missing(X: np.ndarray) -> np.ndarray:
    X = X.astype(float).copy()
    for j in range(X.shape[1]):
        column = X[:, j]
        missing = np.isnan(column)
        if missing.any():
            column[missing] = np.nanmedian(column) if (~missing).any() else 0.0
    return X


def _label(center: np.ndarray) -> str:
    strongest = np.argsort(-np.abs(center))[:2]
    return ", ".join(WORDS[FEATURES[j]][0 if center[j] > 0 else 1] for j in strongest)


async def load(
    session: AsyncSession, now: datetime, settings: Settings
) -> tuple[np.ndarray, np.ndarray, str]:
    """The CRM's customers as feature rows, with observed churn when it can be observed (see above)."""
    snapshots = await customer_snapshots(session, now)
    ids = list(snapshots)
    rows = [churn_features(s, now) for _, s in snapshots.values()]
    X = np.array([[row[f] for f in FEATURES] for row in rows], dtype=float).reshape(len(ids), len(FEATURES))
    cancelled = np.array([c.status == "cancelled" for c, _ in snapshots.values()], dtype=float)
    if 0 < cancelled.sum() < len(cancelled):
        return X, cancelled, "observed"
    try:
        _, model = await risk.production_model(session, "churn", settings)
    except risk.NoProductionModel:
        return X, await _stored(session, ids), "predicted"
    return X, np.asarray(model.predict(rows), dtype=float) if rows else np.zeros(0), "predicted"


async def _stored(session: AsyncSession, ids: list[int]) -> np.ndarray:
    latest = (
        select(RiskScore.subject_id, func.max(RiskScore.id).label("id"))
        .where(RiskScore.subject_type == "customer", RiskScore.kind == "churn")
        .group_by(RiskScore.subject_id)
        .subquery()
    )
    rows = await session.execute(
        select(RiskScore.subject_id, RiskScore.score).join(latest, RiskScore.id == latest.c.id)
    )
    scores = {int(subject): score for subject, score in rows}
    return np.array([scores.get(i, np.nan) for i in ids], dtype=float)
