"""Reason codes name real features, in words, and are faithful to the model that scored."""

import numpy as np
import pytest

from backend.risk.features import CHURN_FEATURES, ESCALATION_FEATURES
from backend.risk.reasons import CRM_PHRASES, phrase
from ml.risk import training
from tests.risk.helpers import churn_data, churn_models, escalation_model


@pytest.fixture(scope="module", params=["gbm", "logistic"])
def churn_model(request):
    trained, _ = churn_models()
    trained.result.chosen = request.param
    data = churn_data()
    return training.to_artifact(trained.result, data.X, data.y, "churn", "crm")


def test_churn_reasons_name_real_features_in_words(churn_model):
    for row in churn_model.holdout_X.head(30).to_dict("records"):
        scored = churn_model.score(row)
        assert 0 < scored.score < 1 and 1 <= len(scored.reasons) <= 3
        for reason in scored.reasons:
            assert reason.feature in CHURN_FEATURES and reason.feature in CRM_PHRASES
            assert reason.text and "_" not in reason.text  # words, not column names


def test_a_customer_with_payment_failures_hears_about_them(churn_model):
    row = churn_model.holdout_X.iloc[0].to_dict() | {
        "contract": "month-to-month",
        "payment_failures_90d": 3.0,
        "tenure_months": 2.0,
    }
    texts = [r.text for r in churn_model.score(row, top=5).reasons if r.contribution > 0]
    assert "3 payment failures in 90 days" in texts
    if churn_model.algorithm == "logistic":  # additive: the contract always counts against the average
        assert "month-to-month contract" in texts


@pytest.mark.parametrize(
    ("feature", "value", "text"),
    [
        ("contract", "month-to-month", "month-to-month contract"),
        ("payment_failures_90d", 1.0, "1 payment failure in 90 days"),
        ("tenure_months", 0.4, "new customer (under a month)"),
        ("complaints", 2.0, "2 complaints in this conversation"),
        ("intent", "request_human", "customer asked for a human"),
        ("churn_risk", float("nan"), "anonymous visitor (no churn score)"),
    ],
)
def test_phrases_an_agent_understands(feature, value, text):
    assert phrase(feature, value, None, "crm") == text


def test_logistic_contributions_add_up_to_the_log_odds_exactly():
    trained, _ = churn_models()
    trained.result.chosen = "logistic"
    data = churn_data()
    model = training.to_artifact(trained.result, data.X, data.y, "churn", "crm")
    compiled = model.compiled
    for row in model.holdout_X.head(10).to_dict("records"):
        _, contributions = model._linear(row)
        raw = compiled.raw([row])[0]
        # Standardized columns average zero on the training rows, so the shares sum to raw - intercept.
        assert sum(contributions.values()) == pytest.approx(raw - compiled.intercept, abs=1e-9)


def test_gbm_reasons_are_what_the_model_says_when_one_feature_is_redrawn():
    trained, _ = churn_models()
    trained.result.chosen = "gbm"
    data = churn_data()
    model = training.to_artifact(trained.result, data.X, data.y, "churn", "crm")
    row = model.holdout_X.iloc[3].to_dict() | {"payment_failures_90d": 3.0}
    probability, contributions = model._counterfactual(row)

    def logit(p):
        return np.log(p / (1 - p))

    expected = sum(
        weight * (logit(probability) - logit(model.predict([row | {"payment_failures_90d": value}])[0]))
        for value, weight in model.marginals["payment_failures_90d"]
    )
    assert contributions["payment_failures_90d"] == pytest.approx(expected)
    assert contributions["payment_failures_90d"] > 0  # most customers never fail a payment


def test_escalation_reasons_name_escalation_features():
    model = escalation_model().model
    for row in model.holdout_X.head(30).to_dict("records"):
        for reason in model.score(row).reasons:
            assert reason.feature in ESCALATION_FEATURES and reason.text
