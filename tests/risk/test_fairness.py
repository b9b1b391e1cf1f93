"""The fairness audit (backend/risk/fairness.py) and its promotion block in the registry.

The gated metric by default is the calibration error (backend/risk/fairness.py says why). The biased
candidate is trained on simulated customers whose labels were corrupted for one plan (plus
customers marked as churners at random, whatever they did); it is audited on the same hold-out customers
with their TRUE simulated labels, which the corruption never touched. Figures here are on simulated data.
"""

import asyncio
from functools import cache

import numpy as np
import pandas as pd
import pytest

from backend.risk import fairness
from ml.risk import simulator, training
from ml.risk.training import CHURN_SCHEMA, Trained
from tests.app_fixtures import staff_headers
from tests.dbcheck import rows
from tests.risk.helpers import WEAK_OVERRIDE, churn_models, install

ADMIN = "admin@northwind.example"


# ------------------------------------------------------------------------------------------ the audit


def test_audit_reports_per_group_figures_with_fairlearns_gap_and_ratio() -> None:
    # plan a: 40 rows, 20 selected (rate 0.5); plan b: 40 rows, 4 selected (rate 0.1).
    y_true = np.array([1] * 20 + [0] * 20 + [1] * 4 + [0] * 36)
    y_pred = np.array([1] * 20 + [0] * 20 + [1] * 4 + [0] * 36)
    groups = pd.DataFrame({"plan": ["a"] * 40 + ["b"] * 40})
    everything = ("selection_rate", "precision", "recall")
    report = fairness.audit(y_true, y_pred, groups, 0.2, 30, gated_metrics=everything)
    plan = report["attributes"]["plan"]
    assert plan["groups"]["a"]["selection_rate"] == pytest.approx(0.5)
    assert plan["groups"]["b"]["selection_rate"] == pytest.approx(0.1)
    assert plan["metrics"]["selection_rate"]["difference"] == pytest.approx(0.4)
    assert plan["metrics"]["selection_rate"]["ratio"] == pytest.approx(0.2)
    # Precision and recall are 1 in both groups: no gap there; only the selection rate is flagged.
    assert plan["metrics"]["precision"]["difference"] == pytest.approx(0.0)
    assert report["flagged"] and len(report["violations"]) == 1
    assert report["violations"][0].startswith("selection_rate by plan: a 0.500 vs b 0.100")
    # By default only the calibration error is gated, and without scores there is none: reported, not flagged.
    assert not fairness.audit(y_true, y_pred, groups, 0.2, 30)["flagged"]


def test_a_group_scored_above_what_happened_to_it_is_flagged_by_its_calibration_error() -> None:
    y_true = np.array([1] * 10 + [0] * 30 + [1] * 10 + [0] * 30)  # both groups: a quarter churned
    groups = pd.DataFrame({"plan": ["a"] * 40 + ["b"] * 40})
    honest = np.array([0.25] * 80)
    inflated = np.array([0.25] * 40 + [0.7] * 40)  # b scored high with no cause
    ok = fairness.audit(y_true, honest >= 0.5, groups, 0.2, 30, scores=honest)
    assert not ok["flagged"] and ok["attributes"]["plan"]["groups"]["b"][
        "calibration_error"
    ] == pytest.approx(0)
    bad = fairness.audit(y_true, inflated >= 0.5, groups, 0.2, 30, scores=inflated)
    assert bad["flagged"] and bad["gated_metrics"] == ["calibration_error"]
    assert bad["attributes"]["plan"]["metrics"]["calibration_error"]["gated_gap"] == pytest.approx(0.45)
    assert bad["violations"] == ["calibration_error by plan: b 0.450 vs a 0.000 (gap 0.450 > 0.2)"]


def test_small_groups_are_reported_but_do_not_flag() -> None:
    y_true = np.array([1] * 10 + [0] * 30 + [0] * 10)
    y_pred = np.array([1] * 10 + [0] * 30 + [0] * 10)
    groups = pd.DataFrame({"plan": ["big"] * 40 + ["tiny"] * 10})
    report = fairness.audit(y_true, y_pred, groups, 0.2, 30, gated_metrics=("selection_rate",))
    assert report["attributes"]["plan"]["metrics"]["selection_rate"]["difference"] == pytest.approx(0.25)
    assert report["attributes"]["plan"]["metrics"]["selection_rate"]["gated_gap"] is None
    assert not report["flagged"]


