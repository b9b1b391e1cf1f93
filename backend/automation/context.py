"""The context a rule's conditions read (the fields are documented in schemas.py), as of an event's time.

Built from the stored rows for both the live engine and the dry-run, so a replayed event sees what a live
one would have seen: the customer message the event is about (or the latest before it), the case open at
that moment (or the event's case), the customer, and the tags added before it. The customer's consent and
contact channels are as stored now, not as of the event: the dry-run then shows what enabling the rule would
do to these customers today.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.automation.evaluator import AutomationEvent
from backend.automation.models import ConversationTag
from backend.cases.models import Case
from backend.conversations.models import Conversation, Message
from backend.customers.models import Customer
from backend.risk.features import signed_sentiment


async def snapshot(session: AsyncSession, event: AutomationEvent) -> dict[str, Any]:
    """Every documented field but the two the evaluator adds per rule (business_hours,
    minutes_since_last_contact); unknown ones are None."""
    context: dict[str, Any] = {}
    conversation = await session.get(Conversation, event.conversation_id) if event.conversation_id else None
    context["owner"] = conversation.owner if conversation is not None else None
    context |= await _message_fields(session, event)
    context |= await _case_fields(session, event)
    customer_id = event.customer_id or (conversation.customer_id if conversation is not None else None)
    customer = await session.get(Customer, customer_id) if customer_id is not None else None
    context["plan"] = customer.plan if customer is not None else None
    context["customer_value"] = float(customer.lifetime_value) if customer is not None else None
    context["language"] = customer.language if customer is not None else context.get("language")
    # No customer (an anonymous visitor) means no consent: marketing actions are blocked for them.
    context["marketing_consent"] = bool(customer.marketing_consent) if customer is not None else False
    context["contact_channels"] = list(customer.contact_channels or []) if customer is not None else []
    context["tags"] = await _tags(session, event)
    return context


async def _message_fields(session: AsyncSession, event: AutomationEvent) -> dict[str, Any]:
    if event.message_id is not None:
        message = await session.get(Message, event.message_id)
    elif event.conversation_id is not None:
        query = (
            select(Message)
            .where(
                Message.conversation_id == event.conversation_id,
                Message.sender == "customer",
                Message.created_at <= event.at,
            )
            .order_by(Message.created_at.desc(), Message.id.desc())
            .limit(1)
        )
        message = (await session.execute(query)).scalar_one_or_none()
    else:
        message = None
    if message is None:
        return {"intent": None, "sentiment_label": None, "sentiment_score": None}
    return {
        "intent": message.intent,
        "sentiment_label": message.sentiment_label,
        "sentiment_score": signed_sentiment(message.sentiment_label, message.sentiment_score),
    }


async def _case_fields(session: AsyncSession, event: AutomationEvent) -> dict[str, Any]:
    case = await session.get(Case, event.case_id) if event.case_id is not None else None
    if case is None and event.conversation_id is not None:
        query = (
            select(Case)
            .where(Case.conversation_id == event.conversation_id, Case.created_at <= event.at)
            .order_by(Case.created_at.desc(), Case.id.desc())
            .limit(1)
        )
        case = (await session.execute(query)).scalar_one_or_none()
    if case is None:
        return {"escalation_score": None, "churn_score": None, "skill": None, "case_waiting_minutes": None,
                "csat": None}  # fmt: skip
    answered = case.first_response_at or case.resolved_at
    waiting = None
    if answered is None or answered > event.at:
        waiting = round(max(event.at - case.created_at, timedelta(0)) / timedelta(minutes=1), 2)
    return {
        "escalation_score": case.escalation_risk,
        "churn_score": case.churn_risk,
        "skill": case.skill,
        "language": case.language,
        "case_waiting_minutes": waiting,
        "csat": case.csat if event.trigger == "csat_received" else None,
    }


async def _tags(session: AsyncSession, event: AutomationEvent) -> list[str]:
    if event.conversation_id is None:
        return []
    query = (
        select(ConversationTag.tag)
        .where(
            ConversationTag.conversation_id == event.conversation_id, ConversationTag.created_at <= event.at
        )
        .order_by(ConversationTag.tag)
    )
    return list((await session.execute(query)).scalars())
