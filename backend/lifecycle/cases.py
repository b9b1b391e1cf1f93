"""A case's transitions after hand-off: offered, accepted, agent replied, resolved, handed back, transferred,
re-queued, SLA breached, rated, cancelled by the waiting customer; and the conversation's owner and agent that
go with them.

Every function records staff actions in the audit trail and commits its own transaction, except `offer`,
which is one step of the assigner's transaction (backend/cases/assignment.py holds the row locks that make it
safe with several workers, and commits once for the whole round). Events go out after the commit that made
them true: analytics through the publisher, live updates (widget, inbox, supervisors) through the notifier.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.agents.models import Agent
from backend.analytics import publisher
from backend.analytics.events import Event, Kind
from backend.audit import service as audit
from backend.cases.csat import CSAT_QUESTION
from backend.cases.models import Case
from backend.cases.schemas import CaseOut
from backend.cases.service import open_case_of
from backend.conversations.models import Conversation, Message
from backend.conversations.notifier import SUPERVISORS, Notifier, agent_topic
from backend.conversations.schemas import MessageOut
from backend.core.database import utcnow
from backend.decisions import service as decisions
from backend.decisions.models import Decision

log = logging.getLogger(__name__)
SKILLS = ("general", "billing", "technical", "retention", "sales")
__all__ = ["CSAT_QUESTION"]  # re-exported: the seeding writes the same question as resolve does
BOT_INSTEAD_TEXT = "You're back with our virtual assistant. How can I help?"


class CaseStateError(Exception):
    """The case is not in a state that allows this action (the message says why)."""


@dataclass(frozen=True)
class Requeued:
    case_id: int
    agent_id: int | None
    reason: str


def _actor(agent: Agent) -> str:
    return f"agent:{agent.id}"


def _require(case: Case, agent: Agent, *statuses: str) -> None:
    if case.status not in statuses:
        raise CaseStateError(f"case {case.id} is {case.status}; this needs it to be {' or '.join(statuses)}")
    if case.assigned_agent_id != agent.id and agent.role == "agent":
        raise CaseStateError(f"case {case.id} is not assigned to you")


async def offer(
    session: AsyncSession,
    case: Case,
    agent: Agent,
    now: datetime,
    evidence: dict[str, Any] | None = None,
    version: str = "rules",
) -> None:
    """Offered: the case goes to this agent, who still has to accept it (within ACCEPT_TIMEOUT_S). The
    choice is a logged routing decision; `evidence` is what the assigner chose on."""
    decisions.record(
        session,
        "routing",
        action=f"agent:{agent.id}",
        version=version,
        inputs={"skill": case.skill, "language": case.language, **(evidence or {})},
        scores={"priority": case.priority},
        score=case.priority,
        conversation_id=case.conversation_id,
        case_id=case.id,
        customer_id=case.customer_id,
        at=now,
    )
    case.status, case.assigned_agent_id, case.assigned_at = "assigned", agent.id, now
    agent.last_assigned_at = now
    # The hub sends customer messages of a human-owned conversation to this agent's inbox.
    statement = (
        update(Conversation).where(Conversation.id == case.conversation_id).values(assigned_agent_id=agent.id)
    )
    await session.execute(statement)
    audit.record(session, "system", "case.assign", "case", case.id, after={"agent_id": agent.id})


def offered(cases: list[Case], now: datetime, notifier: Notifier) -> None:
    """The round's offers are committed: count them and put each in its agent's inbox."""
    publisher.publish(*(Event(Kind.CASE_ASSIGNED, now, case.conversation_id) for case in cases))
    for case in cases:
        event = {"type": "case_assigned", "case": CaseOut.model_validate(case).model_dump(mode="json")}
        notifier.publish(agent_topic(case.assigned_agent_id or 0), event)


async def accept(session: AsyncSession, case: Case, agent: Agent) -> Case:
    """Assigned: the agent takes the offered case."""
    _require(case, agent, "assigned")
    case.status, case.accepted_at = "accepted", utcnow()
    conversation = await session.get(Conversation, case.conversation_id)
    if conversation is not None:
        conversation.assigned_agent_id = agent.id
    audit.record(session, _actor(agent), "case.accept", "case", case.id)
    await session.commit()
    return case


async def reply(session: AsyncSession, case: Case, agent: Agent, text: str, notifier: Notifier) -> Message:
    """An agent's message to the customer; the first one stops the SLA clock. Accepts the case if needed."""
    _require(case, agent, "assigned", "accepted")
    now = utcnow()
    if case.status == "assigned":
        case.status, case.accepted_at = "accepted", now
    first = case.first_response_at is None
    case.first_response_at = case.first_response_at or now
    message = Message(
        conversation_id=case.conversation_id,
        sender="agent",
        agent_id=agent.id,
        author_name=agent.name,
        text=text,
        created_at=now,
    )
    session.add(message)
    await session.execute(
        update(Conversation)
        .where(Conversation.id == case.conversation_id)
        .values(last_message_at=now, assigned_agent_id=agent.id)
    )
    await session.commit()
    if first:
        seconds = (now - case.created_at).total_seconds()
        publisher.publish(Event(Kind.FIRST_RESPONSE, now, case.conversation_id, seconds=seconds))
    _deliver(notifier, message)
    return message


