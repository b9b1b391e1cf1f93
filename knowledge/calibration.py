"""Confidence that a search result answers the question: logistic regression on features of the ranked list.

Every result gets `confidence = sigmoid(w . features + b)`; a fit names the features it uses, from these (all
computed at search time by `KnowledgeIndex.features`):

- `dense`: cosine similarity of the result's best chunk to the question;
- `dense_gap`: that cosine minus the best cosine of any *other* article (positive only for a clear winner);
- `fused`: its RRF score divided by the largest possible RRF score, in (0, 1];
- `lexical`: its BM25 score divided by the best BM25 score for the question (0 when BM25 did not find it);
- `agree`: 1 when dense and BM25 both rank it first;
- `sentence`: the best cosine of the question to one *sentence* (or table row) of the article, title
  prefixed; a chunk's vector averages several statements, a sentence's says whether one of them is the
  answer, which is what tells a question the article answers from one on its topic that asks a detail it
  does not state (issue 14);
- `sentence_gap`: that minus the best sentence cosine of the other articles among the top results;
- `sentence_product`: a learned weighting of the cosine between the question and that best sentence,
  sum_i u_i q_i s_i over the encoder's dimensions (q the question's unit vector, s the sentence's, u the fit's
  `product_weights`): which parts of the meaning must match, where a cosine weighs every dimension alike
  (a question on an article's topic asking a detail its best sentence does not state matches it on the topic's
  dimensions only). One dot product of the encoder's width per result;
- `rerank`, `rerank_gap`: the cross-encoder's logit for the result and that minus the best other re-ranked
  result's (only with a re-ranker, knowledge/rerank.py).

The answer is given when the *top* result's confidence reaches the threshold. Two fits are kept as JSON:

- `calibration.json` (`DEFAULT_PATH`, what the backend loads): the answer-or-not-sure decision of the demo
  shop, fitted on the *dev* split of its labelled questions (ml/data/kb_questions.yml, every writer's dev
  questions) by `python -m scripts.kb_writer_dev --save-calibration`, which prints dev only (ml/kb_shop.py
  `fit_calibration` -> `fit_product`: examples per question, its top results, labelled 1 when that is the
  right article, 0 when it is another one or the question is unanswerable; the seven features above and
  `sentence_product`; threshold chosen on leave-one-writer-out dev predictions);
- `calibration_bank_faq.json` (`BANK_FAQ_PATH`): fitted on the bank-FAQ *dev* split by
  `python -m scripts.eval_kb --save-calibration` on the first five features and every top-10 result, for
  that benchmark only (another domain's score distribution: on the shop it refused answerable plan questions,
  issue 14).
"""

import functools
import itertools
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

FEATURES = ("dense", "dense_gap", "fused", "lexical", "agree")  # the bank-FAQ fit's, and the default
SENTENCE_FEATURES = ("sentence", "sentence_gap")
ALL_FEATURES = FEATURES + SENTENCE_FEATURES
# The cross-encoder's logit for the result and its margin over the best other re-ranked result; only with a
# re-ranker (knowledge/rerank.py), so not among ALL_FEATURES, the shop decision's set.
RERANK_FEATURES = ("rerank", "rerank_gap")
# The learned weighting of the question-to-best-sentence match; its weights are the fit's `product_weights`.
PRODUCT = "sentence_product"
KNOWN_FEATURES = (*ALL_FEATURES, PRODUCT, *RERANK_FEATURES)
CALIBRATION = "calibration.json"  # also the name of the fit kept in an adapted encoder's directory
DEFAULT_PATH = Path(__file__).with_name(CALIBRATION)  # the demo shop's fit: what the product answers with
BANK_FAQ_PATH = Path(__file__).with_name("calibration_bank_faq.json")
TARGET_PRECISION = 0.8


