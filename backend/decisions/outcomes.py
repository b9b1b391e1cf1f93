"""Outcomes: what happened after each decision, joined from the CRM by a scheduled job, never by hand.

    hand-off / continue   asked_for_person_within_2_turns (a later request_human), handed_over_later (a case
                          opened after a `continue`), the case's disposition and CSAT, came_back_within_7_days
                          (the customer wrote again, in another conversation, about the same intent)
    knowledge answer      asked_for_person_within_2_turns, not_helpful_within_2_turns, came_back_within_7_days
    escalation score      handed_over (a case opened for the conversation at or after the scored turn),
                          asked_for_person_later, the case's disposition and CSAT
    retention offer       accepted (the customer's next reply: affirm or deny), cancelled_within_30_days
                          (the CRM marks the customer cancelled; unknown until the window ends)
    routing / priority    the case's disposition, CSAT, first response and resolution times
    lead                  converted_within_90_days from the lead's status: won in the window True, lost
                          False, still new or contacted None until the window ends, then False (not
                          converted in it); the lead's id and status as seen

`join_outcomes` is the plain function the loop calls (and tests call directly). It refreshes the outcome of
every decision whose windows are still open, and marks a decision final once they have all passed, so a
final outcome is never read again; a lead's decision is final as soon as the lead is won or lost in its
window (final statuses, backend/leads/service.py), as an experiment unit is once every outcome is known.
Batches bound each round: never-joined decisions first, then the longest overdue.

A pending outcome is read again when it is due (`outcome_due_at`): after the round's minimum (`fresh_for`)
or an eighth of the decision's age, whichever is longer, and never later than the end of its window, when
it is read a last time and made final. What happens right after a decision (the next turns, the hand-off)
is seen within minutes, a return visit days later within hours, and a decision is read about 60 times in a
7-day window instead of once every round (2,016 rounds at the default 5 minutes), so a round's work follows
the traffic, not the week's backlog of pending decisions.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.cases.models import Case
from backend.conversations.models import Conversation, Message
from backend.core.background import Periodic
from backend.core.config import Settings
from backend.core.database import utcnow
from backend.customers.models import Customer
from backend.decisions.models import Decision
from backend.leads.models import FINAL, Lead

log = logging.getLogger(__name__)

CAME_BACK_WINDOW = timedelta(days=7)
CANCEL_WINDOW = timedelta(days=30)
# How long a lead has to convert: beyond the demo's simulated follow-up (2-14 days, backend/leads/seeding.py)
# and a quarter, long enough for a team purchase to go through procurement.
LEAD_WINDOW = timedelta(days=90)
WINDOWS = {
    "handoff": CAME_BACK_WINDOW,
    "kb_answer": CAME_BACK_WINDOW,
    "retention_offer": CANCEL_WINDOW,
    "routing": CAME_BACK_WINDOW,
    "priority": CAME_BACK_WINDOW,
    "escalation": CAME_BACK_WINDOW,
    "lead": LEAD_WINDOW,
}
NEXT_TURNS = 2
BATCH = 500
MAX_BATCHES_PER_ROUND = 20
REQUEST_HUMAN, NOT_HELPFUL = "request_human", "not_helpful"
# A pending outcome is read again after this fraction of the decision's age (or the round's minimum).
REFRESH_AGE_FRACTION = 1 / 8


async def join_outcomes(
    session: AsyncSession,
    now: datetime | None = None,
    batch: int = BATCH,
    fresh_for: timedelta = timedelta(0),
) -> int:
    """Fill the outcomes of pending decisions from what happened since; returns how many were updated.

    Never-joined decisions go first, then the least recently refreshed, so a busy week cannot starve the
    newest; one refreshed within `fresh_for` is left for a later round.
    """
    now = now or utcnow()
    query = (
        select(Decision)
        .where(
            Decision.outcome_final.is_(False),
            Decision.kind.in_(WINDOWS),
            Decision.outcome_due_at.is_(None) | (Decision.outcome_due_at <= now),
        )
        .order_by(Decision.outcome_at.is_(None).desc(), Decision.outcome_due_at, Decision.id)
        .limit(batch)
    )
    pending = list((await session.execute(query)).scalars())
    reads = await _Batch.load(session, pending, now)
    for decision in pending:
        decision.outcome = await _outcome(reads, decision)
        decision.outcome_at = now
        window_end = decision.created_at + WINDOWS[decision.kind]
        final = now >= window_end or _known(decision)
        decision.outcome_final = final
        decision.outcome_due_at = None if final else due(decision, now, fresh_for, window_end)
    await session.commit()
    return len(pending)


def due(decision: Decision, now: datetime, fresh_for: timedelta, window_end: datetime) -> datetime:
    """When a pending outcome refreshed `now` is read again: the older the decision, the later (module
    docstring), and no later than its window's end, when it becomes final."""
    age = max(now - decision.created_at, timedelta(0))
    return min(now + max(fresh_for, age * REFRESH_AGE_FRACTION), window_end)


