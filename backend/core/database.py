"""Engine, session factory and the declarative base shared by every domain's models."""

from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, make_transient_to_detached, mapped_column
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.types import JSON, TypeDecorator

from backend.core.sqlite_driver import OneHopConnection, connector

# Stable constraint names make Alembic migrations identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def conflict_insert(dialect: str, table: Any) -> Any:
    """An INSERT of `table` that takes ON CONFLICT clauses: PostgreSQL's, or SQLite's for the embedded default
    (`dialect` is the engine's dialect name; `table` a Table or a mapped class). Core's insert has none."""
    return (postgresql if dialect == "postgresql" else sqlite).insert(table)


Row = TypeVar("Row")


def mark_saved(row: Any, values: Mapping[str, Any]) -> None:
    """Record `values` (column key to value), written or read by a statement of our own, as the mapped row's
    stored state: loaded values, not pending changes (what a flush or a refresh leaves)."""
    for key, value in values.items():
        set_committed_value(row, key, value)


def attach_as_stored(session: AsyncSession, row: Row) -> Row:
    """`row`, every column of which is marked saved, as a clean persistent object of `session` (what loading
    or flushing it leaves), without a statement: the hot path reads and writes rows with Core statements."""
    make_transient_to_detached(row)
    session.add(row)
    return row


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Always timezone-aware UTC in Python; SQLite stores naive text, PostgreSQL timestamptz."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime: use timezone-aware UTC values")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), dict: JSON, list: JSON}


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def make_engine(async_url: str) -> AsyncEngine:
    url = make_url(async_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(async_url, async_creator=lambda: _sqlite_connection(engine))
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(async_url, pool_size=10, max_overflow=20, pool_pre_ping=True)


def _sqlite_connection(engine: AsyncEngine) -> OneHopConnection:
    """What aiosqlite.connect would open for this URL, crossing to its thread once per statement."""
    args, kwargs = engine.dialect.create_connect_args(engine.url)
    return connector(*args, **{**kwargs, "timeout": 30})


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers proceed while a message is being written; foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def session_scope(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with factory() as session:
        yield session
