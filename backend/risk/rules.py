"""Rules as data: escalation guardrails that override the model, and the retention-offer table.

Guardrails are checked on the same features the model sees, before the model's score is compared with the
threshold. A matching guardrail always escalates, whatever the model says: the model estimates risk, while
these are promises to the customer (asking for a human gets a human) or cases where the bot has clearly
failed. They only ever add escalations, never suppress one.

| guardrail            | when                       | why                                                  |
|----------------------|----------------------------|------------------------------------------------------|
| explicit_request     | intent == request_human    | a customer who asks for a person gets one            |
| bot_not_understanding| fallback_count >= 3        | three misunderstandings: the bot cannot help here    |

Retention offers: for a cancel intent from a customer whose churn score is at or above
`churn_high_threshold`, the first row of `RETENTION_OFFERS` that matches the customer is offered.

| contract        | lifetime value | plan  | offer                                                      |
|-----------------|----------------|-------|------------------------------------------------------------|
| month-to-month  | >= $500        | any   | 3 months at 25% off, or a one-year contract, first month free |
| month-to-month  | any            | any   | one-year contract with the next month free                 |
| any             | >= $1,000      | any   | 2 months free and the priority support line                |
| any             | any            | basic | a free month of Plus                                       |
| any             | any            | any   | pause the subscription for up to 2 months                  |
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    ">=": operator.ge,
    "<=": operator.le,
    "in": lambda value, allowed: value in allowed,
}


@dataclass(frozen=True)
class Guardrail:
    name: str
    feature: str
    op: str
    value: Any
    reason: str

    def matches(self, features: Mapping[str, Any]) -> bool:
        present = features.get(self.feature)
        return present is not None and OPERATORS[self.op](present, self.value)


GUARDRAILS: tuple[Guardrail, ...] = (
    Guardrail("explicit_request", "intent", "==", "request_human", "the customer asked for a human"),
    Guardrail("bot_not_understanding", "fallback_count", ">=", 3, "the bot failed to understand 3 times"),
)


def triggered(features: Mapping[str, Any], guardrails: tuple[Guardrail, ...] = GUARDRAILS) -> list[Guardrail]:
    return [rule for rule in guardrails if rule.matches(features)]


@dataclass(frozen=True)
class Offer:
    contract: str | None  # None: any contract
    min_value: Decimal
    plan: str | None  # None: any plan
    text: str

    def fits(self, contract: str, value: Decimal, plan: str) -> bool:
        return (
            (self.contract is None or self.contract == contract)
            and value >= self.min_value
            and (self.plan is None or self.plan == plan)
        )


RETENTION_OFFERS: tuple[Offer, ...] = (
    Offer(
        "month-to-month",
        Decimal(500),
        None,
        "Before you go: stay and get 3 months at 25% off, or move to a one-year contract with the first "
        "month free.",
    ),
    Offer("month-to-month", Decimal(0), None, "Move to a one-year contract and your next month is free."),
    Offer(
        None,
        Decimal(1000),
        None,
        "As a long-standing customer you can have 2 months free and our priority support line.",
    ),
    Offer(None, Decimal(0), "basic", "How about a free month of our Plus plan before you decide?"),
    Offer(
        None, Decimal(0), None, "You can pause your subscription for up to 2 months instead of cancelling."
    ),
)


def choose_offer(contract: str, value: Decimal, plan: str) -> str | None:
    for offer in RETENTION_OFFERS:
        if offer.fits(contract, value, plan):
            return offer.text
    return None
