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

from datetime import datetime

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.analytics.segmentation import FEATURES, K_RANGE, SEED, WORDS, Segment, Segmentation, segment
from backend.core.config import Settings
from backend.risk import service as risk
from backend.risk.crm import customer_snapshots
from backend.risk.features import churn_features
from backend.risk.models import RiskScore

__all__ = ["FEATURES", "K_RANGE", "SEED", "WORDS", "Segment", "Segmentation", "load", "segment"]


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