@dataclass(frozen=True)
class Calibrator:
    coef: tuple[float, ...]
    intercept: float
    threshold: float
    features: tuple[str, ...] = FEATURES
    fitted_on: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    # With the PRODUCT feature: one weight per encoder dimension (the feature is sum_i w_i q_i s_i).
    product_weights: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        features = tuple(self.features)
        if not features or set(features) - set(KNOWN_FEATURES) or len(set(features)) != len(features):
            raise ValueError(f"calibration features must be distinct names from {KNOWN_FEATURES}")
        if len(self.coef) != len(features):
            raise ValueError("calibration needs one coefficient per feature")
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError("threshold must be in [0, 1]")
        if (PRODUCT in features) != bool(self.product_weights):
            raise ValueError(f"product_weights are given exactly when {PRODUCT!r} is a feature")

    def confidence(self, features: Sequence[float]) -> float:
        z = self.intercept + sum(w * x for w, x in zip(self.coef, features, strict=True))
        return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))

    @functools.cached_property
    def product_vector(self) -> np.ndarray:
        """`product_weights` as an array, made once (the search reads it for every result)."""
        return np.asarray(self.product_weights, dtype=np.float64)

    @property
    def uses_sentences(self) -> bool:
        """Whether search must compare the question with the articles' sentences (costs their vectors)."""
        return bool(set(self.features) & {*SENTENCE_FEATURES, PRODUCT})

    def answerable(self, confidence: float) -> bool:
        return confidence >= self.threshold

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = asdict(self) | {"coef": list(self.coef), "features": list(self.features)}
        if self.product_weights:
            data["product_weights"] = list(self.product_weights)
        else:
            data.pop("product_weights")
        path.write_text(json.dumps(data, indent=2) + "\n")

    @classmethod
    def load(cls, path: Path = DEFAULT_PATH) -> "Calibrator":
        data = json.loads(path.read_text())
        return cls(
            coef=tuple(float(c) for c in data["coef"]),
            intercept=float(data["intercept"]),
            threshold=float(data["threshold"]),
            features=tuple(data["features"]),
            fitted_on=str(data.get("fitted_on", "")),
            metrics={k: float(v) for k, v in data.get("metrics", {}).items()},
            product_weights=tuple(float(w) for w in data.get("product_weights", ())),
        )


def fit(
    features: np.ndarray,
    labels: np.ndarray,
    fitted_on: str,
    names: Sequence[str] = FEATURES,
    standardize: bool = False,
) -> Calibrator:
    """Logistic regression (L2, C=1) on the result features; `labels` are 1 for the right article.

    With `standardize` the features are scaled to unit variance before the fit (so the L2 penalty treats a
    cosine and a 0/1 flag alike) and the scaling is folded back into `coef` and `intercept`, so the stored
    fit is still one dot product on the raw features.
    """
    x = np.asarray(features, dtype=float)
    # Below the smallest positive float: only an exactly constant column is left unscaled.
    coef, intercept = _raw_logistic(x, labels, 1.0, 1000, standardize, np.finfo(float).smallest_subnormal)
    return Calibrator(tuple(float(c) for c in coef), intercept, 0.5, tuple(names), fitted_on=fitted_on)


def _raw_logistic(
    x: np.ndarray, labels: np.ndarray, c: float, max_iter: int, standardize: bool, min_scale: float
) -> tuple[np.ndarray, float]:
    """An L2 logistic regression's coefficients and intercept on the raw columns of `x`. With `standardize`
    the columns are scaled to unit variance for the fit (so the penalty treats a cosine and a 0/1 flag alike)
    and the scaling is folded back; a column whose spread is below `min_scale` carries no information and is
    left unscaled, to keep it finite."""
    from sklearn.linear_model import LogisticRegression

    mean, scale = np.zeros(x.shape[1]), np.ones(x.shape[1])
    if standardize:
        mean, scale = x.mean(axis=0), x.std(axis=0)
        scale[scale < min_scale] = 1.0
    model = LogisticRegression(C=c, max_iter=max_iter)
    model.fit((x - mean) / scale, labels)
    coef = model.coef_[0] / scale
    return coef, float(model.intercept_[0] - np.dot(coef, mean))


