"""The simulator is seeded, plausible and not trivially predictable."""

import numpy as np
import pytest

from backend.risk.features import CHURN_FEATURES, ESCALATION_FEATURES
from ml.risk import simulator
from scripts.paths import SHARED_DATA


def test_the_same_seed_gives_the_same_history_and_another_seed_another():
    a, b = simulator.escalation_history(200, seed=5), simulator.escalation_history(200, seed=5)
    assert a.X.equals(b.X) and (a.y == b.y).all()
    assert not simulator.escalation_history(200, seed=6).X.equals(a.X)


def test_escalation_history_is_per_turn_and_plausible():
    history = simulator.escalation_history(600, seed=7)
    assert list(history.X.columns) == list(ESCALATION_FEATURES)
    assert len(np.unique(history.groups)) == 600 and len(history.y) > 600
    per_conversation = [history.y[history.groups == g][0] for g in np.unique(history.groups)]
    assert 0.15 < np.mean(per_conversation) < 0.45  # most conversations are solved by the bot
    angry = history.X["negative_streak"] >= 3
    assert history.y[angry].mean() > history.y[~angry].mean() + 0.2


def test_churn_history_uses_crm_features_and_a_plausible_rate():
    history = simulator.churn_history(800, seed=7)
    assert list(history.X.columns) == list(CHURN_FEATURES)
    assert 0.12 < history.y.mean() < 0.28
    monthly = history.X["contract"] == "month-to-month"
    assert history.y[monthly].mean() > history.y[~monthly].mean()


def test_the_default_priors_are_what_the_telco_fit_gives():
    # The shared data sets' Telco CSV, where make eval-risk reads it: missing data fails here rather than
    # skipping, so a run without it cannot pass for one that checked the priors.
    telco = SHARED_DATA / "telco_churn" / "telco_customer_churn.csv"
    if not telco.is_file():
        pytest.fail(
            f"the public IBM Telco churn CSV is not at {telco}: set SUPPORTDESK_SHARED_DATA to the folder "
            "holding the shared data sets (default ../shared/data, see README 'Data')"
        )
    fitted = simulator.telco_priors(telco)
    assert fitted == pytest.approx(simulator.DEFAULT_PRIORS, abs=0.01)
