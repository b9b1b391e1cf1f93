"""The retention offer for a customer who asks to cancel: eligibility, the experiment, the log.

Eligible: a known customer who asks to cancel (the bot calls this on the cancel intent, so the intent is
given) with marketing consent, who accepts contact in chat, and who has had fewer offers than the contact
cap (the lower of RETENTION_CONTACT_CAP and their own monthly maximum) in the last RETENTION_CAP_DAYS.

Eligible customers are randomised while the experiment named by RETENTION_EXPERIMENT_KEY runs: its variant
is an offer code of backend/experiments/offers.py, or `control` (no offer). Without a running experiment
the rule table decides as before (backend/risk/rules.py, churn risk at or above the threshold).

Each call writes exactly one `retention_offer` decision row, offer or not, with why; on a customer's first
exposure that row is the experiment assignment's decision (experiment, variant and unit in its inputs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.conversations.models import Conversation
from backend.core.config import Settings
from backend.core.database import utcnow
from backend.customers.models import Customer
from backend.decisions import service as decisions
from backend.decisions.models import Decision
from backend.experiments import policy as uplift_policy
from backend.experiments import service as experiments
from backend.experiments.models import CustomerValue
from backend.experiments.offers import OFFERS
from backend.risk import crm, registry
from backend.risk import service as risk
from backend.risk.features import churn_features
from backend.risk.jsonsafe import json_safe
from backend.risk.rules import RETENTION_OFFERS

CHAT = "chat"
# What brought the customer to the offer: their own cancellation request, or an automation rule.
Trigger = Literal["cancel_request", "automation_rule"]


@dataclass(frozen=True)
class OfferDecision:
    offer: str | None
    churn_risk: float | None
    threshold: float
    reasons: list[str] = field(default_factory=list)


async def offers_made(session: AsyncSession, customer_id: int, days: int) -> int:
    since = utcnow() - timedelta(days=days)
    query = select(func.count(Decision.id)).where(
        Decision.kind == "retention_offer",
        Decision.customer_id == customer_id,
        Decision.action.like("offer:%"),
        Decision.created_at >= since,
    )
    return int((await session.execute(query)).scalar_one())


def contact_cap(customer: Customer, settings: Settings) -> int:
    own = customer.max_offers_per_month
    return settings.retention_contact_cap if own is None else min(own, settings.retention_contact_cap)


async def ineligible_because(session: AsyncSession, customer: Customer, settings: Settings) -> list[str]:
    """Why this customer may not get an offer now; empty when they may."""
    why = []
    if not customer.marketing_consent:
        why.append("no marketing consent")
    if CHAT not in (customer.contact_channels or []):
        why.append("the customer does not accept offers in chat")
    made = await offers_made(session, customer.id, settings.retention_cap_days)
    cap = contact_cap(customer, settings)
    if made >= cap:
        why.append(f"contact cap reached: {made} offers in {settings.retention_cap_days} days, cap {cap}")
    return why


@dataclass(frozen=True)
class Verdict:
    """Who decided and what: the offer's text (None: no offer), its code for the log, version and why."""

    offer: str | None
    code: str
    version: str
    reasons: list[str]
    scores: dict[str, float] = field(default_factory=dict)


async def decide(
    session: AsyncSession,
    conversation: Conversation,
    customer: Customer,
    settings: Settings,
    trigger: Trigger = "cancel_request",
) -> OfferDecision:
    """Decide, log one decision row (and the assignment on a first exposure); the caller commits. `trigger`
    says what brought the customer here: their own cancellation request, or an automation rule."""
    threshold = settings.churn_high_threshold
    score = await risk.churn_for_turn(session, conversation, settings, utcnow())
    blocked = await ineligible_because(session, customer, settings)
    experiment = await experiments.by_key(session, settings.retention_experiment_key)
    exposure = None
    if not blocked and experiment is not None:
        exposure = await experiments.expose(session, experiment, str(customer.id))
    inputs = await _inputs(session, customer, experiment if exposure else None, exposure, trigger)
    if blocked:
        verdict = Verdict(None, "no_offer", "eligibility rules", blocked)
    elif exposure is not None:
        verdict = _randomised(experiment.key, exposure)  # type: ignore[union-attr]
    else:
        served = uplift_policy.load(settings.uplift_policy_path)
        if served is not None and inputs["features"] is not None:
            verdict = _by_policy(served, inputs)
        else:
            verdict = await _by_rules(session, customer, score, threshold)
    decision = decisions.record(
        session, "retention_offer", action=verdict.code, version=verdict.version,
        inputs=inputs | {"offer": verdict.offer},
        scores=({"churn_risk": score} if score is not None else {}) | verdict.scores,
        score=score, threshold=threshold, reasons=verdict.reasons,
        conversation_id=conversation.id, customer_id=customer.id,
    )  # fmt: skip
    if exposure is not None and exposure.first and experiment is not None:
        await session.flush()
        unit = str(customer.id)
        experiments.enrol(session, experiment, unit, exposure.variant, decision, customer.id, conversation.id)
    return OfferDecision(verdict.offer, score, threshold, verdict.reasons)


