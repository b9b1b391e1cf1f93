"""The rules-only lead score: points a sales team would write down, the baseline the model must beat.

Points for a company e-mail domain, for the quantity named, for the plan, and for a business-shaped interest;
the score is points / MAX_POINTS, so it ranks leads but is not a probability. It also scores every lead
while no trained model is served (backend/leads/scoring.py), and then says so in the decision log.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

VERSION = "lead rules v1"
MAX_POINTS = 100
PLAN_POINTS = {"pro": 15, "plus": 8}
INTEREST_POINTS = {"business_account": 10, "team_plan": 10, "bulk_order": 10, "upgrade": 5}
# (at least this many units or seats, points), largest first.
QUANTITY_POINTS = ((50, 35), (10, 25), (2, 10))


def _quantity(row: Mapping[str, Any]) -> float | None:
    value = row.get("quantity_log10")
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else 10**value


def points(row: Mapping[str, Any]) -> list[tuple[int, str]]:
    """Each rule that fired: (points, why)."""
    fired: list[tuple[int, str]] = []
    if row.get("email_kind") == "business":
        fired.append((30, "company e-mail domain"))
    quantity = _quantity(row)
    for least, worth in QUANTITY_POINTS:
        if quantity is not None and quantity >= least - 1e-9:
            fired.append((worth, f"asks about {quantity:.0f} units or seats"))
            break
    plan = str(row.get("plan"))
    if plan in PLAN_POINTS:
        fired.append((PLAN_POINTS[plan], f"on the {plan} plan"))
    interest = str(row.get("interest"))
    if interest in INTEREST_POINTS:
        fired.append((INTEREST_POINTS[interest], f"interest: {interest.replace('_', ' ')}"))
    if (row.get("orders_365d") or 0) >= 3:
        fired.append((10, "3 or more orders this year"))
    return fired


def score(row: Mapping[str, Any]) -> tuple[float, list[str]]:
    """The score in [0, 1] and the fired rules, largest first."""
    fired = sorted(points(row), reverse=True)
    total = min(sum(p for p, _ in fired), MAX_POINTS)
    return total / MAX_POINTS, [f"{why} (+{p})" for p, why in fired]
