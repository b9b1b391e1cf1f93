"""A turn's customer context from the database (backend/risk/crm.py `turn_context`, one SELECT): the
customer's lifetime value and their other conversations started in the 7 days up to this one's start."""

import asyncio
from datetime import timedelta

from backend.conversations.models import Conversation
from backend.core.config import to_async_url
from backend.core.database import make_engine, make_sessionmaker, utcnow
from backend.customers.models import Customer
from backend.risk.crm import turn_context
from backend.risk.features import TurnContext

START = utcnow() - timedelta(days=1)
# Days before this conversation's start: counted only within 7 days, and never a later one or itself.
OTHERS = (0.5, 3, 6.9, 7.1, 30, -0.5)


async def contexts(database_url: str) -> tuple[TurnContext, TurnContext, float]:
    engine = make_engine(to_async_url(database_url))
    try:
        async with make_sessionmaker(engine)() as session:
            customer = await session.get(Customer, 1)
            assert customer is not None
            this = Conversation(customer_id=1, started_at=START, last_message_at=START)
            anonymous = Conversation(customer_id=None, started_at=START, last_message_at=START)
            for days in OTHERS:
                at = START - timedelta(days=days)
                session.add(Conversation(customer_id=1, started_at=at, last_message_at=at))
            session.add_all([this, anonymous])
            await session.commit()
            known = await turn_context(session, this, 0.4)
            return known, await turn_context(session, anonymous, None), float(customer.lifetime_value)
    finally:
        await engine.dispose()


def test_the_context_counts_the_weeks_other_conversations_and_reads_the_value(database_url: str) -> None:
    known, anonymous, value = asyncio.run(contexts(database_url))
    assert known == TurnContext(started_at=START, repeat_contacts_7d=3, churn_risk=0.4, customer_value=value)
    assert anonymous == TurnContext(
        started_at=START, repeat_contacts_7d=0, churn_risk=None, customer_value=None
    )
