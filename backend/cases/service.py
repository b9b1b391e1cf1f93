"""Opening cases when the bot hands over, and reading them with the visibility rules of each role."""

from datetime import timedelta

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.agents.models import Agent
from backend.analytics import publisher
from backend.analytics.events import Event, Kind
from backend.audit import service as audit
from backend.cases import routing
from backend.cases.models import Case
from backend.cases.schemas import CaseDetailOut, CaseOut
from backend.config import Settings
from backend.conversations import sentiment
from backend.conversations.models import Conversation, Message
from backend.conversations.schemas import ConversationOut, ParsedMessageOut, SentimentTrajectoryOut
from backend.customers.models import Customer
from backend.customers.schemas import CustomerOut
from backend.database import utcnow
from contract.service_api import DEFAULT_SKILL, NON_TOPICAL_INTENTS, SKILL_BY_INTENT


async def open_case(
    session: AsyncSession, conversation: Conversation, reason: str, actor: str, settings: Settings
) -> Case:
    """Hand the conversation to humans: the bot falls silent and a queued case awaits an agent.

    Idempotent: a conversation that already has an open case keeps it.
    """
    existing = await open_case_of(session, conversation.id)
    if existing is not None:
        return existing
    customer = await session.get(Customer, conversation.customer_id) if conversation.customer_id else None
    value = float(customer.lifetime_value) if customer else None
    now = utcnow()
    case = Case(
        conversation_id=conversation.id,
        customer_id=conversation.customer_id,
        reason=reason,
        skill=SKILL_BY_INTENT.get(await _last_topical_intent(session, conversation.id) or "", DEFAULT_SKILL),
        language=customer.language if customer else "en",
        customer_value=value,
        priority=routing.base_priority(None, None, value, settings.priority_weights),
        created_at=now,
        sla_due_at=now + timedelta(seconds=settings.first_response_sla_s),
    )
    conversation.owner = "human"
    session.add(case)
    await session.flush()
    audit.record(
        session, actor, "case.handoff", "case", case.id, after={"reason": reason, "skill": case.skill}
    )
    await session.commit()
    publisher.publish(Event(Kind.HANDOFF, now, conversation.id))
    return case


async def apply_risk(
    session: AsyncSession, case: Case, escalation: float | None, churn: float | None, settings: Settings
) -> Case:
    """Record the risks that made (or accompany) the hand-off; they set the case's base priority."""
    case.escalation_risk, case.churn_risk = escalation, churn
    case.priority = routing.base_priority(escalation, churn, case.customer_value, settings.priority_weights)
    await session.commit()
    return case


async def open_case_of(session: AsyncSession, conversation_id: str) -> Case | None:
    query = select(Case).where(Case.conversation_id == conversation_id, Case.status != "resolved")
    return (await session.execute(query)).scalars().first()


async def _last_topical_intent(session: AsyncSession, conversation_id: str) -> str | None:
    query = (
        select(Message.intent)
        .where(
            Message.conversation_id == conversation_id,
            Message.sender == "customer",
            Message.intent.is_not(None),
            Message.intent.not_in(sorted(NON_TOPICAL_INTENTS)),
        )
        .order_by(Message.id.desc())
        .limit(1)
    )
    return (await session.execute(query)).scalar_one_or_none()


def _visible_to(query: Select[tuple[Case]], agent: Agent) -> Select[tuple[Case]]:
    """Agents see their own cases and their team's; supervisors and admins see every case."""
    if agent.role != "agent":
        return query
    team = select(Agent.id).where(Agent.team == agent.team) if agent.team else select(Agent.id).where(False)
    return query.where((Case.assigned_agent_id == agent.id) | Case.assigned_agent_id.in_(team))


async def can_see(session: AsyncSession, agent: Agent, case: Case) -> bool:
    query = _visible_to(select(Case.id).where(Case.id == case.id), agent)  # type: ignore[arg-type]
    return (await session.execute(query)).first() is not None


async def list_cases(
    session: AsyncSession, agent: Agent, status: str | None, mine: bool, limit: int, offset: int
) -> list[Case]:
    query = _visible_to(select(Case), agent)
    if mine:
        query = query.where(Case.assigned_agent_id == agent.id)
    if status is not None:
        query = query.where(Case.status == status)
    query = query.order_by(Case.priority.desc(), Case.sla_due_at, Case.id).limit(limit).offset(offset)
    return list((await session.execute(query)).scalars())


async def case_detail(session: AsyncSession, case: Case) -> CaseDetailOut:
    conversation = await session.get(Conversation, case.conversation_id)
    messages = select(Message).where(Message.conversation_id == case.conversation_id).order_by(Message.id)
    customer = await session.get(Customer, case.customer_id) if case.customer_id else None
    open_cases: list[Case] = []
    past: list[Conversation] = []
    if customer is not None:
        others = select(Case).where(
            Case.customer_id == customer.id, Case.status != "resolved", Case.id != case.id
        )
        open_cases = list((await session.execute(others)).scalars())
        earlier = (
            select(Conversation)
            .where(Conversation.customer_id == customer.id, Conversation.id != case.conversation_id)
            .order_by(Conversation.last_message_at.desc())
            .limit(10)
        )
        past = list((await session.execute(earlier)).scalars())
    transcript = list((await session.execute(messages)).scalars())
    return CaseDetailOut(
        **CaseOut.model_validate(case).model_dump(),
        conversation=ConversationOut.model_validate(conversation),
        messages=[ParsedMessageOut.model_validate(m) for m in transcript],
        sentiment=SentimentTrajectoryOut.model_validate(sentiment.trajectory(transcript)),
        customer=CustomerOut.model_validate(customer) if customer else None,
        customer_open_cases=[CaseOut.model_validate(c) for c in open_cases],
        customer_past_conversations=[ConversationOut.model_validate(c) for c in past],
    )
