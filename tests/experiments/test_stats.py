"""Power calculation and intervals: a textbook value, and coverage on a seeded simulation."""

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from backend.experiments import stats
from backend.experiments.assignment import variant_for


def test_the_power_calculation_matches_r_power_prop_test() -> None:
    # R's documentation example: power.prop.test(p1 = .50, p2 = .75, power = .90) gives n = 76.7 per group.
    assert stats.exact_sample_size(0.5, 0.75, 0.05, 0.9) == pytest.approx(76.7, abs=0.05)
    assert stats.sample_size_per_arm(0.5, 0.75, 0.05, 0.9) == 77
    # Smaller effects need more units, roughly 1/effect^2; Bonferroni makes three arms need more than two.
    assert stats.sample_size_per_arm(0.5, 0.55) > 3.5 * stats.sample_size_per_arm(0.5, 0.6)
    assert stats.planned_per_arm(0.5, 0.1, 0.05, 0.8, 3) > stats.planned_per_arm(0.5, 0.1, 0.05, 0.8, 2)


def test_bad_plans_are_refused() -> None:
    with pytest.raises(ValueError):
        stats.sample_size_per_arm(0.5, 0.5)
    with pytest.raises(ValueError):
        stats.planned_per_arm(0.9, 0.2, 0.05, 0.8, 2)


def test_wilson_matches_a_known_interval() -> None:
    # Wilson 95% for 81 of 263 (Newcombe 1998, table I, example): 0.2553 to 0.3662.
    found = stats.wilson(81, 263)
    assert found.low == pytest.approx(0.2553, abs=5e-4) and found.high == pytest.approx(0.3662, abs=5e-4)


def test_newcombe_matches_the_published_example() -> None:
    # Newcombe (1998) example (e): 56/70 vs 48/80, method 10: difference 0.2 with 0.0524 to 0.3339.
    found = stats.newcombe(48, 80, 56, 70)
    assert found.estimate == pytest.approx(0.2)
    assert found.low == pytest.approx(0.0524, abs=5e-4) and found.high == pytest.approx(0.3339, abs=5e-4)


def test_difference_intervals_cover_the_true_difference_at_about_the_nominal_rate() -> None:
    rng = np.random.default_rng(18)
    runs, covered = 2000, 0
    p_control, p_treated, n = 0.30, 0.36, 400
    for _ in range(runs):
        a, b = rng.binomial(n, p_control), rng.binomial(n, p_treated)
        found = stats.newcombe(int(a), n, int(b), n)
        covered += found.low <= p_treated - p_control <= found.high
    rate = covered / runs
    # 95% nominal; 2000 runs put the estimate within about +-1 point of the true coverage.
    assert 0.93 <= rate <= 0.97, rate


def test_assignment_is_sticky_and_splits_traffic_within_tolerance() -> None:
    variants = [
        {"name": "control", "weight": 0.5},
        {"name": "a", "weight": 0.25},
        {"name": "b", "weight": 0.25},
    ]
    units = [f"customer-{i}" for i in range(10_000)]
    first = [variant_for("retention-offers", u, variants) for u in units]
    assert first == [variant_for("retention-offers", u, variants) for u in units]  # sticky
    observed = [first.count(name) for name in ("control", "a", "b")]
    expected = [5000, 2500, 2500]
    chi2 = sum((o - e) ** 2 / e for o, e in zip(observed, expected, strict=True))
    assert chi2 < scipy_stats.chi2.ppf(0.999, df=2), observed
    # Another key splits the same units independently of this one.
    other = [variant_for("another-test", u, variants) for u in units]
    same = sum(x == y for x, y in zip(first, other, strict=True)) / len(units)
    assert math.isclose(same, 0.5**2 + 2 * 0.25**2, abs_tol=0.02)


@pytest.mark.parametrize("n", [1, 7, 10, 11, 250])
def test_a_rate_of_0_or_1_lies_inside_its_own_wilson_interval(n):
    none, every = stats.wilson(0, n, 0.95), stats.wilson(n, n, 0.95)
    assert none.low == 0.0 < none.high and every.low < every.high == 1.0
