"""A seeded simulator of sales leads and whether they converted. **Every outcome from it is simulated.**

The demo shop has no sales history, so the past leads of the demo seed (backend/leads/seeding.py) and the
evaluation of the lead model against the rules (ml/leads.py, `make eval-leads`) both come from here.

The story: each buyer has hidden traits nobody in the product observes: whether they buy for a business,
how many people or units they really need, a monthly budget, how pressing the need is (0-1) and whether it
is urgent. Conversion is a coin flip whose odds grow with budget, need, business, size and urgency. The
product sees the traits only through noisy windows: the account's plan and past spend (which the budget
partly follows), an e-mail domain (a business writes from a company domain only sometimes), a quantity the
customer may or may not name (and names roughly), and the wording of the message. So the outcome is never a
function of the features: two leads with identical features convert with different odds, and a lead with
given odds may or may not convert.

The CRM side of a simulated buyer (`draw_facts`) follows the demo seed's own distributions
(backend/seed.py: plans 5:3:2, tenure up to four years, a few orders); for the demo's seeded customers the
real CRM facts are used instead and only the hidden traits, the message and the outcome are drawn.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from backend.leads import signals
from backend.leads.features import CustomerFacts

PLANS = ("basic", "plus", "pro")
PLAN_RANK = {"basic": 0, "plus": 1, "pro": 2, "anonymous": 0}
COMPANY_DOMAINS = (
    "acme-logistics.com", "brightpath.io", "fjord-outdoor.no", "harbourworks.co.uk", "kestrel-labs.com",
    "lumen-events.com", "northpeak-schools.org", "oakridge-clinic.com", "pinecrest-hotels.com",
    "summit-guides.de", "tidewater.coop", "verde-farms.com",
)  # fmt: skip
FREE_DOMAINS = ("gmail.com", "outlook.com", "yahoo.com", "icloud.com", "gmx.de")
ANONYMOUS_SHARE = 0.2


@dataclass(frozen=True)
class Traits:
    """What decides the outcome and is never shown to the model."""

    business: bool
    size: int  # people or units actually needed
    budget: float  # USD per month the buyer can spend
    need: float  # 0-1, how pressing
    urgent: bool


@dataclass(frozen=True)
class SimulatedLead:
    message: str
    traits: Traits
    probability: float  # the true conversion odds (for the evaluation's report, never a feature)
    converted: bool


def draw_facts(rng: random.Random) -> CustomerFacts | None:
    """A buyer's CRM record as the demo seed would have made it; None for an anonymous visitor."""
    if rng.random() < ANONYMOUS_SHARE:
        return None
    plan = rng.choices(PLANS, weights=[5, 3, 2])[0]
    orders = rng.choices(range(6), weights=[20, 25, 20, 15, 12, 8])[0]
    spend = sum(rng.uniform(25, 160) for _ in range(orders))
    kind = rng.choices(("company", "free", "reserved"), weights=[20, 55, 25])[0]
    pool = {"company": COMPANY_DOMAINS, "free": FREE_DOMAINS}.get(kind, ("example.com",))
    domain = rng.choice(pool)
    charge = {"basic": 4.99, "plus": 14.99, "pro": 29.99}[plan]
    return CustomerFacts(
        tenure_months=round(rng.uniform(10, 1500) / 30.4, 1),
        plan=plan,
        orders_365d=orders,
        spend_365d=round(spend, 2),
        prior_contacts_90d=min(int(rng.expovariate(0.7)), 8),
        email_domain=domain,
        clv=round(charge * rng.uniform(12, 30), 2) if rng.random() < 0.6 else None,
    )


def draw_traits(facts: CustomerFacts | None, rng: random.Random) -> Traits:
    """A buyer's hidden traits, leaning on what the CRM holds (so the CRM is informative, not decisive)."""
    kind = _domain_kind(facts)
    business = rng.random() < {"company": 0.75, "free": 0.2}.get(kind, 0.35) + (
        0.1 if facts and facts.plan == "pro" else 0.0
    )
    size = max(2, round(rng.lognormvariate(math.log(25 if business else 3), 1.0 if business else 0.6)))
    plan = PLAN_RANK[facts.plan if facts else "anonymous"]
    spend = math.log1p((facts.spend_365d if facts else 0.0) / 100)
    budget = rng.lognormvariate(math.log(100) + 0.6 * business + 0.3 * plan + 0.5 * spend, 0.8)
    return Traits(business, size, round(budget, 2), rng.betavariate(2, 2), rng.random() < 0.3)


def conversion_probability(traits: Traits, facts: CustomerFacts | None) -> float:
    logit = (
        -2.6
        + 0.9 * math.log(traits.budget / 100)
        + 2.2 * (traits.need - 0.5)
        + 0.6 * traits.business
        + 0.35 * math.log10(traits.size)
        + 0.8 * traits.urgent
        # A long relationship helps a little; many recent contacts mean a customer busy with problems.
        + (0.25 * min(facts.tenure_months, 36) / 12 - 0.15 * facts.prior_contacts_90d if facts else -0.2)
    )
    return 1 / (1 + math.exp(-logit))


INTEREST_WEIGHTS = {
    True: {"team_plan": 35, "bulk_order": 25, "business_account": 30, "quote": 10, "upgrade": 0},
    False: {"upgrade": 40, "bulk_order": 25, "quote": 30, "team_plan": 5, "business_account": 0},
}
OPENINGS = {
    "team_plan": "We'd like a team plan with seats for our staff",
    "bulk_order": "Do you do bulk orders? We need a volume price",
    "business_account": "Can we open a business account with invoicing for our company",
    "upgrade": "I'm thinking about an upgrade to a higher tier",
    "quote": "Could you send me a quote",
}
UNIT_WORDS = {
    "team_plan": "seats",
    "bulk_order": "units",
    "business_account": "people",
    "upgrade": "users",
    "quote": "items",
}


def message_for(traits: Traits, rng: random.Random) -> str:
    """What the buyer writes: the interest in words, maybe a rough quantity, maybe an address."""
    weights = INTEREST_WEIGHTS[traits.business]
    interest = rng.choices(list(weights), weights=list(weights.values()))[0]
    parts = [OPENINGS[interest]]
    if rng.random() < 0.3 + 0.4 * traits.need:
        said = max(2, round(traits.size * rng.lognormvariate(0, 0.4)))
        parts.append(f"for about {said} {UNIT_WORDS[interest]}")
    if traits.urgent and rng.random() < 0.5:
        parts.append("as soon as possible")
    text = " ".join(parts) + "."
    if traits.business and rng.random() < 0.5:
        text += f" You can reach me at buyer@{rng.choice(COMPANY_DOMAINS)}."
    elif not traits.business and rng.random() < 0.2:
        text += f" My e-mail is someone@{rng.choice(FREE_DOMAINS)}."
    return text


def draw_lead(facts: CustomerFacts | None, rng: random.Random, traits: Traits | None = None) -> SimulatedLead:
    """One lead of a buyer (their traits if known: a returning buyer keeps them, only the moment changes)."""
    traits = traits or draw_traits(facts, rng)
    # Need and urgency belong to the moment, not the buyer.
    traits = Traits(traits.business, traits.size, traits.budget, rng.betavariate(2, 2), rng.random() < 0.3)
    probability = conversion_probability(traits, facts)
    return SimulatedLead(message_for(traits, rng), traits, probability, rng.random() < probability)


def _domain_kind(facts: CustomerFacts | None) -> str:
    kind = signals.email_kind(facts.email_domain if facts else None)
    return {"business": "company", "free": "free"}.get(kind, "other")
