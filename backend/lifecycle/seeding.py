"""Seeded past: a whole conversation, and the case it handed over, written in one go with their own times.

The live transitions (conversations.py, handoff.py, cases.py) stamp `utcnow()`, commit one step at a time and
publish events for the live dashboard; none of that fits a history that happened weeks ago. This writes the
same columns those transitions write, in the states they leave them in (a resolved case: assigned, accepted,
first answered, resolved, maybe rated, the conversation back with the bot), so the CRM reads a seeded
conversation exactly as one the product made. Nothing is published: those events are past. The caller
commits. Used only by backend/seed_history.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from backend.cases.models import Case
from backend.conversations.models import Conversation, Message
from backend.lifecycle.cases import CSAT_QUESTION


@dataclass(frozen=True)
class PastMessage:
    sender: str  # customer, bot, agent, system
    text: str
    at: datetime
    intent: str | None = None
    intent_confidence: float | None = None
    sentiment_label: str | None = None
    sentiment_score: float | None = None
    agent_id: int | None = None
    author_name: str | None = None


@dataclass(frozen=True)
class PastCase:
    """A hand-off and what came of it; `resolved_at` None leaves it open with its agent (accepted)."""

    reason: str
    skill: str
    created_at: datetime
    agent_id: int
    agent_name: str
    accepted_at: datetime
    first_response_at: datetime
    first_response_text: str
    resolved_at: datetime | None
    disposition: str | None
    csat: int | None
    priority: float
    customer_value: float | None


async def add_past_conversation(
    session: AsyncSession, customer_id: int | None, messages: Sequence[PastMessage], case: PastCase | None
) -> tuple[Conversation, list[Message], Case | None]:
    """The conversation, its messages (oldest first; bot replies point at the customer message they
    answer) and its case; flushed, so ids are known. Customer messages before the hand-off were answered
    by the bot (`bot_status` done); the case's own messages follow them."""
    conversation = Conversation(
        customer_id=customer_id, channel="web", owner="bot", status="resolved", started_at=messages[0].at
    )
    session.add(conversation)
    await session.flush()
    rows = [
        Message(
            conversation_id=conversation.id,
            sender=past.sender,
            text=past.text,
            intent=past.intent,
            intent_confidence=past.intent_confidence,
            sentiment_label=past.sentiment_label,
            sentiment_score=past.sentiment_score,
            agent_id=past.agent_id,
            author_name=past.author_name,
            created_at=past.at,
            bot_status="done" if past.sender == "customer" else None,
            answered_at=past.at if past.sender == "customer" else None,
        )
        for past in messages
    ]
    session.add_all(rows)
    await session.flush()
    # A bot reply answers the customer message before it: ids are known only now (one more flush below,
    # rather than one per message).
    last_customer: Message | None = None
    for row in rows:
        if row.sender == "customer":
            last_customer = row
        elif row.sender == "bot" and last_customer is not None:
            row.in_reply_to = last_customer.id
    last = messages[-1].at
    seeded_case = None
    if case is not None:
        seeded_case, extra = _past_case(conversation, customer_id, case)
        session.add(seeded_case)
        session.add_all(extra)
        rows += extra
        last = max([last, *(m.created_at for m in extra)])
        if case.resolved_at is None:  # still with its agent, as cases.accept leaves it
            conversation.owner, conversation.assigned_agent_id = "human", case.agent_id
            conversation.status = "open"
    conversation.last_message_at = last
    await session.flush()
    return conversation, rows, seeded_case


def _past_case(
    conversation: Conversation, customer_id: int | None, case: PastCase
) -> tuple[Case, list[Message]]:
    row = Case(
        conversation_id=conversation.id,
        customer_id=customer_id,
        status="accepted" if case.resolved_at is None else "resolved",
        reason=case.reason,
        skill=case.skill,
        language="en",
        priority=case.priority,
        customer_value=case.customer_value,
        assigned_agent_id=case.agent_id,
        created_at=case.created_at,
        sla_due_at=case.created_at + timedelta(minutes=5),
        assigned_at=case.accepted_at,
        accepted_at=case.accepted_at,
        first_response_at=case.first_response_at,
        resolved_at=case.resolved_at,
        disposition=case.disposition,
        csat=case.csat,
    )
    extra = [
        Message(
            conversation_id=conversation.id,
            sender="agent",
            agent_id=case.agent_id,
            author_name=case.agent_name,
            text=case.first_response_text,
            created_at=case.first_response_at,
        )
    ]
    if case.resolved_at is not None:
        extra.append(
            Message(
                conversation_id=conversation.id,
                sender="system",
                text=CSAT_QUESTION,
                created_at=case.resolved_at,
            )
        )
    return row, extra