def fit_product(
    features: np.ndarray,
    products: np.ndarray,
    labels: np.ndarray,
    fitted_on: str,
    names: Sequence[str],
    c: float,
) -> Calibrator:
    """L2 logistic regression (inverse strength `c`) on the standardized `features` and the elementwise
    products q * s of the question's and the best sentence's vectors (`products`, one row per example), the
    scaling folded back: the stored fit reads the raw `names` features plus PRODUCT, whose coefficient is 1
    and whose per-dimension weights are `product_weights`. Threshold 0.5 until one is chosen."""
    x = np.hstack([np.asarray(features, dtype=float), np.asarray(products, dtype=float)])
    # A product dimension can be constant up to rounding, not only exactly.
    coef, intercept = _raw_logistic(x, labels, c, 5000, standardize=True, min_scale=1e-8)
    width = len(names)
    return Calibrator(
        (*(float(v) for v in coef[:width]), 1.0),
        intercept,
        0.5,
        (*names, PRODUCT),
        fitted_on=fitted_on,
        product_weights=tuple(float(v) for v in coef[width:]),
    )


def choose_threshold(
    confidences: np.ndarray, correct: np.ndarray, target_precision: float = TARGET_PRECISION, z: float = 0.0
) -> float:
    """Lowest threshold whose accepted top answers are right >= target of the time (1.0 if none is).

    With `z > 0` the precision that must reach the target is its Wilson lower bound at that many standard
    deviations, so a threshold that lets through only a handful of lucky answers does not pass.
    """
    order = np.argsort(-confidences)
    hits = np.cumsum(correct[order])
    accepted = np.arange(1, len(order) + 1)
    precision = wilson_lower(hits, accepted, z) if z > 0 else hits / accepted
    ok = np.nonzero(precision >= target_precision)[0]
    if not len(ok):
        return 1.0
    # The precision curve is not monotonic: take the largest accepted set that still meets the target.
    return float(confidences[order][ok[-1]])


def wilson_lower(hits: np.ndarray, n: np.ndarray, z: float) -> np.ndarray:
    """Wilson score lower bound of the proportion hits / n (elementwise)."""
    hits, n = np.asarray(hits, dtype=float), np.asarray(n, dtype=float)
    p = hits / n
    centre = p + z * z / (2 * n)
    spread = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - spread) / (1 + z * z / n)


def choose_threshold_answered(confidences: np.ndarray, answerable: np.ndarray, share: float) -> float:
    """The highest threshold at which at least `share` of the answerable questions are answered (their top
    result's confidence reaches it), whatever the rest."""
    scores = np.sort(np.asarray(confidences, dtype=float)[np.asarray(answerable, dtype=bool)])[::-1]
    if not len(scores):
        return 1.0
    needed = max(1, math.ceil(share * len(scores) - 1e-9))
    return float(scores[needed - 1])


def with_threshold(calibrator: Calibrator, threshold: float, metrics: dict[str, float]) -> Calibrator:
    return replace(calibrator, threshold=threshold, metrics=metrics)


def reliability(confidences: np.ndarray, labels: np.ndarray, bins: int = 10) -> dict[str, float]:
    """Brier score, log loss and expected calibration error (equal-width bins)."""
    p = np.clip(confidences, 1e-6, 1 - 1e-6)
    ece = 0.0
    edges = np.linspace(0.0, 1.0, bins + 1)
    for low, high in itertools.pairwise(edges):
        inside = (p >= low) & ((p < high) if high < 1.0 else (p <= high))
        if inside.any():
            ece += inside.mean() * abs(p[inside].mean() - labels[inside].mean())
    return {
        "brier": float(np.mean((p - labels) ** 2)),
        "log_loss": float(-np.mean(labels * np.log(p) + (1 - labels) * np.log(1 - p))),
        "ece": float(ece),
    }
