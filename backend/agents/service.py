"""Agent look-ups and availability."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.agents.models import Agent
from backend.audit import service as audit


async def list_agents(session: AsyncSession) -> list[Agent]:
    return list((await session.execute(select(Agent).order_by(Agent.id))).scalars())


async def set_status(session: AsyncSession, agent: Agent, status: str) -> Agent:
    if agent.status != status:
        before, after = {"status": agent.status}, {"status": status}
        audit.record(session, f"agent:{agent.id}", "agent.status", "agent", agent.id, before, after)
        agent.status = status
        await session.commit()
    return agent
