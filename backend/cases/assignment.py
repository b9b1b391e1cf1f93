"""Applies the routing rules (routing.py) to the database, safely with several backend workers.

On PostgreSQL an assigner first locks the online agents' rows (in id order, so assigners never deadlock) and
then the waiting cases with SKIP LOCKED: a second assigner waits for the first to commit and then sees the
new loads, and a case row is only ever updated by the one transaction holding it, whose WHERE status='queued'
is re-checked on the locked row. So a case is never assigned twice and no agent goes over capacity.
SQLite has no row locks; it is the single-process setup, where one asyncio lock serializes assigners.
"""

import asyncio
import weakref
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.agents.models import Agent
from backend.cases import routing
from backend.cases.models import Case
from backend.lifecycle import cases as lifecycle

ACTIVE = ("assigned", "accepted")
# One per event loop: an asyncio.Lock binds to the first loop that waits on it, and a process can run more
# than one loop over its life (each test client runs the app on its own).
_sqlite_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)


def _sqlite_lock() -> asyncio.Lock:
    return _sqlite_locks.setdefault(asyncio.get_running_loop(), asyncio.Lock())


async def assign_waiting(
    session: AsyncSession, now: datetime, weights: routing.PriorityWeights
) -> list[Case]:
    """Assign as many queued cases as capacity allows; commits and returns the cases assigned."""
    if session.bind.dialect.name == "sqlite":
        async with _sqlite_lock():
            return await _assign(session, now, weights, lock_rows=False)
    return await _assign(session, now, weights, lock_rows=True)


async def _assign(
    session: AsyncSession, now: datetime, weights: routing.PriorityWeights, lock_rows: bool
) -> list[Case]:
    agents_query = select(Agent).where(Agent.status == "online").order_by(Agent.id)
    cases_query = select(Case).where(Case.status == "queued").order_by(Case.id)
    if lock_rows:
        agents_query = agents_query.with_for_update()
        cases_query = cases_query.with_for_update(skip_locked=True)
    agents = list((await session.execute(agents_query)).scalars())
    cases = list((await session.execute(cases_query)).scalars()) if agents else []
    if not cases:
        await session.commit()
        return []
    loads = await _loads(session, [a.id for a in agents])
    snapshots = [_snapshot(a, loads.get(a.id, 0)) for a in agents]
    waiting = [_waiting(c, now, weights) for c in cases]
    by_id = {c.id: c for c in cases}
    agents_by_id = {a.id: a for a in agents}
    waiting_by_id = {w.id: w for w in waiting}
    snapshots_by_id = {s.id: s for s in snapshots}
    assigned = []
    for case_id, agent_id in routing.plan(waiting, snapshots, now):
        case, agent = by_id[case_id], agents_by_id[agent_id]
        evidence = _evidence(waiting_by_id[case_id], snapshots_by_id[agent_id], snapshots)
        await lifecycle.offer(session, case, agent, now, evidence)
        assigned.append(case)
    await session.commit()
    return assigned


async def _loads(session: AsyncSession, agent_ids: list[int]) -> dict[int, int]:
    query = (
        select(Case.assigned_agent_id, func.count(Case.id))
        .where(Case.status.in_(ACTIVE), Case.assigned_agent_id.in_(agent_ids))
        .group_by(Case.assigned_agent_id)
    )
    return {agent_id: count for agent_id, count in (await session.execute(query)).all()}


def _evidence(
    case: routing.WaitingCase, chosen: routing.AgentSnapshot, snapshots: list[routing.AgentSnapshot]
) -> dict[str, Any]:
    """Why this agent, for the decision log: the round's view when it started (loads before its offers)."""
    return {
        "effective_priority": round(case.priority, 3),
        "online_agents": len(snapshots),
        "eligible_agents": [a.id for a in snapshots if routing.is_eligible(a, case)],
        "agent_load": chosen.load,
        "agent_capacity": chosen.capacity,
        "agent_skill_level": chosen.skills.get(case.skill, 0),
        "passed_over_agent": case.passed_over,
        "rule": "eligible, then not passed over, then least loaded, then longest idle, then higher skill",
    }


def _snapshot(agent: Agent, load: int) -> routing.AgentSnapshot:
    return routing.AgentSnapshot(
        id=agent.id,
        status=agent.status,
        skills=dict(agent.skills or {}),
        languages=tuple(agent.languages or ("en",)),
        capacity=agent.max_concurrent_cases,
        load=load,
        last_assigned_at=agent.last_assigned_at,
    )


def _waiting(case: Case, now: datetime, weights: routing.PriorityWeights) -> routing.WaitingCase:
    return routing.WaitingCase(
        id=case.id,
        skill=case.skill,
        language=case.language,
        priority=routing.effective_priority(case.priority, case.created_at, now, weights),
        created_at=case.created_at,
        passed_over=case.passed_over_agent_id,
    )
