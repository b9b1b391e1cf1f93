"""The lifetime-value method (ml/clv.py): the censored constant-hazard fit, Kaplan-Meier, the value."""

import pandas as pd
import pytest

from ml import clv


def test_the_hazard_is_events_over_exposure_per_contract():
    frame = pd.DataFrame(
        {
            "contract": ["month-to-month"] * 4 + ["two-year"] * 2,
            "tenure": [10.0, 10.0, 20.0, 60.0, 50.0, 50.0],
            "churned": [1, 1, 0, 0, 0, 1],
        }
    )
    fitted = clv.fit(frame)
    assert fitted.monthly["month-to-month"] == pytest.approx(1 - 2 / 100)
    assert fitted.monthly["two-year"] == pytest.approx(1 - 1 / 100)


def test_kaplan_meier_counts_the_censored_as_at_risk_until_they_leave():
    frame = pd.DataFrame({"tenure": [1.0, 2.0, 2.0, 3.0], "churned": [1, 0, 1, 1]})
    assert clv.kaplan_meier(frame, 1) == pytest.approx(3 / 4)
    assert clv.kaplan_meier(frame, 2) == pytest.approx(3 / 4 * (1 - 1 / 3))


def test_value_is_the_discounted_expected_revenue():
    # With full retention and no discount, 12 months of a $10 charge are worth $120.
    assert clv.value(10.0, 1.0, 12, 0.0) == pytest.approx(120.0)
    r, d = 0.97, 0.01
    assert clv.value(10.0, r, 3, d) == pytest.approx(10 * sum((r / (1 + d)) ** t for t in (1, 2, 3)))
    assert clv.value(10.0, 0.9, 36, 0.01) < clv.value(10.0, 0.99, 36, 0.01)


def test_telco_fit_orders_the_contracts_by_commitment():
    settings_csv = clv.get_settings().risk_telco_csv
    if not settings_csv.exists():
        pytest.fail(f"the Telco data is missing at {settings_csv}")
    fitting, _ = clv.split(clv.telco(settings_csv))
    monthly = clv.fit(fitting).monthly
    assert monthly["month-to-month"] < monthly["one-year"] < monthly["two-year"] < 1
