"""Each customer's segment, as the segments page names it, for the fairness audit (backend/risk/fairness.py).

The segments (backend/analytics/segments.py: K-Means over standardized behaviour features, k by silhouette,
seeded) are computed on request by the segments page and stored nowhere, so no job keeps a segment per
customer. Why not store one: a stored segment goes stale as behaviour changes and the segmentation (k, the
centroids, the labels) is refitted on every page view, so a stored label and the page would disagree after
the first new conversation. Instead the audit runs the page's own segmentation once per audit:

- logged audit: over every CRM customer at the audit's `now`, read through the same CRM reader and churn
  features the page uses (backend/risk/crm.py, features.py), so an audited customer's segment is the one the
  page shows for them at that moment; not over the scored sample only, which would find other segments
  than the page's. Cost: one batched read of the CRM and six K-Means fits (the page's five, one to recover
  the members), about a second for the demo's 200 customers; nothing per subject.
- hold-out audit (registration, `make eval-risk`): a model's hold-out rows are simulated customers, not CRM
  ones; when they carry the segment features (a CRM churn model's do) they are segmented the same way among
  themselves. Rows without them (an escalation model's, per turn) get no segment; the report says so.

`segmentation.segment()` returns sizes and labels, not members; the members come from refitting the chosen k
with the same scaling and seed, which reproduces its clustering exactly (deterministic); a test checks that
the members add up to the page's segment sizes, so a change there that this misses fails loudly.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime

import numpy as np
from sklearn.cluster import KMeans
from sklearn.preprocessing import StandardScaler
from sqlalchemy.ext.asyncio import AsyncSession

from backend.analytics import segmentation
from backend.risk.crm import customer_snapshots
from backend.risk.features import churn_features

FEATURES: Sequence[str] = segmentation.FEATURES
UNSEGMENTED = "unsegmented"  # too few customers for the page to find segments (it shows none)
ANONYMOUS = "anonymous"  # a conversation without a customer


def labels(X: np.ndarray) -> list[str]:
    """Each row's segment label (rows of `FEATURES`, NaN allowed), named as on the segments page."""
    n = len(X)
    result = segmentation.segment(X, np.full(n, np.nan), "predicted")  # churn only orders the page's list
    if not result.segments:
        return [UNSEGMENTED] * n
    names = _names(result.segments)
    if len(names) == 1:
        return [next(iter(names.values()))] * n
    scaled = StandardScaler().fit_transform(segmentation.fill_missing(X))
    members = KMeans(n_clusters=result.k, n_init=10, random_state=segmentation.SEED).fit(scaled).labels_
    return [names[int(i)] for i in members]


def _names(found: Sequence[segmentation.Segment]) -> dict[int, str]:
    """The page's label per segment; two segments with the same label keep apart by their number."""
    counts = Counter(s.label for s in found)
    return {s.segment: s.label if counts[s.label] == 1 else f"{s.label} #{s.segment}" for s in found}


async def of_customers(session: AsyncSession, now: datetime) -> dict[int, str]:
    """Every CRM customer's segment at `now`, as the segments page would show it then."""
    snapshots = await customer_snapshots(session, now)
    ids = list(snapshots)
    rows = [churn_features(snapshot, now) for _, snapshot in snapshots.values()]
    X = np.array([[row[f] for f in FEATURES] for row in rows], dtype=float).reshape(len(ids), len(FEATURES))
    return dict(zip(ids, labels(X), strict=True))
