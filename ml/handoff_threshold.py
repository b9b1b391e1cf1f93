"""The hand-off policy's threshold: the middle of the band of thresholds whose out-of-fold F1 the data cannot
tell apart from the best (issue 14).

Out-of-fold F1 against the threshold is flat over a wide range (docs/benchmarks.md): its argmax moved a long
way along it between machines whose encoders differ in the last digits, and from one dev round to the next, so
which side of it a borderline turn fell on was decided by noise, not by the labels. The band is every
candidate threshold whose F1 is within one standard error of the best, the error estimated by resampling the
groups (dev: writers) with replacement, as the one-standard-error rule of cross-validation does (Hastie,
Tibshirani and Friedman, The Elements of Statistical Learning, 2nd ed., section 7.10); the threshold is the
band's midpoint, as far as the data allows from either edge where F1 starts to fall.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RESAMPLES = 201
SEED = 0


@dataclass(frozen=True)
class Rows:
    """What the policy decides per row apart from the score: `always` rows are handed over at any threshold
    (the explicit-request guardrail), `eligible` ones when their score reaches it (the rest are never: a
    declined person)."""

    y: np.ndarray
    scores: np.ndarray
    always: np.ndarray
    eligible: np.ndarray


def candidates(scores: np.ndarray) -> np.ndarray:
    """Every distinct score (to four places), ascending: the thresholds worth trying."""
    return np.array(sorted(set(np.round(scores, 4))))


def f1_curve(rows: Rows, thresholds: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """F1 at each of the ascending `thresholds`, each row counted `weights` times (a resample's counts)."""
    reached = np.searchsorted(thresholds, rows.scores, side="right")  # how many thresholds the row meets
    n = len(thresholds)

    def decided(values: np.ndarray) -> np.ndarray:
        per_reach = np.bincount(reached[rows.eligible], weights=values[rows.eligible], minlength=n + 1)
        return values[rows.always].sum() + (per_reach.sum() - np.cumsum(per_reach)[:n])

    positives = weights * rows.y
    true_positives = decided(positives)
    return 2 * true_positives / np.maximum(decided(weights) + positives.sum(), 1e-12)


def _last_argmax(values: np.ndarray) -> int:
    """Ties go to the higher threshold, which hands over less."""
    return len(values) - 1 - int(np.argmax(values[::-1]))


def best_f1_error(rows: Rows, thresholds: np.ndarray, groups: np.ndarray, at: int) -> float:
    """The standard error of F1 at `thresholds[at]` over resamples of the groups."""
    names, index = np.unique(groups, return_inverse=True)
    rng = np.random.default_rng(SEED)
    f1s = []
    for _ in range(RESAMPLES):
        counts = np.bincount(rng.integers(0, len(names), len(names)), minlength=len(names))
        f1s.append(f1_curve(rows, thresholds[at : at + 1], counts[index].astype(float))[0])
    return float(np.std(f1s))


def band_middle(rows: Rows, groups: np.ndarray) -> tuple[float, float]:
    """The threshold (the middle of the one-standard-error band) and the out-of-fold F1 at it."""
    thresholds = candidates(rows.scores)
    f1 = f1_curve(rows, thresholds, np.ones(len(rows.y)))
    best = _last_argmax(f1)
    band = thresholds[f1 >= f1[best] - best_f1_error(rows, thresholds, groups, best)]
    middle = (band.min() + band.max()) / 2
    chosen = thresholds[np.searchsorted(thresholds, middle)]  # the first candidate at or above it
    return float(chosen), float(f1[thresholds == chosen][0])
