"""K-Means segments: well-separated behaviour groups are found, labelled and given their churn rates."""

import numpy as np

from backend.analytics.segments import FEATURES, segment


def test_three_behaviour_groups_are_found_with_their_churn_rates():
    rng = np.random.default_rng(3)
    base = np.zeros(len(FEATURES))
    angry = base.copy()
    angry[FEATURES.index("contacts_30d")], angry[FEATURES.index("sentiment_30d")] = 6, -0.8
    loyal = base.copy()
    loyal[FEATURES.index("tenure_months")], loyal[FEATURES.index("orders_90d")] = 60, 8
    groups = [(base, 100, 0.1), (angry, 60, 0.6), (loyal, 40, 0.0)]
    signal = [FEATURES.index(f) for f in ("contacts_30d", "sentiment_30d", "tenure_months", "orders_90d")]
    X = np.vstack([np.tile(center, (n, 1)) for center, n, _ in groups])
    # Noise on the features that tell groups apart; the others stay constant (standardization would
    # otherwise blow pure-noise columns up to the same weight as the telling ones).
    X[:, signal] += rng.normal(0, 0.3, (len(X), len(signal)))
    churn = np.concatenate([(rng.random(n) < p).astype(float) for _, n, p in groups])
    X[::7, FEATURES.index("csat_avg")] = np.nan  # customers who never rated

    result = segment(X, churn, "observed")
    assert result.k == 3 and result.silhouette > 0.5
    assert sorted(s.size for s in result.segments) == [40, 60, 100]
    first = result.segments[0]  # highest churn first
    assert first.size == 60 and ("many recent contacts" in first.label or "negative sentiment" in first.label)
    assert abs(first.churn_rate - churn[100:160].mean()) < 1e-9
    again = segment(X, churn, "observed")  # seeded: the same CRM gives the same segments
    assert [s.size for s in again.segments] == [s.size for s in result.segments]


def test_too_few_customers_give_no_segments():
    assert segment(np.zeros((3, len(FEATURES))), np.zeros(3), "observed").segments == []
