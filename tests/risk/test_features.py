"""CRM features from plain records: windows, streaks, slopes and the sentiment convention."""

import math
from datetime import UTC, date, datetime, timedelta

import pytest

from backend.risk.features import (
    CHURN_FEATURES,
    ESCALATION_FEATURES,
    CustomerSnapshot,
    Turn,
    TurnContext,
    churn_features,
    escalation_features,
    signed_sentiment,
)

NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("label", "score", "expected"),
    [
        ("negative", -0.7, -0.7),
        ("negative", 0.8, -0.8),
        ("positive", 0.5, 0.5),
        ("neutral", 0.9, 0.0),
        ("negative", None, -0.6),
        (None, None, None),
    ],
)
def test_sentiment_sign_comes_from_the_label_whatever_the_score_convention(label, score, expected):
    assert signed_sentiment(label, score) == expected


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def test_churn_features_count_each_window_and_the_sentiment_trend():
    snapshot = CustomerSnapshot(
        plan="plus",
        contract="month-to-month",
        monthly_charge=14.99,
        lifetime_value=300.0,
        signup_date=date(2026, 5, 1),
        payment_failures_90d=2,
        last_activity_at=days_ago(40),
        conversation_starts=[days_ago(2), days_ago(20), days_ago(60)],
        sentiments=[(days_ago(2), -0.8), (days_ago(20), -0.4), (days_ago(60), 0.5)],
        unresolved_cases=1,
        csat=[2, 3],
        orders=[(days_ago(5), "delayed"), (days_ago(50), "delivered")],
    )
    f = churn_features(snapshot, NOW)
    assert set(f) == set(CHURN_FEATURES)
    assert (f["contacts_7d"], f["contacts_30d"], f["contacts_90d"]) == (1, 2, 3)
    assert f["sentiment_30d"] == pytest.approx(-0.6)
    assert f["sentiment_trend"] == pytest.approx(-1.1)  # -0.6 now against +0.5 in the 30-90 day window
    assert f["days_since_activity"] == pytest.approx(2)  # the latest contact counts as activity
    assert (f["csat_avg"], f["problem_orders_90d"], f["orders_90d"]) == (2.5, 1, 2)
    assert 5.9 < f["tenure_months"] < 6.1


def test_a_quiet_customer_has_neutral_sentiment_and_unknown_csat():
    snapshot = CustomerSnapshot("basic", "two-year", 4.99, 50.0, date(2024, 1, 1), 0, None)
    f = churn_features(snapshot, NOW)
    assert f["sentiment_30d"] == 0.0 and f["sentiment_trend"] == 0.0
    assert math.isnan(f["csat_avg"]) and math.isnan(f["days_since_activity"])


def test_escalation_features_read_the_trajectory_up_to_the_scored_turn():
    turns = [
        Turn(NOW + timedelta(minutes=1), "order_status", 0.2),
        Turn(NOW + timedelta(minutes=2), "nlu_fallback", -0.3),
        Turn(NOW + timedelta(minutes=4), "complaint", -0.6),
        Turn(NOW + timedelta(minutes=6), "complaint", -0.9),
    ]
    f = escalation_features(
        turns, TurnContext(NOW, repeat_contacts_7d=2, churn_risk=0.7, customer_value=900.0)
    )
    assert set(f) == set(ESCALATION_FEATURES)
    assert (f["negative_streak"], f["complaints"], f["fallback_count"], f["turn_index"]) == (3, 2, 1, 4)
    assert f["sentiment_slope"] == pytest.approx(-0.36)  # least squares over 0.2, -0.3, -0.6, -0.9
    assert f["sentiment_now"] == -0.9 and f["wait_minutes"] == 6 and f["intent"] == "complaint"
    assert f["repeat_contacts_7d"] == 2 and f["churn_risk"] == 0.7


def test_an_anonymous_visitor_has_no_churn_or_value():
    f = escalation_features([Turn(NOW, None, None)], TurnContext(NOW))
    assert math.isnan(f["churn_risk"]) and math.isnan(f["customer_value"])
    assert f["intent"] == "none" and f["sentiment_slope"] == 0.0


def test_no_turn_no_features():
    with pytest.raises(ValueError, match="turn is needed"):
        escalation_features([], TurnContext(NOW))
