"""The CRM's risk features, as pure functions of plain records.

The database loaders (backend/risk/crm.py) and the simulator (ml/risk/simulator.py) both build these
records and call the same functions, so a model trained on simulated history sees features computed exactly
as they are computed for a live conversation.

Sentiment is turned into one signed number per message (`signed_sentiment`): negative messages count below
zero, positive above, neutral as zero. The NLU's score is used as the strength whatever its sign convention
(polarity or confidence), because the label already says which way it points.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

CHURN_NUMERIC = (
    "tenure_months",
    "monthly_charge",
    "lifetime_value",
    "payment_failures_90d",
    "contacts_7d",
    "contacts_30d",
    "contacts_90d",
    "sentiment_30d",
    "sentiment_trend",
    "unresolved_cases",
    "csat_avg",
    "days_since_activity",
    "orders_90d",
    "problem_orders_90d",
)
CHURN_CATEGORICAL = ("plan", "contract")
CHURN_FEATURES = CHURN_NUMERIC + CHURN_CATEGORICAL
# Directions the gradient-boosting model must respect (+1: never lowers the risk as it grows).
CHURN_MONOTONE = (
    ("payment_failures_90d", 1),
    ("unresolved_cases", 1),
    ("problem_orders_90d", 1),
    ("sentiment_30d", -1),
)

ESCALATION_NUMERIC = (
    "sentiment_now",
    "sentiment_mean_3",
    "sentiment_slope",
    "negative_streak",
    "complaints",
    "fallback_count",
    "turn_index",
    "repeat_contacts_7d",
    "wait_minutes",
    "churn_risk",
    "customer_value",
)
ESCALATION_CATEGORICAL = ("intent",)
ESCALATION_FEATURES = ESCALATION_NUMERIC + ESCALATION_CATEGORICAL
ESCALATION_MONOTONE = (
    ("sentiment_now", -1),
    ("sentiment_mean_3", -1),
    ("negative_streak", 1),
    ("complaints", 1),
    ("fallback_count", 1),
    ("repeat_contacts_7d", 1),
)

PROBLEM_ORDER_STATUSES = frozenset({"delayed", "returned", "cancelled"})
DEFAULT_STRENGTH = 0.6  # a labelled message without a score
SLOPE_WINDOW = 4  # customer turns in the sentiment slope
NEGATIVE_BELOW = -0.2  # a signed sentiment this low counts towards the negative streak


def signed_sentiment(label: str | None, score: float | None) -> float | None:
    if label is None:
        return None if score is None else max(-1.0, min(1.0, score))
    strength = min(abs(score), 1.0) if score is not None else DEFAULT_STRENGTH
    if label == "negative":
        return -strength
    if label == "positive":
        return strength
    return 0.0


# ------------------------------------------------------------------------------------------ churn


@dataclass(frozen=True)
class CustomerSnapshot:
    """Everything churn features need about one customer, as of `now`."""

    plan: str
    contract: str
    monthly_charge: float
    lifetime_value: float
    signup_date: date
    payment_failures_90d: int
    last_activity_at: datetime | None
    conversation_starts: Sequence[datetime] = ()  # conversations started in the last 90 days
    sentiments: Sequence[tuple[datetime, float]] = ()  # signed, customer messages of the last 90 days
    unresolved_cases: int = 0
    csat: Sequence[int] = ()  # ratings of resolved cases
    orders: Sequence[tuple[datetime, str]] = ()  # (placed_at, status) of the last 90 days


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def churn_features(s: CustomerSnapshot, now: datetime) -> dict[str, float | str]:
    d30, d90 = now - timedelta(days=30), now - timedelta(days=90)
    recent = _mean([v for t, v in s.sentiments if t >= d30])
    earlier = _mean([v for t, v in s.sentiments if d90 <= t < d30])
    seen = [t for t in (s.last_activity_at, *s.conversation_starts) if t is not None]
    last_seen = max(seen) if seen else None
    return {
        "tenure_months": max((now.date() - s.signup_date).days, 0) / 30.44,
        "monthly_charge": float(s.monthly_charge),
        "lifetime_value": float(s.lifetime_value),
        "payment_failures_90d": float(s.payment_failures_90d),
        "contacts_7d": float(sum(t >= now - timedelta(days=7) for t in s.conversation_starts)),
        "contacts_30d": float(sum(t >= d30 for t in s.conversation_starts)),
        "contacts_90d": float(sum(t >= d90 for t in s.conversation_starts)),
        # No messages reads as neutral: silence is not a negative signal, and contacts_* already say "none".
        "sentiment_30d": recent if recent is not None else 0.0,
        "sentiment_trend": (recent - earlier) if recent is not None and earlier is not None else 0.0,
        "unresolved_cases": float(s.unresolved_cases),
        "csat_avg": _mean([float(c) for c in s.csat]) if s.csat else math.nan,
        "days_since_activity": max((now - last_seen).total_seconds() / 86400, 0.0) if last_seen else math.nan,
        "orders_90d": float(sum(t >= d90 for t, _ in s.orders)),
        "problem_orders_90d": float(sum(t >= d90 and st in PROBLEM_ORDER_STATUSES for t, st in s.orders)),
        "plan": s.plan,
        "contract": s.contract,
    }


# ------------------------------------------------------------------------------------------ escalation


@dataclass(frozen=True)
class Turn:
    """One customer message as the bot understood it."""

    at: datetime
    intent: str | None
    sentiment: float | None  # signed, see signed_sentiment


@dataclass(frozen=True)
class TurnContext:
    started_at: datetime
    repeat_contacts_7d: int = 0  # the customer's other conversations started in the 7 days before this one
    churn_risk: float | None = None  # None for anonymous visitors
    customer_value: float | None = None
    extra: dict[str, float] = field(default_factory=dict)


def slope(values: Sequence[float]) -> float:
    """Least-squares slope per turn; 0 for fewer than two points."""
    n = len(values)
    if n < 2:
        return 0.0
    mean_x, mean_y = (n - 1) / 2, sum(values) / n
    num = sum((i - mean_x) * (v - mean_y) for i, v in enumerate(values))
    den = sum((i - mean_x) ** 2 for i in range(n))
    return num / den


def negative_streak(values: Sequence[float]) -> int:
    streak = 0
    for value in reversed(values):
        if value > NEGATIVE_BELOW:
            break
        streak += 1
    return streak


def escalation_features(turns: Sequence[Turn], ctx: TurnContext) -> dict[str, float | str]:
    """Features of the conversation up to and including its last turn (the one being scored)."""
    if not turns:
        raise ValueError("a conversation turn is needed to compute escalation features")
    sentiments = [t.sentiment if t.sentiment is not None else 0.0 for t in turns]
    intents = [t.intent or "none" for t in turns]
    current = turns[-1]
    return {
        "sentiment_now": sentiments[-1],
        "sentiment_mean_3": sum(sentiments[-3:]) / len(sentiments[-3:]),
        "sentiment_slope": slope(sentiments[-SLOPE_WINDOW:]),
        "negative_streak": float(negative_streak(sentiments)),
        "complaints": float(intents.count("complaint")),
        "fallback_count": float(intents.count("nlu_fallback")),
        "turn_index": float(len(turns)),
        "repeat_contacts_7d": float(ctx.repeat_contacts_7d),
        "wait_minutes": max((current.at - ctx.started_at).total_seconds() / 60, 0.0),
        "churn_risk": ctx.churn_risk if ctx.churn_risk is not None else math.nan,
        "customer_value": ctx.customer_value if ctx.customer_value is not None else math.nan,
        "intent": intents[-1],
    }