def test_value_band_is_reported_but_never_gated() -> None:
    rows_ = pd.DataFrame({"customer_value": [100.0] * 40 + [3000.0] * 40})
    attributes = fairness.attributes_of_rows(rows_)
    assert list(attributes.columns) == ["value_band"] and set(attributes["value_band"]) == {"<500", "2000+"}
    report = fairness.audit(
        [0] * 80, [1] * 40 + [0] * 40, attributes, 0.2, 30, gated_metrics=("selection_rate",)
    )
    assert report["attributes"]["value_band"]["metrics"]["selection_rate"]["gated_gap"] == pytest.approx(1.0)
    assert not report["flagged"]


def test_bands() -> None:
    assert [fairness.tenure_band(m) for m in (0, 5.9, 6, 11, 12, 23.9, 24, 80, None)] == [
        "0-6", "0-6", "6-12", "6-12", "12-24", "12-24", "24+", "24+", "unknown",
    ]  # fmt: skip
    assert [fairness.value_band(v) for v in (None, 10, 500, 1999, 2000)] == [
        "anonymous", "<500", "500-2000", "500-2000", "2000+",
    ]  # fmt: skip


# ------------------------------------------------------------------------------- a biased candidate


@cache
def biased_churn_model() -> Trained:
    """Scores plus customers higher with no cause: 60 % of them labelled churners at random in training."""
    history = simulator.churn_history(1500, seed=23)
    rng = np.random.default_rng(5)
    corrupted = history.y.copy()
    plus = (history.X["plan"] == "plus").to_numpy()
    corrupted[plus & (rng.random(len(corrupted)) < 0.6)] = 1
    source = {"type": "simulated", "customers": 1500, "corrupted": "plus customers"}
    trained = training.train_frame(history.X, corrupted, "churn", source, CHURN_SCHEMA, seed=7, folds=3)
    # Audited (and gated) on the true labels of the same hold-out customers.
    trained.model.holdout_y = np.asarray(history.y)[trained.result.split.test]
    return trained


@pytest.fixture
def settings(settings, tmp_path):
    # Groups of 5 count on logged data: the seeded test shop is small. (Registering reads the process's
    # settings, so the hold-out audits keep the default support of 30.)
    return settings.model_copy(update={"risk_model_dir": tmp_path / "models", "fairness_min_group": 5})


@pytest.mark.slow  # trains two models
def test_the_honest_model_is_not_flagged_and_the_behaviour_blind_one_only_by_segment() -> None:
    """The full model is calibrated in every group. The plan-only model is calibrated by plan (all it knows)
    but under-scores the troubled segment (many contacts), whose customers leave more often than their plan
    says: the segment audit shows it, and it is what the audit is for (its retention offers miss them)."""
    full, weak = churn_models()
    assert not fairness.holdout_audit(full.model, 0.5, 0.2, 30)["flagged"]
    report = fairness.holdout_audit(weak.model, 0.5, 0.2, 30)
    assert report["flagged"]
    assert [v.split(":")[0] for v in report["violations"]] == ["calibration_error by segment"]
    segment = report["attributes"]["segment"]["groups"]
    assert min(g["calibration_error"] for g in segment.values()) < -0.15  # scored below what happened


@pytest.mark.slow  # trains and audits
def test_a_biased_candidate_is_flagged_refused_until_an_admin_overrides_and_the_override_is_audited(
    client, settings, database_url
):
    _, weak = churn_models()
    directory = settings.risk_model_dir
    asyncio.run(install(database_url, weak, directory, fairness_override=WEAK_OVERRIDE))  # production: weak
    biased = asyncio.run(install(database_url, biased_churn_model(), directory, promote=False))
    headers = staff_headers(client, ADMIN)

    version = client.get(f"/api/v1/models/{biased}", headers=headers).json()
    report = version["metrics"]["fairness"]
    assert report["flagged"] and report["data"] == "hold-out"
    assert any(v.startswith("calibration_error by plan: plus") for v in report["violations"]), report[
        "violations"
    ]
    assert set(report["gated_attributes"]) == {"plan", "tenure_band", "segment"}

    refused = client.post(f"/api/v1/models/{biased}/promote", headers=headers)
    assert refused.status_code == 409 and "fairness" in refused.json()["detail"]
    assert client.post(f"/api/v1/models/{biased}/promote", json={}, headers=headers).status_code == 409
    # An agent cannot override; neither can an empty reason.
    assert client.post(
        f"/api/v1/models/{biased}/promote", json={"fairness_override": "ok"}, headers=staff_headers(client)
    ).status_code in (401, 403)
    assert (
        client.post(
            f"/api/v1/models/{biased}/promote", json={"fairness_override": "   "}, headers=headers
        ).status_code
        == 422  # a blank reason is no reason
    )
    overrides = "SELECT * FROM audit_events WHERE action = 'model.fairness_override' AND entity_id = :i"
    assert not rows(database_url, overrides, i=str(biased))

    reason = "reviewed: the plus-plan price change explains the gap"
    promoted = client.post(
        f"/api/v1/models/{biased}/promote", json={"fairness_override": reason}, headers=headers
    )
    assert promoted.status_code == 200, promoted.text
    assert promoted.json()["version"]["status"] == "production"
    [event] = rows(database_url, overrides, i=str(biased))
    assert event["actor"] == ADMIN and reason in str(event["after"]) and "plus" in str(event["before"])