async def resolve(
    session: AsyncSession, case: Case, agent: Agent, disposition: str, notifier: Notifier
) -> Message:
    """Close the case, give the conversation back to the bot, and ask the customer for a rating."""
    _require(case, agent, "assigned", "accepted")
    before = {"status": case.status}
    case.status, case.resolved_at, case.disposition = "resolved", utcnow(), disposition
    question = await _return_to_bot(session, case, CSAT_QUESTION)
    audit.record(
        session, _actor(agent), "case.resolve", "case", case.id, before, {"disposition": disposition}
    )
    await session.commit()
    _resolved(case)
    _deliver(notifier, question)
    notifier.publish(case.conversation_id, {"type": "csat_request", "case_id": case.id})
    return question


async def hand_back(session: AsyncSession, case: Case, agent: Agent, notifier: Notifier) -> Message:
    """The agent is done but the customer may go on with the bot: no rating is asked."""
    _require(case, agent, "assigned", "accepted")
    case.status, case.resolved_at, case.disposition = "resolved", utcnow(), "handed_back_to_bot"
    note = await _return_to_bot(session, case, "You're back with our virtual assistant. How else can I help?")
    audit.record(session, _actor(agent), "case.hand_back", "case", case.id)
    await session.commit()
    _resolved(case)
    _deliver(notifier, note)
    return note


async def customer_chose_bot(session: AsyncSession, conversation_id: str, notifier: Notifier) -> Message:
    """The customer waiting for a person lets the bot help instead: the waiting case is cancelled (resolved
    with disposition `customer_chose_bot`, audited with the reason) and the bot owns the conversation again.
    No rating is asked and no `case_resolved` is counted: nobody handled the case."""
    case = await open_case_of(session, conversation_id)
    if case is None or case.status not in ("queued", "follow_up"):
        taken = case is not None
        raise CaseStateError("an agent has already taken this conversation" if taken else "nobody is awaited")
    before = {"status": case.status}
    case.status, case.resolved_at, case.disposition = "resolved", utcnow(), "customer_chose_bot"
    note = await _return_to_bot(session, case, BOT_INSTEAD_TEXT)
    after = {"disposition": case.disposition, "reason": "the customer asked for the bot instead"}
    audit.record(session, "customer", "case.cancel", "case", case.id, before, after)
    await session.commit()
    _deliver(notifier, note)
    return note


def _deliver(notifier: Notifier, message: Message) -> None:
    """The message appears in the customer's widget (and the inbox watching the conversation) at once."""
    event = {"type": "message", "message": MessageOut.model_validate(message).model_dump(mode="json")}
    notifier.publish(message.conversation_id, event)


def _resolved(case: Case) -> None:
    if case.resolved_at is not None:
        seconds = (case.resolved_at - case.created_at).total_seconds()
        publisher.publish(Event(Kind.CASE_RESOLVED, case.resolved_at, case.conversation_id, seconds=seconds))


