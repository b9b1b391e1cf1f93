"""Transitions made by automation rules (backend/automation/), with the system as the actor.

The agent-driven transitions in cases.py check that the acting agent owns the case; a rule has no agent, so
its versions of priority, team, close and hand-back live here, each audited as `rule:<id>` and committed with
whatever the caller already added to the session (the engine's firing and decision rows), so an action, its
ledger entry and its decision commit together. Events go out after the commit, as everywhere in lifecycle/.
"""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.agents.models import Agent
from backend.audit import service as audit
from backend.cases.models import Case
from backend.cases.service import open_case_of
from backend.conversations.models import Conversation, Message
from backend.conversations.notifier import SUPERVISORS, Notifier
from backend.core.config import Settings
from backend.core.database import utcnow
from backend.lifecycle import handoff
from backend.lifecycle.cases import (
    CaseStateError,
    _deliver,
    _resolved,
    _return_to_bot,
    _to_queue,
    offer,
    offered,
)

CLOSED_TEXT = "This conversation was closed. Write again any time and we'll pick it up."
HANDED_BACK_TEXT = "You're back with our virtual assistant. How else can I help?"


async def _open_case(session: AsyncSession, conversation_id: str) -> Case:
    case = await open_case_of(session, conversation_id)
    if case is None:
        raise CaseStateError(f"conversation {conversation_id} has no open case")
    return case


async def set_priority(session: AsyncSession, conversation_id: str, value: float, actor: str) -> Case:
    case = await _open_case(session, conversation_id)
    before = {"priority": case.priority}
    case.priority = value
    audit.record(session, actor, "case.priority", "case", case.id, before, {"priority": value})
    await session.commit()
    return case


async def route_to_team(
    session: AsyncSession, conversation: Conversation, skill: str, actor: str, settings: Settings
) -> Case:
    """The conversation's case goes to this team's queue; a conversation the bot owns is handed over."""
    case = await open_case_of(session, conversation.id)
    if case is None:
        case = await handoff.hand_over(session, conversation, f"automation: team {skill}", actor, settings)
    before = {"skill": case.skill, "agent_id": case.assigned_agent_id, "status": case.status}
    if case.skill == skill and case.status == "queued":
        await session.commit()
        return case
    if case.status != "queued":
        await _to_queue(session, case)
    case.skill = skill
    audit.record(session, actor, "case.transfer", "case", case.id, before, {"skill": skill})
    await session.commit()
    return case


async def route_to_agent(
    session: AsyncSession,
    conversation: Conversation,
    email: str,
    actor: str,
    settings: Settings,
    notifier: Notifier,
) -> Case:
    """The conversation's case is offered to this agent (a key account's own agent, say), who still accepts it
    as any offer. An unknown or not-online agent, or a case already with another agent, fails the action (to
    the exception queue) rather than leave a case waiting for someone who will not see it."""
    agent = (await session.execute(select(Agent).where(Agent.email == email.lower()))).scalar_one_or_none()
    if agent is None:
        raise CaseStateError(f"no agent {email}")
    if agent.status != "online":
        raise CaseStateError(f"{agent.name} is {agent.status}; a case goes to an online agent")
    case = await open_case_of(session, conversation.id)
    if case is None:
        case = await handoff.hand_over(session, conversation, f"automation: agent {email}", actor, settings)
    if case.assigned_agent_id == agent.id:
        await session.commit()
        return case
    if case.status != "queued":
        raise CaseStateError(f"case {case.id} is {case.status} with another agent; a rule leaves it there")
    now = utcnow()
    await offer(session, case, agent, now, {"rule": actor}, version=actor)
    await session.commit()
    offered([case], now, notifier)
    return case


async def close(session: AsyncSession, conversation: Conversation, actor: str, notifier: Notifier) -> Message:
    """The open case (if any) is resolved and the conversation ends; a new message reopens it."""
    case = await open_case_of(session, conversation.id)
    if case is None and conversation.status != "open":
        raise CaseStateError(f"conversation {conversation.id} is already closed")
    if case is not None:
        case.status, case.resolved_at, case.disposition = "resolved", utcnow(), "closed_by_rule"
        note = await _return_to_bot(session, case, CLOSED_TEXT)
        audit.record(session, actor, "case.close", "case", case.id, after={"disposition": "closed_by_rule"})
    else:
        note = Message(
            conversation_id=conversation.id, sender="system", text=CLOSED_TEXT, created_at=utcnow()
        )
        session.add(note)
    conversation.status = "resolved"
    audit.record(session, actor, "conversation.close", "conversation", conversation.id)
    await session.commit()
    if case is not None:
        _resolved(case)
    _deliver(notifier, note)
    return note


async def hand_back(session: AsyncSession, conversation_id: str, actor: str, notifier: Notifier) -> Message:
    case = await _open_case(session, conversation_id)
    case.status, case.resolved_at, case.disposition = "resolved", utcnow(), "handed_back_by_rule"
    note = await _return_to_bot(session, case, HANDED_BACK_TEXT)
    audit.record(session, actor, "case.hand_back", "case", case.id)
    await session.commit()
    _resolved(case)
    _deliver(notifier, note)
    return note


async def send_message(
    session: AsyncSession, conversation: Conversation, text: str, notifier: Notifier
) -> Message:
    """A canned message from the company, shown in the widget like any system message."""
    message = Message(conversation_id=conversation.id, sender="system", text=text, created_at=utcnow())
    session.add(message)
    conversation.last_message_at = message.created_at
    await session.commit()
    _deliver(notifier, message)
    return message


def notify_supervisors(notifier: Notifier, event: dict[str, object]) -> None:
    notifier.publish(SUPERVISORS, {"type": "automation", **event})