def _randomised(key: str, exposure: experiments.Exposure) -> Verdict:
    arm = OFFERS.get(exposure.variant)
    why = f"randomised: variant {exposure.variant}" + ("" if exposure.first else " (sticky)")
    if arm is None:
        return Verdict(None, "no_offer", f"experiment {key}", [why])
    return Verdict(arm.text, f"offer:{arm.code}", f"experiment {key}", [why])


def _by_policy(served: uplift_policy.UpliftPolicy, inputs: dict[str, Any]) -> Verdict:
    chosen, uplift, value = served.decide(inputs["features"], inputs["clv_used"], inputs["monthly_charge"])
    why = [f"uplift policy: {chosen or 'no offer'} (uplift {uplift:.3f}, value ${value:.2f})"]
    return Verdict(
        OFFERS[chosen].text if chosen else None,
        f"offer:{chosen}" if chosen else "no_offer",
        f"uplift {served.version}"[:128],
        why,
        {"uplift": uplift, "value": value},
    )


async def _by_rules(
    session: AsyncSession, customer: Customer, score: float | None, threshold: float
) -> Verdict:
    """The offer table (backend/risk/rules.py) for a churn risk at or above the threshold."""
    offer = risk.retention_offer(customer, score, threshold) if score is not None else None
    churn_model = await registry.production(session, "churn")
    version = f"churn {churn_model.version if churn_model else 'none'} + offer rules"
    reasons = [] if score is not None else ["no churn score: no production churn model"]
    return Verdict(offer, rule_code(offer), version, reasons)


async def _inputs(
    session: AsyncSession,
    customer: Customer,
    experiment: Any,
    exposure: experiments.Exposure | None,
    trigger: Trigger,
) -> dict[str, Any]:
    value = await session.get(CustomerValue, customer.id)
    now = utcnow()
    found = await crm.customer_snapshots(session, now, [customer.id])
    # The churn features at the decision, computed from the CRM whether or not a churn model exists, so
    # the uplift model can learn from every logged unit (make train-uplift ARGS=--from-decisions).
    features = json_safe(churn_features(found[customer.id][1], now)) if customer.id in found else None
    inputs: dict[str, Any] = {
        "contract": customer.contract,
        "plan": customer.plan,
        "lifetime_value": float(customer.lifetime_value),
        "clv": value.value if value else None,
        # Without a stored estimate (make clv not run yet) the policy weighs the rule-of-thumb value.
        "clv_used": value.value if value else default_clv(customer),
        "monthly_charge": float(customer.monthly_charge),
        "marketing_consent": customer.marketing_consent,
        "trigger": trigger,
        "cancel_intent": trigger == "cancel_request",
        "features": features,
    }
    if experiment is not None and exposure is not None:
        inputs |= {"experiment": experiment.key, "variant": exposure.variant, "unit_id": str(customer.id)}
    return inputs


def rule_code(offer: str | None) -> str:
    """The rule table's offer as a short code for the log: its row in backend/risk/rules.py."""
    if offer is None:
        return "no_offer"
    rows = [row.text for row in RETENTION_OFFERS]
    return f"offer:{rows.index(offer) + 1}" if offer in rows else "offer:other"


def default_clv(customer: Customer) -> float:
    """ml/clv.py's formula with its month-to-month retention (the shortest): the charge times about 20
    discounted months. Used only until `make clv` has stored an estimate."""
    return float(customer.monthly_charge) * DEFAULT_VALUE_MONTHS


DEFAULT_VALUE_MONTHS = 20.4  # sum over 36 months of 0.9761^t / 1.01^t
