"""Reading the CRM into the records of backend/risk/features.py: customers (one, some or all) and one turn.

Scoring, population drift and the analytics segments read through here; training reads whole histories
through the same functions (ml/risk/crm_history.py), so live and training features cannot drift apart.
Queries are batched per table (never one query per customer) so reading a large CRM stays linear.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.cases.models import Case
from backend.conversations.models import Conversation, Message
from backend.customers.models import Customer, Order
from backend.risk.features import CustomerSnapshot, Turn, TurnContext, signed_sentiment

WINDOW = timedelta(days=90)


def _only(query: Select[Any], column: Any, ids: Sequence[int] | None) -> Select[Any]:
    return query if ids is None else query.where(column.in_(ids))


async def customer_snapshots(
    session: AsyncSession, now: datetime, ids: Sequence[int] | None = None
) -> dict[int, tuple[Customer, CustomerSnapshot]]:
    """Every customer (or those in `ids`) with the activity churn features need."""
    since = now - WINDOW
    customers = (await session.execute(_only(select(Customer), Customer.id, ids))).scalars().all()
    starts: dict[int, list[datetime]] = defaultdict(list)
    query = select(Conversation.customer_id, Conversation.started_at).where(Conversation.started_at >= since)
    for customer_id, started in await session.execute(_only(query, Conversation.customer_id, ids)):
        starts[customer_id].append(started)
    sentiments: dict[int, list[tuple[datetime, float]]] = defaultdict(list)
    query = (
        select(Conversation.customer_id, Message.created_at, Message.sentiment_label, Message.sentiment_score)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(Message.sender == "customer", Message.created_at >= since)
    )
    for customer_id, at, label, score in await session.execute(_only(query, Conversation.customer_id, ids)):
        value = signed_sentiment(label, score)
        if value is not None:
            sentiments[customer_id].append((at, value))
    unresolved: dict[int, int] = defaultdict(int)
    ratings: dict[int, list[int]] = defaultdict(list)
    query = select(Case.customer_id, Case.status, Case.csat)
    for customer_id, status, csat in await session.execute(_only(query, Case.customer_id, ids)):
        unresolved[customer_id] += status != "resolved"
        if csat is not None:
            ratings[customer_id].append(csat)
    orders: dict[int, list[tuple[datetime, str]]] = defaultdict(list)
    query = select(Order.customer_id, Order.placed_at, Order.status).where(Order.placed_at >= since)
    for customer_id, placed, status in await session.execute(_only(query, Order.customer_id, ids)):
        orders[customer_id].append((placed, status))
    return {
        c.id: (
            c,
            CustomerSnapshot(
                plan=c.plan,
                contract=c.contract,
                monthly_charge=float(c.monthly_charge),
                lifetime_value=float(c.lifetime_value),
                signup_date=c.signup_date,
                payment_failures_90d=c.payment_failures_90d,
                last_activity_at=c.last_activity_at,
                conversation_starts=starts[c.id],
                sentiments=sentiments[c.id],
                unresolved_cases=unresolved[c.id],
                csat=ratings[c.id],
                orders=orders[c.id],
            ),
        )
        for c in customers
    }


# ------------------------------------------------------------------------------------------ escalation


async def turns_until(session: AsyncSession, conversation_id: str, message_id: int | None) -> list[Turn]:
    """The conversation's customer messages up to and including `message_id` (all if None), oldest first."""
    query = (
        select(Message.created_at, Message.intent, Message.sentiment_label, Message.sentiment_score)
        .where(Message.conversation_id == conversation_id, Message.sender == "customer")
        .order_by(Message.id)
    )
    if message_id is not None:
        query = query.where(Message.id <= message_id)
    return turns_from(await session.execute(query))


def turns_from(rows: Iterable[tuple[datetime, str | None, str | None, float | None]]) -> list[Turn]:
    """(created_at, intent, sentiment label, sentiment score) of customer messages -> escalation turns."""
    return [Turn(at, intent, signed_sentiment(label, score)) for at, intent, label, score in rows]


# The turn's customer context, both reads in one SELECT (two scalar subqueries, so the count comes back for a
# customer row that is gone), built once: every scored turn of a known customer runs it.
_CONVERSATIONS, _CUSTOMERS = Conversation.__table__, Customer.__table__
_REPEAT_CONTACTS = (
    select(func.count(_CONVERSATIONS.c.id))
    .where(
        _CONVERSATIONS.c.customer_id == bindparam("customer_id"),
        _CONVERSATIONS.c.id != bindparam("conversation_id"),
        _CONVERSATIONS.c.started_at >= bindparam("since"),
        _CONVERSATIONS.c.started_at <= bindparam("started_at"),
    )
    .scalar_subquery()
)
_LIFETIME_VALUE = (
    select(_CUSTOMERS.c.lifetime_value).where(_CUSTOMERS.c.id == bindparam("customer_id")).scalar_subquery()
)
_CUSTOMER_CONTEXT = select(_LIFETIME_VALUE, _REPEAT_CONTACTS)
REPEAT_WINDOW = timedelta(days=7)


async def turn_context(
    session: AsyncSession, conversation: Conversation, churn_risk: float | None
) -> TurnContext:
    """The conversation's context for its turns' features: the customer's lifetime value and their other
    conversations started in the 7 days before this one (none for an anonymous visitor)."""
    value, repeats = None, 0
    if conversation.customer_id is not None:
        started = conversation.started_at
        params = {"customer_id": conversation.customer_id, "conversation_id": conversation.id,
                  "since": started - REPEAT_WINDOW, "started_at": started}  # fmt: skip
        lifetime, repeats = (await session.execute(_CUSTOMER_CONTEXT, params)).one()
        value = float(lifetime) if lifetime is not None else None
    return TurnContext(
        started_at=conversation.started_at,
        repeat_contacts_7d=int(repeats or 0),
        churn_risk=churn_risk,
        customer_value=value,
    )
