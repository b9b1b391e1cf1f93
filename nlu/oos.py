"""Out-of-scope scores for an intent classifier over unit-length sentence embeddings (numpy only).

A message no intent covers still gets a softmax over the known intents, and a linear model can be confidently
wrong far from its training data: the maximum softmax probability (MSP) alone is a weak out-of-scope signal.
The scores here look at where the message lies in the embedding space instead (or at the logits' scale):

- ``msp``: maximum softmax probability of the classifier's logits (the baseline, what FallbackClassifier's
  threshold reads);
- ``energy``: log-sum-exp of the logits (Liu et al. 2020, "Energy-based out-of-distribution detection"): the
  logits' magnitude, which softmax throws away;
- ``centroid``: cosine similarity to the nearest class centroid (mean of the class's unit embeddings);
- ``knn``: mean cosine similarity to the ``k`` nearest training examples, whatever their class;
- ``mahalanobis``: minus the smallest Mahalanobis distance to a class mean, one shared shrunk covariance.

Every score is "higher = more in scope". The threshold is not a number in the config: it is the quantile
``reject_rate`` of held-out in-scope scores (`cross_fitted_scores`), so it follows the data it was trained on
and means the same thing (the share of in-scope messages that would be rejected) for every method and data
set.
The rate itself is chosen on a dev split with out-of-scope examples (scripts/eval_oos.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

METHODS = ("msp", "energy", "centroid", "knn", "mahalanobis")
# Methods that read the classifier's logits rather than the embeddings.
LOGIT_METHODS = frozenset({"msp", "energy"})
# Shrinkage of the shared covariance towards its mean variance: 384 dimensions from a few hundred bot examples
# would be singular otherwise.
MAHALANOBIS_SHRINKAGE = 0.1

# (train embeddings, train labels, query embeddings) -> query logits; used to cross-fit the logit methods.
LogitFitter = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x / np.clip(np.linalg.norm(x, axis=1, keepdims=True), 1e-12, None)


def fit(embeddings: np.ndarray, labels: Sequence[Any], method: str, k: int = 10) -> dict[str, Any]:
    """What `score` needs for `method`, fitted on the training embeddings (one row per example)."""
    if method not in METHODS:
        raise ValueError(f"unknown out-of-scope method {method!r}; one of {', '.join(METHODS)}")
    if method in LOGIT_METHODS:
        return {"method": method}
    x = unit(embeddings)
    y = np.asarray(labels)
    classes = np.unique(y)
    if method == "knn":
        # float32 halves the memory of the bank; cosine in float32 is exact enough for a threshold.
        return {"method": method, "k": max(1, min(int(k), len(x))), "bank": x.astype(np.float32)}
    means = np.vstack([x[y == c].mean(axis=0) for c in classes])
    if method == "centroid":
        return {"method": method, "centroids": unit(means).astype(np.float32)}
    centred = x - means[np.searchsorted(classes, y)]
    covariance = centred.T @ centred / max(1, len(x) - len(classes))
    shrunk = (1 - MAHALANOBIS_SHRINKAGE) * covariance + MAHALANOBIS_SHRINKAGE * np.trace(covariance) / len(
        covariance
    ) * np.eye(len(covariance))
    return {"method": method, "means": means, "precision": np.linalg.inv(shrunk)}


def score(state: dict[str, Any], embeddings: np.ndarray | None, logits: np.ndarray | None) -> np.ndarray:
    """In-scope score of each query row (higher = more in scope)."""
    method = state["method"]
    if method in LOGIT_METHODS:
        if logits is None:
            raise ValueError(f"the {method} score needs the classifier's logits")
        z = np.asarray(logits, dtype=np.float64)
        top = z.max(axis=1)
        log_sum_exp = top + np.log(np.exp(z - top[:, None]).sum(axis=1))
        # MSP = exp(max logit - logsumexp): computed in log space, it never overflows.
        return np.exp(top - log_sum_exp) if method == "msp" else log_sum_exp
    if embeddings is None:
        raise ValueError(f"the {method} score needs the embeddings")
    x = unit(embeddings)
    if method == "centroid":
        return (x @ state["centroids"].T.astype(np.float64)).max(axis=1)
    if method == "knn":
        similarities = x.astype(np.float32) @ state["bank"].T
        k = state["k"]
        nearest = (
            np.partition(similarities, -k, axis=1)[:, -k:] if k < similarities.shape[1] else similarities
        )
        return nearest.mean(axis=1).astype(np.float64)
    # Mahalanobis: (x - m)' P (x - m) = x'Px - 2 x'Pm + m'Pm, for every class mean m at once.
    precision, means = state["precision"], state["means"]
    xp = x @ precision
    distances = (
        (xp * x).sum(axis=1)[:, None] - 2 * xp @ means.T + ((means @ precision) * means).sum(axis=1)[None, :]
    )
    return -distances.min(axis=1)


def cross_fitted_scores(
    embeddings: np.ndarray,
    labels: Sequence[Any],
    method: str,
    k: int = 10,
    folds: int = 5,
    seed: int = 0,
    fit_logits: LogitFitter | None = None,
) -> np.ndarray:
    """Each training example's score from a scorer (and, for the logit methods, a classifier) that never saw
    it: stratified `folds`-fold cross-fitting. These are the held-out in-scope scores the threshold is a
    quantile of; scoring the training examples with the full model would put them all far inside."""
    y = np.asarray(labels)
    x = np.asarray(embeddings)
    if method in LOGIT_METHODS and fit_logits is None:
        raise ValueError(f"cross-fitting the {method} score needs fit_logits")
    fold_of = stratified_folds(y, folds, seed)
    out = np.full(len(y), np.nan)
    for fold in range(folds):
        held = fold_of == fold
        kept = ~held
        if not held.any() or len(np.unique(y[kept])) < 2:
            continue
        logits = fit_logits(x[kept], y[kept], x[held]) if method in LOGIT_METHODS else None
        out[held] = score(fit(x[kept], y[kept], method, k), x[held], logits)
    return out


def stratified_folds(labels: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """A fold number per example; each class is shuffled (seeded) and dealt round-robin, so every fold holds
    about 1/folds of each class, and a class with fewer examples than folds is simply absent from some."""
    rng = np.random.default_rng(seed)
    fold_of = np.empty(len(labels), dtype=np.int64)
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        rng.shuffle(members)
        fold_of[members] = (np.arange(len(members)) + rng.integers(folds)) % folds
    return fold_of


def threshold_for(held_out_scores: np.ndarray, reject_rate: float) -> float:
    """The score below which `reject_rate` of held-out in-scope examples fall."""
    finite = held_out_scores[np.isfinite(held_out_scores)]
    if len(finite) == 0:
        raise ValueError("no held-out in-scope scores to set the out-of-scope threshold from")
    return float(np.quantile(finite, reject_rate))
