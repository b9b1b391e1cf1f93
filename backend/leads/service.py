"""Capturing a lead, scoring it, logging the score as a decision, and its status afterwards.

Capture is idempotent per conversation (a unique key on `leads.conversation_id`): the first sales message of
a conversation makes the lead, later ones return it unchanged, also when two arrive at once. Whether the
conversation then goes to the sales team is the caller's step (backend/service_api/views.py), through the
lifecycle's hand-over, so this module never changes a conversation or a case itself.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.conversations.models import Conversation, Message
from backend.core.config import Settings
from backend.core.database import utcnow
from backend.customers.models import Customer
from backend.decisions import service as decisions
from backend.leads import crm, scoring, signals
from backend.leads.features import lead_features
from backend.leads.models import FINAL, STATUSES, Lead
from backend.risk.jsonsafe import json_safe

SALES_TEAM = "sales"


class StatusError(ValueError):
    """A status change the lead's state does not allow (the message says why)."""


@dataclass(frozen=True)
class Captured:
    lead: Lead
    created: bool
    route: bool  # scored at or above LEAD_ROUTE_THRESHOLD: the caller hands the conversation to sales


async def by_conversation(session: AsyncSession, conversation_id: str) -> Lead | None:
    query = select(Lead).where(Lead.conversation_id == conversation_id)
    return (await session.execute(query)).scalar_one_or_none()


async def _last_customer_message(session: AsyncSession, conversation_id: str) -> Message | None:
    query = (
        select(Message)
        .where(Message.conversation_id == conversation_id, Message.sender == "customer")
        .order_by(Message.id.desc())
        .limit(1)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def capture(
    session: AsyncSession, conversation: Conversation, intent: str, settings: Settings
) -> Captured:
    """The conversation's lead, made and scored now unless it exists; the caller commits."""
    existing = await by_conversation(session, conversation.id)
    if existing is not None:
        return Captured(existing, False, False)
    started = time.perf_counter()
    now = utcnow()
    # The hub stores the customer's message before the bot is asked, so the sales message is the newest one.
    message = await _last_customer_message(session, conversation.id)
    said = signals.read(message.text if message else "")
    customer = await session.get(Customer, conversation.customer_id) if conversation.customer_id else None
    facts = await crm.customer_facts(session, customer, now, conversation.id) if customer else None
    row = lead_features(facts, said)
    scored = scoring.score(row, settings.lead_model_path)
    route = scored.score >= settings.lead_route_threshold
    lead = Lead(
        customer_id=conversation.customer_id, conversation_id=conversation.id,
        source_message_id=message.id if message else None, source_intent=intent, interest=said.interest,
        quantity=said.quantity, created_at=now, score=scored.score, rules_score=scored.rules_score,
        reasons=scored.reasons, features=json_safe(row), model_version=scored.version,
        routed_to=SALES_TEAM if route else None, status="new",
    )  # fmt: skip
    try:
        async with session.begin_nested():  # a concurrent capture of the same conversation loses here
            session.add(lead)
            await session.flush()
    except IntegrityError:
        found = await by_conversation(session, conversation.id)
        if found is None:
            raise
        return Captured(found, False, False)
    decision = decisions.record(
        session, "lead", action=f"route:{SALES_TEAM}" if route else "list", version=scored.version,
        inputs={"features": json_safe(row), "source_intent": intent}, scores=scored.scores,
        score=scored.score, threshold=settings.lead_route_threshold,
        reasons=[reason["text"] for reason in scored.reasons], fallback=scored.fallback,
        latency_ms=(time.perf_counter() - started) * 1000, conversation_id=conversation.id,
        customer_id=conversation.customer_id, message_id=message.id if message else None, at=now,
    )  # fmt: skip
    await session.flush()
    lead.decision_id = decision.id
    return Captured(lead, True, route)


def set_status(lead: Lead, status: str, note: str | None, by: str, at: datetime | None = None) -> None:
    """new -> contacted -> won | lost (or straight to won or lost); won and lost are final."""
    if status not in STATUSES or status == "new":
        raise StatusError(f"a lead moves to contacted, won or lost, not {status!r}")
    if lead.status in FINAL:
        raise StatusError(f"the lead is already {lead.status}; an outcome is final")
    if lead.status == status:
        raise StatusError(f"the lead is already {status}")
    when = at or utcnow()
    lead.status, lead.status_note, lead.status_by = status, note, by
    if status == "contacted":
        lead.contacted_at = when
    else:
        lead.outcome_at = when


async def search(
    session: AsyncSession, status: str | None, min_score: float | None, limit: int, offset: int
) -> list[Lead]:
    """Newest first."""
    query = select(Lead).order_by(Lead.created_at.desc(), Lead.id.desc()).limit(limit).offset(offset)
    if status is not None:
        query = query.where(Lead.status == status)
    if min_score is not None:
        query = query.where(Lead.score >= min_score)
    return list((await session.execute(query)).scalars())
