"""Confidence that a search result answers the question: logistic calibration of the retrieval scores.

Every result gets `confidence = sigmoid(w . features + b)` with these features (all computed at search time):

- `dense`: cosine similarity of the result's best chunk to the question;
- `dense_gap`: that cosine minus the best cosine of any *other* article (positive only for a clear winner);
- `fused`: its RRF score divided by the largest possible RRF score, in (0, 1];
- `lexical`: its BM25 score divided by the best BM25 score for the question (0 when BM25 did not find it);
- `agree`: 1 when dense and BM25 both rank it first.

`w` and `b` are fitted by logistic regression on labelled questions (each of the top results of a question
is one example, labelled 1 when it is the right article); the threshold (below it the bot says it is not
sure) is picked on the same questions: the lowest confidence at which the answers it lets through are right
often enough (`choose_threshold`). Two fits are kept as JSON:

- `calibration.json` (`DEFAULT_PATH`, what the backend loads): fitted on the *dev* split of the demo shop's
  labelled questions (ml/data/kb_questions.yml) by `python -m scripts.eval_kb --save-shop-calibration`;
- `calibration_bank_faq.json` (`BANK_FAQ_PATH`): fitted on the bank-FAQ *dev* split by
  `python -m scripts.eval_kb --save-calibration`, for that benchmark only (another domain's score
  distribution: on the shop it refused answerable plan questions, issue 14).
"""

import itertools
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

FEATURES = ("dense", "dense_gap", "fused", "lexical", "agree")
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

    def __post_init__(self) -> None:
        if tuple(self.features) != FEATURES or len(self.coef) != len(FEATURES):
            raise ValueError(f"calibration must use the features {FEATURES}")
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError("threshold must be in [0, 1]")

    def confidence(self, features: Sequence[float]) -> float:
        z = self.intercept + sum(w * x for w, x in zip(self.coef, features, strict=True))
        return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))

    def answerable(self, confidence: float) -> bool:
        return confidence >= self.threshold

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = asdict(self) | {"coef": list(self.coef), "features": list(self.features)}
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
        )


def fit(features: np.ndarray, labels: np.ndarray, fitted_on: str) -> Calibrator:
    """Logistic regression (L2, C=1) on the result features; `labels` are 1 for the right article."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=1.0, max_iter=1000)
    model.fit(features, labels)
    draft = Calibrator(
        tuple(float(c) for c in model.coef_[0]), float(model.intercept_[0]), 0.5, fitted_on=fitted_on
    )
    return draft


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


def with_threshold(calibrator: Calibrator, threshold: float, metrics: dict[str, float]) -> Calibrator:
    return Calibrator(
        calibrator.coef, calibrator.intercept, threshold, calibrator.features, calibrator.fitted_on, metrics
    )


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
