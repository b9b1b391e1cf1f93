"""Two hand-offs at once, each from a session in its own state: neither waits on the other for longer than a
commit, and each conversation gets exactly one open case.

The case that stalled (second fresh `make test` of 2026-12-05): a caller that already holds SQLite's write
lock (an uncommitted write in its session, as an automation rule's run row) calls `hand_over` while another
hand-off is inside it. A lock held in this process in front of the database's would make the first wait for
the second, which waits for the first's write lock until the busy timeout fails it.
"""

import asyncio

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.cases.models import Case
from backend.conversations.models import Conversation
from backend.core.config import Settings, to_async_url
from backend.core.database import make_engine, make_sessionmaker, utcnow
from backend.lifecycle.handoff import hand_over

# Far below SQLite's 30 s busy timeout: a lock-order wait shows up as a timeout here, not as a slow pass.
BOUND_S = 20.0
Factory = async_sessionmaker[AsyncSession]


async def _new_conversation(factory: Factory, conversation_id: str) -> None:
    async with factory() as session:
        session.add(Conversation(id=conversation_id, channel="web", started_at=utcnow()))
        await session.commit()


async def _writer_then_hand_over(
    factory: Factory, settings: Settings, holding: asyncio.Event, go: asyncio.Event
) -> Case:
    """A session with an uncommitted write (so, on SQLite, the write lock) that then hands over."""
    async with factory() as session:
        await session.execute(text("UPDATE conversations SET channel = channel WHERE id = 'lock-a'"))
        holding.set()
        await go.wait()
        conversation = await session.get(Conversation, "lock-a")
        assert conversation is not None
        return await hand_over(session, conversation, "writer first", "test", settings)


async def _plain_hand_over(
    factory: Factory, settings: Settings, conversation_id: str, started: asyncio.Event
) -> Case:
    async with factory() as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        started.set()
        return await hand_over(session, conversation, "plain", "test", settings)


async def _scenario(database_url: str) -> tuple[Case, Case, Case]:
    engine = make_engine(to_async_url(database_url))
    factory = make_sessionmaker(engine)
    settings = Settings(database_url=database_url)
    try:
        for conversation_id in ("lock-a", "lock-b"):
            await _new_conversation(factory, conversation_id)
        holding, go, started = asyncio.Event(), asyncio.Event(), asyncio.Event()
        first = asyncio.create_task(_writer_then_hand_over(factory, settings, holding, go))
        await holding.wait()
        # The second hand-off enters while the first session holds the write lock, then the first one
        # hands over too; and a third hand-off of the first's conversation races them both.
        second = asyncio.create_task(_plain_hand_over(factory, settings, "lock-b", started))
        await started.wait()
        await asyncio.sleep(0.2)
        again = asyncio.create_task(_plain_hand_over(factory, settings, "lock-a", asyncio.Event()))
        go.set()
        done = await asyncio.wait_for(asyncio.gather(first, second, again), BOUND_S)
        return done[0], done[1], done[2]
    finally:
        await engine.dispose()


async def _open_cases(database_url: str) -> dict[str, int]:
    engine = make_engine(to_async_url(database_url))
    try:
        async with make_sessionmaker(engine)() as session:
            query = select(Case.conversation_id).where(Case.status != "resolved")
            ids = list((await session.execute(query)).scalars())
    finally:
        await engine.dispose()
    return {c: ids.count(c) for c in ("lock-a", "lock-b")}


def test_a_hand_off_from_a_session_holding_the_write_lock_does_not_wait_on_another(database_url: str) -> None:
    first, second, again = asyncio.run(_scenario(database_url))
    assert first.conversation_id == "lock-a" and second.conversation_id == "lock-b"
    assert again.id == first.id  # the same conversation handed over twice keeps one case
    assert asyncio.run(_open_cases(database_url)) == {"lock-a": 1, "lock-b": 1}
