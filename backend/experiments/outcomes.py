"""Experiment outcomes, joined from the CRM by a scheduled job (a plain function and a Periodic loop).

Metrics an experiment may name as its primary outcome or a guardrail, each a yes/no per unit:

    still_subscribed_30d   the customer is still subscribed 30 days after assignment. The CRM keeps the
                           status, not when it changed, so a cancellation counts when a round inside the
                           window sees it (then final: False); still active when the window has passed: True.
    handed_over_7d         a case was opened for the unit (its conversation, or any conversation of the
                           customer) within 7 days of assignment (True at once; False once 7 days passed).
                           Containment is its complement.
    asked_for_person_7d    the customer asked for a person (a customer message with intent request_human)
                           in the unit's conversation (or any of the customer's, for a customer unit) within
                           7 days of assignment; True at once, False once 7 days passed.
    returned_7d            the customer started another conversation within 7 days of assignment; never
                           known for an anonymous conversation.
    csat_satisfied_7d      a case of the unit opened within 7 days was rated 4 or 5 (1-5 scale); unknown
                           while none is rated. Only handed-over conversations can be rated, so it compares
                           the arms' hand-overs, not all their conversations.

For a conversation unit, "the unit's conversation" is the assignment's conversation; for a customer unit,
any conversation of the customer.

A unit's outcome is final once every metric of its experiment is known; the job never reads it again.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.cases.models import Case
from backend.conversations.models import Conversation, Message
from backend.core.background import Periodic
from backend.core.config import Settings
from backend.core.database import utcnow
from backend.customers.models import Customer
from backend.experiments.models import Assignment, Experiment

log = logging.getLogger(__name__)
BATCH = 500
SUBSCRIBED_WINDOW = timedelta(days=30)
HANDOFF_WINDOW = timedelta(days=7)

Metric = Callable[[AsyncSession, Assignment, "bool | None", datetime], Awaitable["bool | None"]]


async def still_subscribed_30d(
    session: AsyncSession, unit: Assignment, seen: bool | None, now: datetime
) -> bool | None:
    if seen is False:
        return False  # a cancellation seen inside the window stays counted
    customer = await session.get(Customer, unit.customer_id) if unit.customer_id else None
    if customer is None or customer.status == "erased":
        return None  # anonymous or erased (the tombstone keeps no subscription): never known
    within = now <= unit.assigned_at + SUBSCRIBED_WINDOW
    if customer.status == "cancelled":
        return False if within else None  # first seen after the window: when it happened is unknown
    return None if within else True


async def handed_over_7d(
    session: AsyncSession, unit: Assignment, seen: bool | None, now: datetime
) -> bool | None:
    if seen is True:
        return True
    end = unit.assigned_at + HANDOFF_WINDOW
    query = select(Case.id).where(Case.created_at >= unit.assigned_at, Case.created_at <= min(end, now))
    if unit.conversation_id is not None and unit.customer_id is None:
        query = query.where(Case.conversation_id == unit.conversation_id)
    elif unit.customer_id is not None:
        query = query.where(Case.customer_id == unit.customer_id)
    else:
        return None
    return await _within_window(session, query, now, end)


SATISFIED = 4  # CSAT at or above: satisfied


async def asked_for_person_7d(
    session: AsyncSession, unit: Assignment, seen: bool | None, now: datetime
) -> bool | None:
    if seen is True:
        return True
    end = unit.assigned_at + HANDOFF_WINDOW
    query = select(Message.id).where(
        Message.sender == "customer",
        Message.intent == "request_human",
        Message.created_at >= unit.assigned_at,
        Message.created_at <= min(end, now),
    )
    if unit.customer_id is not None:
        mine = select(Conversation.id).where(Conversation.customer_id == unit.customer_id)
        query = query.where(Message.conversation_id.in_(mine))
    elif unit.conversation_id is not None:
        query = query.where(Message.conversation_id == unit.conversation_id)
    else:
        return None
    return await _within_window(session, query, now, end)


async def returned_7d(
    session: AsyncSession, unit: Assignment, seen: bool | None, now: datetime
) -> bool | None:
    if seen is True:
        return True
    customer_id = unit.customer_id
    if customer_id is None and unit.conversation_id is not None:
        conversation = await session.get(Conversation, unit.conversation_id)
        customer_id = conversation.customer_id if conversation else None
    if customer_id is None:
        return None  # anonymous: a return cannot be recognised
    end = unit.assigned_at + HANDOFF_WINDOW
    query = select(Conversation.id).where(
        Conversation.customer_id == customer_id,
        Conversation.started_at > unit.assigned_at,
        Conversation.started_at <= min(end, now),
    )
    if unit.conversation_id is not None:
        query = query.where(Conversation.id != unit.conversation_id)
    return await _within_window(session, query, now, end)


async def csat_satisfied_7d(
    session: AsyncSession, unit: Assignment, seen: bool | None, now: datetime
) -> bool | None:
    end = unit.assigned_at + HANDOFF_WINDOW
    query = select(Case.csat).where(
        Case.created_at >= unit.assigned_at, Case.created_at <= min(end, now), Case.csat.is_not(None)
    )
    if unit.conversation_id is not None and unit.customer_id is None:
        query = query.where(Case.conversation_id == unit.conversation_id)
    elif unit.customer_id is not None:
        query = query.where(Case.customer_id == unit.customer_id)
    else:
        return None
    rated = (await session.execute(query.order_by(Case.created_at, Case.id).limit(1))).scalar_one_or_none()
    return None if rated is None else rated >= SATISFIED


METRICS: dict[str, Metric] = {
    "still_subscribed_30d": still_subscribed_30d,
    "handed_over_7d": handed_over_7d,
    "asked_for_person_7d": asked_for_person_7d,
    "returned_7d": returned_7d,
    "csat_satisfied_7d": csat_satisfied_7d,
}
WINDOWS = {
    "still_subscribed_30d": SUBSCRIBED_WINDOW,
    "handed_over_7d": HANDOFF_WINDOW,
    "asked_for_person_7d": HANDOFF_WINDOW,
    "returned_7d": HANDOFF_WINDOW,
    "csat_satisfied_7d": HANDOFF_WINDOW,
}


def metrics_of(experiment: Experiment) -> list[str]:
    return list(dict.fromkeys([experiment.primary_outcome, *experiment.guardrails]))


async def join_outcomes(session: AsyncSession, now: datetime | None = None, batch: int = BATCH) -> int:
    """Refresh the outcomes of assignments not yet final; returns how many were looked at."""
    now = now or utcnow()
    query = (
        select(Assignment, Experiment)
        .join(Experiment, Experiment.id == Assignment.experiment_id)
        .where(Assignment.outcome_final.is_(False))
        .order_by(Assignment.outcome_at.is_(None).desc(), Assignment.outcome_at, Assignment.id)
        .limit(batch)
    )
    pending = (await session.execute(query)).all()
    for unit, experiment in pending:
        names = metrics_of(experiment)
        outcome = dict(unit.outcome or {})
        for name in names:
            outcome[name] = await METRICS[name](session, unit, outcome.get(name), now)
        unit.outcome, unit.outcome_at = outcome, now
        # Final when every metric is known, or every window has passed (an erased customer stays unknown).
        windows_over = all(now >= unit.assigned_at + WINDOWS[name] for name in names)
        unit.outcome_final = windows_over or all(outcome[name] is not None for name in names)
    await session.commit()
    return len(pending)


class ExperimentOutcomeJob:
    """One loop per backend worker: the same unit's outcome is the same whoever writes it."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], settings: Settings) -> None:
        self._sessions = sessions
        self.loop = Periodic("experiment-outcomes", self.tick, settings.experiment_outcome_interval_s)

    def start(self) -> None:
        self.loop.start()

    async def stop(self) -> None:
        await self.loop.stop()

    async def tick(self) -> None:
        async with self._sessions() as session:
            done = await join_outcomes(session)
        if done:
            log.info("experiment outcomes: %d assignments refreshed", done)


async def _within_window(
    session: AsyncSession, query: Select[Any], now: datetime, end: datetime
) -> bool | None:
    """True once a row of `query` is found; False when the window ended without one; None while it is open."""
    if (await session.execute(query.limit(1))).first() is not None:
        return True
    return False if now >= end else None
