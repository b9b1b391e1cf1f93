"""The demo's past leads: weeks of sales interest with **simulated** outcomes (backend/leads/simulation.py).

Run at the end of the seeded history (backend/seed_history.py). Each past lead belongs to a seeded customer
(or, for about one in five, an anonymous visitor) and is described by that customer's real CRM facts at the
time; only the hidden traits, the message and whether it converted are drawn. Leads have no conversation:
the history's conversations are the labelled dev sets' own, and a lead's message is not one of them. Each
past score is a logged `lead` decision at its time, scored as the backend would have then (the served model
if one exists, else the rules); a lead older than FOLLOW_UP_DAYS has its outcome, won or lost, as the
simulator decided; younger ones are still new or contacted.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.config import Settings
from backend.customers.models import Customer
from backend.decisions import service as decisions
from backend.leads import crm, scoring, signals, simulation
from backend.leads.features import CustomerFacts, lead_features
from backend.leads.models import Lead
from backend.leads.service import SALES_TEAM
from backend.risk.jsonsafe import json_safe

PAST_LEADS = 90
FOLLOW_UP_DAYS = 14
SEEDED_BY = "seed (simulated outcome)"


async def seed_past_leads(
    session: AsyncSession, rng: random.Random, end: datetime, weeks: int, settings: Settings
) -> int:
    """Write PAST_LEADS leads between `end - weeks` and `end`, with their decisions; the caller commits."""
    customers = list((await session.execute(select(Customer).order_by(Customer.id))).scalars())
    if not customers or weeks < 1:
        return 0
    start, span = end - timedelta(weeks=weeks), timedelta(weeks=weeks) - timedelta(hours=1)
    known: dict[int, simulation.Traits] = {}  # a returning buyer keeps their hidden traits
    for _ in range(PAST_LEADS):
        at = start + span * rng.random()
        customer = None if rng.random() < simulation.ANONYMOUS_SHARE else rng.choice(customers)
        facts = await crm.customer_facts(session, customer, at) if customer else None
        traits = known.setdefault(customer.id, simulation.draw_traits(facts, rng)) if customer else None
        drawn = simulation.draw_lead(facts, rng, traits)
        await _one(session, customer, facts, drawn, at, end, rng, settings)
    await session.flush()
    return PAST_LEADS


async def _one(
    session: AsyncSession,
    customer: Customer | None,
    facts: CustomerFacts | None,
    drawn: simulation.SimulatedLead,
    at: datetime,
    end: datetime,
    rng: random.Random,
    settings: Settings,
) -> None:
    said = signals.read(drawn.message)
    row = lead_features(facts, said)
    scored = scoring.score(row, settings.lead_model_path)
    routed = scored.score >= settings.lead_route_threshold
    decision = decisions.record(
        session, "lead", action=f"route:{SALES_TEAM}" if routed else "list", version=scored.version,
        inputs={"features": json_safe(row), "source_intent": "sales_inquiry", "seeded": True},
        scores=scored.scores, score=scored.score, threshold=settings.lead_route_threshold,
        reasons=[reason["text"] for reason in scored.reasons], fallback=scored.fallback,
        customer_id=customer.id if customer else None, at=at,
    )  # fmt: skip
    await session.flush()
    lead = Lead(
        customer_id=customer.id if customer else None, source_intent="sales_inquiry", interest=said.interest,
        quantity=said.quantity, created_at=at, score=scored.score, rules_score=scored.rules_score,
        reasons=scored.reasons, features=json_safe(row), model_version=scored.version,
        routed_to=SALES_TEAM if routed else None, decision_id=decision.id, status="new",
    )  # fmt: skip
    contacted = at + timedelta(hours=rng.uniform(2, 48))
    decided = at + timedelta(days=rng.uniform(2, FOLLOW_UP_DAYS))
    if decided <= end - timedelta(hours=1) and end - at >= timedelta(days=FOLLOW_UP_DAYS):
        lead.status, lead.contacted_at, lead.outcome_at = (
            ("won" if drawn.converted else "lost"),
            contacted,
            decided,
        )
        lead.status_by = SEEDED_BY
    elif contacted < end and rng.random() < 0.6:
        lead.status, lead.contacted_at, lead.status_by = "contacted", contacted, SEEDED_BY
    session.add(lead)
