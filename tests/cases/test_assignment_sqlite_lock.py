"""SQLite's assigners serialize on an asyncio lock; a process may run the app on more than one event loop
over its life (a restart in place, each test client), and the lock must work on every one of them."""

import asyncio
from pathlib import Path

from backend.cases.assignment import assign_waiting
from backend.cases.routing import PriorityWeights
from backend.core.config import Settings, to_async_url
from backend.core.database import make_engine, make_sessionmaker, utcnow
from tests.conftest import copy_sqlite


async def two_assigners_at_once(url: str) -> None:
    engine = make_engine(to_async_url(url))
    sessions = make_sessionmaker(engine)
    weights = PriorityWeights.from_settings(Settings())

    async def assign() -> None:
        async with sessions() as session:
            await assign_waiting(session, utcnow(), weights)

    try:
        await asyncio.gather(assign(), assign())  # the second waits on the lock: it binds to this loop
    finally:
        await engine.dispose()


def test_assigners_on_a_second_event_loop_are_serialized_too(seeded_sqlite: Path, tmp_path: Path) -> None:
    copy_sqlite(seeded_sqlite, tmp_path / "test.db")
    url = f"sqlite:///{tmp_path / 'test.db'}"
    asyncio.run(two_assigners_at_once(url))
    asyncio.run(two_assigners_at_once(url))  # a lock bound to the first loop raised RuntimeError here
