"""A lead's features: what the product knows when the customer says they want to buy, nothing later.

`lead_features` is a pure function of plain values, shared by live capture (read from the CRM by
`backend/leads/crm.py`), the demo's seeded past leads and the offline training and evaluation (ml/leads.py),
so all three compute the same numbers the same way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from backend.leads import signals

NUMERIC = ("tenure_months", "orders_365d", "spend_365d", "prior_contacts_90d", "quantity_log10", "clv")
CATEGORICAL = ("plan", "email_kind", "interest")
FEATURES = NUMERIC + CATEGORICAL


@dataclass(frozen=True)
class CustomerFacts:
    """The CRM's side at capture time; None for an anonymous visitor."""

    tenure_months: float
    plan: str
    orders_365d: int
    spend_365d: float
    prior_contacts_90d: int
    email_domain: str | None
    clv: float | None  # customer_values (make clv); None until estimated


def lead_features(facts: CustomerFacts | None, message: signals.Signals) -> dict[str, Any]:
    """One row of FEATURES. A domain named in the message beats the account's (the buyer's work address).
    Missing values stay None: the models treat "not said" and "anonymous" as information of their own."""
    domain = message.email_domain or (facts.email_domain if facts else None)
    quantity = message.quantity
    return {
        "tenure_months": facts.tenure_months if facts else None,
        "orders_365d": facts.orders_365d if facts else None,
        "spend_365d": facts.spend_365d if facts else None,
        "prior_contacts_90d": facts.prior_contacts_90d if facts else None,
        # Orders of magnitude: 10 seats and 12 are the same lead, 10 and 1,000 are not.
        "quantity_log10": math.log10(quantity) if quantity else None,
        "clv": facts.clv if facts else None,
        "plan": facts.plan if facts else "anonymous",
        "email_kind": signals.email_kind(domain),
        "interest": message.interest,
    }
