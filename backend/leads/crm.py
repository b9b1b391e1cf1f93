"""Reading a customer's CRM facts as of a moment (backend/leads/features.py `CustomerFacts`).

Only what existed before `at` counts: orders placed and conversations started before it, so a past lead
(the demo's seeded ones) is described as it looked then, and a live one as it looks now.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.conversations.models import Conversation
from backend.customers.models import Customer, Order
from backend.experiments.models import CustomerValue
from backend.leads import signals
from backend.leads.features import CustomerFacts

YEAR, CONTACTS_WINDOW = timedelta(days=365), timedelta(days=90)
DAYS_PER_MONTH = 30.44
NOT_SPENT = ("cancelled", "returned")


async def customer_facts(
    session: AsyncSession, customer: Customer, at: datetime, conversation_id: str | None = None
) -> CustomerFacts:
    """The customer as the CRM knew them at `at`; the lead's own conversation is not a prior contact."""
    orders = select(func.count(Order.id), func.coalesce(func.sum(Order.total), 0)).where(
        Order.customer_id == customer.id,
        Order.placed_at >= at - YEAR,
        Order.placed_at < at,
        Order.status.not_in(NOT_SPENT),
    )
    count, spend = (await session.execute(orders)).one()
    contacts = select(func.count(Conversation.id)).where(
        Conversation.customer_id == customer.id,
        Conversation.started_at >= at - CONTACTS_WINDOW,
        Conversation.started_at < at,
    )
    if conversation_id is not None:
        contacts = contacts.where(Conversation.id != conversation_id)
    value = await session.get(CustomerValue, customer.id)
    tenure_days = max((at.date() - customer.signup_date).days, 0)
    return CustomerFacts(
        tenure_months=round(tenure_days / DAYS_PER_MONTH, 1),
        plan=customer.plan,
        orders_365d=int(count),
        spend_365d=round(float(spend), 2),
        prior_contacts_90d=int((await session.execute(contacts)).scalar_one()),
        email_domain=signals.domain_of(customer.email),
        clv=value.value if value else None,
    )
