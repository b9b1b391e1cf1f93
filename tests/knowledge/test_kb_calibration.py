"""Logistic confidence: bounded, monotonic, persisted, and a threshold chosen for precision."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from knowledge.calibration import (
    ALL_FEATURES,
    FEATURES,
    PRODUCT,
    SENTENCE_FEATURES,
    Calibrator,
    choose_threshold,
    fit,
    reliability,
)


def test_confidence_is_a_probability_that_grows_with_the_evidence():
    cal = Calibrator((8.0, 4.0, 2.0, 1.0, 1.0), -6.0, 0.5)
    low, high = cal.confidence((0.2, -0.1, 0.1, 0.0, 0.0)), cal.confidence((0.9, 0.2, 1.0, 1.0, 1.0))
    assert 0.0 < low < 0.5 < high < 1.0
    assert (
        cal.confidence((1e9,) * 5) == pytest.approx(1.0) and cal.answerable(0.5) and not cal.answerable(0.49)
    )


def test_round_trip_through_json_and_bad_parameters(tmp_path):
    cal = Calibrator((1.0, 2.0, 3.0, 4.0, 5.0), -1.5, 0.42, fitted_on="unit test", metrics={"ece": 0.01})
    cal.save(tmp_path / "c.json")
    assert Calibrator.load(tmp_path / "c.json") == cal
    with pytest.raises(ValueError, match="one coefficient per feature"):
        Calibrator((1.0,), 0.0, 0.5)
    with pytest.raises(ValueError, match="features"):
        Calibrator((1.0,), 0.0, 0.5, features=("title_words",))
    with pytest.raises(ValueError, match="features"):
        Calibrator((1.0, 1.0), 0.0, 0.5, features=("dense", "dense"))
    sentences = Calibrator((1.0, 2.0), -1.0, 0.5, features=SENTENCE_FEATURES)
    sentences.save(tmp_path / "s.json")
    assert Calibrator.load(tmp_path / "s.json") == sentences and sentences.uses_sentences
    assert not cal.uses_sentences
    with pytest.raises(ValueError, match="threshold"):
        Calibrator((0.0,) * 5, 0.0, 1.5)


def test_fit_separates_and_the_threshold_meets_the_target_precision():
    rng = np.random.default_rng(0)
    labels = (rng.random(2000) < 0.3).astype(float)
    features = rng.normal(size=(2000, len(FEATURES))) + labels[:, None] * 1.5
    cal = fit(features, labels, "synthetic")
    conf = np.array([cal.confidence(row) for row in features])
    assert conf[labels == 1].mean() > conf[labels == 0].mean() + 0.3
    assert reliability(conf, labels)["ece"] < 0.05
    threshold = choose_threshold(conf, labels, 0.9)
    assert labels[conf >= threshold].mean() >= 0.9
    assert choose_threshold(np.array([0.9, 0.8]), np.array([0.0, 0.0]), 0.8) == 1.0


def test_standardized_fit_folds_the_scaling_back_into_the_raw_coefficients():
    rng = np.random.default_rng(1)
    labels = (rng.random(500) < 0.5).astype(float)
    # One feature on a scale a thousand times another's: the stored fit must still read raw values.
    features = np.column_stack([rng.normal(size=500) + labels, 1000 * (rng.normal(size=500) + labels)])
    cal = fit(features, labels, "synthetic", names=("dense", "sentence"), standardize=True)
    reference = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))
    expected = reference.fit(features, labels).predict_proba(features)[:, 1]
    assert np.allclose([cal.confidence(row) for row in features], expected, atol=1e-6)


def test_the_shipped_calibration_loads():
    shipped = Calibrator.load()
    assert set(shipped.features) <= {*ALL_FEATURES, PRODUCT} and 0.0 < shipped.threshold < 1.0
    assert "dev" in shipped.fitted_on and shipped.uses_sentences