@dataclass(frozen=True)
class _Said:
    """A customer message as the outcomes read it."""

    id: int
    conversation_id: str
    intent: str | None
    created_at: datetime


@dataclass
class _Batch:
    """What a batch of decisions' outcomes read, loaded with a few queries for the whole batch instead of a
    few for each decision: the customer messages of their conversations, the other conversations' messages
    of their customers since the oldest of them, and their conversations' cases."""

    session: AsyncSession
    now: datetime
    said: dict[str, list[_Said]] = field(default_factory=dict)  # by conversation, oldest first
    elsewhere: dict[int, list[_Said]] = field(default_factory=dict)  # by customer
    cases: dict[str, list[Case]] = field(default_factory=dict)  # by conversation, oldest first

    @classmethod
    async def load(cls, session: AsyncSession, decisions: list[Decision], now: datetime) -> _Batch:
        batch = cls(session, now)
        conversations = {d.conversation_id for d in decisions if d.conversation_id is not None}
        if conversations:
            await batch._load_conversations(conversations)
        customers = [d for d in decisions if d.customer_id is not None]
        if customers:
            since = min(d.created_at for d in customers)
            await batch._load_elsewhere({d.customer_id for d in customers if d.customer_id}, since)
        return batch

    async def _load_conversations(self, conversations: set[str]) -> None:
        said = select(Message.id, Message.conversation_id, Message.intent, Message.created_at).where(
            Message.conversation_id.in_(conversations), Message.sender == "customer"
        )
        for row in await self.session.execute(said.order_by(Message.id)):
            self.said.setdefault(row.conversation_id, []).append(_Said(*row))
        cases = select(Case).where(Case.conversation_id.in_(conversations)).order_by(Case.id)
        for case in (await self.session.execute(cases)).scalars():
            self.cases.setdefault(case.conversation_id, []).append(case)

    async def _load_elsewhere(self, customers: set[int], since: datetime) -> None:
        query = (
            select(Conversation.customer_id, Message.id, Message.conversation_id, Message.intent,
                   Message.created_at)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(Conversation.customer_id.in_(customers), Message.sender == "customer",
                   Message.intent.is_not(None), Message.created_at > since, Message.created_at <= self.now)
        )  # fmt: skip
        for customer_id, *row in await self.session.execute(query):
            self.elsewhere.setdefault(customer_id, []).append(_Said(*row))

    def later_intents(self, decision: Decision) -> list[str | None]:
        """The intents of the customer's messages after the decision (up to now), in this conversation,
        oldest first."""
        if decision.conversation_id is None:
            return []
        return [
            m.intent
            for m in self.said.get(decision.conversation_id, [])
            if m.created_at <= self.now and _after(m, decision)
        ]

    def decided_on_intent(self, decision: Decision) -> str | None:
        """The intent of the customer message the decision followed (the last one before it)."""
        if decision.conversation_id is None:
            return None
        before = [
            m for m in self.said.get(decision.conversation_id, []) if m.intent and not _after(m, decision)
        ]
        return before[-1].intent if before else None

    def came_back(self, decision: Decision) -> bool | None:
        """Did the customer open another conversation about the same intent within 7 days? None while the
        window is open and they have not (yet), or when the customer or the intent is unknown."""
        intent = self.decided_on_intent(decision)
        if decision.customer_id is None or intent is None:
            return None
        end = decision.created_at + CAME_BACK_WINDOW
        if any(
            m.conversation_id != decision.conversation_id
            and m.intent == intent
            and decision.created_at < m.created_at <= min(end, self.now)
            for m in self.elsewhere.get(decision.customer_id, [])
        ):
            return True
        return False if self.now >= end else None

    async def case_of(self, decision: Decision) -> Case | None:
        """The decision's case, or for a `continue` the first case the conversation opened after it."""
        if decision.case_id is not None:
            return await self.session.get(Case, decision.case_id)  # loaded with the batch, as a rule
        if decision.conversation_id is None:
            return None
        return next(
            (
                case
                for case in self.cases.get(decision.conversation_id, [])
                if decision.created_at <= case.created_at <= self.now
            ),
            None,
        )


def _after(message: _Said, decision: Decision) -> bool:
    """Written after the decision: after its message, or after its time when it names none."""
    if decision.message_id is not None:
        return message.id > decision.message_id
    return message.created_at > decision.created_at


