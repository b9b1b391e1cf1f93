"""The simulator is seeded, plausible and not trivially predictable."""

import numpy as np
import pytest

from backend.config import get_settings
from backend.risk.features import CHURN_FEATURES, ESCALATION_FEATURES
from ml.risk import simulator


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
    settings = get_settings()
    if not settings.risk_telco_csv.is_file():
        pytest.skip("the public Telco CSV is not on this machine")
    fitted = simulator.telco_priors(settings.risk_telco_csv)
    assert fitted == pytest.approx(simulator.DEFAULT_PRIORS, abs=0.01)
