"""Capturing a lead, scoring it, logging the score as a decision, and its status afterwards.

Capture is idempotent per conversation (a unique key on `leads.conversation_id`): the first sales message of
a conversation makes the lead, later ones return it unchanged, also when two arrive at once. A plan change
makes a lead only when it is an upgrade, never routes it, and a later sales message re-scores that lead
instead of being ignored (see `capture`). Whether the conversation then goes to the sales team is the
caller's step (backend/service_api/views.py), through the lifecycle's hand-over, so this module never
changes a conversation or a case itself.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.conversations.models import Conversation, Message
from backend.core.config import Settings
from backend.core.database import utcnow
from backend.customers.models import Customer
from backend.decisions import service as decisions
from backend.leads import crm, scoring, signals, upgrade
from backend.leads.features import lead_features
from backend.leads.models import FINAL, STATUSES, Lead
from backend.risk.jsonsafe import json_safe

SALES_TEAM = "sales"
# The bot's plan-change intent: an upgrade is sales interest (backend/leads/upgrade.py), a downgrade is not.
UPGRADE_INTENT = "change_plan"


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
    session: AsyncSession,
    conversation: Conversation,
    intent: str,
    settings: Settings,
    plan: str | None = None,
) -> Captured | None:
    """The conversation's lead, made and scored now unless it exists; the caller commits.

    A plan change (`UPGRADE_INTENT`, `plan` the plan the bot heard asked for) is a lead only when it is an
    upgrade (backend/leads/upgrade.py), else None; such a lead is never routed (the bot answers the plan
    question itself), and a later sales message in the conversation re-scores it, routing included.
    """
    existing = await by_conversation(session, conversation.id)
    if existing is not None and not (_silent_upgrade(existing) and intent != UPGRADE_INTENT):
        return Captured(existing, False, False)
    started = time.perf_counter()
    now = utcnow()
    # The hub stores the customer's message before the bot is asked, so the sales message is the newest one.
    message = await _last_customer_message(session, conversation.id)
    text = message.text if message else ""
    said = signals.read(text)
    customer = await session.get(Customer, conversation.customer_id) if conversation.customer_id else None
    facts = await crm.customer_facts(session, customer, now, conversation.id) if customer else None
    inputs: dict[str, Any] = {"source_intent": intent}
    if intent == UPGRADE_INTENT:
        change = upgrade.read(text, plan, customer.plan if customer else None)
        if not change.upgrade:
            return None
        said = replace(said, interest="upgrade")
        inputs["plan_change"] = asdict(change)
    row = lead_features(facts, said)
    inputs["features"] = json_safe(row)
    scored = scoring.score(row, settings.lead_model_path)
    routable = intent != UPGRADE_INTENT
    route = routable and scored.score >= settings.lead_route_threshold
    fields: dict[str, Any] = {
        "source_message_id": message.id if message else None, "source_intent": intent,
        "interest": said.interest, "quantity": said.quantity, "score": scored.score,
        "rules_score": scored.rules_score, "reasons": scored.reasons, "features": json_safe(row),
        "model_version": scored.version, "routed_to": SALES_TEAM if route else None,
    }  # fmt: skip
    if existing is not None:  # a silent upgrade lead, now the customer's sales message: score that instead
        inputs["rescores_decision_id"] = existing.decision_id
        for name, value in fields.items():
            setattr(existing, name, value)
        lead = existing
    else:
        lead = Lead(
            customer_id=conversation.customer_id, conversation_id=conversation.id, created_at=now,
            status="new", **fields,
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
        inputs=inputs, scores=scored.scores, score=scored.score,
        threshold=settings.lead_route_threshold if routable else None,
        reasons=[reason["text"] for reason in scored.reasons], fallback=scored.fallback,
        latency_ms=(time.perf_counter() - started) * 1000, conversation_id=conversation.id,
        customer_id=conversation.customer_id, message_id=message.id if message else None, at=now,
    )  # fmt: skip
    await session.flush()
    lead.decision_id = decision.id
    return Captured(lead, existing is None, route)


def _silent_upgrade(lead: Lead) -> bool:
    """A plan-change lead nobody has acted on yet: a sales message in its conversation may still route it."""
    return lead.source_intent == UPGRADE_INTENT and lead.status == "new" and lead.routed_to is None


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
