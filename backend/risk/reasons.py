"""Reason codes: each feature's contribution to one score, put in words an agent understands.

How contributions are computed (backend/risk/artifact.py), and why they are faithful:

- Logistic model: contribution = coefficient x standardized value, summed over the columns a feature expands
  into (a category's one-hot levels). Every design column is standardized, so this is exactly the feature's
  share of the model's log-odds relative to the average training row: the shares add up to the score's
  log-odds minus the average row's. Nothing is approximated.
- Gradient boosting: contribution = log-odds(score) - the average log-odds when that one feature is redrawn
  from its training distribution (its deciles for numbers, its levels with their frequencies for categories,
  missing values with their share), everything else kept. It is a counterfactual asked of the real model:
  "how much riskier is this customer than if this one feature were an ordinary draw?". For a linear model it
  is coefficient x centred value (up to summarising numbers by deciles), so both models' reasons mean the
  same thing. Unlike Shapley
  values the shares need not add up when features interact, but each number is what the model itself says,
  not a surrogate's guess. The calibration map is a monotone sigmoid of the raw score, so working on
  calibrated log-odds keeps the ranking of the features. (Comparing with the median alone was the first
  idea; it never names the most common category, say a month-to-month contract held by most churners.)

Only the features that push the score the most are named (positive = raises risk).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

INTENT_WORDS = {
    "complaint": "customer is complaining",
    "cancel_subscription": "customer wants to cancel",
    "request_human": "customer asked for a human",
    "nlu_fallback": "the bot did not understand the last message",
    "failed_payment": "asking about a failed payment",
    "shipping_delay": "asking about a delayed delivery",
    "return_refund": "asking for a return or refund",
    "technical_problem": "reporting a technical problem",
}


@dataclass(frozen=True)
class Reason:
    feature: str
    value: Any
    contribution: float  # log-odds points; > 0 raises the risk
    text: str

    def as_dict(self) -> dict[str, Any]:
        value = None if isinstance(self.value, float) and math.isnan(self.value) else self.value
        return {
            "feature": self.feature,
            "value": value,
            "contribution": round(self.contribution, 4),
            "direction": "raises" if self.contribution > 0 else "lowers",
            "text": self.text,
        }


def _n(value: float) -> int:
    return round(value)


def plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def _days(value: float) -> str:
    return "active today" if value < 1 else f"no activity for {_n(value)} days"


def _tenure(value: float) -> str:
    if value < 1:
        return "new customer (under a month)"
    return (
        f"customer for {plural(_n(value), 'month')}" if value < 24 else f"customer for {value / 12:.0f} years"
    )


def _sentiment(window: str) -> Callable[[float], str]:
    def phrase(value: float) -> str:
        mood = "negative" if value < -0.15 else "positive" if value > 0.15 else "neutral"
        return f"{mood} sentiment {window} ({value:+.2f})"

    return phrase


def _trend(value: float) -> str:
    if abs(value) < 0.05:
        return "sentiment steady over the last 90 days"
    return f"sentiment {'worsening' if value < 0 else 'improving'} over the last 30 days ({value:+.2f})"


def _slope(value: float) -> str:
    if abs(value) < 0.05:
        return "sentiment steady over the last turns"
    return f"sentiment {'falling' if value < 0 else 'rising'} over the last turns ({value:+.2f} per turn)"


def _churn(value: float) -> str:
    return f"churn risk {value:.0%}"


def _intent(value: str) -> str:
    return INTENT_WORDS.get(value, f"current intent: {value.replace('_', ' ')}")


# Feature -> phrase for a present value. Missing values have their own phrase in MISSING_PHRASES.
CRM_PHRASES: dict[str, Callable[[Any], str]] = {
    "contract": lambda v: f"{v} contract",
    "plan": lambda v: f"{v} plan",
    "tenure_months": _tenure,
    "monthly_charge": lambda v: f"monthly charge ${v:,.2f}",
    "lifetime_value": lambda v: f"lifetime value ${v:,.0f}",
    "payment_failures_90d": lambda v: f"{plural(_n(v), 'payment failure')} in 90 days",
    "contacts_7d": lambda v: f"{plural(_n(v), 'contact')} in the last 7 days",
    "contacts_30d": lambda v: f"{plural(_n(v), 'contact')} in the last 30 days",
    "contacts_90d": lambda v: f"{plural(_n(v), 'contact')} in the last 90 days",
    "sentiment_30d": _sentiment("in the last 30 days"),
    "sentiment_trend": _trend,
    "unresolved_cases": lambda v: plural(_n(v), "unresolved case"),
    "csat_avg": lambda v: f"average CSAT {v:.1f}/5",
    "days_since_activity": _days,
    "orders_90d": lambda v: f"{plural(_n(v), 'order')} in 90 days",
    "problem_orders_90d": lambda v: f"{plural(_n(v), 'delayed, returned or cancelled order')} in 90 days",
    "sentiment_now": _sentiment("in the current message"),
    "sentiment_mean_3": _sentiment("over the last 3 messages"),
    "sentiment_slope": _slope,
    "negative_streak": lambda v: f"{plural(_n(v), 'negative message')} in a row",
    "complaints": lambda v: f"{plural(_n(v), 'complaint')} in this conversation",
    "fallback_count": lambda v: f"the bot failed to understand {plural(_n(v), 'time')}",
    "turn_index": lambda v: f"{plural(_n(v), 'customer message')} so far",
    "repeat_contacts_7d": lambda v: f"contacted us {plural(_n(v), 'other time')} in the last 7 days",
    "wait_minutes": lambda v: f"conversation going on for {plural(_n(v), 'minute')}",
    "churn_risk": _churn,
    "customer_value": lambda v: f"customer lifetime value ${v:,.0f}",
    "intent": _intent,
}
MISSING_PHRASES = {
    "csat_avg": "no CSAT ratings yet",
    "days_since_activity": "no recorded activity",
    "churn_risk": "anonymous visitor (no churn score)",
    "customer_value": "anonymous visitor (value unknown)",
}


def is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def generic_phrase(feature: str, value: Any, typical: Any) -> str:
    """For columns of an arbitrary export: the column, its value and what is typical."""
    if is_missing(value):
        return f"{feature} is missing"
    if isinstance(value, int | float):
        if isinstance(typical, int | float) and not is_missing(typical):
            side = "high" if value > typical else "low"
            return f"{feature} is {side}: {value:g} (typical {typical:g})"
        return f"{feature} = {value:g}"
    return f"{feature} = {value}"


def phrase(feature: str, value: Any, typical: Any, phrasebook: str) -> str:
    if phrasebook == "crm" and feature in CRM_PHRASES:
        if is_missing(value):
            return MISSING_PHRASES.get(feature, f"{feature.replace('_', ' ')} unknown")
        return CRM_PHRASES[feature](value)
    return generic_phrase(feature, value, typical)


def top_reasons(
    contributions: dict[str, float], row: dict[str, Any], typical: dict[str, Any], phrasebook: str, top: int
) -> list[Reason]:
    """The `top` features with the largest effect either way; exact zeros (typical values) are skipped."""
    ranked = sorted(contributions.items(), key=lambda item: abs(item[1]), reverse=True)
    return [
        Reason(name, row.get(name), value, phrase(name, row.get(name), typical.get(name), phrasebook))
        for name, value in ranked[:top]
        if abs(value) > 1e-9
    ]