async def _return_to_bot(session: AsyncSession, case: Case, text: str) -> Message:
    conversation = await session.get(Conversation, case.conversation_id)
    if conversation is not None:
        conversation.owner, conversation.assigned_agent_id = "bot", None
    message = Message(conversation_id=case.conversation_id, sender="system", text=text, created_at=utcnow())
    session.add(message)
    await session.flush()
    return message


async def transfer(session: AsyncSession, case: Case, agent: Agent, skill: str) -> Case:
    """Put the case back in the queue for another skill (another team)."""
    _require(case, agent, "assigned", "accepted")
    if skill not in SKILLS:
        raise CaseStateError(f"unknown skill {skill!r}; choose one of {', '.join(SKILLS)}")
    before = {"skill": case.skill, "agent_id": case.assigned_agent_id}
    await _to_queue(session, case)
    case.skill = skill
    audit.record(session, _actor(agent), "case.transfer", "case", case.id, before, {"skill": skill})
    await session.commit()
    return case


async def _to_queue(session: AsyncSession, case: Case) -> None:
    case.status, case.assigned_agent_id, case.assigned_at, case.accepted_at = "queued", None, None, None
    case.requeue_count += 1
    statement = (
        update(Conversation).where(Conversation.id == case.conversation_id).values(assigned_agent_id=None)
    )
    await session.execute(statement)


async def requeue_unaccepted(
    session: AsyncSession,
    now: datetime,
    accept_timeout: timedelta,
    notifier: Notifier,
    reply_timeout: timedelta | None = None,
) -> list[Requeued]:
    """Re-queued: offers not accepted in time, accepted cases whose agent has not replied within
    `reply_timeout` of the offer (REPLY_TIMEOUT_S; None: no such limit), and every open case of agents who
    went offline, go back to the queue and leave the agent's inbox. A case taken for lateness remembers the
    agent, so routing offers it to the next one (backend/cases/routing.py)."""
    offline = select(Agent.id).where(Agent.status == "offline")
    late = (Case.status == "assigned") & (Case.assigned_at < now - accept_timeout)
    if reply_timeout is not None:
        silent = Case.first_response_at.is_(None) & (Case.assigned_at < now - reply_timeout)
        late = late | (Case.status == "accepted") & silent
    query = select(Case).where(
        late | (Case.status.in_(("assigned", "accepted")) & Case.assigned_agent_id.in_(offline))
    )
    requeued = []
    # SKIP LOCKED: a case another worker is requeueing (or assigning) is theirs this round, never both.
    for case in (await session.execute(query.with_for_update(skip_locked=True))).scalars():
        reason = await _requeue_reason(session, case, now, accept_timeout, reply_timeout)
        requeued.append(Requeued(case.id, case.assigned_agent_id, reason))
        if reason != "agent went offline":
            case.passed_over_agent_id = case.assigned_agent_id
        after = {"reason": reason, "agent_id": case.assigned_agent_id}
        await _to_queue(session, case)
        audit.record(session, "system", "case.requeue", "case", case.id, after=after)
    await session.commit()
    for item in requeued:
        log.info("case %s re-queued from agent %s: %s", item.case_id, item.agent_id, item.reason)
        if item.agent_id is not None:
            event = {"type": "case_removed", "case_id": item.case_id, "reason": item.reason}
            notifier.publish(agent_topic(item.agent_id), event)
    return requeued


async def _requeue_reason(
    session: AsyncSession,
    case: Case,
    now: datetime,
    accept_timeout: timedelta,
    reply_timeout: timedelta | None,
) -> str:
    agent = await session.get(Agent, case.assigned_agent_id) if case.assigned_agent_id else None
    if agent is not None and agent.status == "offline":
        return "agent went offline"
    if case.status == "assigned" and case.assigned_at is not None and case.assigned_at < now - accept_timeout:
        return "not accepted in time"
    if reply_timeout is not None:
        return "no reply in time"
    return "agent went offline"


