"""The shipped answer-or-not-sure decision as the backend serves it: the features it reads, the fit and
threshold it loads, and a refusal below that threshold (issue 14)."""

import dataclasses
import json
import math

import numpy as np
import pytest

from backend.core.config import Settings
from backend.kb.indexing import load_calibrator
from knowledge.calibration import ALL_FEATURES, DEFAULT_PATH, PRODUCT, Calibrator, with_threshold
from knowledge.store import KnowledgeIndex
from ml import kb_shop
from tests.knowledge.kb_fixtures import embedder, seed_documents

QUESTION = "whats the price of pro per month"  # q002, a dev question of the plans article


@pytest.fixture(scope="module")
def index() -> KnowledgeIndex:
    built = KnowledgeIndex(embedder(), Calibrator.load())
    built.rebuild(seed_documents())
    return built


def test_the_backend_loads_the_shipped_fit_and_threshold():
    stored = json.loads(DEFAULT_PATH.read_text())
    loaded = load_calibrator(Settings(kb_calibration_path=None, kb_answer_threshold=None))
    assert loaded.features == tuple(stored["features"]) == kb_shop.SHIPPED_FEATURES
    assert loaded.threshold == stored["threshold"] and list(loaded.coef) == stored["coef"]
    assert list(loaded.product_weights) == stored["product_weights"]
    assert len(loaded.product_weights) == embedder().dim  # one weight per dimension of the encoder
    assert loaded.metrics["answered_share_target"] == kb_shop.ANSWERED_SHARE
    assert loaded.metrics["c"] == kb_shop.PRODUCT_C
    overridden = load_calibrator(Settings(kb_calibration_path=None, kb_answer_threshold=0.97))
    assert overridden.threshold == 0.97 and overridden.coef == loaded.coef


def test_the_hit_reads_the_decisions_features_and_scores_them_with_its_weights(index):
    ranked = index.rank([QUESTION])[0]
    every = dict(zip(ALL_FEATURES, index.features(ranked, 0, ALL_FEATURES), strict=True))
    calibrator = index.calibrator
    # The learned sentence match: the weights times the question's and its best sentence's vectors.
    sentences = index.sentence_vectors(ranked.fused[0][0])
    best = sentences[int(np.argmax(sentences @ ranked.query))]
    every[PRODUCT] = float(np.dot(calibrator.product_weights, ranked.query * best))
    assert index.features(ranked, 0, (PRODUCT,))[0] == pytest.approx(every[PRODUCT])
    hit = index.search(QUESTION, 5).hits[0]
    assert hit.features == pytest.approx(tuple(every[name] for name in calibrator.features))
    weights = zip(calibrator.coef, calibrator.features, strict=True)
    z = calibrator.intercept + sum(w * every[name] for w, name in weights)
    assert hit.confidence == pytest.approx(1 / (1 + math.exp(-z)))


def test_the_search_answers_at_the_threshold_and_refuses_below_it(index):
    shipped = index.calibrator
    confidence = index.search(QUESTION, 5).hits[0].confidence
    try:
        index.calibrator = with_threshold(shipped, confidence, {})
        assert index.search(QUESTION, 5).answerable
        index.calibrator = with_threshold(shipped, math.nextafter(confidence, 1.0), {})
        below = index.search(QUESTION, 5)
        assert not below.answerable and below.threshold > below.hits[0].confidence
    finally:
        index.calibrator = shipped


def test_the_fit_on_top_results_answers_the_strong_and_refuses_the_weak():
    # A Decisions of three questions, one row each: the fit and its threshold run on exactly these rows.
    x = [
        [0.9, 0.3, 0.8, 1.0, 1.0, 0.9, 0.2],
        [0.2, -0.1, 0.1, 0.0, 0.0, 0.3, -0.2],
        [0.8, 0.2, 0.7, 1.0, 1.0, 0.8, 0.1],
    ]
    examples = kb_shop.Decisions(
        kb_shop.DECISION_FEATURES,
        np.array(x * 4),
        np.array([1.0, 0.0, 1.0] * 4),
        np.arange(12),
        np.array([True, False, True] * 4),
        tuple(f"q{n:03d}" for n in range(12)),
    )
    fitted = kb_shop.fit(examples, "synthetic")
    assert fitted.features == kb_shop.DECISION_FEATURES and fitted.coef[0] > 0
    assert dataclasses.replace(fitted, threshold=0.5).answerable(fitted.confidence(x[0]))
    assert not dataclasses.replace(fitted, threshold=0.5).answerable(fitted.confidence(x[1]))
