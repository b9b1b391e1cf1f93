"""A stop that lands while the analytics loop is writing a batch: the batch is counted once, not lost and not
twice (the round is cancelled mid-write; the write is shielded and stop() waits for it)."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from backend.analytics.events import Event, Kind
from backend.analytics.service import AnalyticsService
from backend.core.config import Settings
from backend.core.database import make_engine, make_sessionmaker, utcnow
from tests.conftest import migrate
from tests.dbcheck import rows


async def test_a_stop_during_a_write_keeps_the_batch_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'analytics.db'}"
    migrate(url)
    settings = Settings(database_url=url, analytics_flush_interval_s=0.05)
    engine = make_engine(settings.async_database_url)
    real_sessions = make_sessionmaker(engine)
    writing, may_write = asyncio.Event(), asyncio.Event()

    @asynccontextmanager
    async def sessions_held_at_the_write() -> AsyncIterator[AsyncSession]:
        """The real database, with the write held until the test lets it go (after the stop has begun)."""
        writing.set()
        await may_write.wait()
        async with real_sessions() as session:
            yield session

    service = AnalyticsService(real_sessions, settings)
    await service.start()
    service._sessions = sessions_held_at_the_write  # from here on, every write waits for the test
    for _ in range(3):
        service.apply(Event(Kind.MESSAGE_RECEIVED, utcnow(), "c1", intent="order_status"))
    await asyncio.wait_for(writing.wait(), 30)  # liveness: the loop's next round (every 0.05 s)
    stopping = asyncio.create_task(service.stop())
    await asyncio.sleep(0.1)  # the loop's round is cancelled while its write waits
    may_write.set()
    await asyncio.wait_for(stopping, 30)
    await engine.dispose()
    [stored] = rows(url, "SELECT SUM(count) AS n FROM analytics_buckets WHERE metric = 'message'")
    assert stored["n"] == 3
