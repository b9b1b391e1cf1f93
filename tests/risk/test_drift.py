"""PSI against stored training bins: near zero for the same population, large for a shifted one."""

import numpy as np
import pandas as pd

from backend.risk import drift


def reference(rng: np.random.Generator) -> dict:
    X = pd.DataFrame({"tenure": rng.normal(24, 8, 5000), "plan": rng.choice(["basic", "pro"], 5000)})
    return drift.reference_bins(X, rng.random(5000), ["tenure"], ["plan"])


def test_the_same_population_is_stable():
    rng = np.random.default_rng(1)
    ref = reference(rng)
    X = pd.DataFrame({"tenure": rng.normal(24, 8, 2000), "plan": rng.choice(["basic", "pro"], 2000)})
    report = drift.report(ref, X, rng.random(2000))
    assert report["n"] == 2000
    assert all(entry["status"] == "stable" for entry in report["features"].values())
    assert report["score"]["status"] == "stable"


def test_a_shifted_feature_and_score_are_flagged():
    rng = np.random.default_rng(2)
    ref = reference(rng)
    X = pd.DataFrame({"tenure": rng.normal(6, 3, 2000), "plan": ["pro"] * 1900 + [None] * 50 + ["gold"] * 50})
    report = drift.report(ref, X, rng.random(2000) ** 4)
    assert report["features"]["tenure"]["status"] == "significant"
    assert report["features"]["plan"]["psi"] > 0.25  # missing and unseen levels have their own bins
    assert report["score"]["status"] in ("moderate", "significant")


def test_no_data_is_reported_not_crashed():
    ref = reference(np.random.default_rng(3))
    report = drift.report(ref, pd.DataFrame({"tenure": [], "plan": []}), [])
    assert report["n"] == 0 and report["score"] == {"psi": None, "status": "no data"}


def test_psi_of_known_shares():
    # 50/50 expected, 90/10 actual: (0.4 ln 1.8) + (-0.4 ln 0.2) = 0.879
    assert round(drift.psi([0.5, 0.5], np.array([90.0, 10.0])), 3) == 0.879
