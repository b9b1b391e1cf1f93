"""The statistics of an experiment: planned sample size and confidence intervals for proportions.

Power: the closed-form two-sided test of two proportions (Fleiss; the formula R's `power.prop.test` solves),
    n per arm = (z_{1-a/2} * sqrt(2 * pbar * (1 - pbar)) + z_{1-b} * sqrt(p1 q1 + p2 q2))^2 / (p2 - p1)^2
with pbar = (p1 + p2) / 2, rounded up. statsmodels is not in the app venv, and this is the formula it would
apply with the normal approximation. With several treatment arms, each is compared with the control at
alpha / (arms - 1) (Bonferroni), so the family-wise error stays at alpha.

Intervals: Wilson's score interval for each arm's rate, and Newcombe's hybrid score interval (his method 10,
1998) for the difference of two independent proportions, built from the two Wilson intervals. Both keep
close to their nominal coverage at small counts and rates near 0 or 1, where the Wald interval does not
(tests/experiments/test_stats.py checks the coverage on a seeded simulation).

Stop rule: fixed horizon. An experiment enrols until every arm has its planned units, then stops; its
results are final once every enrolled unit's outcome is final. Interim numbers are shown, labelled interim:
looking at them repeatedly and stopping early would inflate the false-positive rate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

_NORMAL = NormalDist()


def z(p: float) -> float:
    return _NORMAL.inv_cdf(p)


def sample_size_per_arm(p1: float, p2: float, alpha: float = 0.05, power: float = 0.8) -> int:
    """Units per arm for a two-sided test of p1 against p2 at level alpha with the given power."""
    return math.ceil(exact_sample_size(p1, p2, alpha, power))


def exact_sample_size(p1: float, p2: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """The value before rounding up (R: power.prop.test(p1 = .5, p2 = .75, power = .9) gives 76.7)."""
    if not (0 < p1 < 1 and 0 < p2 < 1) or p1 == p2:
        raise ValueError("rates must be strictly between 0 and 1 and differ")
    if not (0 < alpha < 1 and 0 < power < 1):
        raise ValueError("alpha and power must be strictly between 0 and 1")
    pbar = (p1 + p2) / 2
    root = z(1 - alpha / 2) * math.sqrt(2 * pbar * (1 - pbar)) + z(power) * math.sqrt(
        p1 * (1 - p1) + p2 * (1 - p2)
    )
    return root**2 / (p2 - p1) ** 2


def planned_per_arm(baseline: float, effect: float, alpha: float, power: float, arms: int) -> int:
    """The plan of an experiment: every treatment against the control, Bonferroni over the comparisons."""
    treated = baseline + effect
    if not 0 < treated < 1:
        raise ValueError("baseline rate + minimum effect must stay strictly between 0 and 1")
    return sample_size_per_arm(baseline, treated, alpha / max(arms - 1, 1), power)


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float


def wilson(successes: int, n: int, confidence: float = 0.95) -> Interval:
    if n <= 0:
        return Interval(math.nan, 0.0, 1.0)
    q = z(1 - (1 - confidence) / 2)
    p = successes / n
    centre = (p + q * q / (2 * n)) / (1 + q * q / n)
    half = q * math.sqrt(p * (1 - p) / n + q * q / (4 * n * n)) / (1 + q * q / n)
    # At 0 or n successes the bound is exactly 0 or 1; computed, it can miss by a rounding error (2.8e-17
    # for 0 of 10), which would put the estimate outside its own interval.
    low = 0.0 if successes <= 0 else max(0.0, centre - half)
    high = 1.0 if successes >= n else min(1.0, centre + half)
    return Interval(p, low, high)


def newcombe(s1: int, n1: int, s2: int, n2: int, confidence: float = 0.95) -> Interval:
    """Difference p2 - p1 (treatment minus control) with Newcombe's hybrid score interval."""
    if n1 <= 0 or n2 <= 0:
        return Interval(math.nan, -1.0, 1.0)
    a, b = wilson(s1, n1, confidence), wilson(s2, n2, confidence)
    p1, p2 = s1 / n1, s2 / n2
    d = p2 - p1
    low = d - math.sqrt((p2 - b.low) ** 2 + (a.high - p1) ** 2)
    high = d + math.sqrt((b.high - p2) ** 2 + (p1 - a.low) ** 2)
    return Interval(d, max(-1.0, low), min(1.0, high))
