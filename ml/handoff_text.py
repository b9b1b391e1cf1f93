"""Fit the hand-off policy's two text models (backend/handoff/text.py) on the dev turns' embeddings.

Each is a logistic regression on the all-MiniLM-L6-v2 embedding the NLU puts in the parse (half floats, as
served): `now` on the current message, `pair` on [current, previous customer message] (zeros on a first
turn), both predicting the turn's hand-off label on the policy's own rows (ml/handoff.py: the dialogue's own
hand-offs left out). Their C is chosen by leave-one-writer-out log loss; the policy learns from their logits
out of fold by writer (a fit on the other writers), so it weighs them as they do on words they never saw, and
serves a fit on every row. The procedure is the one scripts/handoff_text_dev.py studied on dev (`now+pair`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss

from backend.handoff.text import TextModels, logits

TEXT_C_GRID = (0.3, 1.0, 3.0, 10.0, 30.0)
MAX_ITER = 3000


def _fit(E: np.ndarray, y: np.ndarray, c: float) -> tuple[np.ndarray, float]:
    """Coefficients and intercept of a logistic fit; a constant model at the prior when y has one class."""
    if y.min() == y.max():
        prior = float(np.clip(y.mean(), 1e-4, 1 - 1e-4))
        return np.zeros(E.shape[1]), float(np.log(prior / (1 - prior)))
    model = LogisticRegression(C=c, max_iter=MAX_ITER).fit(E, y)
    return model.coef_[0], float(model.intercept_[0])


def _out_of_fold(E: np.ndarray, y: np.ndarray, writers: np.ndarray, c: float) -> np.ndarray:
    """Each row's logit from a fit on the other writers' rows."""
    out = np.zeros(len(y))
    for writer in np.unique(writers):
        held = writers == writer
        out[held] = logits(E[held], *_fit(E[~held], y[~held], c))
    return out


def _log_loss(y: np.ndarray, z: np.ndarray) -> float:
    return float(log_loss(y, 1.0 / (1.0 + np.exp(-z)), labels=[0, 1]))


@dataclass(frozen=True)
class TextFit:
    """A text model on all rows, its logits out of fold by writer, and the C chosen."""

    coef: np.ndarray
    intercept: float
    out_of_fold: np.ndarray
    c: float


def fit_one(E: np.ndarray, y: np.ndarray, writers: np.ndarray) -> TextFit:
    """C by leave-one-writer-out log loss, then the fit on every row."""
    oof = {c: _out_of_fold(E, y, writers, c) for c in TEXT_C_GRID}
    c = min(TEXT_C_GRID, key=lambda k: _log_loss(y, oof[k]))
    coef, intercept = _fit(E, y, c)
    return TextFit(coef, intercept, oof[c], c)


def fit_text_models(
    now: np.ndarray, pair: np.ndarray, y: np.ndarray, writers: np.ndarray
) -> tuple[TextModels, np.ndarray, dict[str, float]]:
    """Both models, their out-of-fold logits as two columns (text_now, text_pair) and the Cs chosen."""
    if len(set(writers)) < 2:
        raise ValueError("the text models' choices need at least two dev writers to hold one out")
    one, two = fit_one(now, y, writers), fit_one(pair, y, writers)
    models = TextModels(
        now_coef=tuple(one.coef.tolist()),
        now_intercept=one.intercept,
        pair_coef=tuple(two.coef.tolist()),
        pair_intercept=two.intercept,
    )
    return models, np.column_stack([one.out_of_fold, two.out_of_fold]), {"now": one.c, "pair": two.c}

