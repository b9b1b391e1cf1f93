"""The uplift pipeline (ml/uplift.py) on its seeded simulation: the policy offers nothing where the estimated
uplift is <= 0, and the model's Qini beats random targeting on the held-out split. Outcomes are simulated."""

import numpy as np
import pytest

from backend.experiments.offers import CONTROL, OFFERS
from ml import uplift


@pytest.fixture(scope="module")
def fitted():
    units = uplift.simulate(6000, seed=181)
    train_i, _, test_i = uplift.split(len(units.arm))
    train, test = units.take(train_i), units.take(test_i)
    model = uplift.TLearner("logistic").fit(train)
    return model, train, test


def test_the_policy_offers_nothing_where_estimated_uplift_is_not_positive(fitted):
    model, _, test = fitted
    chosen = uplift.policy(model, test)
    stay = model.stay(test.X)
    made = chosen.offer != CONTROL
    assert 0 < made.sum() < len(made)  # some offers, not to everyone
    for i in np.flatnonzero(made):
        offer = chosen.offer[i]
        assert stay[offer][i] - stay[CONTROL][i] > 0 and chosen.value[i] > 0
    none_helps = np.all([stay[k] - stay[CONTROL] <= 0 for k in OFFERS], axis=0)
    assert not made[none_helps].any()
    # Worthless customers (no lifetime value): every offer only costs, so none is made.
    worthless = test.take(np.arange(len(test.arm)))
    worthless.clv = np.zeros(len(test.arm))
    assert (uplift.policy(model, worthless).offer == CONTROL).all()


@pytest.mark.slow  # scores the simulation's held-out split
def test_the_model_beats_random_targeting_on_the_held_out_split(fitted):
    model, train, test = fitted
    report = uplift.ranking_report(model, uplift.churn_ranker(train), test)
    assert report["uplift model"]["qini"] > report["random"]["qini"] + 0.003, report


def test_qini_of_a_perfect_ranking_beats_a_reversed_one():
    treated = np.array([1, 0] * 50)
    stayed = np.array([1, 0] * 25 + [0, 0] * 25)  # treatment helps only the first half
    good = -np.arange(100.0)  # the first half ranked first
    assert (
        uplift.qini_coefficient(good, treated, stayed) > 0 > uplift.qini_coefficient(-good, treated, stayed)
    )