async def flag_sla_breaches(session: AsyncSession, now: datetime, notifier: Notifier) -> list[Case]:
    """Cases past their first-response deadline, flagged once each for the supervisors."""
    query = select(Case).where(
        Case.status != "resolved",
        Case.first_response_at.is_(None),
        Case.sla_breached_at.is_(None),
        Case.sla_due_at < now,
    )
    breached = list((await session.execute(query.with_for_update(skip_locked=True))).scalars())
    for case in breached:
        case.sla_breached_at = now
        audit.record(session, "system", "case.sla_breach", "case", case.id)
    await session.commit()
    publisher.publish(*(Event(Kind.SLA_BREACHED, now, case.conversation_id) for case in breached))
    for case in breached:
        event = {"type": "sla_breach", "case": CaseOut.model_validate(case).model_dump(mode="json")}
        notifier.publish(SUPERVISORS, event)
    return breached


async def override(
    session: AsyncSession,
    case: Case,
    by: Agent,
    reason: str,
    notifier: Notifier,
    priority: float | None = None,
    to_agent: Agent | None = None,
) -> list[Decision]:
    """A person overrides the case's priority, its agent, or both: each change is an `override` decision
    pointing at the automated one it replaces, audited, in one transaction. The new agent gets it offered,
    as routing would have; the agent it leaves sees it go."""
    if case.status == "resolved":
        raise CaseStateError(f"case {case.id} is resolved; there is nothing to route")
    if to_agent is not None and to_agent.status != "online":
        raise CaseStateError(f"{to_agent.name} is {to_agent.status}; a case goes to an online agent")
    now = utcnow()
    before = {"priority": case.priority, "agent_id": case.assigned_agent_id, "status": case.status}
    written = []
    if priority is not None:
        replaced = await decisions.latest(session, "priority", case.id)
        case.priority = priority
        written.append(_override_decision(session, case, by, reason, "priority", before, priority, replaced))
    left = case.assigned_agent_id
    if to_agent is not None:
        replaced = await decisions.latest(session, "routing", case.id)
        case.status, case.assigned_agent_id, case.assigned_at = "assigned", to_agent.id, now
        case.accepted_at, to_agent.last_assigned_at = None, now
        await session.execute(
            update(Conversation)
            .where(Conversation.id == case.conversation_id)
            .values(assigned_agent_id=to_agent.id)
        )
        decision = _override_decision(session, case, by, reason, "agent_id", before, to_agent.id, replaced)
        written.append(decision)
    after = {"priority": case.priority, "agent_id": case.assigned_agent_id, "reason": reason}
    audit.record(session, _actor(by), "case.override", "case", case.id, before, after)
    await session.commit()
    if to_agent is not None:
        offered([case], now, notifier)
        if left is not None and left != to_agent.id:
            event = {"type": "case_removed", "case_id": case.id, "reason": "reassigned by a person"}
            notifier.publish(agent_topic(left), event)
    return written


def _override_decision(
    session: AsyncSession,
    case: Case,
    by: Agent,
    reason: str,
    field: str,
    before: dict[str, Any],
    value: float | int,
    replaced: Decision | None,
) -> Decision:
    return decisions.record(
        session,
        "override",
        action=f"priority {value:.2f}" if field == "priority" else f"agent:{value}",
        version=_actor(by),
        inputs={"field": field, "before": before[field], "after": value, "role": by.role},
        reasons=[reason],
        conversation_id=case.conversation_id,
        case_id=case.id,
        customer_id=case.customer_id,
        overrides_decision_id=replaced.id if replaced is not None else None,
    )


async def record_csat(
    session: AsyncSession,
    conversation_id: str,
    score: int,
    answers: list[dict[str, str | int | None]] | None = None,
) -> Case:
    """The customer's rating, and the answers to the survey's other questions (backend/cases/csat.py),
    go on the conversation's most recently resolved case, once."""
    query = (
        select(Case)
        .where(Case.conversation_id == conversation_id, Case.status == "resolved")
        .order_by(Case.resolved_at.desc())
        .limit(1)
    )
    case = (await session.execute(query)).scalar_one_or_none()
    if case is None:
        raise CaseStateError("there is no resolved case to rate in this conversation")
    if case.csat is not None:
        raise CaseStateError("this conversation has already been rated")
    case.csat, case.csat_answers = score, answers or None
    await session.commit()
    publisher.publish(Event(Kind.CSAT_GIVEN, utcnow(), conversation_id, score=score))
    return case
