"""Several backend workers assign one queue at once on PostgreSQL: each case exactly once, no overload."""

import asyncio
import multiprocessing
import random
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import update

from backend.agents.models import Agent
from backend.cases.assignment import assign_waiting
from backend.cases.models import Case
from backend.cases.routing import PriorityWeights
from backend.conversations.models import Conversation
from backend.core.config import Settings, to_async_url
from backend.core.database import make_engine, make_sessionmaker, utcnow
from tests.conftest import create_pg_database, drop_pg_database, migrate, seed_demo
from tests.dbcheck import execute, rows

pytestmark = pytest.mark.postgres
WORKERS = 4
CASES = 240
CAPACITY = 8


def worker(url: str, start: Any, rounds: int) -> int:
    """One backend worker: its own process, engine and connections; assigns in a loop."""

    async def run() -> int:
        engine = make_engine(to_async_url(url))
        sessions = make_sessionmaker(engine)
        weights = PriorityWeights.from_settings(Settings())
        done = 0
        start.wait()
        for _ in range(rounds):
            async with sessions() as session:
                done += len(await assign_waiting(session, utcnow(), weights))
        await engine.dispose()
        return done

    return asyncio.run(run())


async def prepare(url: str) -> int:
    """All staff online with the same capacity and every skill; a queue of cases with random skills."""
    engine = make_engine(to_async_url(url))
    sessions = make_sessionmaker(engine)
    rng = random.Random(3)
    async with sessions() as session:
        skills = {s: 3 for s in ("general", "billing", "technical", "retention", "sales")}
        await session.execute(
            update(Agent).values(
                status="online", max_concurrent_cases=CAPACITY, skills=skills, languages=["en"]
            )
        )
        for i in range(CASES):
            conversation = Conversation(owner="human")
            session.add(conversation)
            await session.flush()
            session.add(
                Case(
                    conversation_id=conversation.id,
                    reason=f"load test {i}",
                    skill=rng.choice(list(skills)),
                    priority=rng.uniform(0, 100),
                )
            )
        await session.commit()
        agents = len((await session.execute(Agent.__table__.select())).all())
    await engine.dispose()
    return agents


@pytest.fixture
def pg_url(postgres_server):
    url = create_pg_database(postgres_server)
    migrate(url)
    seed_demo(url, customers=5)
    yield url
    drop_pg_database(postgres_server, url)


def run_workers(url: str) -> int:
    context = multiprocessing.get_context("spawn")
    # All workers wait at one start signal, so their transactions really overlap.
    with context.Manager() as manager, context.Pool(WORKERS) as pool:
        start = manager.Event()
        results = [pool.apply_async(worker, (url, start, 5)) for _ in range(WORKERS)]
        start.set()
        return sum(r.get(timeout=120) for r in results)


def test_every_case_is_assigned_exactly_once_by_concurrent_workers(pg_url):
    agents = asyncio.run(prepare(pg_url))
    capacity = agents * CAPACITY
    for wave in range(2):
        assigned_now = run_workers(pg_url)
        assert assigned_now == capacity, f"wave {wave}: {assigned_now} assigned, capacity {capacity}"
        loads = rows(
            pg_url, "SELECT assigned_agent_id, count(*) AS n FROM cases WHERE status = 'assigned' GROUP BY 1"
        )
        assert all(load["n"] <= CAPACITY for load in loads), loads
        # Free everyone for the next wave, as if the cases were resolved.
        execute(pg_url, "UPDATE cases SET status = 'resolved' WHERE status = 'assigned'")

    events = rows(pg_url, "SELECT entity_id FROM audit_events WHERE action = 'case.assign'")
    per_case = Counter(e["entity_id"] for e in events)
    assert len(per_case) == 2 * capacity
    assert set(per_case.values()) == {1}, [c for c, n in per_case.items() if n > 1]