async def _outcome(batch: _Batch, decision: Decision) -> dict[str, Any]:
    session, now = batch.session, batch.now
    if decision.kind in ("handoff", "kb_answer"):
        later = batch.later_intents(decision)
        outcome: dict[str, Any] = {
            "asked_for_person_within_2_turns": REQUEST_HUMAN in later[:NEXT_TURNS],
            "came_back_within_7_days": batch.came_back(decision),
        }
        if decision.kind == "kb_answer":
            outcome["not_helpful_within_2_turns"] = NOT_HELPFUL in later[:NEXT_TURNS]
            return outcome
        case = await batch.case_of(decision)
        outcome["asked_for_person_later"] = REQUEST_HUMAN in later
        outcome["handed_over_later"] = decision.action == "continue" and case is not None
        return outcome | _case_outcome(case)
    if decision.kind == "escalation":
        # The row is dated at its message (backend/risk/challenger.py), so a hand-off in the same turn counts.
        case = await batch.case_of(decision)
        later = batch.later_intents(decision)
        return {"handed_over": case is not None, "asked_for_person_later": REQUEST_HUMAN in later} | (
            _case_outcome(case)
        )
    if decision.kind == "lead":
        return await _lead_outcome(session, decision, now)
    if decision.kind == "retention_offer":
        return {
            "accepted": _accepted(batch, decision),
            "cancelled_within_30_days": await _cancelled(session, decision, now),
        }
    return _case_outcome(await batch.case_of(decision))


def _case_outcome(case: Case | None) -> dict[str, Any]:
    if case is None:
        return {"case_id": None}
    first = case.first_response_at
    return {
        "case_id": case.id,
        "case_status": case.status,
        "disposition": case.disposition,
        "csat": case.csat,
        "first_response_s": (first - case.created_at).total_seconds() if first else None,
        "resolution_s": (case.resolved_at - case.created_at).total_seconds() if case.resolved_at else None,
    }


def _accepted(batch: _Batch, decision: Decision) -> bool | None:
    if decision.action == "no_offer":
        return None
    later = batch.later_intents(decision)
    answer = next((intent for intent in later if intent in ("affirm", "deny")), None)
    return None if answer is None else answer == "affirm"


async def _cancelled(session: AsyncSession, decision: Decision, now: datetime) -> bool | None:
    """Cancelled within 30 days, where the CRM knows. The CRM keeps the status, not when it changed, so a
    cancellation counts when a round inside the window sees it; unknown while the window is open and they
    are still active, or when the first look came after the window."""
    if (decision.outcome or {}).get("cancelled_within_30_days"):
        return True  # seen in the window by an earlier round
    customer = await session.get(Customer, decision.customer_id) if decision.customer_id else None
    if customer is None:
        return None
    within = now <= decision.created_at + CANCEL_WINDOW
    if customer.status == "cancelled":
        return True if within else None
    return None if within else False


def _known(decision: Decision) -> bool:
    """An outcome that can no longer change before its window ends: a lead won or lost in it."""
    return decision.kind == "lead" and (decision.outcome or {}).get("converted_within_90_days") is not None


async def _lead_of(session: AsyncSession, decision: Decision) -> Lead | None:
    """The lead the decision scored: the one that names it, else its conversation's (a lead re-scored by a
    later sales message names its newest decision; backend/leads/service.py)."""
    lead = (await session.execute(select(Lead).where(Lead.decision_id == decision.id))).scalar_one_or_none()
    if lead is None and decision.conversation_id is not None:
        query = select(Lead).where(Lead.conversation_id == decision.conversation_id)
        lead = (await session.execute(query)).scalar_one_or_none()
    return lead


async def _lead_outcome(session: AsyncSession, decision: Decision, now: datetime) -> dict[str, Any]:
    """Converted within LEAD_WINDOW of the score, from the lead's status (won or lost is final, set by staff
    with its time). Unknown while the lead is open in the window, and for a lead no longer to be found."""
    lead = await _lead_of(session, decision)
    if lead is None:
        return {"lead_id": None, "lead_status": None, "converted_within_90_days": None}
    end = decision.created_at + LEAD_WINDOW
    decided_at = lead.outcome_at if lead.status in FINAL else None
    if decided_at is not None and decided_at <= min(end, now):
        converted: bool | None = lead.status == "won"
    else:
        converted = False if now >= end else None
    return {"lead_id": lead.id, "lead_status": lead.status, "converted_within_90_days": converted}


class OutcomeJob:
    """The scheduled join, one loop per backend worker (a row's outcome is the same whoever writes it)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], settings: Settings) -> None:
        self._sessions = sessions
        self._fresh_for = timedelta(seconds=settings.decision_outcome_interval_s / 2)
        self.loop = Periodic("decision-outcomes", self.tick, settings.decision_outcome_interval_s)

    def start(self) -> None:
        self.loop.start()

    async def stop(self) -> None:
        await self.loop.stop()

    async def tick(self) -> None:
        """Batches until every pending decision is refreshed, at most MAX_BATCHES_PER_ROUND of them."""
        updated = 0
        for _ in range(MAX_BATCHES_PER_ROUND):
            async with self._sessions() as session:
                done = await join_outcomes(session, fresh_for=self._fresh_for)
            updated += done
            if done < BATCH:
                break
        if updated:
            log.info("decision outcomes: %d decisions updated", updated)
