"""Population stability index (PSI) of every feature and of the score against the training distribution.

The bins are fixed at training time and stored with the model version (`ModelVersion.drift_reference`):
numbers get the training deciles as edges (plus a bin for missing values), categories their training levels
(plus "other" for unseen ones and "missing"). At monitoring time the recent values are dropped into the
same bins and

    PSI = sum over bins of (actual% - expected%) * ln(actual% / expected%)

with empty bins floored at 0.01% so the logarithm stays finite. The usual reading: below 0.1 stable,
0.1-0.25 moderate shift, above 0.25 a shift worth retraining for.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

FLOOR = 1e-4
MAX_LEVELS = 30
OTHER, MISSING = "(other)", "(missing)"
STABLE_BELOW, MODERATE_BELOW = 0.1, 0.25


def _numeric_reference(values: np.ndarray) -> dict[str, Any]:
    present = values[~np.isnan(values)]
    edges = np.unique(np.quantile(present, np.linspace(0.1, 0.9, 9))) if len(present) else np.array([])
    counts = _numeric_counts(values, edges)
    return {"type": "numeric", "edges": edges.tolist(), "expected": _shares(counts)}


def _numeric_counts(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    missing = np.isnan(values)
    index = np.searchsorted(edges, values[~missing], side="left")  # bin i holds edges[i-1] < x <= edges[i]
    counts = np.bincount(index, minlength=len(edges) + 1).astype(float)
    return np.append(counts, missing.sum())


def _categorical_reference(values: pd.Series) -> dict[str, Any]:
    levels = [str(v) for v in values.dropna().astype(str).value_counts().index[:MAX_LEVELS]]
    return {"type": "categorical", "levels": levels, "expected": _shares(_categorical_counts(values, levels))}


def _categorical_counts(values: pd.Series, levels: Sequence[str]) -> np.ndarray:
    text = values.astype(object).where(values.notna(), None)
    position = {level: i for i, level in enumerate(levels)}
    counts = np.zeros(len(levels) + 2)
    for value in text:
        counts[len(levels) + 1 if value is None else position.get(str(value), len(levels))] += 1
    return counts


def _shares(counts: np.ndarray) -> list[float]:
    total = counts.sum()
    return (counts / total).round(6).tolist() if total else counts.tolist()


def reference_bins(
    X: pd.DataFrame, scores: np.ndarray, numeric: Sequence[str], categorical: Sequence[str]
) -> dict:
    features = {name: _numeric_reference(X[name].to_numpy(dtype=float)) for name in numeric}
    features |= {name: _categorical_reference(X[name]) for name in categorical}
    return {"features": features, "score": _numeric_reference(np.asarray(scores, dtype=float))}


def psi(expected: Sequence[float], counts: np.ndarray) -> float:
    total = counts.sum()
    if not total:
        return math.nan
    e = np.maximum(np.asarray(expected, dtype=float), FLOOR)
    a = np.maximum(counts / total, FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


def status(value: float) -> str:
    if math.isnan(value):
        return "no data"
    return "stable" if value < STABLE_BELOW else "moderate" if value < MODERATE_BELOW else "significant"


def _counts(spec: dict[str, Any], values: Any) -> np.ndarray:
    if spec["type"] == "numeric":
        return _numeric_counts(np.asarray(values, dtype=float), np.asarray(spec["edges"], dtype=float))
    return _categorical_counts(pd.Series(values, dtype=object), spec["levels"])


def _entry(spec: dict[str, Any], values: Any) -> dict[str, Any]:
    value = psi(spec["expected"], _counts(spec, values))
    return {"psi": None if math.isnan(value) else round(value, 4), "status": status(value)}


def report(reference: dict[str, Any], X: pd.DataFrame, scores: Sequence[float]) -> dict[str, Any]:
    """PSI per feature (those present in X) and of the score, with a stability label each."""
    features = {
        name: _entry(spec, X[name].to_numpy() if spec["type"] == "numeric" else X[name])
        for name, spec in reference["features"].items()
        if name in X.columns
    }
    return {"n": len(scores), "score": _entry(reference["score"], list(scores)), "features": features}