@pytest.mark.slow  # trains and audits twice
def test_a_reaudit_under_a_looser_bound_clears_the_flag(client, settings, database_url, monkeypatch):
    directory = settings.risk_model_dir
    biased = asyncio.run(install(database_url, biased_churn_model(), directory, promote=False))
    headers = staff_headers(client, ADMIN)
    assert client.get(f"/api/v1/models/{biased}", headers=headers).json()["metrics"]["fairness"]["flagged"]
    monkeypatch.setenv("FAIRNESS_MAX_GAP", "1.0")
    from backend.core.config import get_settings

    get_settings.cache_clear()
    try:
        audited = client.post(f"/api/v1/models/{biased}/fairness", headers=headers)
    finally:
        monkeypatch.delenv("FAIRNESS_MAX_GAP")
        get_settings.cache_clear()
    assert audited.status_code == 200 and not audited.json()["metrics"]["fairness"]["flagged"]
    assert rows(database_url, "SELECT id FROM audit_events WHERE action = 'model.fairness_audit'")


# ---------------------------------------------------------------------------------------- logged data


def test_the_logged_audit_joins_served_scores_with_customers_and_what_happened(
    client, settings, database_url
):
    """Served churn scores (the latest per customer) against the CRM's cancellations, by plan, tenure band
    and language of the seeded customers; plus customers scored high while none of them left is flagged."""
    from tests.dbcheck import execute

    _, weak = churn_models()
    version = asyncio.run(
        install(database_url, weak, settings.risk_model_dir, fairness_override=WEAK_OVERRIDE)
    )
    customers = rows(database_url, "SELECT id, plan FROM customers ORDER BY id")
    plus = [c["id"] for c in customers if c["plan"] == "plus"]
    assert len(plus) >= 5, "the seeded shop has enough plus customers for a supported group"
    cancelled = {c["id"] for c in customers[::5]}  # what happened: independent of the scores
    for c in customers:
        if c["id"] in cancelled:
            execute(database_url, "UPDATE customers SET status = 'cancelled' WHERE id = :i", i=c["id"])
        for score in (0.5, 0.9 if c["plan"] == "plus" else 0.2):  # the later score is the one that counts
            execute(
                database_url,
                "INSERT INTO risk_scores (subject_type, subject_id, kind, score, reasons, features, "
                "model_version_id, created_at) VALUES ('customer', :s, 'churn', :score, '[]', '{}', :v, "
                "CURRENT_TIMESTAMP)",
                s=str(c["id"]),
                score=score,
                v=version,
            )
    response = client.get(
        "/api/v1/models/fairness/logged", params={"kind": "churn"}, headers=staff_headers(client)
    )
    assert response.status_code == 200, response.text
    report = response.json()["report"]
    assert report["data"] == "logged" and report["n"] == len(customers)
    assert set(report["attributes"]) == {"plan", "tenure_band", "language", "channel", "segment"}
    assert sum(g["n"] for g in report["attributes"]["channel"]["groups"].values()) == len(customers)
    plan = report["attributes"]["plan"]["groups"]
    assert sum(g["n"] for g in plan.values()) == len(customers)
    assert plan["plus"]["selection_rate"] == pytest.approx(1.0)
    observed = sum(1 for c in plus if c in cancelled) / len(plus)
    assert plan["plus"]["calibration_error"] == pytest.approx(0.9 - observed)
    assert report["flagged"] and any(
        v.startswith("calibration_error by plan: plus") for v in report["violations"]
    )
