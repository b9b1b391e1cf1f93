"""Reading cases with the visibility rules of each role, and the customer's last topic (a hand-off's skill).

Opening a case and every later change of its state are in backend/lifecycle/."""

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.agents.models import Agent
from backend.cases.models import Case
from backend.cases.schemas import CaseDetailOut, CaseOut
from backend.conversations import sentiment
from backend.conversations.models import Conversation, Message
from backend.conversations.schemas import ConversationOut, ParsedMessageOut, SentimentTrajectoryOut
from backend.customers.models import Customer
from backend.customers.schemas import CustomerOut
from contract.service_api import NON_TOPICAL_INTENTS


async def open_case_of(session: AsyncSession, conversation_id: str) -> Case | None:
    query = select(Case).where(Case.conversation_id == conversation_id, Case.status != "resolved")
    return (await session.execute(query)).scalars().first()


async def last_topical_intent(session: AsyncSession, conversation_id: str) -> str | None:
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
