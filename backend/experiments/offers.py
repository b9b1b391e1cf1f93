"""The retention offers an experiment (or the uplift policy) can make, with what each costs.

Costs are the revenue given up if the customer takes the offer, as a share of the monthly charge: an
assumption of the demo shop written down here, used by the uplift policy (ml/uplift.py) as `cost`.

| code           | what the customer reads                                         | cost (x monthly charge) |
|----------------|-----------------------------------------------------------------|-------------------------|
| discount_3m    | 3 months at 25% off                                             | 0.75                    |
| free_month     | the next month free                                             | 1.0                     |
| pause_2m       | pause for up to 2 months instead of cancelling                  | 0.3 (revenue deferred)  |

A variant named `control` (or any name not in this table) makes no offer.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RetentionOffer:
    code: str
    text: str
    cost_months: float

    def cost(self, monthly_charge: float) -> float:
        return self.cost_months * monthly_charge


OFFERS: dict[str, RetentionOffer] = {
    offer.code: offer
    for offer in (
        RetentionOffer("discount_3m", "Before you go: stay and get 3 months at 25% off.", 0.75),
        RetentionOffer("free_month", "Stay with us and your next month is free.", 1.0),
        RetentionOffer(
            "pause_2m", "You can pause your subscription for up to 2 months instead of cancelling.", 0.3
        ),
    )
}
CONTROL = "control"
