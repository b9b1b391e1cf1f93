"""The SQLite connections of make_engine: one crossing to their thread per statement, same results."""

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Integer, String, UniqueConstraint, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from backend.core import sqlite_driver
from backend.core.database import make_engine, make_sessionmaker


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = "items"
    __table_args__ = (UniqueConstraint("name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(20))


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    yield engine
    await engine.dispose()


@pytest.fixture
def crossings(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the calls run in a connection's thread, in order."""
    seen: list[str] = []
    original = sqlite_driver.OneHopConnection._execute

    async def counted(self: sqlite_driver.OneHopConnection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(getattr(fn, "__name__", repr(fn)))
        return await original(self, fn, *args, **kwargs)

    monkeypatch.setattr(sqlite_driver.OneHopConnection, "_execute", counted)
    return seen


async def test_the_engine_uses_one_hop_connections(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        assert isinstance(raw.driver_connection, sqlite_driver.OneHopConnection)
        assert await conn.scalar(text("PRAGMA journal_mode")) == "wal"  # the connect-time pragmas ran


async def test_a_select_is_one_crossing_and_a_commit_without_a_transaction_none(
    engine: AsyncEngine, crossings: list[str]
) -> None:
    async with make_sessionmaker(engine)() as session:
        await session.execute(select(Item))  # checks the connection out (and its pragmas, once)
        crossings.clear()
        assert list((await session.execute(select(Item.id, Item.name))).all()) == []
        assert crossings == ["_run"]
        await session.commit()  # a SELECT opens no transaction in sqlite3: nothing to end
        assert crossings == ["_run"]


async def test_rows_ids_and_counts_are_what_sqlite_returned(engine: AsyncEngine) -> None:
    sessions = make_sessionmaker(engine)
    async with sessions() as session:
        first, second = Item(name="a"), Item(name="b")
        session.add_all([first, second])
        await session.commit()
        assert (first.id, second.id) == (1, 2)  # the ids SQLite gave the rows
        await session.execute(insert(Item), [{"name": "c"}, {"name": "d"}])  # executemany
        changed = await session.execute(update(Item).where(Item.id > 1).values(name=Item.name + "!"))
        assert changed.rowcount == 3
        await session.commit()
    async with sessions() as session:
        names = (await session.execute(select(Item.name).order_by(Item.id))).scalars().all()
        assert names == ["a", "b!", "c!", "d!"]
        result = await session.stream(select(Item.name).order_by(Item.id))  # server-side cursor API
        assert [name async for name in result.scalars()] == names


async def test_a_rollback_undoes_and_errors_are_the_dbapi_errors(engine: AsyncEngine) -> None:
    sessions = make_sessionmaker(engine)
    async with sessions() as session:
        session.add(Item(name="kept"))
        await session.commit()
        session.add(Item(name="dropped"))
        await session.flush()
        await session.rollback()
        session.add(Item(name="kept"))
        with pytest.raises(IntegrityError):
            await session.commit()
        await session.rollback()
    async with sessions() as session:
        assert (await session.execute(select(Item.name))).scalars().all() == ["kept"]


async def test_a_session_still_works_after_a_failed_statement(engine: AsyncEngine) -> None:
    session: AsyncSession
    async with make_sessionmaker(engine)() as session:
        with pytest.raises(Exception, match="no such table"):
            await session.execute(text("SELECT * FROM missing"))
        await session.rollback()
        assert await session.scalar(select(Item.id).limit(1)) is None
